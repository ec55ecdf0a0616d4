"""How the ledger writer reads a database failure: worth retrying, and how to say it."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


def is_transient_error(error: BaseException) -> bool:
    """True for failures that a later retry may cure: the server is unreachable, restarting
    or the pool is exhausted. Constraint violations and bugs are not transient."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (ConnectionError, TimeoutError))


def describe_error(error: BaseException) -> str:
    """First line of the driver's message (SQLAlchemy appends SQL and parameters)."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"
