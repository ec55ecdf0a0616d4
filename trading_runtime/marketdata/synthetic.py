"""A deterministic synthetic market of one-minute bars over real NYSE sessions, shaped like
what Alpaca's IEX feed returns.

The same ``(seed, symbol, day)`` always yields the same bars, whatever else is in the
universe and whichever days are asked for, so a partition can be rebuilt on its own.

The price model, per session of ``n`` minutes (390, or 210 on early closes):

* **Market factor.** The reference symbol (SPY) follows log-returns
  ``m_k = sigma_m * v_day * s(k) * z_k``: ``s(k)`` is a U-shaped intraday volatility
  seasonality (high at the open, lower at midday, rising into the close), ``v_day`` a
  log-normal daily volatility regime shared by all symbols.
* **Symbols.** ``r_i,k = beta_i * m_k + idiosyncratic_i,k``. The idiosyncratic part is a
  random walk plus two mean-reverting states, both scaled by ``predictability`` (1: the
  default strength; 0: no planted component, every true return unpredictable):

  - an Ornstein-Uhlenbeck deviation ``x`` (rate ``ou_rate * predictability`` per minute), a
    weak, continuous mean reversion of the symbol against the market;
  - **overreaction to shocks**, the documented predictable component: with probability
    ``shock_probability`` per minute a symbol jumps by 0.6-1.5 % (either sign) on a volume
    spike; ``shock_transient * predictability`` of the jump is transient and decays at
    ``shock_decay`` per minute, so after a shock the next 10 minutes drift back by about half
    of the jump (at full strength).

  A model that sees recent returns relative to SPY, range and volume can find both, and
  nothing else. Expected values are small against the noise, so most minutes are
  unpredictable and only the minutes after a shock carry confident signals.
* **Days.** Each session opens at a per-symbol daily anchor (a slow random walk over
  calendar days from 2015-01-01); the overnight gap is the difference between that anchor and
  the previous close.
* **Volume** follows the same U-shape, with log-normal noise and spikes on large moves.

What the feed shows of it (see :class:`SyntheticMarketParameters`):

* **Liquidity tiers.** Each traded symbol draws a tier (liquid, mid, thin) from
  ``(seed, symbol)``; a minute has a bar only when the symbol traded on the venue, with
  probability ``1 - missing ** s(k)`` (thin names miss most midday minutes). Shock minutes
  always trade. The reference symbol misses almost none.
* **Halts.** With probability ``halt_probability`` per symbol and session a symbol goes
  silent for ``halt_minutes`` and reopens with a jump.
* **Extended hours.** ``day_bars(..., extended_hours=True)`` adds sparse pre-market
  (04:00-09:30 New York) and after-hours (to 20:00) bars, as Alpaca's REST API returns
  them; ingestion keeps regular hours only.
* **Splits.** Every ``split_every_days`` calendar days one symbol of ``split_candidates``
  (drawn from the seed and the day) splits by one of ``split_ratios`` at the next session:
  raw prices divide by the ratio overnight and volumes multiply by it
  (:meth:`SyntheticMarket.splits` lists them).

Prices are rounded to cents; every bar satisfies ``low <= open, close <= high``.

What the feed's shape leaves predictable even at ``predictability=0`` (as in a real sparse
feed): a symbol without a bar in a minute keeps its last close on the minute grid while the
market moves, so its next print catches up with the reference's move (stale prices), and cent
rounding makes consecutive one-minute returns slightly negatively correlated. Neither can be
traded at the stale or rounded price: orders fill at the next bar's open.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.corporate_actions import SplitEvent
from trading_runtime.marketdata.synthetic_parameters import (
    ANCHOR_DAYS,
    DEFAULT_TIERS,
    EPOCH,
    LiquidityTier,
    SymbolProfile,
    SyntheticMarketParameters,
    anchor_walk,
    ar1,
    intraday_seasonality,
    split_schedule,
    stable_int,
    symbol_profile,
)
from trading_runtime.marketdata.universe import REFERENCE_SYMBOL

__all__ = [
    "BAR_FIELDS",
    "DEFAULT_TIERS",
    "LiquidityTier",
    "SymbolProfile",
    "SyntheticMarket",
    "SyntheticMarketParameters",
]

_NEW_YORK = ZoneInfo(calendar.NEW_YORK)
_EXTENDED_OPEN = dt.time(4, 0)
_EXTENDED_CLOSE = dt.time(20, 0)
BAR_FIELDS = (
    "symbol",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
    "vwap",
)


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
    def day_bars(
        self, day: dt.date, symbols: list[str] | tuple[str, ...], *, extended_hours: bool = False
    ) -> pd.DataFrame:
        """All bars of ``day`` for ``symbols`` (the reference symbol is always generated).

        Columns: symbol, timestamp (UTC), open, high, low, close, volume, trade_count, vwap;
        sorted by timestamp then symbol. Regular hours only unless ``extended_hours``.
        Raises ``ValueError`` if ``day`` is not a session.
        """
        session = calendar.session(day)
        market_returns, day_regime = self._market_path(day, session.minutes)
        ordered = [
            self.reference_symbol,
            *sorted(s for s in set(symbols) if s != self.reference_symbol),
        ]
        parts: list[dict[str, np.ndarray]] = []
        for symbol in ordered:
            regular = self._symbol_bars(symbol, session, market_returns, day_regime)
            parts.append(regular)
            if extended_hours:
                parts.extend(self._extended_bars(symbol, session, regular))
        bars = pd.DataFrame({name: np.concatenate([p[name] for p in parts]) for name in BAR_FIELDS})
        bars["timestamp"] = pd.DatetimeIndex(bars["timestamp"], tz="UTC")
        return bars.sort_values(["timestamp", "symbol"], kind="stable").reset_index(drop=True)

    def profile(self, symbol: str) -> SymbolProfile:
        return symbol_profile(
            self.seed,
            symbol,
            symbol == self.reference_symbol,
            self.parameters.tiers,
            self.parameters.reference_missing,
        )

    def splits(
        self, symbols: list[str] | tuple[str, ...], start: dt.date, end: dt.date
    ) -> list[SplitEvent]:
        """Splits of ``symbols`` effective from ``start`` to ``end`` (inclusive), by date."""
        wanted = set(symbols)
        return [
            event
            for event in self._schedule()
            if event.symbol in wanted and start <= event.effective_date <= end
        ]

    # --- internals --------------------------------------------------------------------------
    def _schedule(self) -> tuple[SplitEvent, ...]:
        p = self.parameters
        return split_schedule(self.seed, p.split_every_days, p.split_ratios, p.split_candidates)

    def _split_factor(self, symbol: str, day: dt.date) -> float:
        """Product of the ratios of ``symbol``'s splits effective on or before ``day``."""
        factor = 1.0
        for event in self._schedule():
            if event.symbol == symbol and event.effective_date <= day:
                factor *= event.ratio
        return factor

    def _rng(self, *keys: int | str) -> np.random.Generator:
        parts = [self.seed] + [k if isinstance(k, int) else stable_int(k) for k in keys]
        return np.random.default_rng(parts)

    def _market_path(self, day: dt.date, minutes: int) -> tuple[np.ndarray, float]:
        p = self.parameters
        rng = self._rng("market", day.toordinal())
        day_regime = float(np.exp(rng.normal(0.0, p.day_regime_sigma)))
        shocks = rng.standard_normal(minutes)
        returns = p.market_sigma * day_regime * intraday_seasonality(minutes) * shocks
        return returns, day_regime

    def _anchor_log_price(self, symbol: str, day: dt.date) -> float:
        profile = self.profile(symbol)
        is_reference = symbol == self.reference_symbol
        sigma = (
            self.parameters.reference_anchor_daily_sigma
            if is_reference
            else self.parameters.anchor_daily_sigma
        )
        walk = anchor_walk(self.seed, symbol)
        index = (day - EPOCH).days
        if not 0 <= index < ANCHOR_DAYS:
            raise ValueError(f"{day} is outside the synthetic market's range")
        market_walk = anchor_walk(self.seed, "__market__")
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
        session: calendar.Session,
        market_returns: np.ndarray,
        day_regime: float,
    ) -> dict[str, np.ndarray]:
        p = self.parameters
        day = session.date
        profile = self.profile(symbol)
        minutes = session.minutes
        seasonality = intraday_seasonality(minutes)
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
            transient_share = p.shock_transient * p.predictability
            ou_state = ar1(ou_noise, 1.0 - p.ou_rate * p.predictability)
            transient = ar1(transient_share * shock_sizes, 1.0 - p.shock_decay)
            permanent = np.cumsum(idio + (1.0 - transient_share) * shock_sizes)
            idiosyncratic_level = permanent + ou_state + transient
            log_returns = profile.beta * market_returns + np.diff(idiosyncratic_level, prepend=0.0)
        halted = self._halt(symbol, day, minutes, log_returns)
        split = self._split_factor(symbol, day)
        open_log = self._anchor_log_price(symbol, day) - np.log(split)
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
            * split
            * seasonality
            * np.exp(rng.normal(0.0, 0.3, minutes))
            * (1.0 + 0.15 * move + 3.0 * (shock_sizes != 0))
        )
        volume = np.maximum(np.round(volume), 1.0)
        vwap = np.clip((open_c + high_c + low_c + close_c) / 4.0, low_c, high_c)
        trade_count = np.maximum(np.round(volume / 120.0), 1.0)
        # Which minutes print on the venue: liquid names nearly all, thin ones few (more at
        # the open and close); shocks always trade; a halted symbol never does.
        activity = self._rng("activity", symbol, day.toordinal()).random(minutes)
        printed = ((activity >= profile.missing**seasonality) | (shock_sizes != 0)) & ~halted
        return {
            "symbol": np.full(int(printed.sum()), symbol, dtype=object),
            "timestamp": _utc_microseconds(session.bar_timestamps())[printed],
            "open": open_c[printed],
            "high": high_c[printed],
            "low": low_c[printed],
            "close": close_c[printed],
            "volume": volume[printed],
            "trade_count": trade_count[printed],
            "vwap": np.round(vwap, 4)[printed],
        }

    def _halt(self, symbol: str, day: dt.date, minutes: int, log_returns: np.ndarray) -> np.ndarray:
        """Minutes of a trading halt (if any today); the price does not move during it and
        reopens with a jump. Modifies ``log_returns`` in place."""
        p = self.parameters
        halted = np.zeros(minutes, dtype=bool)
        rng = self._rng("halt", symbol, day.toordinal())
        if symbol == self.reference_symbol or rng.random() >= p.halt_probability:
            return halted
        length = int(rng.integers(p.halt_minutes[0], p.halt_minutes[1] + 1))
        start = int(rng.integers(15, max(16, minutes - length - 15)))
        end = min(start + length, minutes)
        halted[start:end] = True
        if end < minutes:
            log_returns[end] += float(log_returns[start:end].sum()) + rng.normal(
                0.0, p.halt_reopen_sigma
            )
        log_returns[start:end] = 0.0
        return halted

    def _extended_bars(
        self, symbol: str, session: calendar.Session, regular: dict[str, np.ndarray]
    ) -> list[dict[str, np.ndarray]]:
        """Sparse pre-market and after-hours bars around ``regular`` (random walks from the
        first open backwards and from the last close forwards)."""
        if not len(regular["close"]):
            return []
        profile = self.profile(symbol)
        rng = self._rng("extended", symbol, session.date.toordinal())
        activity = self.parameters.extended_hours_activity * (1.0 - profile.missing)
        pre, post = _extended_minutes(session)
        frames = []
        for stamps, anchor, backwards in (
            (pre, float(regular["open"][0]), True),
            (post, float(regular["close"][-1]), False),
        ):
            steps = 0.0004 * rng.standard_normal(len(stamps))
            path = np.cumsum(steps[::-1])[::-1] if backwards else np.cumsum(steps)
            close = np.round(anchor * np.exp(path), 2)
            spread = np.round(close * 0.0005, 2)
            keep = rng.random(len(stamps)) < activity
            volume = np.maximum(np.round(profile.base_volume * 0.02 * rng.random(len(stamps))), 1)
            frames.append(
                {
                    "symbol": np.full(int(keep.sum()), symbol, dtype=object),
                    "timestamp": _utc_microseconds(stamps)[keep],
                    "open": close[keep],
                    "high": (close + spread)[keep],
                    "low": np.maximum(close - spread, 0.01)[keep],
                    "close": close[keep],
                    "volume": volume[keep].astype(float),
                    "trade_count": np.ones(int(keep.sum())),
                    "vwap": close[keep],
                }
            )
        return frames


def _utc_microseconds(stamps: pd.DatetimeIndex) -> np.ndarray:
    return stamps.tz_convert("UTC").as_unit("us").asi8.view("datetime64[us]")


@lru_cache(maxsize=64)
def _extended_minutes(session: calendar.Session) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Bar timestamps of the pre-market (04:00 New York to the open) and the after-hours
    session (the close to 20:00)."""
    early = dt.datetime.combine(session.date, _EXTENDED_OPEN, _NEW_YORK).astimezone(dt.UTC)
    late = dt.datetime.combine(session.date, _EXTENDED_CLOSE, _NEW_YORK).astimezone(dt.UTC)
    return (
        pd.date_range(early, session.open, freq="1min", inclusive="left"),
        pd.date_range(session.close, late, freq="1min", inclusive="left"),
    )
