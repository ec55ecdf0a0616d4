"""Labels: the direction of the forward log return over a fixed horizon, within one session.

``fwd_ret = log(close[t + horizon] / close[t])`` where ``t + horizon`` is the bar exactly
``horizon`` minutes later *in the same session*; bars whose horizon ends after the close (or
whose future bar is missing) get no label. Classes: ``UP`` when ``fwd_ret > +band``,
``DOWN`` when ``fwd_ret < -band``, ``FLAT`` otherwise (``band`` in basis points of log return).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trading_runtime.domain.enums import Direction


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
    """``symbol, timestamp, fwd_ret`` for every bar that has a same-session future bar."""
    frame = bars[["symbol", "timestamp", "close"]].copy()
    frame["session_date"] = pd.DatetimeIndex(frame["timestamp"]).tz_convert("America/New_York").date
    future = frame.rename(columns={"close": "future_close", "timestamp": "future_timestamp"})
    frame["future_timestamp"] = frame["timestamp"] + pd.Timedelta(minutes=horizon_minutes)
    joined = frame.merge(future, on=["symbol", "future_timestamp", "session_date"], how="inner")
    joined["fwd_ret"] = np.log(joined["future_close"] / joined["close"])
    return joined[["symbol", "timestamp", "fwd_ret"]]


def classify(fwd_ret: np.ndarray | pd.Series, spec: LabelSpec = LABEL_SPEC) -> np.ndarray:
    values = np.asarray(fwd_ret, dtype=float)
    labels = np.full(values.shape, int(Direction.FLAT), dtype=np.int64)
    labels[values > spec.band] = int(Direction.UP)
    labels[values < -spec.band] = int(Direction.DOWN)
    return labels


def label_bars(bars: pd.DataFrame, spec: LabelSpec = LABEL_SPEC) -> pd.DataFrame:
    """``symbol, timestamp, fwd_ret, label`` for every labellable bar."""
    returns = forward_returns(bars, spec.horizon_minutes)
    returns["label"] = classify(returns["fwd_ret"], spec)
    return returns
