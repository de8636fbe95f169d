"""`runinput resume` on real paused flows, followed until they finish or fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.paused_runs import Invoke
from tests.prefect_server import (
    FlowProcess,
    RunFlowInSubprocess,
    WaitForFlowRunState,
)

pytestmark = pytest.mark.integration

APPROVAL_FLOW = Path(__file__).parents[2] / "examples" / "approval.py"

PICKY_FLOW = """
import sys

import pydantic
from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run


class Payout(RunInput):
    amount: int

    @pydantic.field_validator("amount")
    @classmethod
    def must_be_even(cls, amount: int) -> int:
        if amount % 2:
            raise ValueError("the amount must be even")
        return amount


@flow
def payout() -> int:
    print(f"flow run id: {flow_run.id}", flush=True)
    return pause_flow_run(wait_for_input=Payout, timeout=120, poll_interval=1).amount


if __name__ == "__main__":
    payout()
"""


def start_paused_flow(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    script: str | Path,
    *args: str,
) -> tuple[str, FlowProcess]:
    process = run_flow_in_subprocess(script, *args, env={"USER": "ada"})
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$", timeout=60).group(1)
    wait_for_flow_run_state(flow_run_id, "PAUSED", process=process, timeout=60)
    return flow_run_id, process


def test_resume_real_flow_receives_answer(
    invoke: Invoke,
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
    tmp_path: Path,
) -> None:
    result_path = tmp_path / "received.json"
    flow_run_id, process = start_paused_flow(
        run_flow_in_subprocess,
        wait_for_flow_run_state,
        APPROVAL_FLOW,
        str(result_path),
    )

    result = invoke(
        "resume",
        flow_run_id,
        "--set",
        "decision=needs-changes",
        "--set",
        "budget.amount=1500.5",
        "--set",
        "conditions[0].text=Canary first",
        "--set",
        "conditions[0].due=2026-01-31",
        "--follow",
        "60",
    )

    assert result.exit_code == 0, result.describe()
    assert "completed" in result.stderr
    # The flow writes its result file after the run is marked completed.
    assert process.wait(timeout=60) == 0, process.output()
    assert json.loads(result_path.read_text()) == {
        "decision": "needs-changes",
        "reviewer": "ada",
        "budget": {"amount": 1500.5, "currency": "EUR"},
        "conditions": [{"text": "Canary first", "due": "2026-01-31"}],
        "notify": ["#releases"],
        "retries": 3,
        "comment": None,
    }


def test_resume_flow_rejecting_answer_exits_1(
    invoke: Invoke,
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    flow_run_id, _ = start_paused_flow(
        run_flow_in_subprocess, wait_for_flow_run_state, PICKY_FLOW
    )

    # The schema cannot express the validator, so the server accepts 3 and
    # the flow fails when its model parses the answer.
    result = invoke("resume", flow_run_id, "--set", "amount=3", "--follow", "60")

    assert result.exit_code == 1, result.describe()
    assert "Resumed flow run" in result.stderr
    assert "right after it was resumed" in result.stderr
    assert "the amount must be even" in result.stderr
