"""One engine session as its own process, as an operator would run it:
``python -m tests.reliability.engine_process`` (settings from the environment, the emulator
at ``SIM_BROKER_URL``).

Exit status: 0 completed, 1 failed (the reason on stderr), 2 refused or crashed at start
(one line on stderr), 3 interrupted by a signal.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys

from trading_runtime.config import load_settings
from trading_runtime.domain import TradingMode
from trading_runtime.engine.runner import (
    SessionFailed,
    SessionInterrupted,
    SessionRequest,
    run_session,
)


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("ENGINE_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    day = dt.date.fromisoformat(os.environ["RELIABILITY_DAY"])
    try:
        request = SessionRequest(
            mode=TradingMode.SIM,
            trading_day=day,
            lease_ttl_s=float(os.environ.get("RELIABILITY_LEASE_TTL_S", "30")),
        )
        outcome = run_session(load_settings(), request)
    except SessionFailed as failed:
        print(f"error: {failed}", file=sys.stderr, flush=True)
        return 1
    except SessionInterrupted as interrupted:
        print(f"error: {interrupted}", file=sys.stderr, flush=True)
        return 3
    except Exception as error:  # reported as one line: what an operator reads
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 2
    print(f"completed session {outcome.session_id}: {outcome.report.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
