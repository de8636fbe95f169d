"""Real Prefect servers for the integration tests, and waiting on their flow runs.

The fixtures in `tests/conftest.py` wrap this module and `tests/harness/`. Tests
import from here only for types, `HarnessError`, `find_free_port` and
`wait_for_flow_run_state`.

**Servers.** `start_prefect_server` runs `prefect server start` on a free
loopback port with its own `PREFECT_HOME`, the UI and analytics off, and only
the background services that the input protocol needs. `pause_expirations`
fails paused runs whose timeout has passed and checks every second, the task
run recorder stores task runs, and the event persister stores events. The
scheduler, late runs, foreman, repossessor, cancellation clean-up, triggers and
clean-up reconciler are off. The database migrations take most of the start-up
time. With Prefect 3.9.1 on an otherwise idle 2-core machine, a server became
healthy in about 20 s on SQLite and 15 s on PostgreSQL, the cluster's own start
included. At a load average of 7 it took 90 s and 34 s.
Extra server environment, such as `PREFECT_SERVER_API_AUTH_STRING` or
`PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED`, is passed through unchanged.

**Databases.** SQLite in the server's home folder by default. With
`RUNINPUT_TEST_DATABASE=postgresql`, the factory starts one PostgreSQL cluster
(`tests/harness/postgres.py`) and gives each Prefect server a database of its
own in it, reached through asyncpg, which Prefect depends on.

**Flows in another process.** `tests/harness/processes.py` runs a script with
`sys.executable`. Its flows find the server through `PREFECT_API_URL` in the
environment that the script is given.

**Flows in the test process.** Prefect reads its settings from the environment
once, when `prefect.context` is imported, into a process-wide settings context.
Setting `PREFECT_API_URL` after `import prefect` has no effect, and a flow
called without an API URL starts a temporary server of its own inside the test
process. The `prefect_settings` fixture therefore builds a `Settings` object
from the test's environment and puts it in place of
`prefect.context.GLOBAL_SETTINGS_CONTEXT` for the test. Threads that Prefect
starts, such as the log and event workers, fall back to that global context
too. After the test, the fixture drains those workers, so that nothing is still
being sent when the server stops. It also turns flow run heartbeats off,
because the heartbeat thread sleeps in 1 s steps and every flow run waits for
it to finish, which adds about a second to each in-process run.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from tests.harness.postgres import PostgresServer, start_postgres
from tests.harness.processes import (
    FlowProcess,
    HarnessError,
    child_command,
    find_free_port,
    read_log_tail,
    stop_process_group,
)

__all__ = [
    "DATABASE_ENV",
    "DATABASE_KINDS",
    "FlowProcess",
    "HarnessError",
    "PrefectServer",
    "PrefectServerFactory",
    "RetryTransport",
    "RunFlowInSubprocess",
    "WaitForFlowRunState",
    "find_free_port",
    "selected_database",
    "start_prefect_server",
    "wait_for_flow_run_state",
]

DATABASE_ENV = "RUNINPUT_TEST_DATABASE"
DATABASE_KINDS = ("sqlite", "postgresql")

# Seconds to wait for `GET /api/health`: well above the 90 s seen on a busy
# 2-core machine, and below pytest-timeout's 300 s for the test that waits.
SERVER_START_TIMEOUT = 240.0

FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})

# Statuses that Prefect's own client retries. The server returns 503 when the
# database is busy, which on SQLite happens under load even to single requests.
RETRY_STATUS_CODES = frozenset({429, 502, 503})
RETRY_ATTEMPTS = 6

SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "INFO",
    # Log the database errors behind 503 responses, which are otherwise silent.
    "PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CLEANUP_RECONCILER_ENABLED": "false",
}


def selected_database() -> str:
    """Return the database kind that `RUNINPUT_TEST_DATABASE` selects."""
    return os.environ.get(DATABASE_ENV) or "sqlite"


def environment_without_prefect_settings() -> dict[str, str]:
    """Return a copy of `os.environ` without any `PREFECT_*` variable."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PREFECT_")
    }


@dataclass
class PrefectServer:
    """A `prefect server start` process and where to reach it."""

    api_url: str
    database_url: str
    home: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def auth_string(self) -> str | None:
        """The `user:password` that the server requires, if it requires one."""
        return self.extra_env.get("PREFECT_SERVER_API_AUTH_STRING")

    @property
    def auth_headers(self) -> dict[str, str]:
        """HTTP Basic headers for the server's auth string, empty without one."""
        if self.auth_string is None:
            return {}
        token = base64.b64encode(self.auth_string.encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def log_tail(self, lines: int = 60) -> str:
        """Return the last lines of the server's combined stdout and stderr."""
        return read_log_tail(self.log_path, lines)

    def stop(self) -> None:
        """Stop the server and every process it started."""
        stop_process_group(self.process)


def start_prefect_server(
    home: Path,
    *,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = SERVER_START_TIMEOUT,
) -> PrefectServer:
    """Start `prefect server start` on a free loopback port and wait until healthy.

    Args:
        home: An empty folder for the server's `PREFECT_HOME`, log and SQLite file.
        database_url: A SQLAlchemy URL such as `postgresql+asyncpg://...`; by
            default a SQLite file in `home`.
        extra_env: Server settings added after the harness defaults, so they win.
        timeout: Seconds to wait for `GET /api/health` to return 200.

    Raises:
        HarnessError: The server exited or did not become healthy in time. The
            message contains the end of the server log.
    """
    extra_env = dict(extra_env or {})
    if database_url is None:
        database_url = f"sqlite+aiosqlite:///{home / 'prefect.db'}"
    env = environment_without_prefect_settings()
    env.update(SERVER_SETTINGS)
    env["PREFECT_HOME"] = str(home)
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    env.update(extra_env)

    port = find_free_port()
    log_path = home / "server.log"
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            child_command(command, parent_death_signal="TERM"),
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = PrefectServer(
        api_url=f"http://127.0.0.1:{port}/api",
        database_url=database_url,
        home=home,
        log_path=log_path,
        process=process,
        extra_env=extra_env,
    )

    try:
        wait_for_health(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_for_health(server: PrefectServer, timeout: float) -> None:
    """Poll `GET /api/health` until it returns 200 or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"

    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise HarnessError(
                    f"Prefect server exited with code {server.process.returncode} "
                    f"before it became healthy. Last lines of {server.log_path}:\n"
                    f"{server.log_tail()}"
                )
            try:
                response = client.get(f"{server.api_url}/health")
            except httpx.TransportError as exc:
                last_error = repr(exc)
            else:
                if response.status_code == 200:
                    return
                last_error = f"status {response.status_code}: {response.text[:200]}"
            time.sleep(0.2)

    raise HarnessError(
        f"Prefect server at {server.api_url} did not become healthy within "
        f"{timeout:.0f} s (last attempt: {last_error}). Last lines of "
        f"{server.log_path}:\n{server.log_tail()}"
    )


class RetryTransport(httpx.BaseTransport):
    """An httpx transport that retries 429, 502 and 503, as Prefect's client does.

    It waits for `Retry-After` when the server sends one, and otherwise 0.5 s,
    doubling after each attempt, for at most `attempts` attempts in all. The
    request body must be bytes, as it is for `json=` and `content=` bodies.
    """

    def __init__(
        self,
        attempts: int = RETRY_ATTEMPTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._attempts = attempts
        self._transport = transport or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(1, self._attempts):
            response = self._transport.handle_request(request)
            if response.status_code not in RETRY_STATUS_CODES:
                return response
            response.close()
            time.sleep(retry_delay(response, attempt))
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


def retry_delay(response: httpx.Response, attempt: int) -> float:
    """Return the seconds to wait before retrying after `response`, at most 10."""
    try:
        delay = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        delay = 0.5 * 2 ** (attempt - 1)
    return min(max(delay, 0.0), 10.0)


class PrefectServerFactory:
    """Starts Prefect servers on demand, one per distinct extra environment.

    Args:
        make_folder: Returns a new empty folder for a server's home, given a
            name to base it on, as `pytest.TempPathFactory.mktemp` does.
        database: `sqlite`, or `postgresql` to start one PostgreSQL cluster
            with the first server and give each server a database in it.
    """

    def __init__(self, make_folder: Callable[[str], Path], database: str) -> None:
        self._make_folder = make_folder
        self._database = database
        self._postgres: PostgresServer | None = None
        self._servers: dict[tuple[tuple[str, str], ...], PrefectServer] = {}

    def __call__(self, extra_env: Mapping[str, str] | None = None) -> PrefectServer:
        """Return the server started with `extra_env`, starting it the first time."""
        key = tuple(sorted((extra_env or {}).items()))
        server = self._servers.get(key)
        if server is None:
            server = start_prefect_server(
                self._make_folder("prefect-server"),
                database_url=self._database_url(),
                extra_env=dict(key),
            )
            self._servers[key] = server
        return server

    def _database_url(self) -> str | None:
        if self._database == "sqlite":
            return None
        if self._postgres is None:
            self._postgres = start_postgres()
        return self._postgres.create_database()

    def stop_all(self) -> None:
        """Stop every server, then PostgreSQL if it was started."""
        try:
            for server in self._servers.values():
                server.stop()
        finally:
            if self._postgres is not None:
                self._postgres.stop()


class RunFlowInSubprocess(Protocol):
    """The `run_flow_in_subprocess` fixture's signature."""

    def __call__(
        self, script: str | Path, *args: str, env: Mapping[str, str] | None = None
    ) -> FlowProcess: ...


class WaitForFlowRunState(Protocol):
    """The `wait_for_flow_run_state` fixture's signature."""

    def __call__(
        self,
        flow_run_id: str,
        state_type: str,
        *,
        timeout: float = 30.0,
        process: FlowProcess | None = None,
    ) -> dict[str, Any]: ...


def wait_for_flow_run_state(
    client: httpx.Client,
    flow_run_id: str,
    state_type: str,
    *,
    timeout: float = 30.0,
    process: FlowProcess | None = None,
) -> dict[str, Any]:
    """Poll `GET /flow_runs/{id}` until the run's state type is `state_type`.

    Args:
        client: An httpx client whose base URL is the server's API URL.
        flow_run_id: The flow run to read. A 404, 429, 502 or 503 counts as
            not there yet.
        state_type: The state type to wait for, such as `PAUSED` or `COMPLETED`.
        timeout: Seconds to wait in all.
        process: The process running the flow. Its output goes into failure
            messages, and its exit ends the wait early.

    Returns:
        The flow run as the API returned it.

    Raises:
        AssertionError: The run reached another final state, or the process
            exited first.
        TimeoutError: The state did not come within `timeout` seconds.
    """
    expected = state_type.upper()
    deadline = time.monotonic() + timeout
    last_seen = "flow run not found"

    while True:
        process_exited = process is not None and process.popen.poll() is not None
        response = client.get(f"/flow_runs/{flow_run_id}")
        if response.status_code in RETRY_STATUS_CODES:
            last_seen = f"status {response.status_code}"
        elif response.status_code != 404:
            response.raise_for_status()
            flow_run: dict[str, Any] = response.json()
            state = flow_run.get("state") or {}
            current = state.get("type")
            if current == expected:
                return flow_run
            last_seen = f"{current} ({state.get('message')!r})"
            if current in FINAL_STATE_TYPES:
                raise AssertionError(
                    f"flow run {flow_run_id} reached {last_seen} instead of "
                    f"{expected}.{describe_process(process)}"
                )
        if process_exited:
            raise AssertionError(
                f"flow process exited while flow run {flow_run_id} was {last_seen}, "
                f"before it reached {expected}.{describe_process(process)}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"flow run {flow_run_id} did not reach {expected} within "
                f"{timeout:.0f} s; last seen {last_seen}.{describe_process(process)}"
            )
        time.sleep(0.1)


def describe_process(process: FlowProcess | None) -> str:
    """Return the process's status and output on new lines, or nothing."""
    return "" if process is None else f"\n{process.describe()}"
