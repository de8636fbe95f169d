"""Every command and the library against a server that is not there or never answers.

A closed loopback port refuses connections at once; a socket that listens but
never accepts takes the connection and leaves every request without an
answer, as a hung server does. Each command must fail within a bounded time,
name the API URL it tried and say how to point runinput elsewhere, without a
traceback. No Prefect server is needed.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest

import runinput
from runinput import Client, ConnectionFailedError
from runinput.pause import resume
from tests.cli_process import run_cli
from tests.prefect_server import find_free_port

FLOW_RUN_ID = str(uuid.UUID("6f1f0c9e-0000-4000-8000-0000000000aa"))

# Connection refused is retried for reads (about 4 s of back-off in all);
# the rest of the bound is the command's start-up on a busy machine.
REFUSED_BOUND_SECONDS = 15.0
# With a 1 s timeout, a read is tried 5 times with back-off between tries.
SILENT_BOUND_SECONDS = 25.0

COMMANDS = {
    "config": ["config"],
    "config-json": ["config", "--output", "json"],
    "ls": ["ls"],
    "show": ["show", FLOW_RUN_ID],
    "resume": ["resume", FLOW_RUN_ID, "--data", "{}", "--no-input"],
    "send": ["send", FLOW_RUN_ID, "5"],
    "watch": ["watch", FLOW_RUN_ID, "--timeout", "1"],
}


@pytest.fixture
def closed_url() -> str:
    """An API URL on a loopback port where nothing listens."""
    return f"http://127.0.0.1:{find_free_port()}/api"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An API URL whose server takes connections but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        # The kernel completes connections up to the backlog without
        # accept(), so requests are sent and then wait for an answer.
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_refused_fails_fast(closed_url: str, name: str) -> None:
    result = run_cli("--api-url", closed_url, *COMMANDS[name])

    assert result.returncode == 1, result.describe()
    assert closed_url in result.stderr, result.describe()
    assert "PREFECT_API_URL" in result.stderr, result.describe()
    assert "--api-url" in result.stderr, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert result.seconds < REFUSED_BOUND_SECONDS, result.describe()


def test_command_refused_names_environment_url(closed_url: str) -> None:
    result = run_cli("ls", env={"PREFECT_API_URL": closed_url})

    assert result.returncode == 1, result.describe()
    assert closed_url in result.stderr
    assert "Traceback" not in result.output


def test_config_refused_shows_settings(closed_url: str) -> None:
    result = run_cli("config", env={"PREFECT_API_URL": closed_url})

    assert result.returncode == 1, result.describe()
    server_line = next(
        line for line in result.stdout.splitlines() if line.startswith("Server")
    )
    assert "unreachable" in server_line
    assert closed_url in result.stdout
    assert "Connection refused" in result.stderr


@pytest.mark.parametrize("name", ["config", "send", "resume"])
def test_command_silent_server_times_out(silent_url: str, name: str) -> None:
    result = run_cli(
        "--api-url",
        silent_url,
        *COMMANDS[name],
        env={"PREFECT_API_REQUEST_TIMEOUT": "1"},
    )

    assert result.returncode == 1, result.describe()
    assert silent_url in result.stderr, result.describe()
    assert "timed out after 1 s" in result.stderr, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert result.seconds < SILENT_BOUND_SECONDS, result.describe()


def test_library_refused_raises_connection_failed(
    closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", closed_url)
    started = time.monotonic()

    with pytest.raises(ConnectionFailedError) as sending:
        runinput.send_input(5, flow_run_id=FLOW_RUN_ID)
    with pytest.raises(ConnectionFailedError) as receiving:
        list(runinput.receive_input(int, timeout=0, flow_run_id=uuid.UUID(FLOW_RUN_ID)))
    with Client() as client, pytest.raises(ConnectionFailedError) as resuming:
        resume(client, FLOW_RUN_ID, {"approved": True})

    assert time.monotonic() - started < 3 * REFUSED_BOUND_SECONDS
    for caught in (sending, receiving, resuming):
        assert closed_url in str(caught.value)
        assert caught.value.api_url == closed_url


def test_create_input_not_repeated_after_timeout(
    silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A create that timed out may have been stored, so it is not sent again:
    # one attempt, then the error, well before the retry budget.
    monkeypatch.setenv("PREFECT_API_URL", silent_url)
    monkeypatch.setenv("PREFECT_API_REQUEST_TIMEOUT", "1")
    started = time.monotonic()

    with Client() as client, pytest.raises(ConnectionFailedError) as caught:
        client.create_flow_run_input(FLOW_RUN_ID, "once-1", "1")

    assert time.monotonic() - started < 3.0
    assert "timed out after 1 s" in str(caught.value)
