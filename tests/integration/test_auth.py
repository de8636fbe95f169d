"""runinput against a real Prefect server that requires an auth string and CSRF tokens.

The server runs with `PREFECT_SERVER_API_AUTH_STRING` and CSRF protection on;
runinput gets `PREFECT_API_AUTH_STRING`, as Prefect's own client does. The
library and every command must work with the right credentials, and with
missing or wrong ones fail with an "unauthorized" message that names the URL
and never the password, without sending anything.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

import runinput
from runinput import AsyncClient, Client, RunInput, UnauthorizedError
from runinput.pause import resume
from tests.cli_process import CliResult, run_cli
from tests.prefect_server import PrefectServer, PrefectServerFactory
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration

PASSWORD = "s3cret"
AUTH_STRING = f"admin:{PASSWORD}"
WRONG_PASSWORD = "n0t-the-password"
WRONG_AUTH_STRING = f"admin:{WRONG_PASSWORD}"
# `PREFECT_SERVER_CSRF_PROTECTION_ENABLED` is the short alias of
# `PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED` in Prefect 3.9. The harness's
# own auth test uses the long name, so this module gets a server of its own
# and the flow runs it creates stay out of that test's server.
AUTH_SERVER_ENV = {
    "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
    "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
}

APPROVAL_SCHEMA = {
    "type": "object",
    "title": "Approval",
    "properties": {
        "approved": {"type": "boolean", "title": "Approved"},
        "note": {"type": "string", "title": "Note", "default": ""},
    },
    "required": ["approved"],
}

# Secrets that must never be printed: the passwords, and the Basic header
# value that carries the right one.
SECRETS = (
    PASSWORD,
    WRONG_PASSWORD,
    base64.b64encode(AUTH_STRING.encode()).decode(),
)


class Approval(RunInput):
    approved: bool
    note: str = ""


@pytest.fixture(scope="module")
def auth_server(prefect_server_factory: PrefectServerFactory) -> PrefectServer:
    return prefect_server_factory(AUTH_SERVER_ENV)


@pytest.fixture
def api(auth_server: PrefectServer) -> Iterator[ServerApi]:
    with ServerApi(auth_server.api_url, AUTH_STRING) as server_api:
        yield server_api


@pytest.fixture
def with_credentials(
    auth_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", auth_server.api_url)
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", AUTH_STRING)


@pytest.fixture
def paused_run(api: ServerApi) -> tuple[str, dict[str, str]]:
    flow_run_id = api.create_flow_run("auth-tests")
    keyset = api.pause_by_api(
        flow_run_id, schema=APPROVAL_SCHEMA, description=json.dumps("Approve?")
    )
    return flow_run_id, keyset


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_server_requires_auth_and_csrf(auth_server: PrefectServer) -> None:
    # The premise of this module: without these, the tests below prove nothing.
    with httpx.Client(base_url=auth_server.api_url, timeout=10.0) as http:
        anonymous = http.get("/flow_runs/00000000-0000-4000-8000-000000000000")
        without_token = http.post(
            "/flow_runs/filter", json={}, headers=auth_server.auth_headers
        )

    assert anonymous.status_code == 401
    assert without_token.status_code == 403
    assert "CSRF" in without_token.text


def test_send_and_receive_with_auth_string(
    with_credentials: None, api: ServerApi
) -> None:
    flow_run_id = api.create_flow_run("auth-tests")

    runinput.send_input(5, flow_run_id=flow_run_id)
    Approval(approved=True, note="ok").send_to(flow_run_id)
    numbers = list(runinput.receive_input(int, timeout=0, flow_run_id=flow_run_id))
    approvals = list(Approval.receive(timeout=0, flow_run_id=flow_run_id))

    assert numbers == [5]
    assert [approval.note for approval in approvals] == ["ok"]


@pytest.mark.anyio
async def test_async_client_with_auth_string(
    with_credentials: None, api: ServerApi
) -> None:
    flow_run_id = api.create_flow_run("auth-tests")

    async with AsyncClient() as client:
        await client.create_flow_run_input(flow_run_id, "async-auth-1", "7")
        inputs = await client.filter_flow_run_input(flow_run_id, "async-auth")

    assert [item.value for item in inputs] == ["7"]


def test_resume_with_auth_string(
    with_credentials: None, api: ServerApi, paused_run: tuple[str, dict[str, str]]
) -> None:
    flow_run_id, keyset = paused_run

    with Client() as client:
        result = resume(client, flow_run_id, {"approved": True})

    assert result.accepted
    assert api.state_type(flow_run_id) == "RUNNING"
    stored = api.read_input(flow_run_id, keyset["response"])
    assert stored is not None
    assert json.loads(stored) == {"approved": True}


@pytest.mark.parametrize(
    "auth_string",
    [pytest.param(None, id="missing"), pytest.param(WRONG_AUTH_STRING, id="wrong")],
)
def test_library_bad_credentials_unauthorized(
    auth_server: PrefectServer,
    api: ServerApi,
    paused_run: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    auth_string: str | None,
) -> None:
    flow_run_id, keyset = paused_run
    keys_before = {item["key"] for item in api.list_inputs(flow_run_id)}
    monkeypatch.setenv("PREFECT_API_URL", auth_server.api_url)
    if auth_string is not None:
        monkeypatch.setenv("PREFECT_API_AUTH_STRING", auth_string)

    with Client() as client:
        with pytest.raises(UnauthorizedError) as reading:
            client.read_flow_run(flow_run_id)
        with pytest.raises(UnauthorizedError) as creating:
            client.create_flow_run_input(flow_run_id, "bad-credentials-1", "1")
        with pytest.raises(UnauthorizedError) as resuming:
            resume(client, flow_run_id, {"approved": True})
    with pytest.raises(UnauthorizedError) as sending:
        runinput.send_input(5, flow_run_id=flow_run_id)

    for caught in (reading, creating, resuming, sending):
        message = str(caught.value)
        assert message.startswith("unauthorized:")
        assert auth_server.api_url in message
        assert "PREFECT_API_AUTH_STRING" in message
        assert_no_secret(message)
    assert {item["key"] for item in api.list_inputs(flow_run_id)} == keys_before
    assert api.read_input(flow_run_id, keyset["response"]) is None
    assert api.state_type(flow_run_id) == "PAUSED"


def test_api_key_on_auth_string_server_unauthorized(
    auth_server: PrefectServer, api: ServerApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_run_id = api.create_flow_run("auth-tests")
    monkeypatch.setenv("PREFECT_API_URL", auth_server.api_url)
    monkeypatch.setenv("PREFECT_API_KEY", "pnu_" + PASSWORD)

    with Client() as client, pytest.raises(UnauthorizedError) as caught:
        client.read_flow_run(flow_run_id)

    assert "API key" in str(caught.value)
    assert_no_secret(str(caught.value))


def cli_env(auth_server: PrefectServer, auth_string: str | None) -> dict[str, str]:
    env = {"PREFECT_API_URL": auth_server.api_url}
    if auth_string is not None:
        env["PREFECT_API_AUTH_STRING"] = auth_string
    return env


def command_args(name: str, flow_run_id: str) -> list[str]:
    """The arguments that run `name` against one flow run, without prompts."""
    return {
        "config": ["config"],
        "ls": ["ls"],
        "show": ["show", flow_run_id],
        "send": ["send", flow_run_id, "5"],
        "watch": ["watch", flow_run_id, "--timeout", "0"],
        "resume": [
            "resume",
            flow_run_id,
            "--data",
            '{"approved": true}',
            "--no-input",
            "--follow",
            "0",
        ],
    }[name]


COMMANDS = ["config", "ls", "show", "send", "watch", "resume"]


def test_commands_with_auth_string(
    auth_server: PrefectServer,
    api: ServerApi,
    paused_run: tuple[str, dict[str, str]],
) -> None:
    flow_run_id, keyset = paused_run
    env = cli_env(auth_server, AUTH_STRING)

    results: dict[str, CliResult] = {}
    for name in COMMANDS:
        results[name] = run_cli(*command_args(name, flow_run_id), env=env)

    for result in results.values():
        assert result.returncode == 0, result.describe()
        assert "Traceback" not in result.output, result.describe()
        assert_no_secret(result.output)
    assert flow_run_id in results["ls"].stdout
    assert "approved" in results["show"].stdout
    assert "intautomaticruninput-auto-" in results["send"].stdout
    assert "Prefect 3.9.1" in results["config"].stdout
    assert "auth string for user 'admin'" in results["config"].stdout
    stored = api.read_input(flow_run_id, keyset["response"])
    assert stored is not None
    assert json.loads(stored) == {"approved": True, "note": ""}


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize(
    "auth_string",
    [pytest.param(None, id="missing"), pytest.param(WRONG_AUTH_STRING, id="wrong")],
)
def test_command_bad_credentials_unauthorized(
    auth_server: PrefectServer,
    api: ServerApi,
    paused_run: tuple[str, dict[str, str]],
    auth_string: str | None,
    name: str,
) -> None:
    flow_run_id, keyset = paused_run
    keys_before = {item["key"] for item in api.list_inputs(flow_run_id)}

    result = run_cli(
        *command_args(name, flow_run_id), env=cli_env(auth_server, auth_string)
    )

    assert result.returncode == 1, result.describe()
    assert "unauthorized" in result.stderr, result.describe()
    assert auth_server.api_url in result.stderr, result.describe()
    assert "PREFECT_API_AUTH_STRING" in result.stderr, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert_no_secret(result.output)
    assert {item["key"] for item in api.list_inputs(flow_run_id)} == keys_before
    assert api.state_type(flow_run_id) == "PAUSED"


def test_config_json_with_auth_string_hides_password(
    auth_server: PrefectServer,
) -> None:
    result = run_cli(
        "config", "--output", "json", env=cli_env(auth_server, AUTH_STRING)
    )

    assert result.returncode == 0, result.describe()
    report = json.loads(result.stdout)
    assert report["credentials"]["kind"] == "auth string"
    assert report["credentials"]["source"] == "environment"
    assert report["credentials"]["user"] == "admin"
    assert report["server"]["status"] == "ok"
    assert_no_secret(result.output)


def test_config_wrong_auth_string_json(auth_server: PrefectServer) -> None:
    result = run_cli(
        "config", "-o", "json", env=cli_env(auth_server, WRONG_AUTH_STRING)
    )

    assert result.returncode == 1, result.describe()
    report = json.loads(result.stdout)
    assert report["server"]["status"] == "unauthorized"
    assert report["server"]["healthy"] is True
    assert "unauthorized" in report["server"]["message"]
    assert_no_secret(result.output)


def test_verbose_logs_hide_credentials(
    auth_server: PrefectServer, api: ServerApi
) -> None:
    flow_run_id = api.create_flow_run("auth-tests")
    env = cli_env(auth_server, AUTH_STRING)

    sent = run_cli("--verbose", "send", flow_run_id, '{"a": 1}', env=env)
    checked = run_cli("--verbose", "config", env=env)

    for result in (sent, checked):
        assert result.returncode == 0, result.describe()
        assert "DEBUG" in result.stderr, result.describe()
        assert_no_secret(result.output)


def test_send_to_missing_flow_run_with_credentials(auth_server: PrefectServer) -> None:
    missing = str(uuid.uuid4())

    result = run_cli("send", missing, "5", env=cli_env(auth_server, AUTH_STRING))

    assert result.returncode == 1, result.describe()
    assert missing in result.stderr
    assert "unauthorized" not in result.stderr
