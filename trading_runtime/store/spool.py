"""Durable, ordered spool of ledger operations that could not be written yet.

One JSON-lines file per trading session (``session-<id>.jsonl`` in the spool directory; the
line format is ``operations.dump_operation``'s);
each append is flushed and fsync'ed before it returns, so an operation that reached the
spool survives a crash of the process or the machine. A process holds an exclusive
``flock`` on every file it owns, so two processes sharing a spool directory never replay
(or delete) each other's files; a file left by a dead process is claimed by the next
writer that starts.

Operations that can never be written (the database refused them for a reason other than
being unreachable, or a spool line is unreadable) go to ``dead-letter.jsonl`` with the
error, and are logged: kept for an operator, never silently dropped.

All methods block (file I/O, and the ``apply`` callback of :meth:`Spool.replay`); the writer
calls them through ``asyncio.to_thread``. A lock makes them safe to call from any thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from trading_runtime.store.operations import (
    LedgerOperation,
    SpoolFormatError,
    dump_operation,
    load_operation,
)

logger = logging.getLogger(__name__)

DEAD_LETTER_FILE = "dead-letter.jsonl"
_SPOOL_GLOB = "session-*.jsonl"


class TransientWriteError(Exception):
    """Raised by an ``apply`` callback to say: stop replaying, try again later."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True, slots=True)
class ReplayResult:
    applied: int
    dead_lettered: int
    error: BaseException | None  # the transient error that stopped the replay, if any


@dataclass(slots=True)
class _SpoolFile:
    path: Path
    handle: IO[str]
    count: int  # complete operations in the file
    done: int  # operations already applied by this process (a prefix)


class Spool:
    """The spool files this process owns, in the order they must be replayed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[Path, _SpoolFile] = {}
        self._lock = threading.Lock()
        # Kept as a plain counter (updated under the lock, read without it) so the event
        # loop can read it while a replay holds the lock.
        self._backlog = 0

    @property
    def backlog(self) -> int:
        """Operations in owned files not applied yet (never blocks)."""
        return self._backlog

    def path_for(self, session_id: int | None) -> Path:
        name = "none" if session_id is None else str(session_id)
        return self.directory / f"session-{name}.jsonl"

    def claim_existing(self) -> int:
        """Take ownership of spool files left by earlier processes (oldest first).

        Files another live process holds are skipped. Returns the operations claimed.
        """
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            claimed = 0
            paths = sorted(
                self.directory.glob(_SPOOL_GLOB), key=lambda p: (p.stat().st_mtime_ns, p.name)
            )
            for path in paths:
                if path in self._files:
                    continue
                handle = self._open_locked(path)
                if handle is None:
                    logger.info("spool file %s is held by another process; not replaying", path)
                    continue
                count = _count_complete_lines(path)
                self._files[path] = _SpoolFile(path, handle, count, 0)
                claimed += count
            self._backlog += claimed
            if claimed:
                logger.warning(
                    "claimed %d unwritten ledger operations from %s", claimed, self.directory
                )
            return claimed

    def append(self, operations: Sequence[LedgerOperation]) -> None:
        """Append in order and fsync; returns only once the operations are on disk."""
        if not operations:
            return
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            touched: list[_SpoolFile] = []
            for operation in operations:
                spool_file = self._owned(self.path_for(getattr(operation, "session_id", None)))
                spool_file.handle.write(dump_operation(operation).decode() + "\n")
                spool_file.count += 1
                self._backlog += 1
                if spool_file not in touched:
                    touched.append(spool_file)
            for spool_file in touched:
                spool_file.handle.flush()
                os.fsync(spool_file.handle.fileno())

    def replay(self, apply: Callable[[LedgerOperation], None]) -> ReplayResult:
        """Apply every owned operation in order, deleting each file once fully applied.

        ``apply`` raises :class:`TransientWriteError` to stop (the rest stays spooled and the
        next replay resumes where this one stopped); any other exception dead-letters that
        one operation and the replay goes on.
        """
        applied = dead = 0
        with self._lock:
            for spool_file in list(self._files.values()):
                for index, raw in enumerate(_read_lines(spool_file.path, spool_file.count)):
                    if index < spool_file.done:
                        continue
                    try:
                        operation = load_operation(raw)
                    except SpoolFormatError as error:
                        self._dead_letter_locked(raw, error)
                        dead += 1
                        spool_file.done += 1
                        self._backlog -= 1
                        continue
                    try:
                        apply(operation)
                    except TransientWriteError as error:
                        return ReplayResult(applied, dead, error.cause)
                    except Exception as error:
                        self._dead_letter_locked(_as_json(operation), error)
                        dead += 1
                    else:
                        applied += 1
                    spool_file.done += 1
                    self._backlog -= 1
                self._remove_locked(spool_file)
        return ReplayResult(applied, dead, None)

    def dead_letter(self, operation: LedgerOperation, error: BaseException) -> None:
        with self._lock:
            self._dead_letter_locked(_as_json(operation), error)

    def close(self) -> None:
        """Release every file (and its lock); unapplied operations stay on disk."""
        with self._lock:
            for spool_file in self._files.values():
                spool_file.handle.close()
            self._files.clear()
            self._backlog = 0

    # --- internals (hold self._lock) -----------------------------------------------------------
    def _owned(self, path: Path) -> _SpoolFile:
        spool_file = self._files.get(path)
        if spool_file is None:
            handle = self._open_locked(path)
            if handle is None:
                raise RuntimeError(f"spool file {path} is held by another process")
            _fsync_directory(self.directory)
            spool_file = _SpoolFile(path, handle, _count_complete_lines(path), 0)
            self._files[path] = spool_file
            self._backlog += spool_file.count  # lines a dead process left there
        return spool_file

    @staticmethod
    def _open_locked(path: Path) -> IO[str] | None:
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open while owned
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def _remove_locked(self, spool_file: _SpoolFile) -> None:
        # Unlink while still holding the flock, so no other process claims a half-deleted file.
        spool_file.path.unlink(missing_ok=True)
        spool_file.handle.close()
        del self._files[spool_file.path]
        _fsync_directory(self.directory)

    def _dead_letter_locked(self, payload: Any, error: BaseException) -> None:
        record = {
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "error": f"{type(error).__name__}: {error}".splitlines()[0],
            "operation": payload,
        }
        path = self.directory / DEAD_LETTER_FILE
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        logger.error(
            "ledger operation could not be written and went to %s: %s", path, record["error"]
        )


def _as_json(operation: LedgerOperation) -> Any:
    return json.loads(dump_operation(operation))


def _read_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` complete lines (a torn last line from a crash is not one)."""
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle.read().split("\n") if line.strip()]
    return lines[:count]


def _count_complete_lines(path: Path) -> int:
    if not path.exists():
        return 0
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        logger.warning("spool file %s ends with a torn line (crash mid-write); ignoring it", path)
        # Make the next append start on a fresh line.
        with open(path, "ab") as handle:
            handle.write(b"\n")
        data += b"\n"
    return sum(1 for line in data.split(b"\n") if line.strip())


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
