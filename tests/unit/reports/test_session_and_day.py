"""A session's figures, and a day's report that counts each session once and keeps sim
replays apart from paper and live."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.unit.reports import builders as b
from trading_runtime.domain import Action, Position, SessionStatus, TradingMode
from trading_runtime.reports import format as fmt
from trading_runtime.reports.daily import day_report
from trading_runtime.reports.session import SessionReport, key_figures, session_report


def traded_session(
    session_id: int = 1,
    mode: TradingMode = TradingMode.SIM,
    gain: str = "18.5",
    account_id: str = "acct-1",
    started_minute: float = -1,
) -> SessionReport:
    """Bought 10 AAPL at 100.05, sold at 101.90 (fill prices shifted by ``gain``)."""
    sell_price = str(Decimal("100.05") + Decimal(gain) / 10)
    fills = [b.fill("buy", "10", "100.05", 1.5), b.fill("sell", "10", sell_price, 3.5)]
    ending = str(Decimal("100000") + Decimal(gain))
    info = b.info(session_id, mode, started_minute, ending_equity=ending, account_id=account_id)
    ledger = b.ledger(
        info,
        fills,
        [b.mark(0, "100"), b.mark(1, "101"), b.mark(2, "99"), b.mark(3, "102")],
        [b.account(started_minute, "100000"), b.account(390, ending)],
        rejected=1,
        decision_prices={fills[0].execution_id: "100", fills[1].execution_id: "102"},
        decisions={(7, Action.BUY): 1, (7, Action.SELL): 1, (8, Action.HOLD): 5},
    )
    return session_report(ledger)


def test_a_sessions_figures_come_from_its_ledger() -> None:
    report = traded_session()
    assert report.starting_equity == Decimal("100000")
    assert report.pnl == Decimal("18.5")
    assert report.return_fraction == pytest.approx(18.5 / 100000)
    assert report.drawdown.amount == Decimal("-20.00")
    [trip] = report.trips
    assert trip.pnl == report.realized_pnl == Decimal("18.50")
    assert report.win_rate == 1.0
    assert (report.decision_count, report.order_count, report.fill_count) == (7, 3, 2)
    assert report.rejection_count == 1 and report.orders_filled == 2
    assert report.model_versions == (7, 8)  # a hot swap: 8 decided after 7
    assert report.slippage.cost == Decimal("1.50")  # 10 x 0.05 bought, 10 x 0.10 sold


def test_key_figures_carry_units() -> None:
    figures = dict(key_figures(traded_session()))
    assert figures["PnL"] == "+$18.50"
    assert figures["return"] == "+0.02%"
    assert figures["max drawdown"] == "-0.02% (-$20.00)"
    assert figures["round trips"] == "1 closed, 0 open"
    assert figures["win rate"] == "100%"
    assert figures["orders"] == "3 (2 filled, 1 rejected)"
    assert figures["decisions"] == "7 (1 buy, 1 sell, 5 hold, 0 skip)"
    assert figures["slippage"] == "7.4 bps mean, 9.8 bps worst, $1.50 cost"


def test_a_session_without_prices_draws_its_curve_from_the_brokers_snapshots() -> None:
    info = b.info(status=SessionStatus.FAILED)
    ledger = b.ledger(info, accounts=[b.account(0, "100000"), b.account(30, "99950")])
    report = session_report(ledger)
    assert [p.equity for p in report.equity] == [Decimal("100000"), Decimal("99950")]
    assert report.pnl == Decimal("-50") and report.trips == ()
    assert report.win_rate is None


def test_an_open_position_is_an_open_trip_marked_at_the_last_price() -> None:
    info = b.info()
    opening = {"MSFT": Position("MSFT", Decimal("2"), Decimal("400"))}
    ledger = b.ledger(
        info,
        [b.fill("buy", "10", "100", 1.5)],
        [b.mark(0, "100"), b.mark(1, "103"), b.mark(2, "410", "MSFT")],
        [b.account(0, "100800")],
        opening=opening,
    )
    report = session_report(ledger)
    carried, bought = report.trips
    assert carried.carried_in and carried.symbol == "MSFT" and carried.pnl == Decimal("20")
    assert bought.is_open and bought.mark_price == Decimal("103")
    assert bought.pnl == Decimal("30")
    assert report.equity[-1].equity == Decimal("100830")  # 2 x 410 - 2 x 410 + 30


def test_a_day_counts_each_session_once_and_keeps_replays_apart() -> None:
    replays = [traded_session(i, gain="100", started_minute=i * 400) for i in (1, 2, 3)]
    paper = [
        traded_session(4, TradingMode.PAPER, gain="50", account_id="paper-1"),
        traded_session(5, TradingMode.PAPER, gain="-20", account_id="paper-1", started_minute=5),
    ]
    day = day_report([*paper, *replays], b.DAY)
    assert [s.info.id for s in day.sessions] == [4, 5, 1, 2, 3]
    sim = day.replays
    assert sim is not None and len(sim.sessions) == 3
    assert sim.latest.info.id == 3 and sim.latest.pnl == Decimal("100")
    assert sim.mean_pnl == Decimal("100")  # three replays of one day: not 300
    account = day.account(TradingMode.PAPER)
    assert account is not None
    assert account.pnl == Decimal("30")  # sessions of one account follow one another
    assert account.starting_equity == Decimal("100000")  # the account's first session
    assert account.return_fraction == pytest.approx(30 / 100000)
    assert (account.round_trips, account.fills, account.orders) == (2, 4, 6)
    assert day.account(TradingMode.LIVE) is None
    with pytest.raises(ValueError, match="replays"):
        day.account(TradingMode.SIM)


def test_a_day_refuses_a_session_twice_or_of_another_day() -> None:
    session = traded_session(1)
    with pytest.raises(ValueError, match="twice"):
        day_report([session, session], b.DAY)
    with pytest.raises(ValueError, match="not of"):
        day_report([session], b.DAY + dt.timedelta(days=1))


def test_numbers_are_rounded_and_formatted_with_units() -> None:
    assert fmt.cents(Decimal("23274.899999999998")) == 23274.90
    assert fmt.cents(Decimal("0.005")) == 0.01  # half up, not to even
    assert fmt.percent_points(0.025861) == 2.59
    assert fmt.money(Decimal("-1234.5")) == "-$1,234.50"
    assert fmt.money(Decimal("2586.1"), signed=True) == "+$2,586.10"
    assert fmt.price(Decimal("100.0523")) == "$100.0523"
    assert fmt.price(Decimal("100")) == "$100.00"
    assert fmt.percent(0.0259, signed=True) == "+2.59%"
    assert fmt.bps(2.14) == "2.1 bps"
    assert fmt.duration(dt.timedelta(seconds=750)) == "12m 30s"
    assert fmt.duration(dt.timedelta(hours=2, minutes=5)) == "2h 05m"
    assert fmt.quantity(Decimal("10.500")) == "10.5"
    assert fmt.local_time(dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)) == "2026-11-25 09:30:00"
    assert fmt.money(None) == fmt.MISSING
