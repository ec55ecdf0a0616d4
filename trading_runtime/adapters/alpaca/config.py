"""Where the Alpaca clients connect, and with which keys.

``AlpacaEndpoints.from_settings`` serves paper and live (Alpaca's URLs unless overridden in
the settings); ``AlpacaEndpoints.for_emulator`` points every client at the emulator, where
one port serves REST, the market-data stream and the trading stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from alpaca.common.enums import BaseURL

from trading_runtime.config import ConfigurationError, Settings
from trading_runtime.domain.enums import TradingMode

Feed = Literal["iex", "sip"]


@dataclass(frozen=True)
class AlpacaEndpoints:
    """Keys and URLs for alpaca-py's four clients. The secret never appears in ``repr``."""

    api_key: str
    secret_key: str = field(repr=False)
    paper: bool
    trading_url: str
    data_url: str
    data_stream_url: str
    trading_stream_url: str
    feed: Feed = "iex"

    def __post_init__(self) -> None:
        if not self.api_key or not self.secret_key:
            raise ConfigurationError("Alpaca endpoints need an API key and a secret key")
        if self.feed not in ("iex", "sip"):
            raise ConfigurationError(f"unsupported Alpaca data feed {self.feed!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> AlpacaEndpoints:
        """Paper or live endpoints for ``settings`` (raises ConfigurationError without keys)."""
        if settings.alpaca_api_key is None or settings.alpaca_secret_key is None:
            raise ConfigurationError("Alpaca endpoints need ALPACA_API_KEY and ALPACA_SECRET_KEY")
        paper = settings.mode is not TradingMode.LIVE
        feed = settings.alpaca_data_feed
        default_trading = BaseURL.TRADING_PAPER if paper else BaseURL.TRADING_LIVE
        default_trading_stream = (
            BaseURL.TRADING_STREAM_PAPER if paper else BaseURL.TRADING_STREAM_LIVE
        )
        return cls(
            api_key=settings.alpaca_api_key.get_secret_value(),
            secret_key=settings.alpaca_secret_key.get_secret_value(),
            paper=paper,
            trading_url=settings.alpaca_trading_url or default_trading.value,
            data_url=settings.alpaca_data_url or BaseURL.DATA.value,
            data_stream_url=settings.alpaca_data_stream_url
            or f"{BaseURL.MARKET_DATA_STREAM.value}/v2/{feed}",
            trading_stream_url=settings.alpaca_trading_stream_url or default_trading_stream.value,
            feed=feed,
        )

    @classmethod
    def for_emulator(
        cls, base_url: str, api_key: str, secret_key: str, feed: Feed = "iex"
    ) -> AlpacaEndpoints:
        """Endpoints of the emulator at ``base_url`` (``http://host:port``)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"not an emulator base URL: {base_url!r}")
        websocket = "wss" if parts.scheme == "https" else "ws"
        root = base_url.rstrip("/")
        return cls(
            api_key=api_key,
            secret_key=secret_key,
            paper=True,
            trading_url=root,
            data_url=root,
            data_stream_url=f"{websocket}://{parts.netloc}/v2/{feed}",
            trading_stream_url=f"{websocket}://{parts.netloc}/stream",
            feed=feed,
        )
