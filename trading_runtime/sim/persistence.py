"""``--state FILE``: the emulator's account, orders, fills and replay position survive a restart
of the emulator itself (the engine's restarts need nothing: the state lives in the process).

The file is written atomically after each replayed minute (at most once a second) and at
shutdown, and read at start when it holds the same session date. It is a pickle: load only a
file an emulator wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trading_runtime.venue import Venue

log = logging.getLogger(__name__)

FORMAT = 1
SAVE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class SavedState:
    session_date: dt.date
    venue: Venue
    fills: list[dict[str, Any]]
    bars_published: int
    now: dt.datetime


def load(path: Path, session_date: dt.date) -> SavedState | None:
    """The saved state of ``session_date``; None when there is none (or another day's)."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        payload = pickle.load(handle)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an emulator state file of format {FORMAT}")
    state: SavedState = payload["state"]
    if state.session_date != session_date:
        log.warning("%s holds %s, not %s: starting afresh", path, state.session_date, session_date)
        return None
    return state


def save(path: Path, state: SavedState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        pickle.dump({"format": FORMAT, "state": state}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


class Saver:
    """Saves at most every ``SAVE_INTERVAL_S`` seconds, unless told to save now."""

    def __init__(self, path: Path, snapshot: Any) -> None:
        self._path = path
        self._snapshot = snapshot
        self._last = 0.0

    def __call__(self, *, now: bool = False) -> None:
        if not now and time.monotonic() - self._last < SAVE_INTERVAL_S:
            return
        save(self._path, self._snapshot())
        self._last = time.monotonic()
