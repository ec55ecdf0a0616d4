"""Session identity and the exclusive lease that lets one engine run a session.

A session trades one broker account on one trading day in one mode:
:class:`SessionIdentity`. Before an engine opens a session it takes the identity's lease
(:meth:`SessionLeases.acquire`); a second engine is refused with
:class:`SessionLeaseHeldError`, which names the holder. The holder renews the lease
(:meth:`SessionLeases.heartbeat`, every ``ttl_s / 3`` or so) and gives it back at the end
(:meth:`SessionLeases.release`).

Why a lease row and not a Postgres advisory lock: an advisory lock lives as long as one
database connection, so a database restart or a dropped connection (which the live loop
rides out, spooling its writes) would release it silently while the engine still trades;
and it cannot say who holds it. A row with an owner, a heartbeat and an expiry survives
outages, names its holder, and works through connection poolers. The cost is expiry: a
crashed engine's lease blocks the identity until ``expires_at``, and an engine cut off from
the database for longer than ``ttl_s`` may lose its lease (its next heartbeat raises
:class:`SessionLeaseLostError`; it must stop trading). All times are the database
server's clock, so hosts with skewed clocks agree on expiry.

Recovery: acquiring an identity whose previous lease expired (or whose sessions were left
``running`` without a lease) marks every session of the identity still ``running`` as
``interrupted``, with the reason, in the same transaction, and lists them in
:attr:`Lease.recovered`. The new engine reconciles them from the broker; opening a session
with the same key (paper and live keys are stable per account and day) hands that session
back, ``running`` again. At most one session per identity is ``running`` at a time: the
database enforces it too (a partial unique index).

Sim replays: every replay is its own session (its key names the run), but the identity is
still (account, day, sim), so two concurrent replays against one emulator account are
refused like any other pair.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from trading_runtime.domain import SessionStatus, TradingMode
from trading_runtime.store.db import session_factory
from trading_runtime.store.jsonable import redact_config
from trading_runtime.store.models import SessionLeaseRow, TradingSessionRow

DEFAULT_LEASE_TTL_S = 30.0


@dataclass(frozen=True, slots=True)
class SessionIdentity:
    """What a session trades: ``account_id`` (the broker's), ``trading_day``, ``mode``."""

    account_id: str
    trading_day: dt.date
    mode: TradingMode

    def __post_init__(self) -> None:
        if not self.account_id:
            raise ValueError("a session identity needs the broker's account id")
        object.__setattr__(self, "mode", TradingMode(self.mode))

    def __str__(self) -> str:
        return f"{self.mode.value} account {self.account_id} on {self.trading_day}"


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds (or last held) an identity's lease, as the database saw it at ``read_at``."""

    identity: SessionIdentity
    owner: str
    session_id: int | None
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime
    expires_at: dt.datetime
    read_at: dt.datetime

    @property
    def expired(self) -> bool:
        return self.expires_at <= self.read_at


@dataclass(frozen=True, slots=True)
class RecoveredSession:
    """A session found ``running`` when the lease was acquired, now ``interrupted``."""

    session_id: int
    session_key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease. ``token`` proves it; ``recovered`` lists the sessions it took over."""

    identity: SessionIdentity
    owner: str
    token: uuid.UUID
    ttl_s: float
    acquired_at: dt.datetime
    expires_at: dt.datetime
    previous: LeaseHolder | None = None
    recovered: tuple[RecoveredSession, ...] = ()


class SessionLeaseHeldError(RuntimeError):
    """Another engine holds the identity's lease; ``holder`` says who, until when."""

    def __init__(self, holder: LeaseHolder) -> None:
        session = f", session {holder.session_id}" if holder.session_id is not None else ""
        super().__init__(
            f"a session for {holder.identity} is already running: lease held by "
            f"{holder.owner}{session} since {holder.acquired_at.isoformat()}, last heartbeat "
            f"{holder.heartbeat_at.isoformat()}, expires {holder.expires_at.isoformat()}"
        )
        self.holder = holder


class SessionLeaseLostError(RuntimeError):
    """The lease is no longer this holder's (it expired and another engine took it, or it
    was released): stop trading the session."""


class SessionLeases:
    """Leases and the sessions opened under them; one transaction per call (thread-safe)."""

    def __init__(self, engine: Engine, ttl_s: float = DEFAULT_LEASE_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError("a lease's ttl_s must be positive")
        self._sessions = session_factory(engine)
        self.ttl_s = ttl_s

    def acquire(self, identity: SessionIdentity, owner: str) -> Lease:
        """Take the identity's lease for ``owner`` (a name for operators: host, pid, run).

        Raises :class:`SessionLeaseHeldError` while another holder's lease is live (a live
        lease is never shared, even with the same owner name). Sessions of the identity left
        ``running`` are marked ``interrupted`` and returned in :attr:`Lease.recovered`.
        """
        token = uuid.uuid4()
        ttl = dt.timedelta(seconds=self.ttl_s)
        key = _key(identity)
        with self._sessions.begin() as session:
            now = _database_now(session)
            previous_row = session.scalars(
                select(SessionLeaseRow).filter_by(**key).with_for_update()
            ).one_or_none()
            previous = _holder(identity, previous_row, now) if previous_row else None
            if previous is not None and not previous.expired:
                raise SessionLeaseHeldError(previous)
            values = {
                **key,
                "owner": owner,
                "token": token,
                "session_id": None,
                "acquired_at": now,
                "heartbeat_at": now,
                "expires_at": now + ttl,
            }
            statement = insert(SessionLeaseRow).values(**values)
            taken = session.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        SessionLeaseRow.account_id,
                        SessionLeaseRow.trading_day,
                        SessionLeaseRow.mode,
                    ],
                    set_={name: statement.excluded[name] for name in values if name not in key},
                    where=SessionLeaseRow.expires_at <= now,
                ).returning(SessionLeaseRow.token)
            ).scalar_one_or_none()
            if taken is None:
                # Another engine inserted the lease after our read: it is live.
                raise SessionLeaseHeldError(self._current_holder(identity))
            reason = _takeover_reason(previous, owner)
            recovered = session.execute(
                update(TradingSessionRow)
                .where(
                    TradingSessionRow.account_id == identity.account_id,
                    TradingSessionRow.trading_day == identity.trading_day,
                    TradingSessionRow.mode == identity.mode.value,
                    TradingSessionRow.status == SessionStatus.RUNNING.value,
                )
                .values(
                    status=SessionStatus.INTERRUPTED.value,
                    ended_at=func.coalesce(TradingSessionRow.ended_at, now),
                    end_reason=reason,
                )
                .returning(TradingSessionRow.id, TradingSessionRow.session_key)
            ).all()
        return Lease(
            identity=identity,
            owner=owner,
            token=token,
            ttl_s=self.ttl_s,
            acquired_at=now,
            expires_at=now + ttl,
            previous=previous,
            recovered=tuple(
                RecoveredSession(session_id, session_key, reason)
                for session_id, session_key in sorted(recovered)
            ),
        )

    def heartbeat(self, lease: Lease) -> Lease:
        """Extend the lease by ``ttl_s`` from now; returns it with the new expiry.

        A lease that expired but that nobody took since is still this holder's and is
        renewed. Raises :class:`SessionLeaseLostError` when another holder took it or it was
        released.
        """
        with self._sessions.begin() as session:
            now = _database_now(session)
            expires_at = session.execute(
                update(SessionLeaseRow)
                .filter_by(**_key(lease.identity), token=lease.token)
                .values(heartbeat_at=now, expires_at=now + dt.timedelta(seconds=lease.ttl_s))
                .returning(SessionLeaseRow.expires_at)
            ).scalar_one_or_none()
        if expires_at is None:
            raise SessionLeaseLostError(self._lost_message(lease))
        return replace(lease, expires_at=expires_at)

    def release(self, lease: Lease) -> bool:
        """Give the lease back; False when it was no longer held (idempotent)."""
        with self._sessions.begin() as session:
            deleted = session.execute(
                delete(SessionLeaseRow)
                .filter_by(**_key(lease.identity), token=lease.token)
                .returning(SessionLeaseRow.token)
            ).scalar_one_or_none()
        return deleted is not None

    def holder(self, identity: SessionIdentity) -> LeaseHolder | None:
        """The identity's lease as it stands (possibly expired), or None when there is none."""
        with self._sessions() as session:
            now = _database_now(session)
            row = session.scalars(select(SessionLeaseRow).filter_by(**_key(identity))).one_or_none()
            return _holder(identity, row, now) if row else None

    def start_session(
        self,
        lease: Lease,
        *,
        session_key: str,
        started_at: dt.datetime,
        symbols: Sequence[str],
        config: Mapping[str, Any] | None = None,
        dagster_run_id: str | None = None,
        starting_equity: Decimal | None = None,
    ) -> int:
        """Open the session ``session_key`` of the lease's identity and return its id.

        ``session_key`` is the engine's stable name for the session (it seeds
        ``client_order_id``s). A key that exists (a restart of the same paper/live session)
        re-opens that session, same id, so its rows stay together; its ``starting_equity``
        (the day's first) is kept. ``config`` is stored with secret-looking values redacted.
        Raises :class:`SessionLeaseLostError` when ``lease`` is no longer held, and
        ``ValueError`` when the key belongs to a session of another identity.
        """
        identity = lease.identity
        values = {
            "session_key": session_key,
            "account_id": identity.account_id,
            "mode": identity.mode.value,
            "trading_day": identity.trading_day,
            "started_at": started_at,
            "status": SessionStatus.RUNNING.value,
            "symbols": list(symbols),
            "config": redact_config(config or {}),
            "dagster_run_id": dagster_run_id,
            "starting_equity": starting_equity,
        }
        statement = insert(TradingSessionRow).values(**values)
        upsert = statement.on_conflict_do_update(
            index_elements=[TradingSessionRow.session_key],
            set_={
                "status": SessionStatus.RUNNING.value,
                "ended_at": None,
                "end_reason": None,
                "dagster_run_id": statement.excluded.dagster_run_id,
                "starting_equity": func.coalesce(
                    TradingSessionRow.starting_equity, statement.excluded.starting_equity
                ),
            },
            where=(TradingSessionRow.account_id == identity.account_id)
            & (TradingSessionRow.trading_day == identity.trading_day)
            & (TradingSessionRow.mode == identity.mode.value),
        ).returning(TradingSessionRow.id)
        with self._sessions.begin() as session:
            held = session.scalars(
                select(SessionLeaseRow)
                .filter_by(**_key(identity), token=lease.token)
                .where(SessionLeaseRow.expires_at > _database_now(session))
                .with_for_update()
            ).one_or_none()
            if held is None:
                raise SessionLeaseLostError(self._lost_message(lease))
            session_id = session.execute(upsert).scalar_one_or_none()
            if session_id is None:
                raise ValueError(f"session key {session_key!r} belongs to another identity")
            held.session_id = session_id
        return int(session_id)

    # --- internals ------------------------------------------------------------------------
    def _current_holder(self, identity: SessionIdentity) -> LeaseHolder:
        holder = self.holder(identity)
        if holder is None:  # released between the two reads: report what we know
            raise RuntimeError(f"the lease for {identity} changed hands while acquiring it")
        return holder

    def _lost_message(self, lease: Lease) -> str:
        holder = self.holder(lease.identity)
        now = f"now held by {holder.owner}" if holder else "now held by nobody"
        return f"the lease for {lease.identity} is no longer held by {lease.owner} ({now})"


def _key(identity: SessionIdentity) -> dict[str, Any]:
    return {
        "account_id": identity.account_id,
        "trading_day": identity.trading_day,
        "mode": identity.mode.value,
    }


def _holder(identity: SessionIdentity, row: SessionLeaseRow, now: dt.datetime) -> LeaseHolder:
    return LeaseHolder(
        identity=identity,
        owner=row.owner,
        session_id=row.session_id,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
        read_at=now,
    )


def _takeover_reason(previous: LeaseHolder | None, owner: str) -> str:
    if previous is None:
        return f"left running without a lease; recovered by {owner}"
    return (
        f"lease of {previous.owner} expired at {previous.expires_at.isoformat()} (last "
        f"heartbeat {previous.heartbeat_at.isoformat()}); recovered by {owner}"
    )


def _database_now(session: Session) -> dt.datetime:
    now: dt.datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    return now
