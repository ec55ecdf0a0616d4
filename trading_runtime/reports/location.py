"""Where reports are written: under ``DATA_ROOT/reports/`` (a local folder or any fsspec URL,
through ``upath.UPath`` as the lake does).

Layout::

    {DATA_ROOT}/reports/sessions/date=YYYY-MM-DD/session-{id}-{mode}.html
    {DATA_ROOT}/reports/models/model-{id}.html

A report is written to a temporary name and renamed into place, so a reader never sees
half a page; writing it again replaces it.
"""

from __future__ import annotations

import uuid

from upath import UPath

from trading_runtime.store.read_models import SessionInfo

LOCAL_PROTOCOLS = frozenset({"", "file", "local"})


def reports_root(data_root: str) -> UPath:
    return UPath(data_root) / "reports"


def session_tearsheet_path(data_root: str, info: SessionInfo) -> UPath:
    return (
        reports_root(data_root)
        / "sessions"
        / f"date={info.trading_day.isoformat()}"
        / f"session-{info.id}-{info.mode.value}.html"
    )


def model_tearsheet_path(data_root: str, model_version_id: int) -> UPath:
    return reports_root(data_root) / "models" / f"model-{model_version_id}.html"


def write_text(path: UPath, text: str) -> UPath:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temporary.open("wb") as handle:
        handle.write(text.encode("utf-8"))
    temporary.rename(path)
    return path


def is_local(path: UPath) -> bool:
    """True for a file on this machine (a browser can open it)."""
    return path.protocol in LOCAL_PROTOCOLS
