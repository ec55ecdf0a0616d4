"""The emulator as a broker that outlives its client: a lockstep client that vanishes does not
stall the replay, its successor counts only the bars sent to it, faults are armed from
outside the process (``POST /v2/sim/faults``), and ``SIM_BROKER_URL`` finds the emulator."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import requests
from alpaca.data.live.stock import StockDataStream
from alpaca.data.models import Bar as AlpacaBar
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from alpaca.trading.stream import TradingStream

from tests.support.emulator import (
    API_KEY,
    SECRET_KEY,
    SESSION_DATE,
    SYMBOLS,
    running_emulator,
    trading_client,
)
from tests.support.eventually import eventually_async
from trading_runtime.config import ConfigurationError, load_settings
from trading_runtime.sim import EmulatorControl, EmulatorServer, Pacing
from trading_runtime.sim.external import external_emulator

HEADERS = {"APCA-API-KEY-ID": API_KEY, "APCA-API-SECRET-KEY": SECRET_KEY}


async def _lockstep_client(server: EmulatorServer, minutes: int | None) -> tuple[int, int]:
    """Consume and ack ``minutes`` minutes (None: to the end), then vanish without acking the
    next one. Returns (bars received, the emulator's last ``bars_sent`` for this client)."""
    queue: asyncio.Queue[AlpacaBar] = asyncio.Queue()

    async def on_bar(bar: AlpacaBar) -> None:
        queue.put_nowait(bar)

    stream = StockDataStream(API_KEY, SECRET_KEY, url_override=server.data_stream_url)
    stream.subscribe_bars(on_bar, *SYMBOLS)
    task = asyncio.create_task(stream._run_forever(), name="test-lockstep-client")
    received = 0
    bars_sent = 0
    async with EmulatorControl(server.base_url, API_KEY, SECRET_KEY) as control:
        done = 0
        while minutes is None or done < minutes:
            try:
                batch = [await asyncio.wait_for(queue.get(), timeout=5)]
            except TimeoutError:
                break
            while not queue.empty():
                batch.append(queue.get_nowait())
            received += len(batch)
            status = await control.ack(max(b.timestamp for b in batch), wait_for_next=True)
            bars_sent = status.bars_sent
            done += 1
            if status.phase == "finished":
                break
    await stream.stop_ws()
    await stream.close()
    await asyncio.wait_for(task, timeout=10)
    return received, bars_sent


def test_a_vanished_client_does_not_stall_the_replay_and_its_successor_counts_its_own_bars() -> (
    None
):
    with running_emulator(pacing=Pacing.LOCKSTEP, ack_timeout_s=30.0) as server:

        async def scenario() -> tuple[tuple[int, int], tuple[int, int], float]:
            first = await _lockstep_client(server, minutes=3)
            started = time.monotonic()
            second = await _lockstep_client(server, minutes=None)
            return first, second, time.monotonic() - started

        first, second, seconds = asyncio.run(scenario())
        status = server.status()
    assert status.phase == "finished"
    assert seconds < 15  # not one 30 s ack timeout per vanished client
    received_first, sent_to_first = first
    received_second, sent_to_second = second
    # The first client acked 3 frames; the 4th was sent to it as it vanished.
    assert received_first in (9, 12) and sent_to_first == 12
    assert sent_to_second == received_second == 18
    assert sent_to_first + sent_to_second == 30  # every bar went to one client or the other


def test_a_lockstep_minute_lasts_at_least_min_minute_s() -> None:
    with running_emulator(pacing=Pacing.LOCKSTEP, min_minute_s=0.2) as server:

        async def scenario() -> tuple[tuple[int, int], float]:
            started = time.monotonic()
            consumed = await _lockstep_client(server, minutes=None)
            return consumed, time.monotonic() - started

        (received, sent), seconds = asyncio.run(scenario())
        assert server.status().phase == "finished"
    assert received == sent == 30
    assert seconds >= 9 * 0.2  # ten minutes, the last one ends the session


def test_a_state_file_carries_the_account_across_a_restart_of_the_emulator(
    tmp_path: Path,
) -> None:
    state = tmp_path / "emulator.state"
    with running_emulator(state_file=state) as server:
        client = trading_client(server)
        client.submit_order(
            MarketOrderRequest(
                symbol="AAPL",
                qty=5,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                client_order_id="kept",
            )
        )
        server.advance(2)
        before = client.get_account()
        fills_before = client.get("/account/activities")
    assert state.exists()
    with running_emulator(state_file=state) as server:
        client = trading_client(server)
        assert server.status().bars_published == 2
        after = client.get_account()
        assert (after.cash, after.equity) == (before.cash, before.equity)
        assert client.get_order_by_client_id("kept").status == "filled"
        assert [p.qty for p in client.get_all_positions()] == ["5"]
        assert client.get("/account/activities") == fills_before != []
        server.advance(1)  # the replay goes on where it stopped
        assert server.status().bars_published == 3


def test_faults_armed_from_outside_the_process() -> None:
    with running_emulator() as server:
        client = trading_client(server)
        url = f"{server.base_url}/v2/sim/faults"
        answer = requests.post(
            url, json={"http_errors": {"status": 503, "count": 1}}, headers=HEADERS, timeout=5
        )
        assert answer.status_code == 200
        failed = requests.get(f"{server.base_url}/v2/account", headers=HEADERS, timeout=5)
        assert failed.status_code == 503
        assert client.get_account().status == "ACTIVE"

        requests.post(
            url, json={"slow_requests": {"count": 1, "delay_s": 0.5}}, headers=HEADERS, timeout=5
        )
        started = time.monotonic()
        client.get_account()
        assert time.monotonic() - started >= 0.5

        bad = requests.post(
            url, json={"http_errors": {"status": 200, "count": 1}}, headers=HEADERS, timeout=5
        )
        assert bad.status_code == 400

        async def dropped() -> bool:
            stream = TradingStream(API_KEY, SECRET_KEY, url_override=server.trading_stream_url)

            async def on_update(update: object) -> None:
                return None

            stream.subscribe_trade_updates(on_update)
            task = asyncio.create_task(stream._run_forever(), name="test-trade-stream")
            await eventually_async(lambda: server.status().trade_update_listeners == 1)
            await asyncio.to_thread(
                requests.post, url, json={"drop_streams": True}, headers=HEADERS, timeout=5
            )
            # alpaca-py reconnects by itself: the listener is back after the drop.
            await eventually_async(lambda: server.status().faults.get("stream_drop") == 1)
            await eventually_async(lambda: server.status().trade_update_listeners == 1)
            await stream.stop_ws()
            await asyncio.wait_for(task, timeout=10)
            return True

        assert asyncio.run(dropped())
        assert server.status().faults["http_503"] == 1


def test_sim_broker_url_is_checked_before_a_session_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADING_MODE", "sim")
    monkeypatch.setenv("ALPACA_API_KEY", API_KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET_KEY)
    with running_emulator() as server:
        monkeypatch.setenv("SIM_BROKER_URL", server.base_url + "/")
        settings = load_settings()
        with external_emulator(settings, SESSION_DATE) as (url, key, secret):
            assert (url, key, secret) == (server.base_url, API_KEY, SECRET_KEY)
        other_day = SESSION_DATE.replace(day=3)
        with (
            pytest.raises(ConfigurationError, match="replays 2026-03-02, not 2026-03-03"),
            external_emulator(settings, other_day),
        ):
            pass
        monkeypatch.setenv("ALPACA_SECRET_KEY", "wrong")
        with (
            pytest.raises(ConfigurationError, match="HTTP 401"),
            external_emulator(load_settings(), SESSION_DATE),
        ):
            pass
    monkeypatch.setenv("SIM_BROKER_URL", "http://127.0.0.1:9")
    with (
        pytest.raises(ConfigurationError, match="no emulator answers"),
        external_emulator(load_settings(), SESSION_DATE),
    ):
        pass
