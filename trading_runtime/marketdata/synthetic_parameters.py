"""The synthetic market's parameters and its seeded draws: liquidity tiers, per-symbol
profiles, daily anchor walks, the split schedule, the intraday seasonality and the AR(1)
states the price model (``marketdata.synthetic``) is built from. Every draw depends on the
seed and the names only, so any day can be generated on its own."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.corporate_actions import SplitEvent
from trading_runtime.marketdata.universe import NASDAQ_100

EPOCH = dt.date(2015, 1, 1)
ANCHOR_DAYS = 12_000  # anchors cover 2015-01-01 .. 2047


def stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True, slots=True)
class LiquidityTier:
    """``share`` of the traded symbols; ``missing`` minutes without a bar at average activity
    (fewer at the open and close); IEX volume as ``volume_scale`` of the symbol's base."""

    name: str
    share: float
    missing: float
    volume_scale: float


DEFAULT_TIERS = (
    LiquidityTier("liquid", share=0.5, missing=0.03, volume_scale=1.0),
    LiquidityTier("mid", share=0.35, missing=0.25, volume_scale=0.3),
    LiquidityTier("thin", share=0.15, missing=0.65, volume_scale=0.08),
)


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """Per-symbol constants, drawn once from ``(seed, symbol)``."""

    base_price: float
    beta: float
    idio_sigma: float  # per-minute random-walk volatility
    base_volume: float  # shares per minute at midday (on the venue, tier scale included)
    tier: str
    missing: float  # minutes without a bar at average activity


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
    predictability: float = 1.0
    tiers: tuple[LiquidityTier, ...] = DEFAULT_TIERS
    reference_missing: float = 0.002
    halt_probability: float = 0.02
    halt_minutes: tuple[int, int] = (5, 60)
    halt_reopen_sigma: float = 0.01
    extended_hours_activity: float = 0.12  # bar probability outside regular hours, liquid
    split_every_days: int = 41
    split_ratios: tuple[int, ...] = (2, 3, 4)
    split_candidates: tuple[str, ...] = field(default=NASDAQ_100)

    @classmethod
    def dense(cls, **overrides: object) -> SyntheticMarketParameters:
        """Every symbol prints every regular-hours minute at full volume, no halts, no splits
        (the plain price model alone): for protocol tests that count bars or fills exactly."""
        tiers = tuple(replace(t, missing=0.0, volume_scale=1.0) for t in DEFAULT_TIERS)
        values: dict[str, object] = {
            "tiers": tiers,
            "reference_missing": 0.0,
            "halt_probability": 0.0,
            "split_candidates": (),
            **overrides,
        }
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if not 0.0 <= self.predictability <= 1.0:
            raise ValueError("predictability must be within [0, 1]")
        if abs(sum(t.share for t in self.tiers) - 1.0) > 1e-9:
            raise ValueError("liquidity tier shares must add up to 1")
        if not all(0.0 <= t.missing < 1.0 for t in self.tiers):
            raise ValueError("a tier's missing share must be within [0, 1)")


def ar1(innovations: np.ndarray, persistence: float) -> np.ndarray:
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
def intraday_seasonality(minutes: int) -> np.ndarray:
    """U-shaped intraday multiplier, scaled so a full 390-minute session averages 1.

    Early closes keep the opening decay and get the closing ramp at their own close.
    """
    shape = _session_shape(minutes) / _session_shape(390).mean()
    shape.setflags(write=False)
    return shape


@lru_cache(maxsize=1024)
def symbol_profile(
    seed: int,
    symbol: str,
    is_reference: bool,
    tiers: tuple[LiquidityTier, ...],
    reference_missing: float,
) -> SymbolProfile:
    rng = np.random.default_rng([seed, stable_int("profile"), stable_int(symbol)])
    if is_reference:
        return SymbolProfile(
            base_price=float(rng.uniform(550, 650)),
            beta=1.0,
            idio_sigma=0.0003,
            base_volume=60_000.0,
            tier="reference",
            missing=reference_missing,
        )
    base_price = float(np.round(np.exp(rng.uniform(np.log(40), np.log(900))), 2))
    beta = float(rng.uniform(0.8, 1.5))
    idio_sigma = float(rng.uniform(0.0007, 0.0014))
    base_volume = float(np.round(np.exp(rng.uniform(np.log(3_000), np.log(40_000)))))
    # Drawn from a stream of its own so the tiers do not change the price model's draws.
    draw = np.random.default_rng([seed, stable_int("tier"), stable_int(symbol)]).random()
    bounds = np.cumsum([t.share for t in tiers])
    tier = tiers[min(int(np.searchsorted(bounds, draw, side="right")), len(tiers) - 1)]
    return SymbolProfile(
        base_price, beta, idio_sigma, base_volume * tier.volume_scale, tier.name, tier.missing
    )


@lru_cache(maxsize=512)
def anchor_walk(seed: int, name: str) -> np.ndarray:
    rng = np.random.default_rng([seed, stable_int("anchor"), stable_int(name)])
    walk = np.cumsum(rng.standard_normal(ANCHOR_DAYS))
    walk.setflags(write=False)
    return walk


@lru_cache(maxsize=16)
def split_schedule(
    seed: int, every_days: int, ratios: tuple[int, ...], candidates: tuple[str, ...]
) -> tuple[SplitEvent, ...]:
    """Every ``every_days`` calendar days (from the epoch, phase drawn from the seed) one
    candidate splits, effective at the first session on or after that day."""
    if not candidates or every_days < 1:
        return ()
    phase = stable_int(f"split-phase:{seed}") % every_days
    events = []
    for index in range(phase, ANCHOR_DAYS, every_days):
        day = EPOCH + dt.timedelta(days=index)
        try:
            effective = day if calendar.is_session(day) else calendar.next_session(day)
        except calendar.CalendarRangeError:
            continue
        draw = stable_int(f"split:{seed}:{day.isoformat()}")
        symbol = candidates[draw % len(candidates)]
        ratio = ratios[(draw // len(candidates)) % len(ratios)]
        events.append(SplitEvent(symbol, effective, float(ratio)))
    return tuple(events)
