"""Values for JSON columns (metrics, summaries, event details, stored configs).

``to_jsonable`` is pydantic's JSON conversion with the choices a ``jsonb`` column needs:
Decimal -> exact string, dates and times -> ISO 8601, enums -> their value, dataclasses ->
objects, ``timedelta`` -> seconds, non-finite floats -> null (``jsonb`` has no NaN), numpy
scalars and arrays -> Python numbers and lists, ``SecretStr`` -> a mask. ``redact_config``
also masks the value of every secret-looking key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

REDACTED = "***"
_SECRET_KEY_PARTS = ("secret", "password", "api_key", "apikey", "token", "credential")


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict keys become strings).

    Raises ``ValueError`` (pydantic's ``PydanticSerializationError``) for an object with no
    obvious JSON form, so nothing is stored by accident.
    """
    return to_jsonable_python(
        value, inf_nan_mode="null", timedelta_mode="float", fallback=_from_numpy
    )


def redact_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready config with any secret-looking key's value replaced by ``***``."""

    def scrub(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                str(key): REDACTED
                if any(part in str(key).lower() for part in _SECRET_KEY_PARTS) and item is not None
                else scrub(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    scrubbed: dict[str, Any] = scrub(to_jsonable(dict(config)))
    return scrubbed


def _from_numpy(value: Any) -> Any:
    """numpy scalars and arrays as Python values (numpy is not imported for this)."""
    if type(value).__module__.startswith("numpy"):
        if hasattr(value, "tolist"):
            return value.tolist()
        if hasattr(value, "item"):
            return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")
