"""Against the real Alpaca paper API. Skipped unless ALPACA_API_KEY and ALPACA_SECRET_KEY are
set (``make test-online``); read-only: nothing is ordered."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from trading_runtime.config import load_settings
from trading_runtime.marketdata import calendar

pytestmark = [
    pytest.mark.online,
    pytest.mark.skipif(
        not (os.environ.get("ALPACA_API_KEY") and os.environ.get("ALPACA_SECRET_KEY")),
        reason="needs ALPACA_API_KEY and ALPACA_SECRET_KEY (paper keys)",
    ),
]


@pytest.fixture
def endpoints():
    from trading_runtime.adapters.alpaca.config import AlpacaEndpoints

    settings = load_settings(TRADING_MODE="paper")
    return AlpacaEndpoints.from_settings(settings)


def test_history_returns_a_session_in_the_lake_schema(endpoints) -> None:
    from trading_runtime.adapters.alpaca.history import AlpacaHistory
    from trading_runtime.marketdata.quality import quality_report
    from trading_runtime.marketdata.storage import BAR_SCHEMA

    day = calendar.previous_sessions(dt.datetime.now(dt.UTC).date(), 2)[0]
    session = calendar.session(day)
    bars = AlpacaHistory(endpoints).bars(["SPY", "AAPL"], session.open, session.close)
    assert list(bars.columns) == list(BAR_SCHEMA.names)
    assert set(bars["symbol"]) == {"SPY", "AAPL"}
    report = quality_report(bars, session)
    assert report.rows > 0 and report.non_finite == 0 and report.inverted_high_low == 0


def test_paper_account_and_positions_parse(endpoints) -> None:
    from trading_runtime.adapters.alpaca.trading import AlpacaBroker

    broker = AlpacaBroker(endpoints)
    account = broker.get_account()
    assert account.equity >= 0 and account.buying_power >= 0
    assert isinstance(broker.get_positions(), dict)
    assert broker.get_clock().timestamp.tzinfo is not None
