"""The feature specification: names, windows and a hash that versions feature tables.

Every feature of a bar uses only that bar and earlier bars of the same symbol in the same
session, plus the reference symbol's bars up to the same timestamp (an as-of join). Windows
never cross sessions: the overnight gap is not a one-minute return.

Definitions (``c`` close, ``o`` open, ``h`` high, ``l`` low, ``v`` volume; ``k`` counts the
symbol's bars since the session open, from 0; ``c_{-1}`` is the first bar's open):

=====================  ===================================================================
``ret_n``              sum of the last n one-bar log returns ``log(c_k / c_{k-1})``
``spy_ret_n``          the reference symbol's ``ret_n`` as of the bar's timestamp
``rel_ret_n``          ``ret_n - spy_ret_n``
``vol_n``              sample standard deviation (ddof=1) of the last n one-bar log returns
``range_1``            ``(h - l) / c``
``atr_14``             Wilder average true range (seeded by the mean of the first 14 true
                       ranges, the first true range being ``h - l``), divided by ``c``
``rsi_14``             Wilder RSI on close-to-close changes, 0..100 (100 when no losses)
``volume_z_30``        z-score (ddof=1) of ``log1p(v)`` within the last 30 bars
``vwap_dev``           ``c / session_vwap - 1``; the session VWAP weights each bar's vwap
                       (typical price when absent) by its volume
``open_dev``           ``log(c / o_0)``
``minute_of_session``  minutes from the exchange open to the bar's start
``minutes_to_close``   minutes from the bar's start to the exchange close (early closes)
=====================  ===================================================================

A feature is NaN until its window is full; a row is ``complete`` when no feature is NaN.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeatureSpec:
    return_windows: tuple[int, ...] = (1, 5, 15, 30)
    reference_return_windows: tuple[int, ...] = (1, 5, 15)
    relative_return_windows: tuple[int, ...] = (5, 15, 30)
    volatility_windows: tuple[int, ...] = (15, 30)
    atr_window: int = 14
    rsi_window: int = 14
    volume_window: int = 30
    version: int = 1
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = [f"ret_{n}" for n in self.return_windows]
        names += [f"spy_ret_{n}" for n in self.reference_return_windows]
        names += [f"rel_ret_{n}" for n in self.relative_return_windows]
        names += [f"vol_{n}" for n in self.volatility_windows]
        names += [
            "range_1",
            f"atr_{self.atr_window}",
            f"rsi_{self.rsi_window}",
            f"volume_z_{self.volume_window}",
            "vwap_dev",
            "open_dev",
            "minute_of_session",
            "minutes_to_close",
        ]
        object.__setattr__(self, "names", tuple(names))
        missing = set(self.relative_return_windows) - set(self.return_windows)
        if missing:
            raise ValueError(f"relative windows {sorted(missing)} need matching return windows")

    @property
    def reference_windows_needed(self) -> tuple[int, ...]:
        """Reference return windows computed internally (for ``spy_ret_n`` and ``rel_ret_n``)."""
        return tuple(sorted(set(self.reference_return_windows) | set(self.relative_return_windows)))

    @property
    def warmup_bars(self) -> int:
        """Bars of a symbol needed in a session before every feature is defined."""
        return max(
            max(self.return_windows),
            max(self.volatility_windows),
            self.atr_window,
            self.rsi_window,
            self.volume_window,
        )

    @property
    def hash(self) -> str:
        """Short, stable identifier of these definitions (versions feature tables and models)."""
        payload = {
            "version": self.version,
            "names": self.names,
            "atr": self.atr_window,
            "rsi": self.rsi_window,
            "volume": self.volume_window,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


FEATURE_SPEC = FeatureSpec()
