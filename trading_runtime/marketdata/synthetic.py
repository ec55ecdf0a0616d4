"""A deterministic synthetic market of one-minute bars over real NYSE sessions.

The same ``(seed, symbol, day)`` always yields the same bars, whatever else is in the
universe and whichever days are asked for, so a partition can be rebuilt on its own.

The model, per session of ``n`` minutes (390, or 210 on early closes):

* **Market factor.** The reference symbol (SPY) follows log-returns
  ``m_k = sigma_m * v_day * s(k) * z_k``: ``s(k)`` is a U-shaped intraday volatility
  seasonality (high at the open, lower at midday, rising into the close), ``v_day`` a
  log-normal daily volatility regime shared by all symbols.
* **Symbols.** ``r_i,k = beta_i * m_k + idiosyncratic_i,k``. The idiosyncratic part is a
  random walk plus two mean-reverting states:

  - an Ornstein-Uhlenbeck deviation ``x`` (rate ``ou_rate`` per minute), a weak, continuous
    mean reversion of the symbol against the market;
  - **overreaction to shocks**, the documented predictable component: with probability
    ``shock_probability`` per minute a symbol jumps by 0.6-1.5 % (either sign) on a volume
    spike; ``shock_transient`` of the jump is transient and decays at ``shock_decay`` per
    minute, so after a shock the next 10 minutes drift back by about half of the jump.

  A model that sees recent returns relative to SPY, range and volume can find both, and
  nothing else: there is no other edge. Expected values are small against the noise, so
  most minutes are unpredictable and only the minutes after a shock carry confident signals.
* **Days.** Each session opens at a per-symbol daily anchor (a slow random walk over
  calendar days from 2015-01-01); the overnight gap is the difference between that anchor and
  the previous close.
* **Volume** follows the same U-shape, with log-normal noise and spikes on large moves.

Prices are rounded to cents; every bar satisfies ``low <= open, close <= high``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

_EPOCH = dt.date(2015, 1, 1)
_ANCHOR_DAYS = 12_000  # anchors cover 2015-01-01 .. 2047


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """Per-symbol constants, drawn once from ``(seed, symbol)``."""

    base_price: float
    beta: float
    idio_sigma: float  # per-minute random-walk volatility
    base_volume: float  # shares per minute at midday


@dataclass(frozen=True)
class SyntheticMarketParameters:
    market_sigma: float = 0.0006
    day_regime_sigma: float = 0.25
    ou_rate: float = 0.08
    ou_sigma: float = 0.0005
    shock_probability: float = 0.004
    shock_min: float = 0.006
    shock_max: float = 0.015
    shock_transient: float = 0.6
    shock_decay: float = 0.15
    anchor_daily_sigma: float = 0.006
    reference_anchor_daily_sigma: float = 0.004


class SyntheticMarket:
    """Deterministic generator of one-minute bars for any NYSE session."""

    def __init__(
        self,
        seed: int,
        reference_symbol: str = REFERENCE_SYMBOL,
        parameters: SyntheticMarketParameters | None = None,
    ) -> None:
        self.seed = seed
        self.reference_symbol = reference_symbol
        self.parameters = parameters or SyntheticMarketParameters()

    # --- public ---------------------------------------------------------------------------
    def day_bars(self, day: dt.date, symbols: list[str] | tuple[str, ...]) -> pd.DataFrame:
        """All bars of ``day`` for ``symbols`` (the reference symbol is always generated).

        Columns: symbol, timestamp (UTC), open, high, low, close, volume, trade_count, vwap;
        sorted by timestamp then symbol. Raises ``ValueError`` if ``day`` is not a session.
        """
        session = calendar.session(day)
        minutes = session.minutes
        timestamps = session.bar_timestamps()
        market_returns, day_regime = self._market_path(day, minutes)
        frames = []
        ordered = [
            self.reference_symbol,
            *sorted(s for s in set(symbols) if s != self.reference_symbol),
        ]
        for symbol in ordered:
            frames.append(self._symbol_bars(symbol, day, timestamps, market_returns, day_regime))
        bars = pd.concat(frames, ignore_index=True)
        return bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)

    def profile(self, symbol: str) -> SymbolProfile:
        return _profile(self.seed, symbol, symbol == self.reference_symbol)

    # --- internals --------------------------------------------------------------------------
    def _rng(self, *keys: int | str) -> np.random.Generator:
        parts = [self.seed] + [k if isinstance(k, int) else _stable_int(k) for k in keys]
        return np.random.default_rng(parts)

    def _market_path(self, day: dt.date, minutes: int) -> tuple[np.ndarray, float]:
        p = self.parameters
        rng = self._rng("market", day.toordinal())
        day_regime = float(np.exp(rng.normal(0.0, p.day_regime_sigma)))
        shocks = rng.standard_normal(minutes)
        returns = p.market_sigma * day_regime * _seasonality(minutes) * shocks
        return returns, day_regime

    def _anchor_log_price(self, symbol: str, day: dt.date) -> float:
        profile = self.profile(symbol)
        is_reference = symbol == self.reference_symbol
        sigma = (
            self.parameters.reference_anchor_daily_sigma
            if is_reference
            else self.parameters.anchor_daily_sigma
        )
        walk = _anchor_walk(self.seed, symbol)
        index = (day - _EPOCH).days
        if not 0 <= index < _ANCHOR_DAYS:
            raise ValueError(f"{day} is outside the synthetic market's range")
        market_walk = _anchor_walk(self.seed, "__market__")
        level = sigma * walk[index]
        if not is_reference:
            level += (
                profile.beta * self.parameters.reference_anchor_daily_sigma * market_walk[index]
            )
        else:
            level = self.parameters.reference_anchor_daily_sigma * market_walk[index] + 0.1 * level
        return float(np.log(profile.base_price) + level)

    def _symbol_bars(
        self,
        symbol: str,
        day: dt.date,
        timestamps: pd.DatetimeIndex,
        market_returns: np.ndarray,
        day_regime: float,
    ) -> pd.DataFrame:
        p = self.parameters
        profile = self.profile(symbol)
        minutes = len(timestamps)
        seasonality = _seasonality(minutes)
        rng = self._rng("bars", symbol, day.toordinal())
        if symbol == self.reference_symbol:
            log_returns = market_returns.copy()
            shock_sizes = np.zeros(minutes)
        else:
            idio = profile.idio_sigma * day_regime * seasonality * rng.standard_normal(minutes)
            ou_noise = p.ou_sigma * seasonality * rng.standard_normal(minutes)
            shock_happens = rng.random(minutes) < p.shock_probability
            shock_sign = np.where(rng.random(minutes) < 0.5, -1.0, 1.0)
            shock_sizes = np.where(
                shock_happens, shock_sign * rng.uniform(p.shock_min, p.shock_max, minutes), 0.0
            )
            ou_state = _ar1(ou_noise, 1.0 - p.ou_rate)
            transient = _ar1(p.shock_transient * shock_sizes, 1.0 - p.shock_decay)
            permanent = np.cumsum(idio + (1.0 - p.shock_transient) * shock_sizes)
            idiosyncratic_level = permanent + ou_state + transient
            log_returns = profile.beta * market_returns + np.diff(idiosyncratic_level, prepend=0.0)
        open_log = self._anchor_log_price(symbol, day)
        close_log = open_log + np.cumsum(log_returns)
        close = np.exp(close_log)
        previous_close = np.concatenate(([np.exp(open_log)], close[:-1]))
        minute_sigma = np.maximum(np.abs(log_returns), 1e-4 * seasonality)
        open_ = previous_close * np.exp(0.1 * minute_sigma * rng.standard_normal(minutes))
        open_[0] = np.exp(open_log)
        wick_up = np.abs(rng.standard_normal(minutes)) * 0.5 * minute_sigma
        wick_down = np.abs(rng.standard_normal(minutes)) * 0.5 * minute_sigma
        open_c = np.round(open_, 2)
        close_c = np.round(close, 2)
        high_c = np.maximum(
            np.round(np.maximum(open_, close) * np.exp(wick_up), 2), np.maximum(open_c, close_c)
        )
        low_c = np.minimum(
            np.round(np.minimum(open_, close) * np.exp(-wick_down), 2), np.minimum(open_c, close_c)
        )
        low_c = np.maximum(low_c, 0.01)
        move = np.abs(log_returns) / (profile.idio_sigma + 1e-12)
        volume = (
            profile.base_volume
            * seasonality
            * np.exp(rng.normal(0.0, 0.3, minutes))
            * (1.0 + 0.15 * move + 3.0 * (shock_sizes != 0))
        )
        volume = np.maximum(np.round(volume), 1.0)
        vwap = np.clip((open_c + high_c + low_c + close_c) / 4.0, low_c, high_c)
        trade_count = np.maximum(np.round(volume / 120.0), 1.0)
        return pd.DataFrame(
            {
                "symbol": symbol,
                "timestamp": timestamps,
                "open": open_c,
                "high": high_c,
                "low": low_c,
                "close": close_c,
                "volume": volume,
                "trade_count": trade_count,
                "vwap": np.round(vwap, 4),
            }
        )


def _ar1(innovations: np.ndarray, persistence: float) -> np.ndarray:
    """``state_k = persistence * state_{k-1} + innovations_k`` with ``state_{-1} = 0``."""
    state = np.empty_like(innovations)
    level = 0.0
    for k, shock in enumerate(innovations):
        level = persistence * level + shock
        state[k] = level
    return state


def _session_shape(minutes: int) -> np.ndarray:
    k = np.arange(minutes, dtype=float)
    return 0.7 + 1.2 * np.exp(-k / 25.0) + 0.6 * np.exp(-(minutes - 1.0 - k) / 30.0)


@lru_cache(maxsize=8)
def _seasonality(minutes: int) -> np.ndarray:
    """U-shaped intraday multiplier, scaled so a full 390-minute session averages 1.

    Early closes keep the opening decay and get the closing ramp at their own close.
    """
    shape = _session_shape(minutes) / _session_shape(390).mean()
    shape.setflags(write=False)
    return shape


@lru_cache(maxsize=512)
def _profile(seed: int, symbol: str, is_reference: bool) -> SymbolProfile:
    rng = np.random.default_rng([seed, _stable_int("profile"), _stable_int(symbol)])
    if is_reference:
        return SymbolProfile(
            base_price=float(rng.uniform(550, 650)),
            beta=1.0,
            idio_sigma=0.0003,
            base_volume=60_000.0,
        )
    return SymbolProfile(
        base_price=float(np.round(np.exp(rng.uniform(np.log(40), np.log(900))), 2)),
        beta=float(rng.uniform(0.8, 1.5)),
        idio_sigma=float(rng.uniform(0.0007, 0.0014)),
        base_volume=float(np.round(np.exp(rng.uniform(np.log(3_000), np.log(40_000))))),
    )


@lru_cache(maxsize=512)
def _anchor_walk(seed: int, name: str) -> np.ndarray:
    rng = np.random.default_rng([seed, _stable_int("anchor"), _stable_int(name)])
    walk = np.cumsum(rng.standard_normal(_ANCHOR_DAYS))
    walk.setflags(write=False)
    return walk
