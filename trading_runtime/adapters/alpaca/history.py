"""Historical one-minute bars through alpaca-py's ``StockHistoricalDataClient``.

alpaca-py follows ``next_page_token`` itself; the pages arrive raw (no per-bar model objects)
and become one frame in BAR_SCHEMA's columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from trading_runtime.adapters.alpaca import parsing
from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.errors import translate_error
from trading_runtime.adapters.alpaca.trading import install_timeout


class AlpacaHistory:
    """Bars from Alpaca's data API (or the emulator). Raises BrokerError subclasses."""

    def __init__(self, endpoints: AlpacaEndpoints, timeout_s: float = 30.0) -> None:
        self.endpoints = endpoints
        self._client = StockHistoricalDataClient(
            api_key=endpoints.api_key,
            secret_key=endpoints.secret_key,
            raw_data=True,
            url_override=endpoints.data_url,
        )
        install_timeout(self._client, timeout_s)

    def __repr__(self) -> str:
        return f"AlpacaHistory({self.endpoints.data_url!r}, feed={self.endpoints.feed!r})"

    def bars(self, symbols: Sequence[str], start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        """One-minute bars of ``symbols`` with ``start <= timestamp <= end`` (tz-aware bounds).

        Columns and dtypes of BAR_SCHEMA, sorted by (timestamp, symbol); an empty frame when
        there are none.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if not symbols:
            raise ValueError("name at least one symbol")
        request = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TimeFrame.Minute,
            start=start,
            end=end,
            feed=DataFeed(self.endpoints.feed),
        )
        try:
            raw = cast(dict[str, list[dict[str, Any]]], self._client.get_stock_bars(request))
        except (APIError, requests.RequestException) as error:
            raise translate_error(error) from error
        return parsing.bars_frame(raw)
