"""The feature specification: names, windows and a hash that versions feature tables.

Features are defined on the **minute grid** of the session (see ``features.grid``), never on
"the last n bars": a minute without a bar is a minute without trades (grid close carried
forward, high = low = close, volume 0, one-minute return 0), and windows count minutes of
the session. Before a symbol's first bar of the session its grid close is that bar's open;
rows start at the first bar (no price is known before it). Windows never cross sessions:
the overnight gap is not a one-minute return. The reference symbol (SPY) is on the same
grid, so its features are defined as soon as it has traded in the session and its window is
full, whether or not it has a bar in the current minute.

Every feature of the row at minute ``k`` uses the symbol's and the reference's grid up to
``k`` and nothing later. Definitions (``G_k`` grid close, ``H_k``/``L_k`` grid high/low,
``V_k`` volume, ``o`` the symbol's first open of the session, ``G_{-1} = o``;
``r_k = log(G_k / G_{k-1})`` the one-minute return):

=====================  ===================================================================
``ret_n``              ``r_{k-n+1} + ... + r_k``; defined when ``k >= n - 1``
``spy_ret_n``          the reference symbol's ``ret_n`` at minute ``k``; NaN until the
                       reference has traded in the session
``rel_ret_n``          ``ret_n - spy_ret_n``
``vol_n``              sample standard deviation (ddof=1) of ``r_{k-n+1} .. r_k``
``range_1``            ``(H_k - L_k) / G_k`` (0 in a minute without a bar)
``atr_14``             Wilder average true range of
                       ``TR_k = max(H_k - L_k, |H_k - G_{k-1}|, |L_k - G_{k-1}|)``, seeded
                       by the mean of ``TR_0 .. TR_13``, divided by ``G_k``
``rsi_14``             Wilder RSI of the changes ``G_k - G_{k-1}`` (averages start at 0
                       before minute 0), 0..100 (100 when no losses); from ``k = 13``
``volume_z_30``        z-score (ddof=1) of ``log1p(V_k)`` within minutes ``k-29 .. k``
                       (0 when they are all equal)
``vwap_dev``           ``G_k / session_vwap - 1``; the session VWAP weights each bar's vwap
                       (typical price when absent) by its volume; 0 before any volume
``open_dev``           ``log(G_k / o)``
``minute_of_session``  ``k``
``minutes_to_close``   ``n - k`` (early closes included)
=====================  ===================================================================

Warm-up is counted on the grid: a row is ``complete`` (no feature is NaN) from minute
``warmup_minutes - 1`` of the session on, provided the reference symbol has traded by then.
Whether the symbol traded in the minute itself is recorded next to the features
(``traded``); a row without a bar still counts (the strategy decides on every symbol every
minute).
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# The modules whose code defines the features' values: a change to any of them is a new
# feature version, whose tables must be rebuilt (the hash names their files in the lake).
FEATURE_CODE_MODULES = ("spec", "grid", "batch", "streaming")


def code_digest(folder: Path, modules: tuple[str, ...]) -> str:
    """SHA-256 of the syntax trees of ``folder/<module>.py`` for each of ``modules``
    (comments and formatting do not count; a changed formula, docstring or constant does)."""
    digest = hashlib.sha256()
    for name in modules:
        source = (folder / f"{name}.py").read_text(encoding="utf-8")
        digest.update(name.encode())
        digest.update(ast.dump(ast.parse(source)).encode())
    return digest.hexdigest()


@cache
def feature_code_digest() -> str:
    """``code_digest`` of the feature modules of this package."""
    return code_digest(Path(__file__).parent, FEATURE_CODE_MODULES)


@dataclass(frozen=True)
class FeatureSpec:
    return_windows: tuple[int, ...] = (1, 5, 15, 30)
    reference_return_windows: tuple[int, ...] = (1, 5, 15)
    relative_return_windows: tuple[int, ...] = (5, 15, 30)
    volatility_windows: tuple[int, ...] = (15, 30)
    atr_window: int = 14
    rsi_window: int = 14
    volume_window: int = 30
    version: int = 2  # 2: features on the minute grid
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
    def warmup_minutes(self) -> int:
        """Minutes of the session needed before every feature is defined (see the grid)."""
        return max(
            max(self.return_windows),
            max(self.volatility_windows),
            self.atr_window,
            self.rsi_window,
            self.volume_window,
        )

    @property
    def hash(self) -> str:
        """Short, stable identifier of these definitions and of the code that computes them
        (versions feature tables and models)."""
        payload = {
            "version": self.version,
            "code": feature_code_digest(),
            "names": self.names,
            "atr": self.atr_window,
            "rsi": self.rsi_window,
            "volume": self.volume_window,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


FEATURE_SPEC = FeatureSpec()
