"""Conversions between domain values and JSON.

Two directions, two purposes:

    to_jsonable(value)      anything a caller may hand to a JSON column (metrics dicts with
                            numpy scalars, Decimals, dates) -> plain JSON values. Lossy by
                            design for display types: Decimal -> str, date -> ISO string,
                            non-finite floats -> None (Postgres ``jsonb`` has no NaN).
    encode(value)           a typed value (domain dataclasses, enums, Decimal, datetimes)
    decode(type_, data)     -> JSON and back to an *equal* value of ``type_``. Exact: this is
                            what the ledger spool relies on to replay a write after a crash.

``decode`` is driven by type annotations (``typing.get_type_hints``), so any frozen dataclass
whose fields use the supported types round-trips without per-class code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from pydantic import SecretStr

REDACTED = "***"


class CodecError(ValueError):
    """A value cannot be encoded, or JSON data does not match the expected type."""


# --- to_jsonable: for JSON columns ------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dict keys become strings).

    Decimal -> str (exact), datetime/date/time -> ISO 8601, enums -> their value,
    numpy scalars and arrays -> Python numbers and lists, dataclasses -> dicts,
    non-finite floats -> None, ``SecretStr`` -> ``"***"``. Raises :class:`CodecError` for
    anything else (an object with no obvious JSON form should not be stored by accident).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(to_jsonable(key)): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    numpy_value = _from_numpy(value)
    if numpy_value is not _NOT_NUMPY:
        return to_jsonable(numpy_value)
    raise CodecError(f"cannot store a {type(value).__name__} as JSON")


_NOT_NUMPY = object()


def _from_numpy(value: Any) -> Any:
    """numpy scalars and arrays as Python values, without importing numpy eagerly."""
    module = type(value).__module__
    if not module.startswith("numpy"):
        return _NOT_NUMPY
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return _NOT_NUMPY


# --- encode / decode: exact round-trips -------------------------------------------------------


def encode(value: Any) -> Any:
    """Encode a typed value as JSON data that :func:`decode` turns back into an equal value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            # json.dumps would write NaN/Infinity, which is not JSON; keep it explicit.
            return {"$float": repr(float(value))}
        return float(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(item) for item in value]
    numpy_value = _from_numpy(value)
    if numpy_value is not _NOT_NUMPY:
        return encode(numpy_value)
    raise CodecError(f"cannot encode a {type(value).__name__}")


def decode(type_: Any, data: Any) -> Any:
    """Rebuild a value of ``type_`` from :func:`encode`'s output.

    Supports None, bool, int, float, str, Decimal, datetime, date, time, UUID, enums,
    dataclasses, ``X | None`` and other unions of those, ``list``/``tuple``/``frozenset``/
    ``dict[str, X]`` and ``Any`` (passed through). Raises :class:`CodecError` on a mismatch.
    """
    try:
        return _decode(type_, data)
    except CodecError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise CodecError(f"cannot decode {_type_name(type_)}: {error}") from error


def _decode(type_: Any, data: Any) -> Any:
    if type_ is Any or type_ is object:
        return data
    origin = typing.get_origin(type_)
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(type_, data)
    if origin is typing.Literal:
        if data not in typing.get_args(type_):
            raise CodecError(f"{data!r} is not one of {typing.get_args(type_)}")
        return data
    if origin is not None:
        return _decode_generic(origin, typing.get_args(type_), data)
    if type_ is type(None):
        if data is not None:
            raise CodecError(f"expected null, got {data!r}")
        return None
    if isinstance(type_, type):
        return _decode_class(type_, data)
    raise CodecError(f"unsupported type {type_!r}")


def _decode_union(type_: Any, data: Any) -> Any:
    arguments = typing.get_args(type_)
    if data is None and type(None) in arguments:
        return None
    errors = []
    for argument in arguments:
        if argument is type(None):
            continue
        try:
            return _decode(argument, data)
        except (CodecError, TypeError, ValueError, KeyError) as error:
            errors.append(str(error))
    raise CodecError(f"{data!r} matches no member of {_type_name(type_)}: {'; '.join(errors)}")


def _decode_generic(origin: Any, arguments: tuple[Any, ...], data: Any) -> Any:
    if origin in (list, Sequence, tuple, frozenset, set):
        if not isinstance(data, list):
            raise CodecError(f"expected a list, got {type(data).__name__}")
        if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
            if len(arguments) != len(data):
                raise CodecError(f"expected {len(arguments)} items, got {len(data)}")
            return tuple(_decode(a, item) for a, item in zip(arguments, data, strict=True))
        item_type = arguments[0] if arguments else Any
        items = [_decode(item_type, item) for item in data]
        if origin is list:
            return items
        if origin in (tuple, Sequence):
            return tuple(items)
        return frozenset(items) if origin is frozenset else set(items)
    if origin in (dict, Mapping):
        if not isinstance(data, dict):
            raise CodecError(f"expected an object, got {type(data).__name__}")
        key_type, value_type = arguments if arguments else (Any, Any)
        return {_decode(key_type, key): _decode(value_type, item) for key, item in data.items()}
    raise CodecError(f"unsupported generic {origin!r}")


def _decode_class(type_: type, data: Any) -> Any:
    if dataclasses.is_dataclass(type_):
        if not isinstance(data, dict):
            raise CodecError(f"expected an object for {type_.__name__}, got {type(data).__name__}")
        hints = _type_hints(type_)
        known = {f.name for f in dataclasses.fields(type_) if f.init}
        unknown = set(data) - known
        if unknown:
            raise CodecError(f"unknown fields for {type_.__name__}: {sorted(unknown)}")
        return type_(**{name: _decode(hints[name], value) for name, value in data.items()})
    if issubclass(type_, Enum):
        return type_(data)
    if type_ is bool:
        if not isinstance(data, bool):
            raise CodecError(f"expected a boolean, got {data!r}")
        return data
    if type_ is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise CodecError(f"expected an integer, got {data!r}")
        return data
    if type_ is float:
        if isinstance(data, dict) and set(data) == {"$float"}:
            return float(data["$float"])
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise CodecError(f"expected a number, got {data!r}")
        return float(data)
    if type_ is str:
        if not isinstance(data, str):
            raise CodecError(f"expected a string, got {data!r}")
        return data
    if type_ is Decimal:
        if not isinstance(data, str):
            raise CodecError(f"expected a decimal string, got {data!r}")
        return Decimal(data)
    if type_ is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if type_ is dt.date:
        return dt.date.fromisoformat(data)
    if type_ is dt.time:
        return dt.time.fromisoformat(data)
    if type_ is uuid.UUID:
        return uuid.UUID(data)
    if type_ in (dict, list):
        if not isinstance(data, type_):
            raise CodecError(f"expected a {type_.__name__}, got {type(data).__name__}")
        return data
    raise CodecError(f"unsupported type {type_.__name__}")


@cache
def _type_hints(type_: type) -> dict[str, Any]:
    return typing.get_type_hints(type_)


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or repr(type_)
