"""Symbols checked before a session trades them.

Format: Alpaca's US equity symbols (1-5 capitals, an optional class suffix after a dot or a
slash, e.g. ``BRK.B``). Against the broker's assets when it lists them: each symbol must be
known, ``active`` and ``tradable``. The error names every offending symbol on one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SYMBOL_PATTERN = re.compile(r"[A-Z]{1,5}(?:[./][A-Z]{1,2})?")


class InvalidSymbolsError(ValueError):
    """One or more symbols cannot be traded; the message lists them and why."""


def check_format(symbols: Sequence[str]) -> None:
    bad = [s for s in symbols if not SYMBOL_PATTERN.fullmatch(s)]
    if bad:
        raise InvalidSymbolsError(
            "invalid symbols (expected 1-5 capitals, optional .X class suffix): "
            + ", ".join(repr(s) for s in bad)
        )


def check_against_assets(
    symbols: Sequence[str], assets: Mapping[str, tuple[bool, bool]] | None
) -> None:
    """``assets``: the broker's {symbol: (tradable, active)}, or None when it lists none."""
    if assets is None:
        return
    problems = []
    for symbol in symbols:
        if symbol not in assets:
            problems.append(f"{symbol} (unknown to the broker)")
            continue
        tradable, active = assets[symbol]
        if not active:
            problems.append(f"{symbol} (inactive)")
        elif not tradable:
            problems.append(f"{symbol} (not tradable)")
    if problems:
        raise InvalidSymbolsError("symbols the broker will not trade: " + ", ".join(problems))
