"""Injected market-data faults as alpaca-py sees them, and the command line."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from alpaca.data.live.stock import StockDataStream

from tests.support.emulator import API_KEY, SECRET_KEY, SYMBOLS, running_emulator
from tests.support.eventually import eventually_async
from trading_runtime.sim import FaultConfig, Pacing

REPOSITORY = Path(__file__).resolve().parents[3]


def test_duplicate_and_out_of_order_frames_reach_the_client_and_no_bar_is_lost() -> None:
    faults = FaultConfig(seed=5, duplicate_bar_probability=0.3, out_of_order_probability=0.3)
    # Lockstep waits for the subscriber before each frame; without acks it goes on at once.
    with running_emulator(pacing=Pacing.LOCKSTEP, ack_timeout_s=0.02, faults=faults) as server:

        async def scenario() -> list[tuple[str, object]]:
            received: list[tuple[str, object]] = []

            async def on_bar(raw: dict) -> None:
                received.append((raw["S"], raw["t"].to_datetime()))

            stream = StockDataStream(
                API_KEY, SECRET_KEY, raw_data=True, url_override=server.data_stream_url
            )
            stream.subscribe_bars(on_bar, *SYMBOLS)
            task = asyncio.create_task(stream._run_forever(), name="test-data-stream")
            await eventually_async(lambda: server.status().phase == "finished", timeout_s=20)
            status = server.status()
            expected = 3 * (10 + status.faults.get("duplicate_frame", 0))
            await eventually_async(lambda: len(received) == expected)
            await stream.stop_ws()
            await stream.close()
            await asyncio.wait_for(task, timeout=10)
            return received

        received = asyncio.run(scenario())
        faults_seen = server.status().faults
    assert faults_seen["duplicate_frame"] > 0 and faults_seen["out_of_order_frame"] > 0
    assert len(set(received)) == 30  # every bar of the 10 minutes, none lost
    assert len(received) - len(set(received)) == 3 * faults_seen["duplicate_frame"]
    stamps = [stamp for _, stamp in received]
    assert any(later < earlier for earlier, later in itertools.pairwise(stamps))


def test_command_line_serves_a_session_until_terminated() -> None:
    command = [
        sys.executable,
        "-m",
        "trading_runtime.sim",
        "--port",
        "0",
        "--session-date",
        "2026-03-02",
        "--symbols",
        "SPY,AAPL",
        "--minutes",
        "5",
        "--log-level",
        "WARNING",
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    with subprocess.Popen(
        command, cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+)", first_line)
            assert match, first_line
            headers = {"APCA-API-KEY-ID": "emulator-key", "APCA-API-SECRET-KEY": "emulator-secret"}
            status = requests.get(
                f"{match.group(1)}/v2/sim/status", headers=headers, timeout=5
            ).json()
            assert status["session_date"] == "2026-03-02"
            assert status["phase"] == "waiting" and status["minutes"] == 5
        finally:
            process.send_signal(signal.SIGTERM)
            return_code = process.wait(timeout=20)
    assert return_code == 0
