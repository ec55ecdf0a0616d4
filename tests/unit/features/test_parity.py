"""Streaming features equal batch features; both match independent oracles."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import ta

from tests.support.builders import EARLY_CLOSE_DAY, FULL_DAY, bars_from_frame, day_bars
from trading_runtime.features.batch import compute_features
from trading_runtime.features.build import check_no_lookahead, check_parity
from trading_runtime.features.spec import FEATURE_SPEC
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.synthetic import SyntheticMarket, SyntheticMarketParameters

SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA")


def _stream(frame: pd.DataFrame, symbols: tuple[str, ...] = SYMBOLS) -> pd.DataFrame:
    """Close every minute of every session in ``frame``, as the engine does."""
    engine = StreamingFeatures(symbols)
    by_minute = dict(iter(frame.groupby("timestamp", sort=True)))
    days = sorted(set(frame["timestamp"].dt.tz_convert(calendar.NEW_YORK).dt.date))
    rows = []
    for day in days:
        for minute in calendar.session(day).bar_timestamps():
            group = by_minute.get(minute)
            out = engine.close_minute(
                minute.to_pydatetime(), bars_from_frame(group) if group is not None else []
            )
            assert not out.rejected
            for i, symbol in enumerate(out.symbols):
                rows.append((symbol, minute, *out.values[i], bool(out.complete[i])))
    return pd.DataFrame(rows, columns=["symbol", "timestamp", *FEATURE_SPEC.names, "complete"])


def _assert_same(batch: pd.DataFrame, streamed: pd.DataFrame) -> None:
    merged = batch.merge(
        streamed, on=["symbol", "timestamp"], suffixes=("", "_stream"), validate="1:1"
    )
    assert len(merged) == len(batch) == len(streamed)
    for name in FEATURE_SPEC.names:
        np.testing.assert_allclose(
            merged[f"{name}_stream"],
            merged[name],
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=name,
        )
    assert (merged["complete"] == merged["complete_stream"]).all()


@pytest.fixture(scope="module")
def two_days() -> pd.DataFrame:
    return pd.concat(
        [day_bars(FULL_DAY, SYMBOLS), day_bars(EARLY_CLOSE_DAY, SYMBOLS)], ignore_index=True
    )


@pytest.fixture(scope="module")
def halted_day() -> pd.DataFrame:
    """A sparse day on which every traded symbol halts for a while."""
    parameters = SyntheticMarketParameters(halt_probability=1.0, halt_minutes=(40, 60))
    return SyntheticMarket(7, parameters=parameters).day_bars(FULL_DAY, SYMBOLS)


def test_streaming_equals_batch_over_a_sparse_full_day_and_an_early_close(
    two_days: pd.DataFrame,
) -> None:
    assert len(two_days) < (390 + 210) * (len(SYMBOLS) + 1)  # the synthetic feed is sparse
    batch = compute_features(two_days)
    assert len(batch) == (390 + 210) * len(SYMBOLS) - _minutes_before_first_bar(two_days)
    _assert_same(batch, _stream(two_days))


def test_streaming_equals_batch_with_halted_symbols_and_the_reference_missing_minutes(
    halted_day: pd.DataFrame,
) -> None:
    rng = np.random.default_rng(3)
    reference = halted_day["symbol"] == "SPY"
    sparse = halted_day[~reference | (rng.random(len(halted_day)) > 0.3)]
    gaps = sparse.groupby("symbol")["timestamp"].apply(lambda t: t.diff().max())
    assert (gaps[list(SYMBOLS)] > pd.Timedelta(minutes=40)).all()  # every symbol halted
    batch = compute_features(sparse)
    _assert_same(batch, _stream(sparse))
    report = check_parity(sparse, "SPY")
    assert report.passed and report.rows_compared == len(batch)


def test_a_minute_without_a_bar_carries_the_close_with_zero_return_and_volume() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    aapl = frame[frame["symbol"] == "AAPL"]
    dropped = aapl["timestamp"].iloc[100]
    sparse = frame[~((frame["symbol"] == "AAPL") & (frame["timestamp"] == dropped))]
    features = compute_features(sparse).set_index("timestamp")
    previous = aapl[aapl["timestamp"] < dropped].iloc[-1]
    row = features.loc[dropped]
    assert not row["traded"]
    assert row["close"] == previous["close"]
    assert row["ret_1"] == 0.0 and row["range_1"] == 0.0


def test_windows_count_minutes_not_bars() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    keep = (frame["symbol"] != "AAPL") | (frame["timestamp"].dt.minute % 10 == 0)
    features = compute_features(frame[keep]).set_index("timestamp")
    at = pd.Timestamp(session.open) + pd.Timedelta(minutes=120)
    five_ago = at - pd.Timedelta(minutes=5)
    expected = np.log(features.loc[at, "close"] / features.loc[five_ago, "close"])
    assert features.loc[at, "ret_5"] == pytest.approx(expected, rel=1e-12)


def test_rows_start_at_the_first_bar_with_the_minutes_before_flat_at_its_open() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    late = pd.Timestamp(session.open) + pd.Timedelta(minutes=45)
    shifted = frame[(frame["symbol"] != "AAPL") | (frame["timestamp"] >= late)]
    first = shifted[shifted["symbol"] == "AAPL"].iloc[0]
    features = compute_features(shifted)
    assert features["timestamp"].min() == first["timestamp"]
    row = features.iloc[0]
    assert row["ret_30"] == pytest.approx(np.log(first["close"] / first["open"]), rel=1e-12)
    assert row["complete"]  # the grid warmed up: 45 minutes of the session have passed


def test_reference_features_are_defined_once_the_reference_has_traded() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    minute = lambda k: pd.Timestamp(session.open) + pd.Timedelta(minutes=k)  # noqa: E731
    reference = frame["symbol"] == "SPY"
    silent = reference & (frame["timestamp"] >= minute(50)) & (frame["timestamp"] < minute(80))
    late_start = reference & (frame["timestamp"] < minute(20))
    features = compute_features(frame[~silent]).set_index("timestamp")
    assert features.loc[minute(70), "spy_ret_15"] == 0.0  # silent: no trades, no return
    assert features.loc[minute(70), "complete"]
    unstarted = compute_features(frame[~late_start]).set_index("timestamp")
    assert np.isnan(unstarted.loc[minute(10), "spy_ret_1"])
    first = frame[reference & ~late_start].iloc[0]
    assert unstarted.loc[first["timestamp"], "spy_ret_1"] == pytest.approx(
        np.log(first["close"] / first["open"]), rel=1e-12
    )


def test_rsi_and_atr_match_the_ta_library() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    full_grid = _fill_grid(frame[frame["symbol"] == "AAPL"])
    features = compute_features(pd.concat([frame[frame["symbol"] == "SPY"], full_grid]))
    ours = features[features["symbol"] == "AAPL"].reset_index(drop=True)
    # The grid's averages start before minute 0 at the first open: prepend it for ta.
    closes = pd.concat([full_grid["open"].iloc[:1], full_grid["close"]], ignore_index=True)
    rsi = ta.momentum.RSIIndicator(closes, window=14).rsi().iloc[1:].reset_index(drop=True)
    atr = ta.volatility.AverageTrueRange(
        full_grid["high"].reset_index(drop=True),
        full_grid["low"].reset_index(drop=True),
        full_grid["close"].reset_index(drop=True),
        window=14,
    ).average_true_range()
    np.testing.assert_allclose(ours["rsi_14"].iloc[13:], rsi.iloc[13:], rtol=1e-9)
    assert ours["rsi_14"].iloc[:13].isna().all()
    np.testing.assert_allclose(
        ours["atr_14"].iloc[13:] * ours["close"].iloc[13:], atr.iloc[13:], rtol=1e-9
    )


def test_features_do_not_look_ahead(two_days: pd.DataFrame) -> None:
    full = compute_features(two_days)
    cutoff = two_days["timestamp"].sort_values().unique()[200]
    truncated = compute_features(two_days[two_days["timestamp"] <= cutoff])
    kept = full[full["timestamp"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        kept, truncated[truncated["timestamp"] <= cutoff].reset_index(drop=True)
    )
    assert check_no_lookahead(two_days, "SPY").passed


def test_windows_do_not_cross_sessions(two_days: pd.DataFrame) -> None:
    features = compute_features(two_days)
    second_day = features[features["session_date"] == EARLY_CLOSE_DAY]
    first_rows = second_day.groupby("symbol").head(1)
    assert first_rows["ret_5"].isna().all()
    assert (first_rows["minutes_to_close"] == 210 - first_rows["minute_of_session"]).all()


def test_a_row_is_complete_from_the_warmup_minute_on(two_days: pd.DataFrame) -> None:
    features = compute_features(two_days[two_days["timestamp"].dt.date == FULL_DAY])
    ready = features["minute_of_session"] >= FEATURE_SPEC.warmup_minutes - 1
    assert not features.loc[~ready, "complete"].any()
    assert features.loc[ready, "complete"].all()


def test_every_symbol_gets_a_row_every_minute_once_it_has_traded() -> None:
    frame = day_bars(FULL_DAY, ("AAPL", "MSFT"))
    session = calendar.session(FULL_DAY)
    engine = StreamingFeatures(("AAPL", "MSFT"))
    opening = frame[frame["timestamp"] < pd.Timestamp(session.open) + pd.Timedelta(minutes=10)]
    assert {"AAPL", "MSFT"} <= set(opening["symbol"])
    for moment, group in opening.groupby("timestamp"):
        engine.close_minute(moment.to_pydatetime(), bars_from_frame(group))
    minute = session.open + dt.timedelta(minutes=60)
    rows = engine.close_minute(minute, [])  # a minute with no bar at all
    assert rows.symbols == ["AAPL", "MSFT"]
    assert not rows.traded.any()
    assert (rows.values[:, FEATURE_SPEC.names.index("ret_1")] == 0.0).all()


def test_a_late_bar_amends_the_grid_so_later_rows_equal_batch() -> None:
    frame = day_bars(FULL_DAY, ("AAPL", "MSFT"))
    session = calendar.session(FULL_DAY)
    held_back = frame[(frame["symbol"] == "AAPL")].iloc[[40, 41, 90]]
    first_of_msft = frame[frame["symbol"] == "MSFT"].iloc[0]
    updated = dataclasses.replace(bars_from_frame(frame.loc[[first_of_msft.name]])[0], high=9e3)
    on_time = frame.drop(index=held_back.index)
    engine = StreamingFeatures(("AAPL", "MSFT"))
    late = {
        pd.Timestamp(t) + pd.Timedelta(minutes=3): b
        for t, b in zip(held_back["timestamp"], bars_from_frame(held_back), strict=True)
    }
    streamed = {}
    for minute in session.bar_timestamps():
        group = on_time[on_time["timestamp"] == minute]
        rows = engine.close_minute(minute.to_pydatetime(), bars_from_frame(group))
        streamed[minute] = rows
        if minute in late:
            assert engine.amend(late[minute]) is None
        if minute == first_of_msft["timestamp"] + pd.Timedelta(minutes=1):
            assert engine.amend(updated) is None
    final = frame.copy()
    final.loc[first_of_msft.name, "high"] = 9e3
    batch = compute_features(final).set_index(["timestamp", "symbol"])
    last = session.bar_timestamps()[-1]
    rows = streamed[last]
    for i, symbol in enumerate(rows.symbols):
        np.testing.assert_allclose(
            rows.values[i],
            batch.loc[(last, symbol), list(FEATURE_SPEC.names)].to_numpy(float),
            rtol=1e-9,
            equal_nan=True,
        )


def test_streaming_rejects_bars_of_other_minutes_unknown_symbols_and_repeats() -> None:
    bars = bars_from_frame(day_bars(FULL_DAY, ("AAPL",)))
    aapl = [b for b in bars if b.symbol == "AAPL"]
    engine = StreamingFeatures(("AAPL",))
    stranger = dataclasses.replace(aapl[0], symbol="ZZZZ")
    out = engine.close_minute(aapl[0].timestamp, [aapl[0], aapl[0], aapl[1], stranger])
    assert sorted(reason for _, reason in out.rejected) == [
        "bar of another minute",
        "duplicate bar",
        "unknown symbol",
    ]
    with pytest.raises(ValueError, match="already closed"):
        engine.close_minute(aapl[0].timestamp, [])


def test_streaming_state_does_not_grow_over_the_session() -> None:
    frame = day_bars(FULL_DAY, ("AAPL",))
    session = calendar.session(FULL_DAY)
    engine = StreamingFeatures(("AAPL",))
    engine.close_minute(session.open, bars_from_frame(frame[frame["timestamp"] == session.open]))
    sizes = [engine._state.close.nbytes]  # type: ignore[union-attr]
    for minute in session.bar_timestamps()[1:]:
        engine.close_minute(minute.to_pydatetime(), [])
    sizes.append(engine._state.close.nbytes)  # type: ignore[union-attr]
    assert sizes[0] == sizes[1] == 2 * 390 * 8


def _fill_grid(bars: pd.DataFrame) -> pd.DataFrame:
    """One symbol's bars with the missing minutes filled the grid's way (for the oracle)."""
    session = calendar.session(FULL_DAY)
    indexed = bars.set_index("timestamp").reindex(session.bar_timestamps())
    indexed["symbol"] = bars["symbol"].iloc[0]
    close = indexed["close"].ffill().fillna(bars["open"].iloc[0])
    for column in ("open", "high", "low", "vwap"):
        indexed[column] = indexed[column].fillna(close)
    indexed["close"] = close
    indexed["volume"] = indexed["volume"].fillna(0.0)
    indexed["trade_count"] = indexed["trade_count"].fillna(0.0)
    return indexed.rename_axis("timestamp").reset_index()


def _minutes_before_first_bar(frame: pd.DataFrame) -> int:
    traded = frame[frame["symbol"] != "SPY"].copy()
    traded["day"] = traded["timestamp"].dt.tz_convert(calendar.NEW_YORK).dt.date
    first = traded.groupby(["symbol", "day"])["timestamp"].min().reset_index()
    opens = first["day"].map(lambda d: pd.Timestamp(calendar.session(d).open))
    return int(((first["timestamp"] - opens).dt.total_seconds() // 60).sum())
