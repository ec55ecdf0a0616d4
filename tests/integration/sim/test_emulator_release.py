"""A stopped and dropped in-process emulator keeps nothing of its session alive."""

from __future__ import annotations

import gc

from tests.support.emulator import emulator_config, trading_client
from trading_runtime.sim import EmulatorServer
from trading_runtime.sim.market import SessionTape
from trading_runtime.sim.state import EmulatorState


def _alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def test_sessions_in_one_process_leave_no_state_or_tape_behind() -> None:
    states, tapes = _alive(EmulatorState), _alive(SessionTape)
    for _ in range(3):
        with EmulatorServer(emulator_config()) as server:
            # requests through the middleware chain (the path aiohttp caches per application)
            assert trading_client(server).get_clock() is not None
            assert _alive(EmulatorState) == states + 1
        del server  # the stopped emulator is dropped: nothing else may hold its session
    assert _alive(EmulatorState) == states
    assert _alive(SessionTape) == tapes
