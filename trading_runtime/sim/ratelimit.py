"""Alpaca's request rate limit: a fixed one-minute window per API key and API.

Alpaca allows 200 requests per minute per key on the trading API (the data API has its own
allowance), answers HTTP 429 ``{"code": 42910000, "message": "rate limit exceeded"}`` beyond
it, and sends ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix
seconds when the window resets) on every response. Wall-clock time: the limit protects a
service, whatever the emulated session's clock says.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0
DEFAULT_LIMIT_PER_MINUTE = 200


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch_s: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch_s),
        }


class RateLimiter:
    """``limit_per_minute`` requests per window and bucket; ``clock`` returns Unix seconds."""

    def __init__(self, limit_per_minute: int, clock: Callable[[], float] = time.time) -> None:
        if limit_per_minute < 1:
            raise ValueError("limit_per_minute must be at least 1")
        self.limit = limit_per_minute
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def take(self, bucket: str) -> RateDecision:
        """Count one request in ``bucket``; ``allowed`` is False once the window is used up."""
        now = self._clock()
        started, used = self._windows.get(bucket, (now, 0))
        if now >= started + WINDOW_S:
            started, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[bucket] = (started, used)
        return RateDecision(allowed, self.limit, self.limit - used, math.ceil(started + WINDOW_S))
