"""Market data inside the emulator: the replayed session's tape and the bar history.

``SessionTape`` holds the session's regular-hours bars grouped by minute for the replay
window (the data stream replays regular hours only). ``BarHistory`` answers
``GET /v2/stocks/bars`` for any day up to the emulated one with whatever the bar source holds
in the requested range (extended hours included, as Alpaca's REST API), in any documented
timeframe and adjustment (:mod:`.bars`), with Alpaca's ordering (by symbol, then time) and
``next_page_token`` pagination. Bars of the emulated day are visible only once their minute
is over (no look-ahead through the REST API).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

import numpy as np
import pandas as pd

from trading_runtime.domain.bars import BAR_COLUMNS, Bar
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.calendar import Session
from trading_runtime.sim.bars import (
    SPLIT_FACTOR,
    InvalidBarsRequestError,
    Timeframe,
    adjust,
    aggregate,
)
from trading_runtime.sim.config import BarSource
from trading_runtime.sim.wire import iso_utc

ONE_MINUTE = Timeframe.parse("1Min")
MAX_BARS_LIMIT = 10_000
DEFAULT_BARS_LIMIT = 1_000
_HISTORY_CACHE_DAYS = 32


def normalize_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Bars in BAR_COLUMNS order (plus ``split_factor`` when the source has it), timestamps as
    UTC, sorted by (symbol, timestamp)."""
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the bar source returned a frame without columns {missing}")
    extra = [SPLIT_FACTOR] if SPLIT_FACTOR in frame.columns else []
    bars = frame[[*BAR_COLUMNS, *extra]].copy()
    timestamps = pd.to_datetime(bars["timestamp"])
    if timestamps.dt.tz is None:
        timestamps = timestamps.dt.tz_localize("UTC")
    bars["timestamp"] = timestamps.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    bars["symbol"] = bars["symbol"].astype(str)
    return bars.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)


_PRICE_COLUMNS = ("open", "high", "low", "close", "volume", "trade_count", "vwap")


@dataclass(frozen=True)
class TapeColumns:
    """The replay window's bars as columns, ordered by (minute, symbol): the bars of minute
    ``i`` are rows ``offsets[i]:offsets[i + 1]``; ``symbol_codes`` index ``symbol_names``;
    a missing ``trade_count`` or ``vwap`` is NaN."""

    offsets: np.ndarray
    symbol_names: tuple[str, ...]
    symbol_codes: np.ndarray
    values: dict[str, np.ndarray]

    @classmethod
    def of(cls, replay: pd.DataFrame, minutes: pd.DatetimeIndex) -> TapeColumns:
        """``replay`` sorted by (timestamp, symbol); ``minutes`` its distinct timestamps."""
        stamps = pd.DatetimeIndex(replay["timestamp"]).asi8
        starts = np.searchsorted(stamps, minutes.asi8, side="left")
        offsets = np.append(starts, len(replay)).astype(np.int64)
        codes, names = pd.factorize(replay["symbol"], sort=True)
        return cls(
            offsets=offsets,
            symbol_names=tuple(str(name) for name in names),
            symbol_codes=codes.astype(np.int32),
            values={c: replay[c].to_numpy(dtype=np.float64, copy=True) for c in _PRICE_COLUMNS},
        )

    def bars(self, index: int, minute: dt.datetime) -> dict[str, Bar]:
        """The bars of minute ``index`` (starting at ``minute``), built from the slices."""
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        names = self.symbol_names
        columns = [self.values[c][start:stop].tolist() for c in _PRICE_COLUMNS]
        bars: dict[str, Bar] = {}
        for code, o, h, low, c, v, n, vw in zip(
            self.symbol_codes[start:stop].tolist(), *columns, strict=True
        ):
            symbol = names[code]
            bars[symbol] = Bar(
                symbol, minute, o, h, low, c, v, None if n != n else n, None if vw != vw else vw
            )
        return bars


class MinuteBars(Sequence[dict[str, Bar]]):
    """``tape.bars_by_minute[i]``: the bars of minute ``i`` by symbol, built on access."""

    def __init__(self, minutes: tuple[dt.datetime, ...], columns: TapeColumns) -> None:
        self._minutes = minutes
        self._columns = columns

    def __len__(self) -> int:
        return len(self._minutes)

    @overload
    def __getitem__(self, index: int) -> dict[str, Bar]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Bar]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Bar] | list[dict[str, Bar]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._columns.bars(index, self._minutes[index])


@dataclass(frozen=True)
class SessionTape:
    """The replay window of one session: ``minutes[i]`` and the bars of that minute
    (``bars_by_minute[i]``, built from columns when read: the tape holds no bar objects)."""

    session: Session
    window_start: dt.datetime
    window_end: dt.datetime
    minutes: tuple[dt.datetime, ...]
    columns: TapeColumns
    all_bars: pd.DataFrame
    reference_prices: dict[str, Decimal]
    opening_prices: dict[str, Decimal]

    @property
    def bars_by_minute(self) -> MinuteBars:
        return MinuteBars(self.minutes, self.columns)

    @classmethod
    def build(
        cls, session: Session, frame: pd.DataFrame, *, first_minute: int, minute_count: int | None
    ) -> SessionTape:
        every_bar = normalize_bars(frame)
        in_session = (every_bar["timestamp"] >= session.open) & (
            every_bar["timestamp"] < session.close
        )
        bars = every_bar[in_session].reset_index(drop=True)
        window_start = session.open + dt.timedelta(minutes=first_minute)
        if window_start >= session.close:
            raise ValueError(
                f"first_minute {first_minute} is beyond the session ({session.minutes} minutes)"
            )
        window_end = session.close
        if minute_count is not None:
            window_end = min(session.close, window_start + dt.timedelta(minutes=minute_count))
        in_window = (bars["timestamp"] >= window_start) & (bars["timestamp"] < window_end)
        replay = bars[in_window].sort_values(["timestamp", "symbol"], kind="stable")
        # a symbol repeated within a minute: the last bar stands (as a dict keyed by symbol)
        replay = replay.drop_duplicates(["timestamp", "symbol"], keep="last")
        stamps = pd.DatetimeIndex(replay["timestamp"].unique())
        minutes = tuple(stamp.to_pydatetime() for stamp in stamps)
        columns = TapeColumns.of(replay.reset_index(drop=True), stamps)
        before = bars[bars["timestamp"] < window_start]
        reference: dict[str, Decimal] = {}
        for symbol, group in before.groupby("symbol"):
            reference[str(symbol)] = Decimal(str(float(group["close"].iloc[-1])))
        opening: dict[str, Decimal] = {}
        for symbol, group in bars.groupby("symbol"):
            opening[str(symbol)] = Decimal(str(float(group["open"].iloc[0])))
        first_in_window = replay.drop_duplicates("symbol", keep="first")
        for symbol, first_open in zip(
            first_in_window["symbol"].tolist(), first_in_window["open"].tolist(), strict=True
        ):
            reference.setdefault(symbol, Decimal(str(float(first_open))))
        return cls(
            session=session,
            window_start=window_start,
            window_end=window_end,
            minutes=minutes,
            columns=columns,
            all_bars=every_bar,
            reference_prices=reference,
            opening_prices=opening,
        )

    @property
    def symbols(self) -> frozenset[str]:
        """Every symbol the source has bars for on the session day (any hour)."""
        return frozenset(self.all_bars["symbol"].unique())


def encode_page_token(symbol: str, timestamp: dt.datetime) -> str:
    raw = json.dumps({"S": symbol, "t": iso_utc(timestamp)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[str, pd.Timestamp]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return str(data["S"]), pd.Timestamp(data["t"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidBarsRequestError("invalid page_token") from error


def parse_time(text: str, *, end_of_day: bool) -> pd.Timestamp:
    """RFC 3339 or ``YYYY-MM-DD`` (a date is the whole UTC day)."""
    try:
        if len(text) == 10:
            day = pd.Timestamp(dt.date.fromisoformat(text), tz="UTC")
            return day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if end_of_day else day
        stamp = pd.Timestamp(dt.datetime.fromisoformat(text.replace(" ", "+")))
    except ValueError as error:
        raise InvalidBarsRequestError(f"invalid time: {text!r}") from error
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True, slots=True)
class BarsQuery:
    symbols: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    limit: int
    page_token: str | None
    descending: bool
    timeframe: Timeframe = ONE_MINUTE
    adjustment: str = "raw"

    @classmethod
    def from_params(cls, params: Any, *, now: dt.datetime, max_page_size: int) -> BarsQuery:
        timeframe = Timeframe.parse(params.get("timeframe"))
        adjustment = params.get("adjustment", "raw")
        adjust(pd.DataFrame(), adjustment)  # validates the name
        symbols = tuple(
            dict.fromkeys(
                s.strip().upper() for s in params.get("symbols", "").split(",") if s.strip()
            )
        )
        if not symbols:
            raise InvalidBarsRequestError("symbols is required")
        start_text, end_text = params.get("start"), params.get("end")
        now_ts = pd.Timestamp(now)
        end = parse_time(end_text, end_of_day=True) if end_text else now_ts
        start = parse_time(start_text, end_of_day=False) if start_text else now_ts.normalize()
        if end < start:
            raise InvalidBarsRequestError("end should not be before start")
        try:
            limit = int(params.get("limit", DEFAULT_BARS_LIMIT))
        except ValueError as error:
            raise InvalidBarsRequestError("invalid limit") from error
        if not 1 <= limit <= MAX_BARS_LIMIT:
            raise InvalidBarsRequestError(f"limit must be within [1, {MAX_BARS_LIMIT}]")
        sort = params.get("sort", "asc")
        if sort not in ("asc", "desc"):
            raise InvalidBarsRequestError("sort must be asc or desc")
        feed = params.get("feed", "iex")
        if feed not in ("iex", "sip", "otc", "delayed_sip"):
            raise InvalidBarsRequestError(f"invalid feed {feed!r}")
        return cls(
            symbols=symbols,
            start=start,
            end=end,
            limit=min(limit, max_page_size),
            page_token=params.get("page_token") or None,
            descending=sort == "desc",
            timeframe=timeframe,
            adjustment=adjustment,
        )


class BarHistory:
    """Historical bars through the bar source, cached per day, paginated as Alpaca does."""

    def __init__(self, source: BarSource, tape: SessionTape) -> None:
        self._source = source
        self._tape = tape
        self._cache: OrderedDict[tuple[dt.date, tuple[str, ...]], pd.DataFrame] = OrderedDict()

    async def page(
        self, query: BarsQuery, *, cutoff: dt.datetime
    ) -> tuple[dict[str, list[dict]], str | None]:
        """One page: ``({symbol: [bar, ...]}, next_page_token or None)``.

        Bars at or after ``cutoff`` (on the emulated day: not yet published) are invisible.
        """
        session_date = self._tape.session.date
        load_from = query.start - pd.Timedelta(query.timeframe.lookback)
        first_day = load_from.tz_convert(calendar.NEW_YORK).date()
        last_day = min(query.end.tz_convert(calendar.NEW_YORK).date(), session_date)
        days = calendar.sessions_between(first_day, last_day)
        frames = [await self._day(day, query.symbols) for day in days]
        frames = [frame for frame in frames if not frame.empty]
        if not frames:
            return {}, None
        bars = pd.concat(frames, ignore_index=True)
        bars = bars[bars["timestamp"] < pd.Timestamp(cutoff)]
        bars = aggregate(adjust(bars, query.adjustment), query.timeframe)
        timestamps = bars["timestamp"]
        bars = bars[(timestamps >= query.start) & (timestamps <= query.end)]
        bars = bars.sort_values(
            ["symbol", "timestamp"], ascending=[True, not query.descending], kind="stable"
        )
        if query.page_token:
            symbol, stamp = decode_page_token(query.page_token)
            symbols = bars["symbol"].to_numpy()
            times = bars["timestamp"]
            same = (symbols == symbol) & np.asarray(
                times <= stamp if query.descending else times >= stamp
            )
            bars = bars[(symbols > symbol) | same]
        page = bars.iloc[: query.limit]
        token = None
        if len(bars) > query.limit:
            following = bars.iloc[query.limit]
            token = encode_page_token(
                str(following["symbol"]), following["timestamp"].to_pydatetime()
            )
        result: dict[str, list[dict]] = {}
        for row in page.itertuples(index=False):
            result.setdefault(row.symbol, []).append(_rest_bar_row(row))
        return result, token

    async def _day(self, day: dt.date, symbols: tuple[str, ...]) -> pd.DataFrame:
        if day == self._tape.session.date:
            bars = self._tape.all_bars
            return bars[bars["symbol"].isin(symbols)]
        key = (day, tuple(sorted(symbols)))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        frame = await asyncio.to_thread(self._source, day, list(key[1]))
        bars = normalize_bars(frame)
        bars = bars[bars["symbol"].isin(symbols)].reset_index(drop=True)
        self._cache[key] = bars
        while len(self._cache) > _HISTORY_CACHE_DAYS:
            self._cache.popitem(last=False)
        return bars


def _rest_bar_row(row: Any) -> dict[str, Any]:
    def finite(value: Any) -> float | None:
        return None if pd.isna(value) else float(value)

    def count(value: Any) -> int | float | None:
        number = finite(value)
        if number is None:
            return None
        return int(number) if number.is_integer() else number

    return {
        "t": iso_utc(row.timestamp.to_pydatetime()),
        "o": finite(row.open),
        "h": finite(row.high),
        "l": finite(row.low),
        "c": finite(row.close),
        "v": count(row.volume),
        "n": count(row.trade_count),
        "vw": finite(row.vwap),
    }
