"""A flow that pauses for an approval form and prints the answer it received.

Run it against a Prefect server (PREFECT_API_URL) and answer it with
`runinput resume`:

    python examples/approval.py [RESULT_FILE]

It prints `flow run id: <uuid>` when it starts and, once resumed, the answer
as one line of JSON after `received: `; with RESULT_FILE it also writes that
JSON to the file. `scripts/demo` and the terminal tests run it.
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import sys
from typing import Literal

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from runinput import RunInput

PAUSE_TIMEOUT_SECONDS = int(os.environ.get("APPROVAL_PAUSE_TIMEOUT", "900"))


class Decision(enum.Enum):
    """The reviewer's decision; the form sends the member's value, not its name."""

    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_CHANGES = "needs-changes"


class Budget(BaseModel):
    """The spending the approval allows."""

    amount: float = Field(gt=0, le=1_000_000, description="Upper limit to spend")
    currency: Literal["EUR", "USD", "GBP"] = "EUR"


class Condition(BaseModel):
    """A condition the approval comes with."""

    text: str = Field(min_length=3, description="What must hold")
    due: datetime.date | None = Field(default=None, description="By when")


class ApprovalForm(RunInput):
    """The answer a reviewer gives to a release request."""

    decision: Decision = Field(description="Approve, reject or ask for changes")
    reviewer: str = Field(min_length=2, description="Who decides")
    budget: Budget
    conditions: list[Condition] = Field(
        default_factory=list, description="Conditions attached to the decision"
    )
    notify: list[str] = Field(
        default_factory=list, description="Channels to tell about the decision"
    )
    retries: int = Field(default=3, ge=0, le=10, description="Deployment retries")
    comment: str | None = Field(default=None, description="Anything else")


DESCRIPTION = """\
# Release approval

Release **{version}** of *billing-service* is ready to ship.

- 212 tests passed, 0 failed
- Change log: https://example.com/billing-service/releases/{version}

Pick a decision and a budget for the rollout.
"""


@flow(name="release-approval", log_prints=False)
def release_approval(version: str = "2.4.0") -> dict[str, object]:
    """Pause until a reviewer answers the approval form, then return the answer."""
    print(f"flow run id: {flow_run.id}", flush=True)
    form = ApprovalForm.with_initial_data(
        description=DESCRIPTION.format(version=version),
        reviewer=os.environ.get("USER", "reviewer"),
        notify=["#releases"],
    )
    answer = pause_flow_run(
        wait_for_input=form, timeout=PAUSE_TIMEOUT_SECONDS, poll_interval=1
    )
    received = answer.model_dump(mode="json")
    print(f"received: {json.dumps(received, sort_keys=True)}", flush=True)
    return received


if __name__ == "__main__":
    result = release_approval()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as result_file:
            json.dump(result, result_file, sort_keys=True)
