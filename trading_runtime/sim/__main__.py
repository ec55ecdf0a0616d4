"""``python -m trading_runtime.sim``: serve one emulated session until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import signal
from decimal import Decimal
from pathlib import Path

from trading_runtime.sim.config import (
    DEFAULT_API_KEY,
    DEFAULT_SECRET_KEY,
    EmulatorConfig,
    Pacing,
    parquet_bar_source,
)
from trading_runtime.sim.ratelimit import DEFAULT_LIMIT_PER_MINUTE
from trading_runtime.sim.server import Emulator
from trading_runtime.venue.fills import FillModelConfig, FillModelKind


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trading_runtime.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--session-date",
        type=dt.date.fromisoformat,
        default=None,
        help="YYYY-MM-DD (default: the last completed NYSE session)",
    )
    parser.add_argument("--symbols", default=None, help="comma-separated symbols")
    parser.add_argument("--seed", type=int, default=7, help="synthetic market and id seed")
    parser.add_argument("--data-root", default=None, help="replay bars from this Parquet lake")
    parser.add_argument(
        "--pacing", choices=[p.value for p in Pacing], default=Pacing.LOCKSTEP.value
    )
    parser.add_argument("--speed", type=float, default=60.0, help="session minutes per second")
    parser.add_argument(
        "--ack-timeout", type=float, default=30.0, help="lockstep ack timeout, seconds"
    )
    parser.add_argument(
        "--min-minute-s",
        type=float,
        default=0.0,
        help="lockstep: a minute lasts at least this many seconds (0: as fast as the client)",
    )
    parser.add_argument(
        "--first-minute", type=int, default=0, help="start the replay this many minutes in"
    )
    parser.add_argument(
        "--minutes", type=int, default=None, help="replay at most this many minutes"
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--starting-cash", type=Decimal, default=Decimal("100000"))
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_LIMIT_PER_MINUTE,
        help="REST requests per minute per key, as Alpaca (0 turns the limit off)",
    )
    parser.add_argument(
        "--fill-model",
        choices=[kind.value for kind in FillModelKind],
        default=FillModelKind.PARTICIPATION.value,
        help="participation: at most a share of each bar's volume; paper: Alpaca paper's",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="keep the account, orders, fills and replay position in this file, so a "
        "restarted emulator goes on where it stopped",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig(
        session_date=args.session_date,
        api_key=args.api_key,
        secret_key=args.secret_key,
        starting_cash=args.starting_cash,
        pacing=Pacing(args.pacing),
        speed=args.speed,
        ack_timeout_s=args.ack_timeout,
        min_minute_s=args.min_minute_s,
        state_file=args.state,
        seed=args.seed,
        bar_source=parquet_bar_source(args.data_root) if args.data_root else None,
        first_minute=args.first_minute,
        minute_count=args.minutes,
        rate_limit_per_minute=args.rate_limit or None,
        fill_model=FillModelConfig(kind=FillModelKind(args.fill_model), seed=args.seed),
    )
    if args.symbols:
        config = dataclasses.replace(
            config, symbols=tuple(s for s in args.symbols.split(",") if s.strip())
        )
    return config


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    emulator = Emulator(config)
    base_url = await emulator.start(host, port)
    status = emulator.status()
    print(
        f"emulator for {status.session_date} ({status.minutes} minutes) at {base_url}", flush=True
    )
    print(
        f"  market data: {emulator.data_stream_url}   trading: {emulator.trading_stream_url}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(config_from_args(args), args.host, args.port))


if __name__ == "__main__":
    main()
