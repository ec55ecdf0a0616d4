"""AlpacaHistory and ingestion against Alpaca-compatible servers: the emulator (pagination in
the lake's schema) and a local stand-in with injected faults and a rolling rate limit
(backfills that finish, every bar stored exactly once, missing symbols noticed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from tests.support.alpaca_standin import AlpacaStandIn
from tests.support.emulator import dense_market, endpoints, running_emulator
from trading_runtime.adapters.alpaca import AlpacaHistory
from trading_runtime.adapters.alpaca.history import HistoryPolicy, RequestPacer
from trading_runtime.adapters.alpaca.parsing import MalformedBarsResponseError
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.coverage import CoverageThresholds
from trading_runtime.marketdata.ingest import ingest_days, verify_stored_day
from trading_runtime.marketdata.sources import HistoryBarSource
from trading_runtime.marketdata.storage import BAR_SCHEMA, ParquetLake
from trading_runtime.marketdata.synthetic import SyntheticMarket

MARKET = SyntheticMarket(7)
SYMBOLS = ["SPY", "AAPL", "MSFT", "NVDA"]
DAYS = calendar.sessions_between(dt.date(2026, 3, 2), dt.date(2026, 3, 13))  # ten sessions
FAST_RETRIES = HistoryPolicy(wait_initial_s=0.01, wait_max_s=0.05, wait_jitter_s=0.01)


def rest_answer(day: dt.date, symbols: list[str]) -> pd.DataFrame:
    """What the stand-in serves: the synthetic market as Alpaca's REST API returns it."""
    return MARKET.day_bars(day, symbols, extended_hours=True)


def regular_bars(day: dt.date, symbols: list[str]) -> pd.DataFrame:
    bars = MARKET.day_bars(day, symbols)
    return bars[bars["symbol"].isin(symbols)].reset_index(drop=True)


def backfill(
    server: AlpacaStandIn,
    lake: ParquetLake,
    days: list[dt.date] = DAYS,
    symbols: list[str] = SYMBOLS,
    *,
    policy: HistoryPolicy = FAST_RETRIES,
    pacer: RequestPacer | None = None,
    timeout_s: float = 5.0,
    days_per_request: int = 4,
) -> tuple[HistoryBarSource, list]:
    history = AlpacaHistory(server.endpoints(), timeout_s=timeout_s, policy=policy, pacer=pacer)
    source = HistoryBarSource(history, "alpaca(iex)", max_days_per_request=days_per_request)
    results = list(ingest_days(days, symbols, source, lake, CoverageThresholds()))
    return source, results


def assert_stored_exactly_once(lake: ParquetLake, days: list[dt.date], symbols: list[str]) -> None:
    for day in days:
        stored = lake.read_bars(day)
        expected = regular_bars(day, symbols)
        assert not stored.duplicated(["symbol", "timestamp"]).any()
        pd.testing.assert_frame_equal(stored, expected[list(stored.columns)], check_dtype=False)


def test_bars_over_several_pages_equal_the_source_in_the_lake_schema() -> None:
    with running_emulator(max_bars_page_size=250) as server:
        history = AlpacaHistory(endpoints(server))
        frame = history.bars(
            ["MSFT", "SPY"],
            dt.datetime(2026, 2, 26, tzinfo=dt.UTC),
            dt.datetime(2026, 2, 27, 23, 59, tzinfo=dt.UTC),
        )
    expected = pd.concat(
        [
            dense_market().day_bars(day, ["MSFT"])
            for day in (dt.date(2026, 2, 26), dt.date(2026, 2, 27))
        ]
    ).reset_index(drop=True)
    assert list(frame.columns) == BAR_SCHEMA.names
    pa.Table.from_pandas(frame, schema=BAR_SCHEMA, preserve_index=False)  # the lake takes it
    assert history.requests_made > 4  # followed next_page_token
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_no_bars_is_an_empty_frame() -> None:
    with running_emulator() as server:
        frame = AlpacaHistory(endpoints(server)).bars(
            ["AAPL"],
            dt.datetime(2026, 2, 28, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )
    assert frame.empty
    assert list(frame.columns) == BAR_SCHEMA.names


def test_a_backfill_survives_5xx_timeouts_and_broken_bodies_mid_range(tmp_path) -> None:
    faults = {
        3: "500",
        7: "502",
        11: "timeout",
        15: "truncated",
        19: "cut",
        23: "no_bars",
        27: "missing_close",
        31: "text_price",
    }
    lake = ParquetLake(str(tmp_path))
    with AlpacaStandIn(
        rest_answer, SYMBOLS, max_page_size=600, faults=faults, timeout_delay_s=2.0
    ) as server:
        source, results = backfill(server, lake, timeout_s=0.5)
    assert not server.faults, "every fault was served"
    assert server.statuses[200] == source.requests_made - len(faults)
    assert [r.day for r in results] == DAYS and all(r.fetched for r in results)
    assert_stored_exactly_once(lake, DAYS, SYMBOLS)
    metadata = lake.read_bar_metadata(DAYS[0])
    assert (metadata["feed"], metadata["adjustment"]) == ("iex", "raw")
    assert all(r.extended_hours_rows > 0 for r in results)  # the answer had them; not stored


def test_requests_span_several_days_with_limit_10000(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    with AlpacaStandIn(rest_answer, SYMBOLS) as server:
        source, _ = backfill(server, lake, days_per_request=5)
    assert source.requests_made == 2  # ten sessions of four symbols: two requests of 5 days
    assert_stored_exactly_once(lake, DAYS, SYMBOLS)


def test_a_symbol_the_api_leaves_out_is_recorded_and_excluded(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    with AlpacaStandIn(rest_answer, ["SPY", "AAPL", "MSFT"]) as server:
        _, results = backfill(server, lake, DAYS[:2])
    for result in results:
        row = result.coverage.set_index("symbol").loc["NVDA"]
        assert (row["status"], row["reason"], row["bars"]) == ("excluded", "no bars", 0)
    coverage = lake.read_coverage(DAYS[0]).set_index("symbol")
    assert coverage.loc["NVDA", "status"] == "excluded"
    assert coverage.loc["AAPL", "status"] in ("ok", "warn")
    check = verify_stored_day(lake, DAYS[0], SYMBOLS, "SPY", CoverageThresholds())
    assert check.problems == []  # one symbol of three missing does not fail the session


def test_the_session_fails_when_the_reference_or_most_of_the_universe_is_missing(
    tmp_path,
) -> None:
    lake = ParquetLake(str(tmp_path))
    with AlpacaStandIn(rest_answer, ["AAPL"]) as server:
        backfill(server, lake, DAYS[:1])
    problems = verify_stored_day(lake, DAYS[0], SYMBOLS, "SPY", CoverageThresholds()).problems
    assert problems == [
        "reference symbol SPY: no bars",
        "2 of 3 symbols excluded (more than 50%)",
    ]


def test_a_failed_run_keeps_the_days_it_stored_and_a_rerun_fetches_only_the_rest(
    tmp_path,
) -> None:
    lake = ParquetLake(str(tmp_path))
    persistent = {n: "missing_close" for n in range(4, 4 + FAST_RETRIES.max_attempts)}
    with AlpacaStandIn(rest_answer, SYMBOLS, max_page_size=3000, faults=persistent) as server:
        with pytest.raises(
            MalformedBarsResponseError, match=r"symbol \w+, field c\): a bar without 'c'"
        ) as failure:
            backfill(server, lake, days_per_request=2)
        assert failure.value.day in {d.isoformat() for d in DAYS}
        stored = [day for day in DAYS if lake.has_day(day, SYMBOLS)]
        assert stored and stored == DAYS[: len(stored)]
        before = server.requests
        source, results = backfill(server, lake, days_per_request=2)
    assert [r.fetched for r in results] == [day not in stored for day in DAYS]
    assert source.requests_made == server.requests - before
    assert_stored_exactly_once(lake, DAYS, SYMBOLS)


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_range_needing_more_than_200_requests_finishes_under_200_per_rolling_minute(
    tmp_path,
) -> None:
    clock = FakeClock()
    lake = ParquetLake(str(tmp_path))
    days = DAYS[:6]
    with AlpacaStandIn(
        rest_answer, SYMBOLS, max_page_size=40, rate_limit=200, rate_window_s=60.0, clock=clock
    ) as server:
        pacer = RequestPacer(200, 60.0, clock=clock, sleep=clock.sleep)
        source, results = backfill(server, lake, days, pacer=pacer)
    assert source.requests_made > 200
    assert server.statuses[429] == 0
    assert server.max_in_window == 200
    assert clock.now >= 60.0  # the pacer waited for the window to roll
    assert len(results) == len(days)
    assert_stored_exactly_once(lake, days, SYMBOLS)


def test_a_client_faster_than_the_limit_is_slowed_by_429s_and_still_finishes(tmp_path) -> None:
    lake = ParquetLake(str(tmp_path))
    days = DAYS[:2]
    with AlpacaStandIn(
        rest_answer, SYMBOLS, max_page_size=400, rate_limit=3, rate_window_s=0.5
    ) as server:
        policy = HistoryPolicy(
            requests_per_minute=100_000, max_attempts=30, wait_initial_s=0.05, wait_max_s=0.3
        )
        backfill(server, lake, days, policy=policy)
    assert server.statuses[429] > 0
    assert_stored_exactly_once(lake, days, SYMBOLS)


def test_the_market_data_resource_honours_alpaca_rest_timeout_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orchestration.resources import AlpacaMarketData

    with AlpacaStandIn(rest_answer, SYMBOLS, faults={1: "timeout"}, timeout_delay_s=3.0) as server:
        for key, value in {
            "ALPACA_API_KEY": "standin-key",
            "ALPACA_SECRET_KEY": "standin-secret",
            "ALPACA_DATA_URL": server.base_url,
            "ALPACA_REST_TIMEOUT_S": "0.3",
            "MARKET_DATA_SOURCE": "alpaca",
            "TRADING_MODE": "paper",
        }.items():
            monkeypatch.setenv(key, value)
        source = AlpacaMarketData().bar_source()
        [fetched] = list(source.fetch(DAYS[:1], SYMBOLS))
    # The first answer came after 3 s: the client gave up at 0.3 s and asked again.
    assert server.statuses["timeout"] == 1
    assert source.requests_made == server.requests == 2
    assert fetched.provenance.adjustment == "raw"
    assert len(fetched.bars) == len(regular_bars(DAYS[0], SYMBOLS))  # one day: [open, close)
