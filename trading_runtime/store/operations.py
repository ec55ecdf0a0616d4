"""Ledger write operations: small frozen records the live loop hands to the writer.

Each names one :class:`~trading_runtime.store.ledger.LedgerRepository` method and carries
its domain-typed arguments; ``apply(ledger)`` performs it. Every operation serialises to a
JSON object and back to an equal operation (:func:`operation_to_json` /
:func:`operation_from_json`), which is how the writer's spool survives a crash. Every
repository method they call is idempotent, so applying an operation twice is harmless.

    RecordDecisions         record_decisions
    RecordOrderSubmitted    record_order_submitted
    RecordOrderRejected     record_order_rejected
    RecordOrderUpdate       record_order_update
    RecordPositions         record_positions
    RecordAccount           record_account
    RecordEngineEvent       record_engine_event (``event_id`` fixed at creation)
    EndSession              end_session (``ended_at`` fixed at creation)

``LedgerWrite`` is their union; ``LedgerRecorder`` is the protocol they call (the repository,
or a fake in tests).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

from trading_runtime.domain import (
    AccountSnapshot,
    Decision,
    OrderIntent,
    OrderRejected,
    OrderSnapshot,
    OrderUpdated,
    Position,
)
from trading_runtime.store.codec import CodecError, decode, encode, to_jsonable

FORMAT_VERSION = 1


class LedgerRecorder(Protocol):
    """The ledger methods the writer drives (implemented by ``LedgerRepository``)."""

    def record_decisions(self, session_id: int, decisions: Any) -> Any: ...

    def record_order_submitted(
        self,
        session_id: int,
        intent: OrderIntent,
        snapshot: OrderSnapshot | None,
        model_version_id: int | None,
        decision_bar_timestamp: dt.datetime | None,
    ) -> Any: ...

    def record_order_rejected(
        self, session_id: int, rejection: OrderRejected, model_version_id: int | None
    ) -> Any: ...

    def record_order_update(
        self, session_id: int, update: OrderUpdated, model_version_id: int | None
    ) -> Any: ...

    def record_positions(
        self,
        session_id: int,
        positions: Mapping[str, Position],
        source: Literal["broker", "ledger"],
        taken_at: dt.datetime,
        prices: Mapping[str, Decimal] | None = None,
    ) -> Any: ...

    def record_account(self, session_id: int, account: AccountSnapshot) -> Any: ...

    def record_engine_event(
        self,
        session_id: int | None,
        kind: str,
        detail: Mapping[str, Any],
        occurred_at: dt.datetime,
        event_id: uuid.UUID | None = None,
    ) -> Any: ...

    def end_session(
        self,
        session_id: int,
        status: Literal["running", "completed", "failed", "interrupted"],
        ending_equity: Decimal | None = None,
        summary: Mapping[str, Any] | None = None,
        ended_at: dt.datetime | None = None,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class RecordDecisions:
    kind: ClassVar[str] = "record_decisions"
    session_id: int
    decisions: tuple[Decision, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "decisions", tuple(self.decisions))

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_decisions(self.session_id, self.decisions)


@dataclass(frozen=True, slots=True)
class RecordOrderSubmitted:
    kind: ClassVar[str] = "record_order_submitted"
    session_id: int
    intent: OrderIntent
    snapshot: OrderSnapshot | None
    model_version_id: int | None
    decision_bar_timestamp: dt.datetime | None

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_order_submitted(
            self.session_id,
            self.intent,
            self.snapshot,
            self.model_version_id,
            self.decision_bar_timestamp,
        )


@dataclass(frozen=True, slots=True)
class RecordOrderRejected:
    kind: ClassVar[str] = "record_order_rejected"
    session_id: int
    rejection: OrderRejected
    model_version_id: int | None

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_order_rejected(self.session_id, self.rejection, self.model_version_id)


@dataclass(frozen=True, slots=True)
class RecordOrderUpdate:
    kind: ClassVar[str] = "record_order_update"
    session_id: int
    update: OrderUpdated
    model_version_id: int | None

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_order_update(self.session_id, self.update, self.model_version_id)


@dataclass(frozen=True, slots=True)
class RecordPositions:
    kind: ClassVar[str] = "record_positions"
    session_id: int
    positions: dict[str, Position]
    source: Literal["broker", "ledger"]
    taken_at: dt.datetime
    prices: dict[str, Decimal] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", dict(self.positions))
        if self.prices is not None:
            object.__setattr__(self, "prices", dict(self.prices))

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_positions(
            self.session_id, self.positions, self.source, self.taken_at, self.prices
        )


@dataclass(frozen=True, slots=True)
class RecordAccount:
    kind: ClassVar[str] = "record_account"
    session_id: int
    account: AccountSnapshot

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_account(self.session_id, self.account)


@dataclass(frozen=True, slots=True)
class RecordEngineEvent:
    """An operational event; ``detail`` is normalised to JSON data at creation."""

    kind: ClassVar[str] = "record_engine_event"
    session_id: int | None
    event_kind: str
    detail: dict[str, Any]
    occurred_at: dt.datetime
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", to_jsonable(dict(self.detail)))

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.record_engine_event(
            self.session_id, self.event_kind, self.detail, self.occurred_at, self.event_id
        )


@dataclass(frozen=True, slots=True)
class EndSession:
    kind: ClassVar[str] = "end_session"
    session_id: int
    status: Literal["running", "completed", "failed", "interrupted"]
    ended_at: dt.datetime
    ending_equity: Decimal | None = None
    summary: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.summary is not None:
            object.__setattr__(self, "summary", to_jsonable(dict(self.summary)))

    def apply(self, ledger: LedgerRecorder) -> None:
        ledger.end_session(
            self.session_id, self.status, self.ending_equity, self.summary, self.ended_at
        )


LedgerWrite = (
    RecordDecisions
    | RecordOrderSubmitted
    | RecordOrderRejected
    | RecordOrderUpdate
    | RecordPositions
    | RecordAccount
    | RecordEngineEvent
    | EndSession
)

OPERATION_TYPES: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (
        RecordDecisions,
        RecordOrderSubmitted,
        RecordOrderRejected,
        RecordOrderUpdate,
        RecordPositions,
        RecordAccount,
        RecordEngineEvent,
        EndSession,
    )
}


def operation_to_json(operation: LedgerWrite) -> dict[str, Any]:
    """``{"v": 1, "kind": ..., "data": {...}}``, JSON-serialisable and exact."""
    return {"v": FORMAT_VERSION, "kind": operation.kind, "data": encode(operation)}


def operation_from_json(payload: Mapping[str, Any]) -> LedgerWrite:
    """The operation :func:`operation_to_json` encoded; :class:`CodecError` if malformed."""
    if payload.get("v") != FORMAT_VERSION:
        raise CodecError(f"unsupported spool format version {payload.get('v')!r}")
    kind = payload.get("kind")
    cls = OPERATION_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise CodecError(f"unknown ledger operation {kind!r}")
    operation: LedgerWrite = decode(cls, payload.get("data"))
    return operation
