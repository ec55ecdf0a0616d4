"""Warn about environment variables that look like misspelt settings (``SYMBOL=AAPL`` for
``SYMBOLS``): the settings ignore unknown environment variables, so a typo would silently
fall back to a default."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from trading_runtime.config import Settings

# Read by the platform outside the settings class.
OTHER_VARIABLES = frozenset(
    {
        "ALERT_WEBHOOK_URL",
        "DAGSTER_HOME",
        "DAGSTER_POSTGRES_URL",
        "DAGSTER_STORAGE_DIR",
        "DAGSTER_COMPUTE_LOG_DIR",
        "TEST_DATABASE_URL",
    }
)
SIMILARITY = 0.8


def known_variables() -> frozenset[str]:
    aliases = {field.alias for field in Settings.model_fields.values() if field.alias}
    return frozenset(alias.upper() for alias in aliases) | OTHER_VARIABLES


def likely_typos(names: Iterable[str], known: frozenset[str]) -> dict[str, str]:
    """``{variable: setting it probably means}`` for names that look like ours but are not.

    A name looks like ours when it is close to a known name as a whole (``SYMBOL``) or when
    its words are a subset of a known name's words, starting with the same word
    (``BUY_THRESHOLD`` for ``BUY_PROBABILITY_THRESHOLD``). Names of other programs (``PATH``,
    ``HOME``) match neither.
    """
    words = {name: name.split("_") for name in known}
    typos = {}
    for raw in names:
        name = raw.upper()
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=SIMILARITY)
        if close:
            typos[raw] = close[0]
            continue
        parts = name.split("_")
        candidates = [
            known_name
            for known_name, known_words in words.items()
            if len(parts) >= 2 and parts[0] == known_words[0] and set(parts) < set(known_words)
        ]
        if candidates:
            typos[raw] = min(candidates, key=len)
    return typos


def typo_warnings(environment: Mapping[str, str]) -> list[str]:
    return [
        f"{name} is not a setting; did you mean {meant}?"
        for name, meant in sorted(likely_typos(environment, known_variables()).items())
    ]
