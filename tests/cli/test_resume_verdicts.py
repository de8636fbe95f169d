"""How `resume` reports each server verdict, with the API faked in memory.

A real server gives these verdicts only in races (a run that expires or stops
being paused between the command's last read and its resume), so a mock
transport serves them on demand.
"""

from __future__ import annotations

import datetime
import io
import json
import uuid
from typing import Any

import httpx
import pytest
from rich.console import Console

from runinput import Client, Settings
from runinput.models import FlowRun, State, StateDetails
from runinput.pause import Pause
from runinput_cli import console, render
from runinput_cli.pause_reader import load_pause
from runinput_cli.resume import ResumeOptions, run_resume

API_URL = "http://127.0.0.1:9/api"
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer"}},
    "required": ["n"],
}


class VerdictApi:
    """One paused flow run, and a chosen verdict for its resume."""

    def __init__(self, verdict: dict[str, Any], states: list[str] | None = None):
        self.flow_run_id = str(uuid.uuid4())
        self.flow_id = str(uuid.uuid4())
        self.verdict = verdict
        self.states_after_resume = list(states or [])
        self.resumes: list[Any] = []

    def flow_run(self, state_type: str = "PAUSED") -> dict[str, Any]:
        timeout = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            hours=1
        )
        return {
            "id": self.flow_run_id,
            "name": "quiet-heron",
            "flow_id": self.flow_id,
            "state": {
                "type": state_type,
                "name": state_type.title(),
                "message": "bad answer: n must be even"
                if state_type == "FAILED"
                else None,
                "state_details": {
                    "pause_timeout": timeout.isoformat(),
                    "run_input_keyset": {
                        "schema": "paused-1-schema",
                        "description": "paused-1-description",
                        "response": "paused-1-response",
                    },
                },
            },
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == f"/flow_runs/{self.flow_run_id}":
            if self.resumes and self.states_after_resume:
                return httpx.Response(
                    200, json=self.flow_run(self.states_after_resume.pop(0))
                )
            return httpx.Response(200, json=self.flow_run())
        if path == f"/flows/{self.flow_id}":
            return httpx.Response(200, json={"id": self.flow_id, "name": "billing"})
        if path.endswith("/input/paused-1-schema"):
            return httpx.Response(200, text=json.dumps(SCHEMA))
        if path.endswith(("/input/paused-1-description", "/input/paused-1-response")):
            return httpx.Response(404, json={"detail": "not found"})
        if path == f"/flow_runs/{self.flow_run_id}/resume":
            self.resumes.append(json.loads(request.content))
            return httpx.Response(200, json=self.verdict)
        raise AssertionError(f"unexpected request {request.method} {request.url}")


def resume_with(
    api: VerdictApi, capsys: pytest.CaptureFixture[str], **options: Any
) -> tuple[int, str]:
    transport = httpx.MockTransport(api.handle)
    with Client(Settings(api_url=API_URL), transport=transport) as client:
        flow_run = client.read_flow_run(api.flow_run_id)
        loaded = load_pause(client, flow_run)
        code = run_resume(client, loaded, ResumeOptions(data='{"n": 2}', **options))
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def wide_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.stderr, "_width", 200)


def test_verdict_accept_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    api = VerdictApi({"status": "ACCEPT", "state": {"type": "RUNNING"}})

    code, stderr = resume_with(api, capsys)

    assert code == 0
    assert api.resumes == [{"run_input": {"n": 2}}]
    assert "Resumed flow run quiet-heron" in stderr


def test_verdict_reject_shows_reason(capsys: pytest.CaptureFixture[str]) -> None:
    reason = "Reason: Validation failed for field 'n'. Failure reason: nope"
    api = VerdictApi(
        {"status": "REJECT", "state": {"type": "PAUSED"}, "details": {"reason": reason}}
    )

    code, stderr = resume_with(api, capsys)

    assert code == 1
    assert "the server rejected the answer" in stderr
    assert reason in stderr


def test_verdict_reject_not_fixable_by_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reason = "Cannot reschedule a suspended flow run without a deployment."
    api = VerdictApi(
        {"status": "REJECT", "state": {"type": "PAUSED"}, "details": {"reason": reason}}
    )

    def no_prompt(prompt: str, hidden: bool) -> str:
        raise AssertionError(f"asked {prompt!r} although no answer can help")

    code, stderr = resume_with(
        api, capsys, interactive=True, yes=True, read_text=no_prompt
    )

    assert code == 1
    assert reason in stderr
    assert len(api.resumes) == 1


def test_verdict_reject_failed_means_expired(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = VerdictApi(
        {
            "status": "REJECT",
            "state": {"type": "FAILED"},
            "details": {"reason": "The flow run pause has expired."},
        }
    )

    code, stderr = resume_with(api, capsys)

    assert code == 1
    assert "expired at" in stderr
    assert "can no longer be answered" in stderr
    assert "rejected the answer" not in stderr


def test_verdict_abort_means_not_paused(capsys: pytest.CaptureFixture[str]) -> None:
    api = VerdictApi(
        {
            "status": "ABORT",
            "state": None,
            "details": {"reason": "Cannot resume a flow run that is not paused."},
        }
    )

    code, stderr = resume_with(api, capsys)

    assert code == 1
    assert "is not paused, so it cannot be resumed" in stderr


def test_follow_reports_failure_after_accept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = VerdictApi(
        {"status": "ACCEPT", "state": {"type": "RUNNING"}},
        states=["RUNNING", "FAILED"],
    )

    code, stderr = resume_with(api, capsys, follow_seconds=5)

    assert code == 1
    assert "is Failed right after it was resumed: bad answer: n must be even" in stderr


def test_follow_completed_run_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    api = VerdictApi(
        {"status": "ACCEPT", "state": {"type": "RUNNING"}}, states=["COMPLETED"]
    )

    code, stderr = resume_with(api, capsys, follow_seconds=5)

    assert code == 0
    assert "completed" in stderr


def make_pause(timeout: datetime.datetime | None, awaits_input: bool = True) -> Pause:
    keyset = (
        {"schema": "s", "description": "d", "response": "r"} if awaits_input else None
    )
    state = State(
        type="PAUSED",
        name="Suspended",
        timestamp=NOW - datetime.timedelta(minutes=3),
        state_details=StateDetails(pause_timeout=timeout, run_input_keyset=keyset),
    )
    flow_run = FlowRun(
        id=uuid.UUID(int=1), name="calm-fox", flow_id=uuid.UUID(int=2), state=state
    )
    return Pause(
        flow_run, "billing", keyset, {} if awaits_input else None, "# Hi\nmore"
    )


def render_text(renderable: Any, width: int = 200) -> str:
    out = Console(file=io.StringIO(), width=width, color_system=None)
    out.print(renderable)
    file = out.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_render_expired_pause_marked() -> None:
    expired = make_pause(NOW - datetime.timedelta(seconds=1))
    table = render_text(render.pause_table([expired], now=NOW))
    header = render_text(render.pause_header(expired, now=NOW))

    assert "expired" in table.splitlines()[1]
    assert "expired at" in header


def test_render_time_left_and_no_timeout() -> None:
    open_pause = make_pause(NOW + datetime.timedelta(minutes=4, seconds=10))
    forever = make_pause(None, awaits_input=False)

    text = render_text(render.pause_table([open_pause, forever], now=NOW))
    _, first, second = text.splitlines()

    assert "4m 10s" in first
    assert " yes " in first
    assert "Suspended" in first
    assert "Hi" in first
    assert "no timeout" in second
    assert " no " in second


def test_render_narrow_console_uses_blocks() -> None:
    pause = make_pause(NOW + datetime.timedelta(minutes=10))

    text = render_text(render.pause_list([pause], 80, now=NOW), width=80)

    assert text.splitlines() == [
        "00000000-0000-0000-0000-000000000001  calm-fox  (billing)",
        "  Suspended since "
        + render.format_time(pause.paused_since)
        + " · time left 10m 00s · input: yes",
        "  Hi",
    ]


def test_resume_refuses_expired_pause(capsys: pytest.CaptureFixture[str]) -> None:
    from runinput_cli.pause_reader import LoadedPause

    pause = make_pause(NOW - datetime.timedelta(seconds=1))
    transport = httpx.MockTransport(lambda request: httpx.Response(500))

    with Client(Settings(api_url=API_URL), transport=transport) as client:
        code = run_resume(client, LoadedPause(pause, None, None), ResumeOptions())

    assert code == 1
    assert "expired at" in capsys.readouterr().err
