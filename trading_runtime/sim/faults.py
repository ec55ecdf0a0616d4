"""Runtime state of fault injection: what to break next, drawn deterministically.

The configuration (:class:`~trading_runtime.sim.config.FaultConfig`) sets the initial state;
tests can arm more faults while the emulator runs (:meth:`FaultInjector.inject_http_errors`).
``counts`` records every fault actually injected, by kind, for ``/v2/sim/status``.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from trading_runtime.sim.config import FaultConfig

MALFORMED_KINDS = ("missing_field", "nan_price", "non_positive_price", "high_below_low")


@dataclass(frozen=True, slots=True)
class MinuteFaults:
    """What happens to one minute's bar frame."""

    duplicate: bool = False
    out_of_order: bool = False
    malformed: bool = False


class FaultInjector:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)
        self._http_errors: deque[int] = deque(
            [429] * config.http_429_next_requests + [500] * config.http_500_next_requests
        )
        self._lost_order_responses = config.lost_order_responses
        self._slow_requests = config.slow_next_requests
        self._slow_delay_s = config.slow_response_s
        self._data_stall_s = 0.0
        self._drops_left = (
            config.max_data_connection_drops
            if config.drop_data_connection_after_frames is not None
            else 0
        )
        self.counts: Counter[str] = Counter()

    # --- REST -----------------------------------------------------------------------------------
    def inject_http_errors(self, status: int, count: int) -> None:
        """Answer the next ``count`` REST requests with HTTP ``status``."""
        if status not in (429, 500, 502, 503, 504):
            raise ValueError(f"unsupported injected status {status}")
        self._http_errors.extend([status] * count)

    def inject_lost_order_responses(self, count: int) -> None:
        self._lost_order_responses += count

    def inject_slow_requests(self, count: int, delay_s: float) -> None:
        self._slow_requests += count
        self._slow_delay_s = delay_s

    def take_http_error(self) -> int | None:
        if not self._http_errors:
            return None
        status = self._http_errors.popleft()
        self.counts[f"http_{status}"] += 1
        return status

    def take_lost_order_response(self) -> bool:
        if self._lost_order_responses <= 0:
            return False
        self._lost_order_responses -= 1
        self.counts["lost_order_response"] += 1
        return True

    def take_slow_response(self) -> float | None:
        if self._slow_requests <= 0:
            return None
        self._slow_requests -= 1
        self.counts["slow_response"] += 1
        return self._slow_delay_s

    # --- market data --------------------------------------------------------------------------
    def inject_data_stall(self, seconds: float) -> None:
        """Hold the next bar frame back for ``seconds`` (a silent feed)."""
        self._data_stall_s = max(self._data_stall_s, seconds)

    def take_data_stall(self) -> float:
        stall, self._data_stall_s = self._data_stall_s, 0.0
        if stall:
            self.counts["data_stall"] += 1
        return stall

    def minute(self, *, is_last: bool) -> MinuteFaults:
        """Draw the faults of one minute (always three draws, so the sequence is stable)."""
        config = self.config
        duplicate = self._random.random() < config.duplicate_bar_probability
        out_of_order = self._random.random() < config.out_of_order_probability
        malformed = self._random.random() < config.malformed_bar_probability
        return MinuteFaults(
            duplicate=duplicate, out_of_order=out_of_order and not is_last, malformed=malformed
        )

    def malformed_message(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """A broken copy of one of ``messages`` (a bar message of the stream)."""
        original = messages[self._random.randrange(len(messages))]
        broken = dict(original)
        kind = MALFORMED_KINDS[self._random.randrange(len(MALFORMED_KINDS))]
        if kind == "missing_field":
            del broken["c"]
        elif kind == "nan_price":
            broken["c"] = math.nan
        elif kind == "non_positive_price":
            broken["o"] = 0.0
        else:
            broken["h"], broken["l"] = broken["l"], broken["h"]
            if broken["h"] >= broken["l"]:
                broken["h"] = broken["l"] - 0.01
        self.counts[f"malformed_bar_{kind}"] += 1
        self.counts["malformed_bar"] += 1
        return broken

    def take_drop(self, frames_sent: int) -> bool:
        """True when the data connection must drop instead of sending its next frame."""
        limit = self.config.drop_data_connection_after_frames
        if limit is None or self._drops_left <= 0 or frames_sent < limit:
            return False
        self._drops_left -= 1
        self.counts["data_connection_drop"] += 1
        return True

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))
