"""Features warmed up from history when a session starts after the open (a restart, or a
late start): every minute from the open to the start is closed on the streaming features
with the day's stored or REST bars, so the first live minute can already be decided on,
instead of waiting ~30 minutes for the windows to fill. No decision is made on them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

from trading_runtime.domain.bars import Bar
from trading_runtime.engine.minutes import ONE_MINUTE
from trading_runtime.features.streaming import StreamingFeatures
from trading_runtime.marketdata.calendar import Session

History = Callable[[Sequence[str], dt.datetime, dt.datetime], list[Bar]]
"""(symbols, first minute, last minute) -> the sound one-minute bars in between, inclusive."""


def first_live_minute(session: Session, now: dt.datetime) -> dt.datetime:
    """The minute a session started at ``now`` decides on first (the one in progress)."""
    minute = now.replace(second=0, microsecond=0)
    return min(max(minute, session.open), session.close)


def warm_up(
    features: StreamingFeatures, session: Session, bars: Sequence[Bar], until: dt.datetime
) -> tuple[int, int]:
    """Close every minute from the open up to (excluding) ``until`` with ``bars``; returns
    (minutes closed, bars used). Bars outside those minutes are ignored."""
    by_minute: dict[dt.datetime, list[Bar]] = defaultdict(list)
    for bar in bars:
        if session.open <= bar.timestamp < until and not bar.problems():
            by_minute[bar.timestamp].append(bar)
    minutes = used = 0
    minute = session.open
    while minute < until:
        rows = features.close_minute(minute, by_minute.get(minute, []))
        used += len(by_minute.get(minute, [])) - len(rows.rejected)
        minutes += 1
        minute += ONE_MINUTE
    return minutes, used
