"""Symbols are checked before a session trades them: format, then the broker's assets."""

from __future__ import annotations

import pytest

from trading_runtime.engine.symbols import (
    InvalidSymbolsError,
    check_against_assets,
    check_format,
)


@pytest.mark.parametrize("symbol", ["AAPL", "SPY", "F", "GOOGL", "BRK.B", "BF.B"])
def test_alpaca_symbols_pass(symbol: str) -> None:
    check_format([symbol])


@pytest.mark.parametrize(
    "symbol", ["AAPL;DROP TABLE", "aapl", "", "TOOLONG", "AA PL", "SPY\n", "BRK.BBB", "1234"]
)
def test_malformed_symbols_are_refused_on_one_line(symbol: str) -> None:
    with pytest.raises(InvalidSymbolsError) as refused:
        check_format(["AAPL", symbol])
    message = str(refused.value)
    assert repr(symbol) in message and "AAPL'" not in message
    assert "\n" not in message.replace(repr(symbol), "")


def test_unknown_inactive_and_untradable_assets_are_named() -> None:
    assets = {"AAPL": (True, True), "OLD": (True, False), "OTC": (False, True)}
    check_against_assets(["AAPL"], assets)
    with pytest.raises(InvalidSymbolsError) as refused:
        check_against_assets(["AAPL", "OLD", "OTC", "NOPE"], assets)
    assert str(refused.value) == (
        "symbols the broker will not trade: OLD (inactive), OTC (not tradable), "
        "NOPE (unknown to the broker)"
    )


def test_a_broker_without_an_asset_list_checks_nothing_more() -> None:
    check_against_assets(["ANY"], None)
