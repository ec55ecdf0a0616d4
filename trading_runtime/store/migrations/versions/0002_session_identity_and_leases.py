"""Session identity (account, trading day, mode), session leases, end reasons.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

trading_sessions gains ``account_id`` (sessions recorded before it was tracked get
'unknown') and ``end_reason``; at most one session per (account, day, mode) may be
running (partial unique index). Sessions still marked running when this migration runs
were left by engines that had no lease and cannot be recovered: they are marked
interrupted with that reason. session_leases holds the exclusive lease of each identity.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "trading_sessions",
        sa.Column("account_id", sa.Text(), nullable=False, server_default="unknown"),
    )
    op.alter_column("trading_sessions", "account_id", server_default=None)
    op.add_column("trading_sessions", sa.Column("end_reason", sa.Text(), nullable=True))
    op.execute(
        "UPDATE trading_sessions SET status = 'interrupted', "
        "ended_at = COALESCE(ended_at, now()), "
        "end_reason = 'left running by an engine without a session lease' "
        "WHERE status = 'running'"
    )
    op.create_index(
        op.f("ix_trading_sessions_account_id_mode_trading_day"),
        "trading_sessions",
        ["account_id", "mode", "trading_day"],
        unique=False,
    )
    op.create_index(
        "uq_trading_sessions_one_running",
        "trading_sessions",
        ["account_id", "trading_day", "mode"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "session_leases",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("token", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('sim', 'paper', 'live')", name=op.f("ck_session_leases_mode")
        ),
        sa.CheckConstraint(
            "expires_at > heartbeat_at", name=op.f("ck_session_leases_expires_after_heartbeat")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["trading_sessions.id"],
            name=op.f("fk_session_leases_session_id_trading_sessions"),
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "trading_day", "mode", name=op.f("pk_session_leases")
        ),
        sa.UniqueConstraint("token", name=op.f("uq_session_leases_token")),
    )


def downgrade() -> None:
    op.drop_table("session_leases")
    op.drop_index(
        "uq_trading_sessions_one_running",
        table_name="trading_sessions",
        postgresql_where=sa.text("status = 'running'"),
    )
    op.drop_index(
        op.f("ix_trading_sessions_account_id_mode_trading_day"), table_name="trading_sessions"
    )
    op.drop_column("trading_sessions", "end_reason")
    op.drop_column("trading_sessions", "account_id")
