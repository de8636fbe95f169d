"""Start a throwaway Prefect server for the benchmark, and set up flow runs on it.

The server runs `prefect server start` on a free port of 127.0.0.1, with its
own `PREFECT_HOME` and SQLite file in a temporary folder. The UI and the
background services that the benchmark does not use are off, so that they
do not compete with the measured requests for the machine's cores.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT = 180.0
"""Seconds to wait for `GET /api/health`. Migrations take about 20 s on SQLite."""

STOP_TIMEOUT = 15.0
"""Seconds between SIGTERM and SIGKILL when stopping the server."""

SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED": "false",
}


@dataclass
class BenchServer:
    """A Prefect server that the benchmark started, and its files."""

    api_url: str
    home: Path
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.home / "server.log"

    def log_tail(self, lines: int = 40) -> str:
        """Return the last `lines` lines of the server log."""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server's process group and delete its home folder."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(STOP_TIMEOUT)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        shutil.rmtree(self.home, ignore_errors=True)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """Return `os.environ` without `PREFECT_*` variables, so none leaks in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def start_server(parent: Path | None = None) -> BenchServer:
    """Start a Prefect server on a free loopback port and wait until it is healthy.

    Raises:
        RuntimeError: The server exited or was not healthy within
            `START_TIMEOUT` seconds. The message ends with the server log.
    """
    home = Path(tempfile.mkdtemp(prefix="runinput-bench-server-", dir=parent))
    env = clean_environment()
    env.update(SERVER_SETTINGS)
    env["PREFECT_HOME"] = str(home)
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = (
        f"sqlite+aiosqlite:///{home / 'prefect.db'}"
    )
    port = free_port()
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with (home / "server.log").open("wb") as log_file:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = BenchServer(f"http://127.0.0.1:{port}/api", home, process)
    try:
        wait_until_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_healthy(server: BenchServer) -> None:
    """Poll `GET /health` every 0.2 s until it returns 200."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"Prefect server exited with code {server.process.returncode} "
                    f"before it was healthy:\n{server.log_tail()}"
                )
            try:
                if client.get(f"{server.api_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(
        f"Prefect server at {server.api_url} was not healthy within "
        f"{START_TIMEOUT:.0f} s:\n{server.log_tail()}"
    )


class Api:
    """The few raw API calls that set up flows and flow runs for a benchmark."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=60.0)
        self._flow_id: str | None = None

    def close(self) -> None:
        self.http.close()

    def flow_id(self) -> str:
        """Return the id of the `runinput-bench` flow, creating it once."""
        if self._flow_id is None:
            response = self.http.post("flows/", json={"name": "runinput-bench"})
            response.raise_for_status()
            self._flow_id = str(response.json()["id"])
        return self._flow_id

    def create_flow_run(self, name: str) -> uuid.UUID:
        """Create a flow run that only stores inputs, and return its id."""
        body = {"flow_id": self.flow_id(), "name": f"{name}-{uuid.uuid4().hex[:8]}"}
        response = self.http.post("flow_runs/", json=body)
        response.raise_for_status()
        return uuid.UUID(response.json()["id"])

    def create_paused_flow_run(self, name: str) -> uuid.UUID:
        """Create a flow run and force it into a Paused state."""
        flow_run_id = self.create_flow_run(name)
        state: dict[str, Any] = {"type": "PAUSED", "name": "Paused"}
        response = self.http.post(
            f"flow_runs/{flow_run_id}/set_state", json={"state": state, "force": True}
        )
        response.raise_for_status()
        return flow_run_id

    def server_version(self) -> str:
        response = self.http.get("admin/version")
        response.raise_for_status()
        return str(response.json())
