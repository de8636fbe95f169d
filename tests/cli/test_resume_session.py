"""`resume` on a terminal, with scripted answers, against a real server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from runinput import Client, Settings
from runinput_cli import console
from runinput_cli.pause_reader import load_pause
from runinput_cli.resume import ResumeOptions, run_resume
from tests.cli.paused_runs import SHIPMENT, MakePausedRun, response_of
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration

Answer = str | Callable[[], str]


class ScriptedTerminal:
    """Answers prompts in order; a callable answer runs first, then gives text."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str, hidden: bool) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise AssertionError(f"no scripted answer left for the prompt {prompt!r}")
        answer = self.answers.pop(0)
        return answer() if callable(answer) else answer


@dataclass
class SessionResult:
    exit_code: int
    stderr: str
    terminal: ScriptedTerminal


RunSession = Callable[..., SessionResult]


@pytest.fixture
def run_session(
    prefect_api_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> RunSession:
    """Run the resume steps for a flow run as on a terminal, answers scripted."""
    monkeypatch.setattr(console.stderr, "_width", 200)

    def run(flow_run_id: str, *answers: Answer, **options: Any) -> SessionResult:
        terminal = ScriptedTerminal(*answers)
        options.setdefault("follow_seconds", 0)
        resume_options = ResumeOptions(interactive=True, read_text=terminal, **options)
        with Client(Settings.resolve(api_url=prefect_api_url)) as client:
            flow_run = client.read_flow_run(flow_run_id)
            exit_code = run_resume(client, load_pause(client, flow_run), resume_options)
        assert terminal.answers == [], f"answers left over: {terminal.answers}"
        return SessionResult(exit_code, capsys.readouterr().err, terminal)

    return run


SHIPMENT_ANSWERS = ("Ada", "", "M", "", "", "", "")


def test_session_answers_and_confirms(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT, description="# Check it\n\nPlease.")

    result = run_session(
        flow_run_id, "Ada", "blue-ish", "M", "add", "bolt", "4", "", "", "", "", "yes"
    )

    assert result.exit_code == 0, result.stderr
    assert response_of(server_api, flow_run_id) == {
        "recipient": "Ada",
        "color": "blue-ish",
        "size": "M",
        "lines": [{"name": "bolt", "qty": 4}],
        "due": None,
        "note": None,
        "token": None,
    }
    assert "Check it" in result.stderr
    assert "Answer" in result.stderr
    assert result.terminal.prompts[-1] == "Send this answer? (yes/edit/no) [yes]: "


def test_session_edit_before_sending(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = run_session(
        flow_run_id, *SHIPMENT_ANSWERS, "edit", "Bea", *SHIPMENT_ANSWERS[1:], "yes"
    )

    assert result.exit_code == 0, result.stderr
    assert "recipient [Ada]: " in result.terminal.prompts
    assert response_of(server_api, flow_run_id)["recipient"] == "Bea"


def test_session_declined_sends_nothing(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = run_session(flow_run_id, *SHIPMENT_ANSWERS, "no")

    assert result.exit_code == 1
    assert "Cancelled; nothing was sent." in result.stderr
    assert server_api.state_type(flow_run_id) == "PAUSED"


def test_session_given_values_not_asked(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = run_session(
        flow_run_id,
        "",
        "",
        "",
        "",
        "",
        "yes",
        assignments=["recipient=Cy", "size=L"],
    )

    assert result.exit_code == 0, result.stderr
    assert not any(p.startswith(("recipient", "size")) for p in result.terminal.prompts)
    assert response_of(server_api, flow_run_id)["size"] == "L"


def test_session_defaults_asks_only_missing(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = run_session(flow_run_id, "Di", "S", defaults=True, yes=True)

    assert result.exit_code == 0, result.stderr
    assert result.terminal.prompts == ["recipient: ", "size: "]
    assert response_of(server_api, flow_run_id) == {
        "recipient": "Di",
        "color": "red-ish",
        "size": "S",
        "lines": [],
        "due": None,
        "note": None,
        "token": None,
    }


def test_session_bad_set_value_asked_again(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = run_session(
        flow_run_id,
        "M",
        yes=True,
        defaults=True,
        assignments=["recipient=Ed", "size=XL"],
    )

    assert result.exit_code == 0, result.stderr
    assert 'size: --set: "XL" is not one of the choices' in result.stderr
    assert result.terminal.prompts[0] == "size: "
    assert response_of(server_api, flow_run_id)["size"] == "M"


def test_session_rejected_answer_asked_again(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    placeholder = {"__prefect_kind": "json", "value": "5"}
    data = json.dumps({"recipient": placeholder, "size": "S"})

    result = run_session(
        flow_run_id,
        "Fay",
        data=data,
        yes=True,
        defaults=True,
        allow_placeholders=True,
        assignments=["lines=[]"],
    )

    assert result.exit_code == 0, result.stderr
    assert "Validation failed for field 'recipient'" in result.stderr
    assert "The run is still paused; correct the answer" in result.stderr
    assert result.terminal.prompts[0].startswith("recipient [")
    assert response_of(server_api, flow_run_id)["recipient"] == "Fay"


def test_session_run_resumed_meanwhile_sends_nothing(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    other_answer = {"recipient": "Other", "size": "S"}

    def resume_elsewhere() -> str:
        response = server_api.request(
            "POST", f"/flow_runs/{flow_run_id}/resume", {"run_input": other_answer}
        )
        assert response.json()["status"] == "ACCEPT"
        return "yes"

    result = run_session(flow_run_id, *SHIPMENT_ANSWERS, resume_elsewhere)

    assert result.exit_code == 1
    assert "stopped being paused while the form was open" in result.stderr
    assert "nothing was sent" in result.stderr
    assert response_of(server_api, flow_run_id) == other_answer


def test_session_pause_expired_meanwhile(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT, timeout_seconds=3)

    def wait_past_timeout() -> str:
        time.sleep(3.5)
        return "yes"

    result = run_session(flow_run_id, *SHIPMENT_ANSWERS, wait_past_timeout)

    assert result.exit_code == 1
    # The server's expiry service fails the run within a second of its timeout,
    # so the fresh read finds it either expired or failed; neither sends.
    assert (
        "expired at" in result.stderr
        or "stopped being paused while the form was open" in result.stderr
    )
    assert "nothing was sent" in result.stderr
    assert response_of(server_api, flow_run_id) is None


def test_session_pause_without_input_confirms(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(awaits_input=False)

    result = run_session(flow_run_id, "yes")

    assert result.exit_code == 0, result.stderr
    assert result.terminal.prompts == ["Resume this flow run? (yes/edit/no) [yes]: "]
    assert "Awaits no input" in result.stderr
    assert server_api.state_type(flow_run_id) == "RUNNING"


CIRCULAR_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/Loop"}]}
    },
    "definitions": {
        "Loop": {"anyOf": [{"type": "integer"}, {"$ref": "#/definitions/Loop"}]}
    },
}


def test_session_invalid_schema_offers_json(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(CIRCULAR_SCHEMA)

    result = run_session(flow_run_id, "[1]", '{"a": "text"}', "yes")

    assert result.exit_code == 0, result.stderr
    assert "the schema stored under 'paused-1-schema' is invalid" in result.stderr
    assert "is circular" in result.stderr
    assert "the answer must be a JSON object" in result.stderr
    # jsonschema stops at the first branch that matches, so the server can
    # validate this answer although the schema loops.
    assert response_of(server_api, flow_run_id) == {"a": "text"}


def test_session_interrupt_sends_nothing(
    run_session: RunSession, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    def interrupt() -> str:
        raise KeyboardInterrupt

    result = run_session(flow_run_id, "Gus", interrupt)

    assert result.exit_code == 130
    assert "Interrupted; nothing was sent." in result.stderr
    assert server_api.state_type(flow_run_id) == "PAUSED"
