"""Initial schema: the trading ledger and the model registry.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Ledger: trading_sessions, decisions, orders, order_events, fills, position_snapshots,
account_snapshots, engine_events. Registry: model_versions (a partial unique index allows
at most one champion), model_promotions (audit trail). Money and quantities are NUMERIC;
timestamps are timestamptz; statuses are TEXT with CHECK constraints. order_events is
deduplicated with NULLS NOT DISTINCT (PostgreSQL >= 15) so an update without an execution
id is stored once too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("artifact_sha256", sa.Text(), nullable=False),
        sa.Column("artifact_format", sa.Text(), nullable=False),
        sa.Column("feature_spec_hash", sa.Text(), nullable=False),
        sa.Column("feature_names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evaluation", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("train_start", sa.Date(), nullable=False),
        sa.Column("train_end", sa.Date(), nullable=False),
        sa.Column("validation_start", sa.Date(), nullable=True),
        sa.Column("validation_end", sa.Date(), nullable=True),
        sa.Column("test_start", sa.Date(), nullable=True),
        sa.Column("test_end", sa.Date(), nullable=True),
        sa.Column("dagster_run_id", sa.Text(), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('candidate', 'champion', 'retired', 'rejected')",
            name=op.f("ck_model_versions_status"),
        ),
        sa.CheckConstraint(
            "char_length(artifact_sha256) = 64",
            name=op.f("ck_model_versions_artifact_sha256_length"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    op.create_index(op.f("ix_model_versions_name"), "model_versions", ["name"], unique=False)
    op.create_index(
        "uq_model_versions_single_champion",
        "model_versions",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'champion'"),
    )
    op.create_table(
        "trading_sessions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_key", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("symbols", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("dagster_run_id", sa.Text(), nullable=True),
        sa.Column("starting_equity", sa.Numeric(), nullable=True),
        sa.Column("ending_equity", sa.Numeric(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "mode IN ('sim', 'paper', 'live')", name=op.f("ck_trading_sessions_mode")
        ),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'interrupted')",
            name=op.f("ck_trading_sessions_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_sessions")),
        sa.UniqueConstraint("session_key", name=op.f("uq_trading_sessions_session_key")),
    )
    op.create_index(
        op.f("ix_trading_sessions_trading_day"), "trading_sessions", ["trading_day"], unique=False
    )
    op.create_table(
        "account_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cash", sa.Numeric(), nullable=False),
        sa.Column("buying_power", sa.Numeric(), nullable=False),
        sa.Column("equity", sa.Numeric(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_account_snapshots_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_snapshots")),
        sa.UniqueConstraint(
            "session_id", "taken_at", name=op.f("uq_account_snapshots_session_id_taken_at")
        ),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("bar_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version_id", sa.BigInteger(), nullable=True),
        sa.Column("p_down", sa.Double(), nullable=True),
        sa.Column("p_flat", sa.Double(), nullable=True),
        sa.Column("p_up", sa.Double(), nullable=True),
        sa.Column("price", sa.Numeric(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("client_order_id", sa.Text(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('buy', 'sell', 'hold', 'skip')", name=op.f("ck_decisions_action")
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_decisions_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_decisions_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint(
            "session_id",
            "symbol",
            "bar_timestamp",
            name=op.f("uq_decisions_session_id_symbol_bar_timestamp"),
        ),
    )
    op.create_index(
        op.f("ix_decisions_model_version_id"), "decisions", ["model_version_id"], unique=False
    )
    op.create_table(
        "engine_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_engine_events_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_engine_events_event_id")),
    )
    op.create_index(op.f("ix_engine_events_kind"), "engine_events", ["kind"], unique=False)
    op.create_index(
        op.f("ix_engine_events_session_id_occurred_at"),
        "engine_events",
        ["session_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "fills",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.Text(), nullable=False),
        sa.Column("broker_order_id", sa.Text(), nullable=True),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("qty", sa.Numeric(), nullable=False),
        sa.Column("price", sa.Numeric(), nullable=False),
        sa.Column("fee", sa.Numeric(), server_default=sa.text("0"), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_fills_side")),
        sa.CheckConstraint("price > 0", name=op.f("ck_fills_price_positive")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_fills_qty_positive")),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_fills_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_fills_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.UniqueConstraint("execution_id", name=op.f("uq_fills_execution_id")),
    )
    op.create_index(op.f("ix_fills_client_order_id"), "fills", ["client_order_id"], unique=False)
    op.create_index(op.f("ix_fills_model_version_id"), "fills", ["model_version_id"], unique=False)
    op.create_index(op.f("ix_fills_session_id"), "fills", ["session_id"], unique=False)
    op.create_table(
        "model_promotions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("model_version_id", sa.BigInteger(), nullable=False),
        sa.Column("previous_champion_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "gates",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("dagster_run_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('promote', 'manual_promote', 'rollback', 'reject')",
            name=op.f("ck_model_promotions_action"),
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_model_promotions_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_champion_id"],
            ["model_versions.id"],
            name=op.f("fk_model_promotions_previous_champion_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_promotions")),
    )
    op.create_index(
        op.f("ix_model_promotions_model_version_id"),
        "model_promotions",
        ["model_version_id"],
        unique=False,
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("client_order_id", sa.Text(), nullable=False),
        sa.Column("broker_order_id", sa.Text(), nullable=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_order_events_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.UniqueConstraint(
            "client_order_id",
            "event",
            "event_timestamp",
            "execution_id",
            name="uq_order_events_dedupe",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_order_events_client_order_id"), "order_events", ["client_order_id"], unique=False
    )
    op.create_index(
        op.f("ix_order_events_session_id"), "order_events", ["session_id"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.Text(), nullable=False),
        sa.Column("broker_order_id", sa.Text(), nullable=True),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("side", sa.Text(), nullable=False),
        sa.Column("order_type", sa.Text(), nullable=False),
        sa.Column("time_in_force", sa.Text(), nullable=False),
        sa.Column("qty", sa.Numeric(), nullable=False),
        sa.Column("limit_price", sa.Numeric(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("filled_qty", sa.Numeric(), server_default=sa.text("0"), nullable=False),
        sa.Column("filled_avg_price", sa.Numeric(), nullable=True),
        sa.Column("model_version_id", sa.BigInteger(), nullable=True),
        sa.Column("decision_bar_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reject_code", sa.Integer(), nullable=True),
        sa.Column("reject_message", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("order_type IN ('market', 'limit')", name=op.f("ck_orders_order_type")),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_orders_side")),
        sa.CheckConstraint(
            "status IN ('pending_new', 'accepted', 'new', 'partially_filled', 'filled', 'canceled', 'expired', 'rejected', 'pending_cancel')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint(
            "time_in_force IN ('day', 'gtc', 'ioc')", name=op.f("ck_orders_time_in_force")
        ),
        sa.CheckConstraint("filled_qty >= 0", name=op.f("ck_orders_filled_qty_not_negative")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_orders_qty_positive")),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_orders_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_orders_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    op.create_index(op.f("ix_orders_broker_order_id"), "orders", ["broker_order_id"], unique=False)
    op.create_index(
        op.f("ix_orders_model_version_id"), "orders", ["model_version_id"], unique=False
    )
    op.create_index(op.f("ix_orders_session_id"), "orders", ["session_id"], unique=False)
    op.create_table(
        "position_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.Text(), nullable=False),
        sa.Column("qty", sa.Numeric(), nullable=False),
        sa.Column("avg_entry_price", sa.Numeric(), nullable=False),
        sa.Column("market_value", sa.Numeric(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "source IN ('broker', 'ledger')", name=op.f("ck_position_snapshots_source")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_position_snapshots_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_snapshots")),
        sa.UniqueConstraint(
            "session_id",
            "taken_at",
            "symbol",
            "source",
            name=op.f("uq_position_snapshots_session_id_taken_at_symbol_source"),
        ),
    )


def downgrade() -> None:
    op.drop_table("position_snapshots")
    op.drop_index(op.f("ix_orders_session_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_model_version_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_broker_order_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_order_events_session_id"), table_name="order_events")
    op.drop_index(op.f("ix_order_events_client_order_id"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index(op.f("ix_model_promotions_model_version_id"), table_name="model_promotions")
    op.drop_table("model_promotions")
    op.drop_index(op.f("ix_fills_session_id"), table_name="fills")
    op.drop_index(op.f("ix_fills_model_version_id"), table_name="fills")
    op.drop_index(op.f("ix_fills_client_order_id"), table_name="fills")
    op.drop_table("fills")
    op.drop_index(op.f("ix_engine_events_session_id_occurred_at"), table_name="engine_events")
    op.drop_index(op.f("ix_engine_events_kind"), table_name="engine_events")
    op.drop_table("engine_events")
    op.drop_index(op.f("ix_decisions_model_version_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("account_snapshots")
    op.drop_index(op.f("ix_trading_sessions_trading_day"), table_name="trading_sessions")
    op.drop_table("trading_sessions")
    op.drop_index(
        "uq_model_versions_single_champion",
        table_name="model_versions",
        postgresql_where=sa.text("status = 'champion'"),
    )
    op.drop_index(op.f("ix_model_versions_name"), table_name="model_versions")
    op.drop_table("model_versions")
