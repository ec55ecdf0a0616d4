"""A live session that replays slowly, for signal tests: ``python -m tests.support.slow_session``.

Settings come from the environment. Each minute waits ``SLOW_SESSION_DELAY_S`` before it is
acknowledged to the emulator, so a test has time to send a signal mid-session. Exit codes:
0 completed, 3 interrupted (after a clean shutdown), 1 anything else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

from trading_runtime.config import load_settings
from trading_runtime.domain import TradingMode
from trading_runtime.engine import broker_connection, runner
from trading_runtime.engine.minutes import MarketProgress


class SlowPacer(broker_connection.EmulatorPacer):
    async def minute_done(self, bar_timestamp: dt.datetime) -> MarketProgress:
        await asyncio.sleep(float(os.environ.get("SLOW_SESSION_DELAY_S", "0.05")))
        return await super().minute_done(bar_timestamp)


def main() -> int:
    broker_connection.EmulatorPacer = SlowPacer  # type: ignore[misc]
    request = runner.SessionRequest(
        mode=TradingMode.SIM, trading_day=dt.date.fromisoformat(os.environ["SLOW_SESSION_DAY"])
    )
    try:
        outcome = runner.run_session(load_settings(), request)
    except runner.SessionInterrupted as interrupted:
        print(f"interrupted session {interrupted.outcome.session_id}", flush=True)
        return 3
    print(f"completed session {outcome.session_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
