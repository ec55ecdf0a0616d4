"""The live engine's ledger port over the writer (``engine.ports.LedgerSink``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_runtime.store.operations import LedgerOperation

if TYPE_CHECKING:
    from trading_runtime.store.writer import LedgerWriter, WriterStats


class SessionLedger:
    """The live engine's ledger port (``engine.ports.LedgerSink``): the operations of one
    session, submitted to a :class:`LedgerWriter` (non-blocking; call from the loop thread)."""

    def __init__(self, writer: LedgerWriter, session_id: int) -> None:
        self.writer = writer
        self.session_id = session_id

    @property
    def stats(self) -> WriterStats:
        """The writer's counters (the engine's kill switch reads dead letters and backlog)."""
        return self.writer.stats

    def submit(self, operation: LedgerOperation) -> None:
        """Queue ``operation``; raises ``ValueError`` for another session's operation."""
        if operation.session_id not in (self.session_id, None):
            raise ValueError(
                f"operation {operation.kind} of session {operation.session_id} "
                f"submitted to the ledger of session {self.session_id}"
            )
        self.writer.submit(operation)
