"""Alpaca-compatible emulator (REST + both websockets on one port), a shell on the venue.

``EmulatorServer(EmulatorConfig(...))`` runs it in a background thread; ``Emulator`` runs it
on the caller's event loop; ``python -m trading_runtime.sim`` runs it from the command line.
``EmulatorControl`` is the client of its ``/v2/sim`` control endpoints (lockstep acks).
"""

from trading_runtime.sim.config import (
    BarSource,
    EmulatorConfig,
    FaultConfig,
    Pacing,
    parquet_bar_source,
    synthetic_bar_source,
)
from trading_runtime.sim.control import EmulatorControl
from trading_runtime.sim.replay import EmulatorStatus, Phase
from trading_runtime.sim.server import Emulator, EmulatorNotRunningError, EmulatorServer
from trading_runtime.venue.fills import FillModelConfig, FillModelKind

__all__ = [
    "BarSource",
    "Emulator",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorNotRunningError",
    "EmulatorServer",
    "EmulatorStatus",
    "FaultConfig",
    "FillModelConfig",
    "FillModelKind",
    "Pacing",
    "Phase",
    "parquet_bar_source",
    "synthetic_bar_source",
]
