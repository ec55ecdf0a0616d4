"""Labels: the direction of the forward log return over a fixed horizon, on the minute grid.

``fwd_ret = log(G[t + horizon] / G[t])`` with ``G`` the symbol's grid close of the session
(``features.grid``: carried forward through minutes without a bar), so a label exists for
every row of the feature table whose horizon ends inside the session: ``t + horizon`` is at
most the session's last minute, never across the close. Classes: ``UP`` when
``fwd_ret > +band``, ``DOWN`` when ``fwd_ret < -band``, ``FLAT`` otherwise (``band`` in basis
points of log return).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trading_runtime.domain.enums import Direction
from trading_runtime.features.grid import session_grids


@dataclass(frozen=True)
class LabelSpec:
    horizon_minutes: int = 10
    flat_band_bps: float = 10.0

    @property
    def band(self) -> float:
        return self.flat_band_bps / 10_000.0

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


LABEL_SPEC = LabelSpec()


def forward_returns(bars: pd.DataFrame, horizon_minutes: int) -> pd.DataFrame:
    """``symbol, timestamp, fwd_ret`` for every grid minute (from the symbol's first bar of
    the session) whose horizon ends in the same session."""
    if horizon_minutes < 1:
        raise ValueError("the horizon is at least one minute")
    parts = []
    for grid in session_grids(bars):
        span = grid.minutes - horizon_minutes
        if span <= 0:
            continue
        fwd = np.log(grid.close[:, horizon_minutes:] / grid.close[:, :span])
        has_row = grid.row_mask()[:, :span]
        symbol_index, minute_index = np.nonzero(has_row)
        parts.append(
            pd.DataFrame(
                {
                    "symbol": np.asarray(grid.symbols, dtype=object)[symbol_index],
                    "timestamp": grid.timestamps[minute_index],
                    "fwd_ret": fwd[symbol_index, minute_index],
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {
                "symbol": pd.Series(dtype=object),
                "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
                "fwd_ret": pd.Series(dtype=float),
            }
        )
    return pd.concat(parts, ignore_index=True)


def classify(fwd_ret: np.ndarray | pd.Series, spec: LabelSpec = LABEL_SPEC) -> np.ndarray:
    values = np.asarray(fwd_ret, dtype=float)
    labels = np.full(values.shape, int(Direction.FLAT), dtype=np.int64)
    labels[values > spec.band] = int(Direction.UP)
    labels[values < -spec.band] = int(Direction.DOWN)
    return labels


def label_bars(bars: pd.DataFrame, spec: LabelSpec = LABEL_SPEC) -> pd.DataFrame:
    """``symbol, timestamp, fwd_ret, label`` for every labellable grid minute."""
    returns = forward_returns(bars, spec.horizon_minutes)
    returns["label"] = classify(returns["fwd_ret"], spec)
    return returns
