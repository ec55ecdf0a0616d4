"""The session tearsheet: a self-contained page whose charts hold what the ledger holds."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from plotly.offline import get_plotlyjs

from tests.support.builders import day_bars
from tests.unit.reports import builders as b
from trading_runtime.domain import Action, OrderStatus
from trading_runtime.marketdata.storage import ParquetLake
from trading_runtime.reports.session import SessionReport, session_report
from trading_runtime.reports.tearsheet import (
    price_series,
    render_session_tearsheet,
    write_session_tearsheet,
)

BUY = b.fill("buy", "10", "100.05", 1.5)
SELL = b.fill("sell", "4", "101.9", 3.5)
MSFT = b.fill("buy", "2", "410.5", 2.2, symbol="MSFT")


def report() -> SessionReport:
    info = b.info(ending_equity="100016.60")
    ledger = b.ledger(
        info,
        [BUY, SELL, MSFT],
        [
            b.mark(0, "100"),
            b.mark(0, "410", "MSFT"),
            b.mark(1, "101"),
            b.mark(1, "410.2", "MSFT"),
            b.mark(2, "99"),
            b.mark(3, "102"),
        ],
        [b.account(-1, "100000"), b.account(30, "100010"), b.account(390, "100016.60")],
        rejected=1,
        decisions={(7, Action.BUY): 2, (7, Action.SELL): 1},
    )
    return session_report(ledger)


def test_the_page_is_self_contained() -> None:
    page = render_session_tearsheet(report(), price_series(report(), None))
    assert not re.search(r"<script[^>]*\ssrc=", page), "no script is loaded from anywhere"
    assert not re.search(r"<link[^>]*\shref=", page), "no stylesheet is loaded from anywhere"
    library = get_plotlyjs()
    assert library in page  # plotly.js itself is inline
    own = page.replace(library, "")  # (the library's code mentions URLs it never loads)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", own)


def test_the_equity_chart_holds_the_marked_curve_the_snapshots_and_the_drawdown() -> None:
    session = report()
    figures = b.page_figures(render_session_tearsheet(session, price_series(session, None)))
    equity = b.traces(figures["equity"])
    assert set(equity) == {"equity (marked each minute)", "broker equity (snapshots)", "drawdown"}
    marked = equity["equity (marked each minute)"]
    assert marked["x"][0] == "2026-11-25 09:29:00"  # New York time
    assert marked["y"] == [float(p.equity) for p in session.equity]
    assert equity["broker equity (snapshots)"]["y"] == [100000.0, 100010.0, 100016.6]
    assert min(equity["drawdown"]["y"]) < 0


def test_trades_are_drawn_over_decision_prices_when_the_bars_are_not_stored() -> None:
    session = report()
    figures = b.page_figures(render_session_tearsheet(session, price_series(session, None)))
    assert {"trades-AAPL", "trades-MSFT", "slippage"} <= set(figures)
    aapl = b.traces(figures["trades-AAPL"])
    assert aapl["decision price"]["y"] == [100.0, 101.0, 99.0, 102.0]
    assert aapl["buys"]["x"] == ["2026-11-25 09:31:30"] and aapl["buys"]["y"] == [100.05]
    assert aapl["sells"]["y"] == [101.9]
    # The open AAPL trip: from its average entry to the last price.
    assert aapl["round trips"]["y"] == [100.05, 102.0, None]
    assert "not stored" in figures["trades-AAPL"]["layout"]["title"]["text"]
    assert b.traces(figures["slippage"])["buy slippage"]["y"] == [0.0, 0.0]


def test_the_days_bars_from_the_lake_are_used_when_stored(tmp_path: Path) -> None:
    session = report()
    bars = day_bars(b.DAY, ("AAPL", "MSFT", "NVDA"))
    ParquetLake(str(tmp_path)).write_bars(b.DAY, bars)
    path = write_session_tearsheet(session, str(tmp_path))
    assert path.path.endswith("reports/sessions/date=2026-11-25/session-1-sim.html")
    figures = b.page_figures(Path(path.path).read_text())
    candles = b.traces(figures["trades-AAPL"])["bars"]
    assert candles["type"] == "candlestick"
    aapl = bars[bars.symbol == "AAPL"].sort_values("timestamp")
    assert candles["close"] == list(aapl["close"])
    assert "trades-NVDA" not in figures  # only traded symbols


def test_the_tables_list_round_trips_fills_and_rejections() -> None:
    session = report()
    page = render_session_tearsheet(session, price_series(session, None))
    text = " ".join(re.sub(r"<[^>]+>", " ", page.split("</head>")[1]).split())
    assert "start (held)" not in text
    assert "6 @ $102.00" in text  # the AAPL remainder, marked at the last price
    assert "+$19.10" in text  # AAPL: 4 x 101.90 + 6 x 102 - 1000.50
    assert "insufficient buying power" in text
    assert "model version(s) 7" in text
    assert session.orders_by_status[OrderStatus.REJECTED] == 1
    assert Decimal("100016.60") == session.ending_equity
