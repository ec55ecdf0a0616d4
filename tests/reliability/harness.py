"""The processes of a reliability run and the views of them the harness reads.

* :class:`DatabaseProxy`: a TCP proxy in front of Postgres that the harness cuts (every
  connection closed, new ones refused) and restores: a database outage the engine cannot
  tell from a real one.
* :class:`EmulatorProcess`: ``python -m trading_runtime.sim`` as its own process; the
  account, orders and fills live there and outlive every engine.
* :class:`EngineProcess`: ``python -m tests.reliability.engine_process`` against the
  emulator (``SIM_BROKER_URL``) and the proxied database; killed with SIGKILL by the harness.
* :class:`Broker` and :class:`Ledger`: what the emulator's REST API and the ledger tables say,
  read from outside the engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import URL, make_url, text

from trading_runtime.sim.config import DEFAULT_API_KEY, DEFAULT_SECRET_KEY
from trading_runtime.store.db import create_engine_for, migrate, trading_url

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"APCA-API-KEY-ID": DEFAULT_API_KEY, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY}


def wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


# --- database ---------------------------------------------------------------------------------
class DatabaseProxy:
    """Forwards 127.0.0.1:<port> to Postgres; :meth:`cut` is an outage, :meth:`restore` ends it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = True
        self._closed = False
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            with self._lock:
                self._sockets.difference_update((source, sink))

    def cut(self) -> None:
        self._up = False
        with self._lock:
            open_sockets = list(self._sockets)
        for end in open_sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


@dataclass
class Database:
    """A fresh, migrated database on the server, reached directly and through a proxy."""

    server: URL
    name: str
    proxy: DatabaseProxy

    @classmethod
    @contextlib.contextmanager
    def fresh(cls, server_url: str) -> Iterator[Database]:
        server = trading_url(server_url)
        name = f"tp_reliability_{uuid.uuid4().hex[:10]}"
        admin = create_engine_for(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        proxy = DatabaseProxy(server.host or "127.0.0.1", server.port or 5432)
        database = cls(server, name, proxy)
        try:
            migrate(database.direct_url)
            yield database
        finally:
            proxy.close()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    @property
    def direct_url(self) -> URL:
        return self.server.set(database=self.name)

    @property
    def proxied_url(self) -> str:
        url = self.server.set(database=self.name, host="127.0.0.1", port=self.proxy.port)
        return url.render_as_string(hide_password=False)


# --- processes --------------------------------------------------------------------------------
def _python_env(extra: dict[str, str]) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ALPACA_", "DB_", "SIM_", "TRADING_MODE", "DATABASE_URL"))
    }
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(extra)
    return environment


class EmulatorProcess:
    def __init__(self, arguments: list[str], log_path: Path) -> None:
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trading_runtime.sim", "--port", "0", *arguments],
            cwd=ROOT,
            env=_python_env({}),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if " at http://" not in first:
            self.stop()  # closes the pipe and the log
            raise RuntimeError(f"the emulator did not start: {first!r} (log: {log_path})")
        self.url = first.rsplit(" at ", 1)[1].strip()

    def status(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/v2/sim/status", headers=HEADERS, timeout=10).json()

    def arm(self, **faults: Any) -> None:
        response = requests.post(
            f"{self.url}/v2/sim/faults", json=faults, headers=HEADERS, timeout=10
        )
        response.raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


class EngineProcess:
    def __init__(self, environment: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.engine_process"],
            cwd=ROOT,
            env=_python_env(environment),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def last_error(self) -> str:
        self._log.flush()
        lines = [line.strip() for line in self.log_path.read_text().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        return errors[-1] if errors else (lines[-1] if lines else "")

    def close(self) -> None:
        if self.running:
            self.kill()
        self._log.close()


# --- views ------------------------------------------------------------------------------------
class Broker:
    """The emulator's REST API: the truth about orders, fills and positions."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._session = requests.Session()
        self._session.headers.update(HEADERS)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self._session.get(f"{self._url}{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def orders(self) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params = {"status": "all", "limit": 500, "direction": "asc"}
            if after:
                params["after"] = after
            page = self._get("/v2/orders", params)
            orders.extend(page)
            if len(page) < 500:
                return orders
            after = page[-1]["created_at"]

    def order_count(self) -> int:
        return len(self._get("/v2/orders", {"status": "all", "limit": 500}))

    def fills(self) -> list[dict[str, Any]]:
        fills: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"activity_types": "FILL", "direction": "asc"}
            if token:
                params["page_token"] = token
            page = self._get("/v2/account/activities", params)
            fills.extend(page)
            if len(page) < 100:
                return fills
            token = page[-1]["id"]

    def fill_count(self) -> int:
        return len(self._get("/v2/account/activities", {"activity_types": "FILL"}))

    def positions(self) -> dict[str, Decimal]:
        return {p["symbol"]: Decimal(p["qty"]) for p in self._get("/v2/positions")}

    def close(self) -> None:
        self._session.close()


class Ledger:
    """The trading ledger, read directly (not through the proxy the harness cuts)."""

    def __init__(self, url: URL) -> None:
        self._engine = create_engine_for(url)

    def rows(self, query: str) -> list[Any]:
        with self._engine.connect() as connection:
            return list(connection.execute(text(query)))

    def fill_count(self) -> int:
        return int(self.rows("select count(*) from fills")[0][0])

    def close(self) -> None:
        self._engine.dispose()


def server_url_from_environment() -> str:
    """The Postgres server the suite creates its databases on."""
    for key in ("RELIABILITY_DATABASE_URL", "TEST_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(key):
            return make_url(os.environ[key]).render_as_string(hide_password=False)
    from trading_runtime.config import load_settings
    from trading_runtime.store.db import resolve_database_url

    return resolve_database_url(load_settings()).trading_url_with_password()
