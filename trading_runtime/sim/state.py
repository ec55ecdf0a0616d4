"""What the REST handlers of a running emulator share, stored on the aiohttp application.

The server builds one :class:`EmulatorState` at start-up; handlers reach it with
:func:`state` and talk to the venue through its public methods only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aiohttp import web

from trading_runtime.marketdata.calendar import Session
from trading_runtime.sim.config import EmulatorConfig
from trading_runtime.sim.faults import FaultInjector
from trading_runtime.sim.journal import FillJournal
from trading_runtime.sim.market import BarHistory, SessionTape
from trading_runtime.sim.ratelimit import RateLimiter
from trading_runtime.sim.replay import Replay
from trading_runtime.sim.streams import MarketDataHub
from trading_runtime.sim.trade_stream import TradeUpdateHub
from trading_runtime.venue import Venue


@dataclass(frozen=True)
class EmulatorState:
    config: EmulatorConfig
    session: Session
    tape: SessionTape
    venue: Venue
    faults: FaultInjector
    history: BarHistory
    replay: Replay
    data_hub: MarketDataHub
    trade_hub: TradeUpdateHub
    journal: FillJournal
    rate_limiter: RateLimiter | None
    account_id: str
    created_at: dt.datetime


STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)


def state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]
