"""Checks that the harness runs real Prefect flows against a real server."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.prefect_server import (
    HarnessError,
    PrefectServer,
    PrefectServerFactory,
    RetryTransport,
    RunFlowInSubprocess,
    WaitForFlowRunState,
    selected_database,
    start_prefect_server,
)

if TYPE_CHECKING:
    from prefect.settings import Settings

pytestmark = pytest.mark.integration

PAUSING_FLOW = """
import json
import sys

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run


class Approval(RunInput):
    approved: bool
    reviewer: str
    comments: list[str] = []


@flow
def wait_for_approval() -> dict:
    print(f"flow run id: {flow_run.id}", flush=True)
    approval = pause_flow_run(wait_for_input=Approval, timeout=60, poll_interval=1)
    return approval.model_dump()


if __name__ == "__main__":
    result = wait_for_approval()
    with open(sys.argv[1], "w") as result_file:
        json.dump(result, result_file)
"""


def test_server_health_and_version(prefect_api: httpx.Client) -> None:
    health = prefect_api.get("/health")
    version = prefect_api.get("/version")

    assert health.status_code == 200
    assert health.json() is True
    assert version.status_code == 200
    assert version.json() == "0.8.4"


def test_server_uses_selected_database(prefect_server: PrefectServer) -> None:
    sqlite_file = prefect_server.home / "prefect.db"

    if selected_database() == "postgresql":
        assert prefect_server.database_url.startswith("postgresql+asyncpg://")
        assert not sqlite_file.exists()
    else:
        assert prefect_server.database_url == f"sqlite+aiosqlite:///{sqlite_file}"
        assert sqlite_file.exists()


def test_server_start_failure_shows_log(tmp_path: Path) -> None:
    with pytest.raises(HarnessError) as raised:
        start_prefect_server(
            tmp_path,
            extra_env={"PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "maybe"},
            timeout=60,
        )

    message = str(raised.value)
    assert "exited with code" in message
    assert "csrf_protection_enabled" in message


def test_retry_transport_retries_busy_server() -> None:
    statuses = iter([503, 502, 429, 201])
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(next(statuses), headers={"Retry-After": "0"})

    transport = RetryTransport(transport=httpx.MockTransport(handler))
    with httpx.Client(transport=transport) as client:
        response = client.post("http://test/api/flow_runs/x/resume", json={})

    assert response.status_code == 201
    assert len(requests) == 4
    assert {request.content for request in requests} == {b"{}"}


def test_retry_transport_gives_up_after_attempts() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(503, headers={"Retry-After": "0"})

    transport = RetryTransport(attempts=3, transport=httpx.MockTransport(handler))
    with httpx.Client(transport=transport) as client:
        response = client.get("http://test/api/health")

    assert response.status_code == 503
    assert len(requests) == 3


def test_prefect_api_url_sets_environment(prefect_api_url: str) -> None:
    assert os.environ["PREFECT_API_URL"] == prefect_api_url
    assert prefect_api_url.startswith("http://127.0.0.1:")
    assert prefect_api_url.endswith("/api")


def test_subprocess_flow_resumed_with_input(
    prefect_api: httpx.Client,
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    tmp_path: Path,
) -> None:
    result_path = tmp_path / "result.json"
    process = run_flow_in_subprocess(PAUSING_FLOW, str(result_path))
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)

    paused = wait_for_flow_run_state(flow_run_id, "PAUSED", process=process)
    keyset = paused["state"]["state_details"]["run_input_keyset"]
    assert keyset == {
        "schema": "paused-1-schema",
        "description": "paused-1-description",
        "response": "paused-1-response",
    }
    # The flow saves the schema just after it pauses, so the key can lag the state.
    wait_for_input_key(prefect_api, flow_run_id, keyset["schema"])

    run_input = {"approved": True, "reviewer": "ada", "comments": ["ship it"]}
    resume = prefect_api.post(
        f"/flow_runs/{flow_run_id}/resume", json={"run_input": run_input}
    )
    assert resume.status_code == 201, resume.text
    assert resume.json()["status"] == "ACCEPT"

    exit_code = process.wait(timeout=60)
    assert exit_code == 0, process.output()
    assert json.loads(result_path.read_text()) == run_input
    wait_for_flow_run_state(flow_run_id, "COMPLETED", process=process)


def test_resume_with_invalid_input_rejected(
    prefect_api: httpx.Client,
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    tmp_path: Path,
) -> None:
    result_path = tmp_path / "result.json"
    process = run_flow_in_subprocess(PAUSING_FLOW, str(result_path))
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)
    wait_for_flow_run_state(flow_run_id, "PAUSED", process=process)
    wait_for_input_key(prefect_api, flow_run_id, "paused-1-schema")

    rejected = prefect_api.post(
        f"/flow_runs/{flow_run_id}/resume",
        json={"run_input": {"approved": "maybe", "reviewer": "ada"}},
    )
    accepted = prefect_api.post(
        f"/flow_runs/{flow_run_id}/resume",
        json={"run_input": {"approved": False, "reviewer": "bob"}},
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "REJECT"
    assert "approved" in rejected.json()["details"]["reason"]
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["status"] == "ACCEPT"
    assert process.wait(timeout=60) == 0, process.output()
    assert json.loads(result_path.read_text()) == {
        "approved": False,
        "reviewer": "bob",
        "comments": [],
    }


def test_expired_pause_failed_by_server(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    script = (
        "from prefect import flow\n"
        "from prefect.flow_runs import pause_flow_run\n"
        "from prefect.runtime import flow_run\n"
        "@flow\n"
        "def pause_briefly():\n"
        "    print(f'flow run id: {flow_run.id}', flush=True)\n"
        "    pause_flow_run(timeout=3, poll_interval=60)\n"
        "pause_briefly()\n"
    )
    process = run_flow_in_subprocess(script)
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)
    wait_for_flow_run_state(flow_run_id, "PAUSED", process=process)
    # SIGKILL, because on SIGTERM Prefect marks the run crashed. With the
    # flow's process gone, only the server's pause_expirations service can
    # fail the run once its pause timeout has passed.
    process.popen.kill()
    process.popen.wait(timeout=10)

    failed = wait_for_flow_run_state(flow_run_id, "FAILED", timeout=30)

    assert failed["state"]["message"] == "The flow was paused and never resumed."


def test_in_process_flow_runs_on_server(
    prefect_settings: Settings, prefect_api: httpx.Client
) -> None:
    from prefect import flow
    from prefect.runtime import flow_run

    @flow
    def add(left: int, right: int) -> tuple[str, int]:
        return str(flow_run.id), left + right

    flow_run_id, total = add(2, 3)

    assert total == 5
    response = prefect_api.get(f"/flow_runs/{flow_run_id}")
    assert response.status_code == 200
    assert response.json()["state"]["type"] == "COMPLETED"
    assert response.json()["parameters"] == {"left": 2, "right": 3}


@pytest.mark.anyio
async def test_in_process_async_flow_runs_on_server(
    prefect_settings: Settings, prefect_api: httpx.Client
) -> None:
    from prefect import flow
    from prefect.runtime import flow_run

    @flow
    async def double(value: int) -> tuple[str, int]:
        return str(flow_run.id), value * 2

    flow_run_id, doubled = await double(21)

    assert doubled == 42
    response = prefect_api.get(f"/flow_runs/{flow_run_id}")
    assert response.json()["state"]["type"] == "COMPLETED"


def test_in_process_flow_resumed_from_thread(
    prefect_settings: Settings,
    prefect_api: httpx.Client,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    from prefect import flow
    from prefect.flow_runs import pause_flow_run
    from prefect.input import RunInput
    from prefect.runtime import flow_run

    class Count(RunInput):
        count: int

    flow_run_ids: queue.Queue[str] = queue.Queue()
    resumes: list[httpx.Response] = []

    def resume_when_paused() -> None:
        flow_run_id = flow_run_ids.get(timeout=30)
        wait_for_flow_run_state(flow_run_id, "PAUSED")
        wait_for_input_key(prefect_api, flow_run_id, "paused-1-schema")
        resumes.append(
            prefect_api.post(
                f"/flow_runs/{flow_run_id}/resume",
                json={"run_input": {"count": 7}},
            )
        )

    @flow
    def ask_for_count() -> int:
        flow_run_ids.put(str(flow_run.id))
        received = pause_flow_run(wait_for_input=Count, timeout=30, poll_interval=1)
        return received.count

    resumer = threading.Thread(target=resume_when_paused)
    resumer.start()
    count = ask_for_count()
    resumer.join(timeout=30)

    assert count == 7
    assert [response.json()["status"] for response in resumes] == ["ACCEPT"]


def test_in_process_settings_point_at_server(
    prefect_settings: Settings, prefect_api_url: str, prefect_environment: Path
) -> None:
    from prefect.settings import get_current_settings

    settings = get_current_settings()

    assert settings.api.url == prefect_api_url
    assert settings.home == prefect_environment
    assert settings.flows.heartbeat_frequency is None


def test_server_with_auth_string_and_csrf(
    prefect_server_factory: PrefectServerFactory,
) -> None:
    server = prefect_server_factory(
        {
            "PREFECT_SERVER_API_AUTH_STRING": "admin:s3cret",
            "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "true",
        }
    )
    csrf_client = "3f1c1d4e-0000-4000-8000-000000000001"

    with httpx.Client(
        base_url=server.api_url, timeout=10.0, transport=RetryTransport()
    ) as client:
        health = client.get("/health")
        anonymous = client.get("/version")
        version = client.get("/version", headers=server.auth_headers)
        without_token = client.post(
            "/flow_runs/filter", json={}, headers=server.auth_headers
        )
        token = client.get(
            "/csrf-token", params={"client": csrf_client}, headers=server.auth_headers
        )
        with_token = client.post(
            "/flow_runs/filter",
            json={},
            headers={
                **server.auth_headers,
                "Prefect-Csrf-Token": token.json()["token"],
                "Prefect-Csrf-Client": csrf_client,
            },
        )

    assert health.status_code == 200
    assert anonymous.status_code == 401
    assert version.status_code == 200
    assert without_token.status_code == 403
    assert token.status_code == 200
    assert with_token.status_code == 200
    # Other tests share this server, so the list need not be empty.
    assert isinstance(with_token.json(), list)


def test_subprocess_flow_on_auth_server(
    prefect_server_factory: PrefectServerFactory,
    run_flow_in_subprocess: RunFlowInSubprocess,
) -> None:
    server = prefect_server_factory(
        {
            "PREFECT_SERVER_API_AUTH_STRING": "admin:s3cret",
            "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "true",
        }
    )
    script = (
        "from prefect import flow\n"
        "from prefect.runtime import flow_run\n"
        "@flow\n"
        "def hello():\n"
        "    print(f'flow run id: {flow_run.id}')\n"
        "hello()\n"
    )

    process = run_flow_in_subprocess(
        script,
        env={
            "PREFECT_API_URL": server.api_url,
            "PREFECT_API_AUTH_STRING": "admin:s3cret",
        },
    )

    assert process.wait(timeout=60) == 0, process.output()
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)
    with httpx.Client(
        base_url=server.api_url,
        headers=server.auth_headers,
        timeout=10.0,
        transport=RetryTransport(),
    ) as client:
        flow_run = client.get(f"/flow_runs/{flow_run_id}").json()
    assert flow_run["state"]["type"] == "COMPLETED"


def wait_for_input_key(
    client: httpx.Client, flow_run_id: str, key: str, timeout: float = 10.0
) -> None:
    """Wait until the flow run has an input stored under `key`."""
    deadline = time.monotonic() + timeout
    while client.get(f"/flow_runs/{flow_run_id}/input/{key}").status_code == 404:
        if time.monotonic() > deadline:
            raise TimeoutError(f"flow run {flow_run_id} has no input {key!r}")
        time.sleep(0.1)
