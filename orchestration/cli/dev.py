"""``trading-platform dev``: the Dagster UI and daemon on the platform's storage, once.

Before ``dagster dev`` is exec'd: the port must be free, and no other ``dev`` may serve the
same instance. The second is an exclusive ``flock`` on ``.data/dagster/dev.lock``, held by
the ``dagster dev`` process itself (the descriptor survives the exec) and released by the
kernel when it exits, however it exits.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import socket
import sys
from pathlib import Path

from orchestration.cli.errors import UserError

HOST = "127.0.0.1"


def check_port_free(port: int, host: str = HOST) -> None:
    """Raise :class:`UserError` if ``host:port`` cannot be listened on."""
    if not 0 < port < 65536:
        raise UserError(f"port {port} is not a TCP port", "use 1..65535, e.g. --port 3000")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise UserError(
                    f"port {port} on {host} is already in use",
                    f"stop what listens there, or pick another port: "
                    f"`trading-platform dev --port {port + 1}` (make dev PORT={port + 1})",
                ) from None
            raise UserError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def acquire_dev_lock(path: Path, port: int) -> int:
    """Take the instance's dev lock; return its descriptor (inheritable, so the lock lives
    as long as the exec'd ``dagster dev``). Raise :class:`UserError` when it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 200, 0).decode(errors="replace").split()
        os.close(descriptor)
        where = f" (pid {holder[0]}, http://{HOST}:{holder[1]})" if len(holder) >= 2 else ""
        raise UserError(
            f"another `trading-platform dev` already serves this instance{where}",
            "use that one, or stop it first (Ctrl-C in its terminal)",
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()} {port}\n".encode(), 0)
    os.set_inheritable(descriptor, True)
    return descriptor


def exec_dagster_dev(port: int, workspace: Path, lock: int) -> None:
    """Replace this process by ``dagster dev`` (the pid in the lock file stays right)."""
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or "dagster"
    arguments = [dagster, "dev", "-h", HOST, "-p", str(port), "-w", str(workspace)]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(dagster, arguments)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.close(lock)
        raise UserError(f"cannot start {dagster}: {error.strerror}", "run `make install`") from None
