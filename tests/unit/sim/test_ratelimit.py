"""Alpaca's per-key request limit: a fixed one-minute window."""

from __future__ import annotations

from trading_runtime.sim.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_the_limit_then_refuses_until_it_resets() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    decisions = [limiter.take("key/trading") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert {d.reset_epoch_s for d in decisions} == {1060}
    assert decisions[0].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": "1060",
    }
    clock.now = 1_059.9
    assert not limiter.take("key/trading").allowed
    assert limiter.take("other/trading").allowed, "each key has its own window"
    clock.now = 1_060.0
    fresh = limiter.take("key/trading")
    assert fresh.allowed and fresh.remaining == 2 and fresh.reset_epoch_s == 1120
