"""A ledger sink for engine tests: keeps every operation submitted, in order."""

from __future__ import annotations

from typing import Any

from trading_runtime.store.operations import RecordEngineEvent


class RecordingLedger:
    session_id = 1

    def __init__(self) -> None:
        self.operations: list[Any] = []

    def submit(self, operation: Any) -> None:
        self.operations.append(operation)

    def events(self, kind: str) -> list[RecordEngineEvent]:
        """The engine events of ``kind``, in the order submitted."""
        return [
            o for o in self.operations if isinstance(o, RecordEngineEvent) and o.event_kind == kind
        ]
