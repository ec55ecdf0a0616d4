"""Pre-trade risk checks, applied to every order the strategy proposes, in order.

Buys:
  1. kill switch: equity has fallen ``daily_loss_limit_fraction`` below the day's start
     -> no new entries;
  2. wash-trade prevention: no buy while a sell in the same symbol is working (and vice
     versa); no second order while one on the same side is still working (its fill is not
     in the book yet, so the position would be counted twice);
  3. buys-per-day cap per symbol;
  4. position cap: the position after the order stays within ``max_position_fraction`` of
     equity (the order is reduced to fit);
  5. buying power: what the order may consume, after working buy orders and orders already
     approved this minute, is available (the order is reduced to fit).
Sells:
  1. no shorting: a sell never exceeds the position (reduced to fit);
  2. wash-trade prevention and one working order per side, as for buys;
  3. the legacy day-trade guard, when enabled: with equity under ``day_trade_min_equity``,
     refuse the sell that would be the ``max_day_trades + 1``-th day trade in the last five
     trading days (FINRA's retired pattern-day-trader rule, kept for accounts that want it;
     day trades counted by :func:`~trading_runtime.risk.day_trades.count_day_trades`).

Orders reduced below one share, or below ``min_order_notional``, are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal

from trading_runtime.domain.enums import OrderSide
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.domain.portfolio import PortfolioState
from trading_runtime.risk.day_trades import count_day_trades, day_trades_in_window


@dataclass(frozen=True)
class RiskConfig:
    max_position_fraction: Decimal = Decimal("0.20")
    max_buys_per_symbol_per_day: int = 3
    daily_loss_limit_fraction: Decimal = Decimal("0.03")
    legacy_day_trade_guard: bool = False
    day_trade_min_equity: Decimal = Decimal("25000")
    max_day_trades: int = 3
    min_order_notional: Decimal = Decimal("1")


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """``approved`` is the order to send (possibly reduced), or None with ``reason`` why not."""

    proposed: OrderIntent
    approved: OrderIntent | None
    reason: str

    @property
    def refused(self) -> bool:
        return self.approved is None


def kill_switch_triggered(state: PortfolioState, config: RiskConfig) -> bool:
    if state.day_start_equity is None or state.day_start_equity <= 0:
        return False
    floor = state.day_start_equity * (1 - config.daily_loss_limit_fraction)
    return state.account.equity <= floor


def check_orders(
    intents: Sequence[OrderIntent],
    state: PortfolioState,
    config: RiskConfig,
    trading_day: dt.date,
) -> list[RiskVerdict]:
    """Verdicts in the order of ``intents``; earlier approvals consume buying power."""
    verdicts: list[RiskVerdict] = []
    if not intents:
        return verdicts
    available = state.account.buying_power - state.reserved_buying_power
    killed = kill_switch_triggered(state, config)
    day_trades: int | None = None  # counted at the first sell
    for intent in intents:
        if intent.side is OrderSide.BUY:
            verdict, consumed = _check_buy(intent, state, config, available, killed)
            available -= consumed
        else:
            if day_trades is None:
                day_trades = day_trades_in_window(state.day_trades, trading_day)
            verdict = _check_sell(intent, state, config, day_trades)
            if verdict.approved is not None and _would_be_day_trade(intent, state):
                day_trades += 1
        verdicts.append(verdict)
    return verdicts


def _refuse(intent: OrderIntent, reason: str) -> RiskVerdict:
    return RiskVerdict(intent, None, reason)


def _reduced(intent: OrderIntent, qty: Decimal, reason: str) -> RiskVerdict:
    return RiskVerdict(intent, replace(intent, qty=qty), reason)


def _check_buy(
    intent: OrderIntent,
    state: PortfolioState,
    config: RiskConfig,
    available: Decimal,
    killed: bool,
) -> tuple[RiskVerdict, Decimal]:
    symbol = intent.symbol
    if killed:
        return _refuse(intent, "kill switch: daily loss limit reached"), Decimal(0)
    working = state.open_order_sides.get(symbol, frozenset())
    if OrderSide.SELL in working:
        return _refuse(intent, "wash trade: a sell order is working in this symbol"), Decimal(0)
    if OrderSide.BUY in working:
        return _refuse(intent, "a buy order is already working in this symbol"), Decimal(0)
    if state.buys_today.get(symbol, 0) >= config.max_buys_per_symbol_per_day:
        return _refuse(intent, "buys-per-day cap reached"), Decimal(0)
    price = intent.limit_price
    if price is None or price <= 0:
        return _refuse(intent, "buy orders need a limit price to be sized"), Decimal(0)
    qty = intent.qty
    notes = []
    cap_value = state.account.equity * config.max_position_fraction
    held_value = state.position_qty(symbol) * price
    cap_qty = ((cap_value - held_value) / price).to_integral_value(rounding=ROUND_DOWN)
    if qty > cap_qty:
        qty = cap_qty
        notes.append("reduced to the position cap")
    power_qty = (max(available, Decimal(0)) / price).to_integral_value(rounding=ROUND_DOWN)
    if qty > power_qty:
        qty = power_qty
        notes.append("reduced to buying power")
    if qty < 1 or qty * price < config.min_order_notional:
        reason = notes[-1].replace("reduced to", "no room under") if notes else "order too small"
        return _refuse(intent, reason), Decimal(0)
    verdict = _reduced(intent, qty, "; ".join(notes)) if notes else RiskVerdict(intent, intent, "")
    return verdict, qty * price


def _would_be_day_trade(intent: OrderIntent, state: PortfolioState) -> bool:
    """True when executing ``intent`` in full would add a day trade to today's count."""
    fills = state.fills_today.get(intent.symbol, ())
    overnight = state.overnight_qty.get(intent.symbol, Decimal(0))
    before = count_day_trades(fills, overnight)
    return count_day_trades((*fills, (intent.side, intent.qty)), overnight) > before


def _check_sell(
    intent: OrderIntent, state: PortfolioState, config: RiskConfig, day_trades: int
) -> RiskVerdict:
    held = state.position_qty(intent.symbol)
    if held <= 0:
        return _refuse(intent, "no position to sell (no shorting)")
    working = state.open_order_sides.get(intent.symbol, frozenset())
    if OrderSide.BUY in working:
        return _refuse(intent, "wash trade: a buy order is working in this symbol")
    if OrderSide.SELL in working:
        return _refuse(intent, "a sell order is already working in this symbol")
    if (
        config.legacy_day_trade_guard
        and state.account.equity < config.day_trade_min_equity
        and _would_be_day_trade(intent, state)
        and day_trades >= config.max_day_trades
    ):
        return _refuse(intent, f"day-trade guard: {day_trades} day trades in five trading days")
    if intent.qty > held:
        return _reduced(intent, held, "reduced to the position (no shorting)")
    return RiskVerdict(intent, intent, "")
