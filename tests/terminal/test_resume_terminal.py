"""`runinput resume` in a pseudo-terminal, answering real paused flows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pexpect
import pydantic
import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.input import RunInput

from tests.prefect_server import (
    FlowProcess,
    RunFlowInSubprocess,
    WaitForFlowRunState,
)
from tests.server_api import ServerApi
from tests.terminal.conftest import SpawnRuninput

pytestmark = [pytest.mark.terminal, pytest.mark.integration]

APPROVAL_FLOW = Path(__file__).parents[2] / "examples" / "approval.py"


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    """Wait for `prompt` (plain text, not a pattern) and type `text` and Enter."""
    child.expect_exact(prompt)
    child.sendline(text)


def start_approval_flow(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    result_path: Path,
) -> tuple[str, FlowProcess]:
    process = run_flow_in_subprocess(
        APPROVAL_FLOW, str(result_path), env={"USER": "ada"}
    )
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$", timeout=60).group(1)
    wait_for_flow_run_state(flow_run_id, "PAUSED", process=process, timeout=60)
    return flow_run_id, process


def test_terminal_form_answers_approval_flow(
    spawn_runinput: SpawnRuninput,
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    tmp_path: Path,
) -> None:
    result_path = tmp_path / "received.json"
    flow_run_id, process = start_approval_flow(
        run_flow_in_subprocess, wait_for_flow_run_state, result_path
    )

    child = spawn_runinput("resume", flow_run_id)
    child.expect_exact("Release approval")
    answer(child, "decision: ", "approved")
    answer(child, "decision: ", "approve")
    answer(child, "reviewer [ada]: ", "")
    answer(child, "budget.amount: ", "0")
    child.expect_exact("0 is not greater than 0")
    answer(child, "budget.amount: ", "1200")
    answer(child, "budget.currency [EUR]: ", "usd")
    answer(child, "conditions: add, edit N, remove N, done [done]: ", "add")
    answer(child, "conditions[0].text: ", "Canary for a day")
    answer(child, "conditions[0].due [none]: ", "2026-13-01")
    child.expect_exact('"2026-13-01" is not a valid date')
    answer(child, "conditions[0].due [none]: ", "2026-02-01")
    answer(child, "conditions: add, edit N, remove N, done [done]: ", "add")
    answer(child, "conditions[1].text: ", "Drop me")
    answer(child, "conditions[1].due [none]: ", "")
    answer(child, "conditions: add, edit N, remove N, done [done]: ", "remove 1")
    answer(child, "conditions: add, edit N, remove N, done [done]: ", "")
    answer(child, "notify [#releases]: ", "#releases, #ops")
    answer(child, "retries [3]: ", "11")
    child.expect_exact("11 is greater than the maximum 10")
    answer(child, "retries [3]: ", "5")
    answer(child, "comment [none]: ", "")
    child.expect_exact("conditions[0].text")
    answer(child, "Send this answer? (yes/edit/no) [yes]: ", "yes")
    child.expect_exact("Resumed flow run")
    child.expect_exact("completed.")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0, child.before
    # The flow writes its result file after the run is marked completed.
    assert process.wait(timeout=60) == 0, process.output()
    assert json.loads(result_path.read_text()) == {
        "decision": "approve",
        "reviewer": "ada",
        "budget": {"amount": 1200.0, "currency": "USD"},
        "conditions": [{"text": "Canary for a day", "due": "2026-02-01"}],
        "notify": ["#releases", "#ops"],
        "retries": 5,
        "comment": None,
    }


class Credentials(RunInput):
    user: str
    password: pydantic.SecretStr


def test_terminal_secret_hidden_and_run_picked(
    spawn_runinput: SpawnRuninput, server_api: ServerApi
) -> None:
    flow_run_id = server_api.create_flow_run("terminal-secret")
    schema = create_v2_schema("Credentials", model_base=Credentials)
    server_api.pause_by_api(flow_run_id, schema=schema, description="Log in")
    run_name = server_api.http.get(f"/flow_runs/{flow_run_id}").json()["name"]

    child = spawn_runinput("resume", "--follow", "0")
    index = child.expect([r"(\d+)\s+" + re.escape(run_name), "Answering the only"])
    if index == 0:
        number = child.match.group(1)
        answer(child, "Pick a flow run (1-", number)
    answer(child, "user: ", "ada")
    answer(child, "password: ", "hunter2")
    child.expect_exact("Send this answer?")
    shown = child.before
    child.sendline("yes")
    child.expect_exact("Resumed flow run")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    assert "hunter2" not in shown
    assert "********" in shown
    stored = server_api.read_input(flow_run_id, "paused-1-response")
    assert stored is not None
    assert json.loads(stored) == {"user": "ada", "password": "hunter2"}


def test_terminal_interrupt_sends_nothing(
    spawn_runinput: SpawnRuninput, server_api: ServerApi
) -> None:
    flow_run_id = server_api.create_flow_run("terminal-interrupt")
    schema = create_v2_schema("Credentials", model_base=Credentials)
    server_api.pause_by_api(flow_run_id, schema=schema)

    child = spawn_runinput("resume", flow_run_id)
    answer(child, "user: ", "ada")
    child.expect_exact("password: ")
    child.sendintr()
    child.expect_exact("Interrupted; nothing was sent.")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 130
    assert server_api.state_type(flow_run_id) == "PAUSED"
    assert server_api.read_input(flow_run_id, "paused-1-response") is None
