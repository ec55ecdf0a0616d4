"""User errors: what went wrong, in one line, with a hint of what to do about it.

``UserError`` is raised by the commands themselves; :func:`as_user_error` recognises the
platform's own configuration and lookup errors (also when Dagster wraps them, or when they
ended a run) and turns them into one. Anything else is a bug and keeps its traceback
(shown with ``--debug``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

EXIT_USER_ERROR = 2
EXIT_RUN_FAILED = 1


class UserError(Exception):
    """A problem the user can fix; ``str()`` is one line."""

    def __init__(self, message: str, hint: str = "", exit_code: int = EXIT_USER_ERROR) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


# Exception class name -> hint. Matched by name because a failed run reports its cause as a
# serialised error (class name and message), not as the exception object.
HINTS = {
    "ConfigurationError": "check the environment variables (README, Configuration)",
    "LaunchpadConfigError": "see `trading-platform COMMAND --help` for the accepted values",
    "CalendarRangeError": "use a date the NYSE calendar covers",
    "ModelVersionNotFoundError": "list the models with `trading-platform report champion`",
    "PromotionRefusedError": "see the audit trail with `trading-platform report model:ID`",
    "RegistryError": "see the registry with `trading-platform report champion`",
    "UnknownSessionError": "list the sessions with `trading-platform sessions`",
    "InsufficientDataError": "ingest more sessions first: `trading-platform ingest --from ... --to ...`",
    "DatabaseUnavailableError": "check DATABASE_URL, or unset it to use the embedded server",
    "OperationalError": "check DATABASE_URL, or unset it to use the embedded server",
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def as_user_error(error: BaseException) -> UserError | None:
    """The user error ``error`` stands for, or None when it is not one of ours."""
    for link in _chain(error):
        if isinstance(link, UserError):
            return link
        name = type(link).__name__
        if name in HINTS:
            return UserError(describe(link), HINTS[name])
    return None


def describe(error: BaseException) -> str:
    """One line for ``error``; pydantic validation errors become ``FIELD: message; ...``."""
    for link in _chain(error):
        if isinstance(link, ValidationError):
            return "; ".join(_validation_item(item) for item in link.errors())
    return " ".join(str(error).split()) or type(error).__name__


def _validation_item(item: Any) -> str:
    location = ".".join(str(part) for part in item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def run_failure(job_name: str, run_id: str, root_cause: Any) -> UserError:
    """A failed Dagster run, named by its root cause (a ``SerializableErrorInfo``)."""
    if root_cause is None:
        return UserError(
            f"{job_name} run {run_id} failed",
            "open the run in the UI (`trading-platform dev`) or rerun with --debug",
            EXIT_RUN_FAILED,
        )
    message = " ".join(root_cause.message.split())
    hint = HINTS.get(root_cause.cls_name)
    if hint:
        return UserError(message, hint)
    return UserError(
        f"{job_name} run {run_id} failed: {root_cause.cls_name}: {message}",
        "rerun with --debug for the traceback, or open the run in the UI",
        EXIT_RUN_FAILED,
    )
