"""How a session reaches its broker: Alpaca's endpoints in paper/live; in sim, an emulator
(the one at ``SIM_BROKER_URL`` when set, else one started in this process for the session,
replaying the lake's bars or the synthetic market, with the configured fill model and costs)
and the pacer that acknowledges the minutes handled to it."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from trading_runtime.config import ConfigurationError, Settings
from trading_runtime.domain.enums import TradingMode
from trading_runtime.engine.minutes import MarketProgress
from trading_runtime.engine.ports import NoPacing
from trading_runtime.marketdata import calendar
from trading_runtime.marketdata.storage import ParquetLake

logger = logging.getLogger(__name__)


class EmulatorPacer:
    """Acknowledges the minutes handled to the emulator and reports its event clock: the ack
    answers once the next frame has been sent (lockstep replay)."""

    def __init__(self, control: Any) -> None:
        self._control = control

    async def minute_done(self, through: dt.datetime) -> MarketProgress:
        status = await self._control.ack(through, wait_for_next=True)
        finished = status.phase == "finished"
        session_close = calendar.session(status.session_date).close
        return MarketProgress(
            status.last_bar,
            status.bars_sent,
            finished=finished,
            to_the_close=finished
            and status.window_end is not None
            and status.window_end >= session_close,
        )

    async def close(self) -> None:
        await self._control.close()


@contextlib.contextmanager
def broker_connection(
    settings: Settings, mode: TradingMode, day: dt.date, ack_timeout_s: float
) -> Iterator[tuple[Any, Any]]:
    """(endpoints, pacer factory) for the mode; in sim mode, with an emulator running (the
    one at ``SIM_BROKER_URL`` when set, else one started here for the session)."""
    from trading_runtime.adapters.alpaca.config import AlpacaEndpoints

    if mode is not TradingMode.SIM:
        yield AlpacaEndpoints.from_settings(settings), NoPacing
        return

    from trading_runtime.sim.config import EmulatorConfig, Pacing
    from trading_runtime.sim.control import EmulatorControl
    from trading_runtime.sim.server import EmulatorServer

    if settings.sim_broker_url:
        from trading_runtime.sim.external import external_emulator

        with external_emulator(settings, day) as (url, api_key, secret_key):
            yield (
                AlpacaEndpoints.for_emulator(url, api_key, secret_key),
                lambda: EmulatorPacer(EmulatorControl(url, api_key, secret_key)),
            )
        return

    source = _replay_source(settings, day)
    emulator = EmulatorConfig(
        session_date=day,
        symbols=tuple(settings.universe),
        starting_cash=settings.sim_starting_cash,
        bar_source=source,
        fill_model=settings.fill_model_config(),
        seed=settings.synthetic_seed,
        ack_timeout_s=ack_timeout_s,
        pacing=Pacing.SPEED if settings.sim_replay_speed > 0 else Pacing.LOCKSTEP,
        speed=settings.sim_replay_speed or 60.0,
    )
    with EmulatorServer(emulator) as server:
        logger.info(
            "emulator replaying %s from %s at %s",
            day,
            "the lake" if source else "the synthetic market",
            server.base_url,
        )
        endpoints = AlpacaEndpoints.for_emulator(
            server.base_url, emulator.api_key, emulator.secret_key
        )
        yield (
            endpoints,
            lambda: EmulatorPacer(
                EmulatorControl(server.base_url, emulator.api_key, emulator.secret_key)
            ),
        )


def _replay_source(settings: Settings, day: dt.date) -> Any:
    """Stored bars when the lake holds the whole universe for ``day``; else the synthetic
    market (when that is the configured source). Replaying Alpaca data needs it stored."""
    from trading_runtime.sim.config import parquet_bar_source

    lake = ParquetLake(settings.data_root)
    if lake.has_bars(day):
        stored = set(lake.read_bars(day)["symbol"].unique())
        if stored.issuperset(settings.universe):
            return parquet_bar_source(settings.data_root)
    if settings.market_data_source == "synthetic":
        return None
    raise ConfigurationError(
        f"replaying {day} needs its bars for every symbol in the lake: "
        "materialize historical_bars for that day first"
    )
