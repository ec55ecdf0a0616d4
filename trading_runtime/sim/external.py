"""A sim session against an emulator that already runs in its own process (``SIM_BROKER_URL``).

The emulator (``python -m trading_runtime.sim --port 8765``) then owns the account, the
orders and the fills, and outlives the engine: an engine killed mid-session and started again
finds its orders, positions and fills (``GET /v2/account/activities``) where it left them.
Keys: ``ALPACA_API_KEY``/``ALPACA_SECRET_KEY`` when set (start the emulator with the same
``--api-key``/``--secret-key``), else the emulator's defaults.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trading_runtime.config import ConfigurationError
from trading_runtime.sim.config import DEFAULT_API_KEY, DEFAULT_SECRET_KEY
from trading_runtime.sim.replay import EmulatorStatus

if TYPE_CHECKING:
    from trading_runtime.config import Settings

STATUS_TIMEOUT_S = 10.0


def emulator_keys(settings: Settings) -> tuple[str, str]:
    if settings.alpaca_api_key is not None and settings.alpaca_secret_key is not None:
        return (
            settings.alpaca_api_key.get_secret_value(),
            settings.alpaca_secret_key.get_secret_value(),
        )
    return DEFAULT_API_KEY, DEFAULT_SECRET_KEY


def emulator_status(url: str, api_key: str, secret_key: str) -> EmulatorStatus:
    """``GET /v2/sim/status``; raises :class:`ConfigurationError` when nothing answers."""
    request = urllib.request.Request(
        url.rstrip("/") + "/v2/sim/status",
        headers={"APCA-API-KEY-ID": api_key, "APCA-API-SECRET-KEY": secret_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=STATUS_TIMEOUT_S) as response:
            return EmulatorStatus.from_json(json.load(response))
    except urllib.error.HTTPError as error:
        hint = " (are the keys the emulator's?)" if error.code == 401 else ""
        raise ConfigurationError(f"SIM_BROKER_URL={url} answered HTTP {error.code}{hint}") from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        raise ConfigurationError(
            f"no emulator answers at SIM_BROKER_URL={url} ({error}); start one with "
            "`python -m trading_runtime.sim --port PORT`"
        ) from None


@contextlib.contextmanager
def external_emulator(settings: Settings, day: dt.date) -> Iterator[tuple[str, str, str]]:
    """(base URL, API key, secret key) of the running emulator, checked to replay ``day``."""
    url = settings.sim_broker_url
    if not url:
        raise ConfigurationError("SIM_BROKER_URL is not set")
    api_key, secret_key = emulator_keys(settings)
    status = emulator_status(url, api_key, secret_key)
    if status.session_date != day:
        raise ConfigurationError(
            f"the emulator at {url} replays {status.session_date}, not {day}: ask for its "
            "session date (or start it with --session-date)"
        )
    yield url.rstrip("/"), api_key, secret_key
