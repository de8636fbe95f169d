"""A paused run that changes while its form is open, on a real server: nothing is sent.

The form's first prompt changes the run through the REST API: it completes,
its pause expires, it is deleted, or it is resumed by someone else and pauses
again. When the person then sends, `resume` must send nothing, say why, and
exit 1. The run is read by the command itself, as on a terminal, and the
answers come from a stand-in for the terminal's input.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runinput import Client, Settings
from runinput_cli import console
from runinput_cli.pause_reader import load_pause
from runinput_cli.resume import ResumeOptions, run_resume
from tests.prefect_server import PrefectServer
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "title": "Approval",
    "properties": {"approved": {"type": "boolean", "title": "Approved"}},
    "required": ["approved"],
}
RESPONSE_KEY = "paused-1-response"


@pytest.fixture(autouse=True)
def wide_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.stderr, "_width", 200)


@pytest.fixture
def api(prefect_server: PrefectServer) -> Iterator[ServerApi]:
    with ServerApi(prefect_server.api_url) as server_api:
        yield server_api


def resume_while(
    server_url: str, flow_run_id: str, change: Callable[[], None]
) -> tuple[int, list[str]]:
    """Run `resume` on a terminal; `change()` runs at the first prompt."""
    prompts: list[str] = []

    def read_text(prompt: str, hidden: bool) -> str:
        if not prompts:
            change()
        prompts.append(prompt)
        return "yes"

    options = ResumeOptions(interactive=True, yes=True, read_text=read_text)
    with Client(Settings(api_url=server_url)) as client:
        loaded = load_pause(client, client.read_flow_run(flow_run_id))
        code = run_resume(client, loaded, options)
    return code, prompts


def paused_run(api: ServerApi, timeout_seconds: float = 3600.0) -> str:
    flow_run_id = api.create_flow_run("form-races")
    api.pause_by_api(
        flow_run_id,
        schema=SCHEMA,
        description=json.dumps("Approve?"),
        timeout_seconds=timeout_seconds,
    )
    return flow_run_id


def test_run_completed_during_form_sends_nothing(
    api: ServerApi, prefect_server: PrefectServer, capsys: Any
) -> None:
    flow_run_id = paused_run(api)

    def complete() -> None:
        api.set_state(flow_run_id, {"type": "COMPLETED", "name": "Completed"})

    code, prompts = resume_while(prefect_server.api_url, flow_run_id, complete)

    stderr = capsys.readouterr().err
    assert code == 1
    assert prompts, "the form asked nothing"
    assert "stopped being paused while the form was open" in stderr
    assert "nothing was sent" in stderr
    assert api.read_input(flow_run_id, RESPONSE_KEY) is None
    assert api.state_type(flow_run_id) == "COMPLETED"


def test_pause_expired_during_form_sends_nothing(
    api: ServerApi, prefect_server: PrefectServer, capsys: Any
) -> None:
    flow_run_id = paused_run(api, timeout_seconds=4.0)
    deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=4.0
    )

    def wait_for_expiry() -> None:
        while datetime.datetime.now(datetime.timezone.utc) <= deadline:
            time.sleep(0.2)

    code, _ = resume_while(prefect_server.api_url, flow_run_id, wait_for_expiry)

    stderr = capsys.readouterr().err
    assert code == 1
    # The server's pause expiration service may already have failed the run.
    assert "expired" in stderr or "stopped being paused" in stderr
    assert "nothing was sent" in stderr
    assert api.read_input(flow_run_id, RESPONSE_KEY) is None


def test_run_deleted_during_form_sends_nothing(
    api: ServerApi, prefect_server: PrefectServer, capsys: Any
) -> None:
    flow_run_id = paused_run(api)

    code, _ = resume_while(
        prefect_server.api_url, flow_run_id, lambda: api.delete_flow_run(flow_run_id)
    )

    stderr = capsys.readouterr().err
    assert code == 1
    assert "deleted while the form was open" in stderr
    assert "nothing was sent" in stderr


def test_run_paused_again_during_form_sends_nothing(
    api: ServerApi, prefect_server: PrefectServer, capsys: Any
) -> None:
    flow_run_id = paused_run(api)

    def answer_and_pause_again() -> None:
        response = api.request(
            "POST", f"/flow_runs/{flow_run_id}/resume", {"run_input": {"approved": 0}}
        )
        assert response.json()["status"] == "REJECT", response.text
        response = api.request(
            "POST",
            f"/flow_runs/{flow_run_id}/resume",
            {"run_input": {"approved": False}},
        )
        assert response.json()["status"] == "ACCEPT", response.text
        api.pause_by_api(flow_run_id, pause_key="2", schema=SCHEMA)

    code, _ = resume_while(prefect_server.api_url, flow_run_id, answer_and_pause_again)

    stderr = capsys.readouterr().err
    assert code == 1
    assert "paused again while the form was open" in stderr
    assert "nothing was sent" in stderr
    stored = api.read_input(flow_run_id, RESPONSE_KEY)
    assert stored is not None
    assert json.loads(stored) == {"approved": False}
    assert api.read_input(flow_run_id, "paused-2-response") is None
    assert api.state_type(flow_run_id) == "PAUSED"
