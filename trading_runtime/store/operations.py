"""Ledger writes, each declared once: a frozen record per kind of write.

The live loop builds these and submits them (``LedgerWriter.submit``, via the engine's
``LedgerSink``); the writer queues them, spools them when the database is unreachable, and
hands each to :meth:`LedgerRepository.apply <trading_runtime.store.writes.LedgerRepository.apply>`,
which performs it in one transaction. Every write is idempotent, so applying one twice (a
replay after a lost commit acknowledgement) changes nothing the second time.

    RecordDecisions         predictions and what the strategy did with them
    RecordHolds             one minute's HOLD decisions in bulk (arrays, not objects)
    RecordOrderSubmitted    an order sent (before the broker answered, then with its answer)
    RecordOrderRejected     a submission the broker refused
    RecordOrderUpdate       a trade update (order state, event, fill)
    RecordPositions         a position snapshot (the broker's or the book's)
    RecordAccount           an account snapshot
    RecordEngineEvent       an operational event (``event_id`` fixed at creation)
    EndSession              the session's status, reason, equity and summary

Spool format (one JSON line per write, through a pydantic ``TypeAdapter``):
``[2, {"session_id": 7, ..., "kind": "record_account"}]`` (format version, write). :func:`dump_operation` and
:func:`load_operation` round-trip every write exactly (Decimal digits, time zones,
non-finite floats); a line that is not a valid write raises :class:`SpoolFormatError`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from trading_runtime.core.minute import HeldRows
from trading_runtime.domain import (
    AccountSnapshot,
    Decision,
    OrderIntent,
    OrderRejected,
    OrderSnapshot,
    OrderUpdated,
    Position,
    SessionStatus,
)
from trading_runtime.store.jsonable import to_jsonable

SPOOL_FORMAT: Literal[2] = 2
PositionSource = Literal["broker", "ledger"]
"""Who computed a position snapshot: the broker, or the engine's book (the ledger)."""


class UnknownSessionError(LookupError):
    """No trading session has this id."""


class SpoolFormatError(ValueError):
    """A spooled line is not a ledger write of the current format."""


@dataclass(frozen=True, slots=True)
class RecordDecisions:
    """Upserted on (session, symbol, bar timestamp); a later decision for a bar wins."""

    session_id: int
    decisions: tuple[Decision, ...]
    kind: Literal["record_decisions"] = field(default="record_decisions", kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decisions", tuple(self.decisions))


@dataclass(frozen=True, slots=True)
class RecordHolds:
    """The HOLD decisions of one minute for the symbols that could not act, as columns.

    Symbol ``symbols[i]`` was predicted ``(p_down[i], p_flat[i], p_up[i])`` at ``prices[i]``
    by ``model_version_id`` and held because ``p_up[i]`` is below ``buy_threshold`` (the
    reason recorded is :func:`~trading_runtime.strategy.rules.hold_reason`). Stored as one
    decision row per symbol, exactly as :class:`RecordDecisions` would store the same HOLDs
    (upserted on (session, symbol, bar timestamp)), but written with one COPY. Raises
    ``ValueError`` when the columns differ in length.
    """

    session_id: int
    bar_timestamp: dt.datetime
    model_version_id: int | None
    buy_threshold: float
    symbols: tuple[str, ...]
    p_down: tuple[float, ...]
    p_flat: tuple[float, ...]
    p_up: tuple[float, ...]
    prices: tuple[float, ...]
    kind: Literal["record_holds"] = field(default="record_holds", kw_only=True)

    def __post_init__(self) -> None:
        for name in ("symbols", "p_down", "p_flat", "p_up", "prices"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        lengths = {len(self.p_down), len(self.p_flat), len(self.p_up), len(self.prices)}
        if lengths != {len(self.symbols)}:
            raise ValueError("every column of RecordHolds needs one value per symbol")

    def __len__(self) -> int:
        return len(self.symbols)

    @classmethod
    def of(cls, session_id: int, held: HeldRows) -> RecordHolds:
        """The write for the held rows of one minute (see ``core.minute.decide_arrays``)."""
        rows = held.rows
        probabilities = held.probabilities[rows]
        return cls(
            session_id,
            held.timestamp,
            held.model_version_id,
            held.buy_threshold,
            tuple(held.symbols[i] for i in rows.tolist()),
            tuple(probabilities[:, 0].tolist()),
            tuple(probabilities[:, 1].tolist()),
            tuple(probabilities[:, 2].tolist()),
            tuple(held.prices[rows].tolist()),
        )


@dataclass(frozen=True, slots=True)
class RecordOrderSubmitted:
    """``snapshot`` is the broker's answer, None when recorded before the answer."""

    session_id: int
    intent: OrderIntent
    snapshot: OrderSnapshot | None
    model_version_id: int | None
    decision_bar_timestamp: dt.datetime | None
    kind: Literal["record_order_submitted"] = field(default="record_order_submitted", kw_only=True)


@dataclass(frozen=True, slots=True)
class RecordOrderRejected:
    session_id: int
    rejection: OrderRejected
    model_version_id: int | None
    kind: Literal["record_order_rejected"] = field(default="record_order_rejected", kw_only=True)


@dataclass(frozen=True, slots=True)
class RecordOrderUpdate:
    """``model_version_id`` None means "the version recorded on the order", if any."""

    session_id: int
    update: OrderUpdated
    model_version_id: int | None
    kind: Literal["record_order_update"] = field(default="record_order_update", kw_only=True)


@dataclass(frozen=True, slots=True)
class RecordPositions:
    """One row per position; ``prices`` (optional) give market values."""

    session_id: int
    positions: dict[str, Position]
    source: PositionSource
    taken_at: dt.datetime
    prices: dict[str, Decimal] | None = None
    kind: Literal["record_positions"] = field(default="record_positions", kw_only=True)

    def __post_init__(self) -> None:
        if self.source not in ("broker", "ledger"):
            raise ValueError(f"position source must be broker or ledger, got {self.source!r}")
        object.__setattr__(self, "positions", dict(self.positions))
        if self.prices is not None:
            object.__setattr__(self, "prices", dict(self.prices))


@dataclass(frozen=True, slots=True)
class RecordAccount:
    session_id: int
    account: AccountSnapshot
    kind: Literal["record_account"] = field(default="record_account", kw_only=True)


@dataclass(frozen=True, slots=True)
class RecordEngineEvent:
    """An operational event; ``detail`` is normalised to JSON data at creation, and
    ``event_id`` chosen then, so a replayed event is stored once."""

    session_id: int | None
    event_kind: str
    detail: dict[str, Any]
    occurred_at: dt.datetime
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    kind: Literal["record_engine_event"] = field(default="record_engine_event", kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", to_jsonable(dict(self.detail)))


@dataclass(frozen=True, slots=True)
class EndSession:
    """Close a session (``ended_at`` fixed at creation). ``reason`` says why it ended."""

    session_id: int
    status: SessionStatus
    ended_at: dt.datetime
    ending_equity: Decimal | None = None
    summary: dict[str, Any] | None = None
    reason: str | None = None
    kind: Literal["end_session"] = field(default="end_session", kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", SessionStatus(self.status))
        if self.summary is not None:
            object.__setattr__(self, "summary", to_jsonable(dict(self.summary)))


LedgerOperation = (
    RecordDecisions
    | RecordHolds
    | RecordOrderSubmitted
    | RecordOrderRejected
    | RecordOrderUpdate
    | RecordPositions
    | RecordAccount
    | RecordEngineEvent
    | EndSession
)


class LedgerApplier(Protocol):
    """What the writer drives: ``LedgerRepository``, or a fake in tests. Synchronous."""

    def apply(self, operation: LedgerOperation) -> None: ...


# --- spool format ---------------------------------------------------------------------------


# A line is ``[format, operation]``. The config is given to the adapter (not to a record
# type) because only a root config reaches the nested domain dataclasses.
_SPOOL_LINE = TypeAdapter(
    tuple[Literal[2], Annotated[LedgerOperation, Field(discriminator="kind")]],
    config=ConfigDict(extra="forbid", ser_json_inf_nan="strings"),
)


def dump_operation(operation: LedgerOperation) -> bytes:
    """One spool line (without the newline): compact JSON, exact for every field."""
    return _SPOOL_LINE.dump_json((SPOOL_FORMAT, operation))


def load_operation(line: bytes | str) -> LedgerOperation:
    """The write :func:`dump_operation` encoded; :class:`SpoolFormatError` if it is not one."""
    try:
        return _SPOOL_LINE.validate_json(line)[1]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)[:3]
        )
        raise SpoolFormatError(
            f"not a ledger write of spool format {SPOOL_FORMAT}: {problems}"
        ) from None
