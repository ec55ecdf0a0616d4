"""Error translation policy and endpoint configuration."""

from __future__ import annotations

import json

import pytest
import requests
from alpaca.common.exceptions import APIError
from pydantic import SecretStr

from trading_runtime.adapters.alpaca.config import AlpacaEndpoints
from trading_runtime.adapters.alpaca.errors import (
    BrokerAuthError,
    BrokerError,
    OrderNotFoundError,
    OrderRejectedError,
    TransientBrokerError,
    translate_error,
)
from trading_runtime.config import ConfigurationError, Settings


def api_error(status: int, code: int = 40010001, message: str = "nope") -> APIError:
    response = requests.Response()
    response.status_code = status
    return APIError(
        json.dumps({"code": code, "message": message}), requests.HTTPError(response=response)
    )


@pytest.mark.parametrize(
    ("error", "submitting", "kind"),
    [
        (api_error(429), False, TransientBrokerError),
        (api_error(500), True, TransientBrokerError),
        (api_error(503), False, TransientBrokerError),
        (api_error(401, 40110000), True, BrokerAuthError),
        (api_error(403, 40310000, "insufficient buying power"), True, OrderRejectedError),
        (api_error(403, 40310000), False, BrokerAuthError),
        (api_error(422, 42210000), True, OrderRejectedError),
        (api_error(404, 40410000), False, OrderNotFoundError),
        (api_error(422, 42210000), False, BrokerError),
        (requests.ConnectTimeout("slow"), True, TransientBrokerError),
        (requests.ConnectionError("down"), False, TransientBrokerError),
    ],
)
def test_errors_are_translated_by_policy(
    error: Exception, submitting: bool, kind: type[BrokerError]
) -> None:
    translated = translate_error(error, submitting=submitting)
    assert type(translated) is kind


def test_rejection_keeps_code_message_and_status() -> None:
    translated = translate_error(
        api_error(403, 40310000, "insufficient buying power"), submitting=True
    )
    assert isinstance(translated, OrderRejectedError)
    assert (translated.code, translated.message, translated.status) == (
        40310000,
        "insufficient buying power",
        403,
    )


def test_non_json_error_bodies_are_kept_as_text() -> None:
    response = requests.Response()
    response.status_code = 502
    translated = translate_error(
        APIError("<html>bad gateway</html>", requests.HTTPError(response=response))
    )
    assert isinstance(translated, TransientBrokerError)
    assert "bad gateway" in translated.message


def test_emulator_endpoints_share_one_port() -> None:
    endpoints = AlpacaEndpoints.for_emulator("http://127.0.0.1:8123", "key", "secret")
    assert endpoints.trading_url == endpoints.data_url == "http://127.0.0.1:8123"
    assert endpoints.data_stream_url == "ws://127.0.0.1:8123/v2/iex"
    assert endpoints.trading_stream_url == "ws://127.0.0.1:8123/stream"
    assert endpoints.paper


def test_secret_never_appears_in_repr() -> None:
    endpoints = AlpacaEndpoints.for_emulator("http://127.0.0.1:8123", "key", "very-secret-value")
    assert "very-secret-value" not in repr(endpoints)


def test_settings_give_paper_endpoints_with_overrides() -> None:
    settings = Settings(
        ALPACA_API_KEY=SecretStr("k"),
        ALPACA_SECRET_KEY=SecretStr("s"),
        ALPACA_DATA_FEED="sip",
        ALPACA_DATA_URL="http://proxy:1",
    )
    endpoints = AlpacaEndpoints.from_settings(settings)
    assert endpoints.paper
    assert endpoints.trading_url == "https://paper-api.alpaca.markets"
    assert endpoints.data_url == "http://proxy:1"
    assert endpoints.data_stream_url.endswith("/v2/sip")
    assert (endpoints.api_key, endpoints.secret_key) == ("k", "s")


def test_settings_without_keys_cannot_make_endpoints() -> None:
    with pytest.raises(ConfigurationError):
        AlpacaEndpoints.from_settings(Settings(_env_file=None))
