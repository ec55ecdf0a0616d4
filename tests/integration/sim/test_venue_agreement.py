"""The emulator's shell adds nothing to the venue: the same orders sent through alpaca-py to
the emulator and handed to the venue in process (the backtester's ``VenueDriver``, minute by
minute) end the same, order by order, with refusals (buying power, sub-penny, quantity not
held), cancels, partial fills, IOC orders on missing bars and DAY orders waiting for them.

Scripts are generated (hypothesis): a handful here, more with ``-m agreement_long``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.emulator import SESSION_DATE, dense_market, emulator_config, trading_client
from trading_runtime.backtest.driver import VenueDriver
from trading_runtime.core.book import Book
from trading_runtime.domain.bars import Bar
from trading_runtime.domain.enums import OrderSide as Side
from trading_runtime.domain.enums import OrderType
from trading_runtime.domain.enums import TimeInForce as Tif
from trading_runtime.domain.orders import OrderIntent
from trading_runtime.marketdata import calendar
from trading_runtime.sim import EmulatorServer
from trading_runtime.venue import FillModelConfig, IdSource, OrderRefusedError, Venue

SYMBOLS = ("SPY", "AAPL", "MSFT")
FIRST_MINUTE, MINUTES = 30, 10
ID_SEED = 5
CASH = Decimal(20_000)
FILLS = FillModelConfig(max_participation=Decimal("0.001"))


@dataclasses.dataclass(frozen=True)
class Submit:
    symbol: str
    side: str
    market: bool
    ioc: bool
    qty: int
    offset_cents: int  # limit = last close +/- cents
    sub_penny: bool


@dataclasses.dataclass(frozen=True)
class Cancel:
    index: int  # of an earlier submission


def day_bars(drop_fraction: float, seed: int) -> pd.DataFrame:
    bars = dense_market().day_bars(SESSION_DATE, list(SYMBOLS))
    session = calendar.session(SESSION_DATE)
    index = ((bars["timestamp"] - session.open) / pd.Timedelta(minutes=1)).astype(int)
    in_window = index.between(FIRST_MINUTE, FIRST_MINUTE + MINUTES - 2).to_numpy()
    drop = in_window & (np.random.default_rng(seed).random(len(bars)) < drop_fraction)
    return bars[~drop].reset_index(drop=True)


def limit_price(bars: pd.DataFrame, symbol: str, now: dt.datetime, action: Submit) -> Decimal:
    seen = bars[(bars["symbol"] == symbol) & (bars["timestamp"] < pd.Timestamp(now))]
    close = Decimal(str(seen["close"].iloc[-1])).quantize(Decimal("0.01"))
    price = close + Decimal(action.offset_cents) / 100
    return price + Decimal("0.005") if action.sub_penny else price


def through_emulator(bars: pd.DataFrame, script: list[list[Submit | Cancel]]) -> dict:
    config = emulator_config(
        bar_source=lambda day, symbols: bars[bars["symbol"].isin(symbols)],
        id_seed=ID_SEED,
        starting_cash=CASH,
        fill_model=FILLS,
    )
    refusals: dict[str, tuple[int, str]] = {}
    ids: dict[int, str] = {}
    with EmulatorServer(config) as server:
        client = trading_client(server)
        count = 0
        for step in script:
            now = server.status().clock
            for action in step:
                if isinstance(action, Cancel):
                    if action.index in ids:
                        try:
                            client.cancel_order_by_id(ids[action.index])
                        except APIError as error:
                            refusals[f"cancel-{action.index}-{count}"] = (
                                error.status_code,
                                error.message,
                            )
                    count += 1
                    continue
                client_order_id = f"o-{count}"
                side = OrderSide(action.side)
                tif = TimeInForce.IOC if action.ioc else TimeInForce.DAY
                if action.market:
                    request = MarketOrderRequest(
                        symbol=action.symbol,
                        qty=action.qty,
                        side=side,
                        time_in_force=TimeInForce.DAY,
                        client_order_id=client_order_id,
                    )
                else:
                    request = LimitOrderRequest(
                        symbol=action.symbol,
                        qty=action.qty,
                        side=side,
                        time_in_force=tif,
                        limit_price=float(limit_price(bars, action.symbol, now, action)),
                        client_order_id=client_order_id,
                    )
                try:
                    ids[count] = str(client.submit_order(request).id)
                except APIError as error:
                    refusals[client_order_id] = (error.status_code, error.message)
                count += 1
            if server.status().phase != "finished":
                server.advance(1)
        while server.status().phase != "finished":
            server.advance(1)
        orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500))
        account = client.get_account()
        positions = {p.symbol: Decimal(p.qty) for p in client.get_all_positions()}
    return {
        "orders": {
            o.client_order_id: (
                str(o.id),
                o.status.value,
                Decimal(o.filled_qty),
                Decimal(o.filled_avg_price) if o.filled_avg_price else None,
            )
            for o in orders
        },
        "refusals": refusals,
        "cash": Decimal(account.cash),
        "positions": positions,
    }


def through_driver(bars: pd.DataFrame, script: list[list[Submit | Cancel]]) -> dict:
    session = calendar.session(SESSION_DATE)
    window_start = session.open + dt.timedelta(minutes=FIRST_MINUTE)
    window_end = window_start + dt.timedelta(minutes=MINUTES)
    in_session = bars[(bars["timestamp"] >= session.open) & (bars["timestamp"] < session.close)]

    def quote(symbol: str) -> Decimal | None:
        seen = in_session[(in_session["symbol"] == symbol) & (in_session["timestamp"] < now)]
        return Decimal(str(seen["close"].iloc[-1])) if len(seen) else None

    venue = Venue(
        starting_cash=CASH, symbols=SYMBOLS, fill_model=FILLS, ids=IdSource(ID_SEED), quote=quote
    )
    driver = VenueDriver(venue, Book(cash=CASH))
    window = in_session[
        (in_session["timestamp"] >= window_start) & (in_session["timestamp"] < window_end)
    ]
    minutes = sorted(window["timestamp"].unique())
    refusals: dict[str, tuple[int, str]] = {}
    ids: dict[int, str] = {}
    now = pd.Timestamp(window_start)
    count = 0
    steps = iter(script)
    for minute in [None, *minutes]:
        if minute is not None:
            stamp = pd.Timestamp(minute)
            rows = window[window["timestamp"] == stamp]
            bars_now = {row.symbol: _bar(row) for row in rows.itertuples(index=False)}
            driver.minute(stamp.to_pydatetime(), bars_now)
            now = stamp + pd.Timedelta(minutes=1)
        step = next(steps, [])
        for action in step:
            if isinstance(action, Cancel):
                if action.index in ids:
                    try:
                        driver.apply(venue.cancel(ids[action.index], now=now.to_pydatetime()))
                    except OrderRefusedError as refused:
                        refusals[f"cancel-{action.index}-{count}"] = (
                            refused.status,
                            refused.message,
                        )
                count += 1
                continue
            client_order_id = f"o-{count}"
            intent = OrderIntent(
                client_order_id=client_order_id,
                symbol=action.symbol,
                side=Side(action.side),
                qty=Decimal(action.qty),
                order_type=OrderType.MARKET if action.market else OrderType.LIMIT,
                time_in_force=Tif.DAY if action.market or not action.ioc else Tif.IOC,
                limit_price=None
                if action.market
                else limit_price(bars, action.symbol, now, action),
                created_at=now.to_pydatetime(),
                reason="script",
            )
            refusal = driver.submit(intent, now=now.to_pydatetime(), expires_at=session.close)
            if refusal is None:
                ids[count] = venue.get_order_by_client_id(client_order_id).id  # type: ignore[union-attr]
            else:
                refusals[client_order_id] = (refusal.status, refusal.message)
            count += 1
    driver.end_session(session.close)
    return {
        "orders": {
            o.client_order_id: (o.id, o.status.value, o.filled_qty, o.filled_avg_price)
            for o in venue.orders()
        },
        "refusals": refusals,
        "cash": venue.account.cash,
        "positions": {p.symbol: p.qty for p in venue.account.sorted_positions()},
    }


def _bar(row) -> Bar:
    return Bar(
        row.symbol,
        row.timestamp.to_pydatetime(),
        float(row.open),
        float(row.high),
        float(row.low),
        float(row.close),
        float(row.volume),
    )


submits = st.builds(
    Submit,
    symbol=st.sampled_from(SYMBOLS),
    side=st.sampled_from(["buy", "buy", "sell"]),
    market=st.booleans(),
    ioc=st.booleans(),
    qty=st.integers(1, 40),
    offset_cents=st.integers(-30, 30),
    sub_penny=st.sampled_from([False, False, False, True]),
)
actions = st.one_of(submits, submits, submits, st.builds(Cancel, index=st.integers(0, 20)))
scripts = st.lists(st.lists(actions, max_size=3), min_size=3, max_size=MINUTES)
SETTINGS = {"deadline": None, "derandomize": True, "suppress_health_check": list(HealthCheck)}


def assert_agreement(drop_fraction: float, seed: int, script: list[list[Submit | Cancel]]) -> dict:
    bars = day_bars(drop_fraction, seed)
    emulated = through_emulator(bars, script)
    assert emulated == through_driver(bars, script)
    return emulated


def test_a_fixed_script_covers_every_outcome_and_agrees() -> None:
    buy = Submit("AAPL", "buy", market=False, ioc=True, qty=10, offset_cents=20, sub_penny=False)
    script: list[list[Submit | Cancel]] = [
        [  # arriving 15:00
            buy,
            dataclasses.replace(buy, qty=5000),  # beyond buying power
            dataclasses.replace(buy, sub_penny=True),  # sub-penny limit
            dataclasses.replace(buy, symbol="MSFT", ioc=False, offset_cents=-300),  # rests
        ],
        [  # arriving 15:01, a minute without AAPL and MSFT bars
            dataclasses.replace(buy, side="sell", market=True, qty=500),  # more than held
            Cancel(index=3),
            dataclasses.replace(buy, symbol="MSFT", qty=20),  # IOC, no bar: canceled
        ],
        [  # arriving 15:02: AAPL has no bar, MSFT has
            dataclasses.replace(buy, side="sell", market=True, qty=4),  # waits for AAPL's bar
            Cancel(index=3),  # already canceled
            dataclasses.replace(buy, symbol="MSFT", qty=20),  # takes part of the bar's volume
        ],
    ]
    result = assert_agreement(0.3, 1, script)
    orders, refused = result["orders"], result["refusals"]
    assert orders["o-0"][1:3] == ("filled", Decimal(10))
    assert orders["o-3"][1] == "canceled"
    assert orders["o-6"][1:3] == ("canceled", Decimal(0)), "an IOC without a bar is canceled"
    assert orders["o-7"][1:3] == ("filled", Decimal(4)), "a DAY order waits for the next bar"
    assert orders["o-9"][1] == "canceled" and 0 < orders["o-9"][2] < 20, "partial, then canceled"
    assert {cid: code for cid, (code, _) in refused.items()} == {
        "o-1": 403,  # buying power
        "o-2": 422,  # sub-penny
        "o-4": 403,  # not held
        "cancel-3-8": 422,  # not cancelable any more
    }


@settings(max_examples=4, **SETTINGS)
@given(drop=st.floats(0.0, 0.5), seed=st.integers(0, 1000), script=scripts)
def test_generated_scripts_agree(
    drop: float, seed: int, script: list[list[Submit | Cancel]]
) -> None:
    assert_agreement(drop, seed, script)


@pytest.mark.agreement_long
@settings(max_examples=60, **SETTINGS)
@given(drop=st.floats(0.0, 0.5), seed=st.integers(0, 1000), script=scripts)
def test_generated_scripts_agree_long(
    drop: float, seed: int, script: list[list[Submit | Cancel]]
) -> None:
    assert_agreement(drop, seed, script)
