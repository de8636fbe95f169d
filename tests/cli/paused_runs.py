"""Paused flow runs made through the REST API, and the schema most tests use.

The runs are set up with direct REST calls (`tests.server_api`), not through
runinput, so that a bug in runinput cannot also hide in the set-up.
"""

from __future__ import annotations

import datetime
import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pydantic
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.input import RunInput

from tests.server_api import ServerApi


@dataclass(frozen=True)
class Outcome:
    """What one run of the command printed, and its exit status."""

    exit_code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit {self.exit_code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


class Invoke(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Outcome: ...


class MakePausedRun(Protocol):
    def __call__(
        self,
        schema: Any = None,
        *,
        description: Any = None,
        timeout_seconds: float = 3600.0,
        flow_name: str | None = None,
        tags: Sequence[str] = (),
        deployment_id: str | None = None,
        awaits_input: bool = True,
    ) -> str: ...


class Color(enum.Enum):
    RED = "red-ish"
    BLUE = "blue-ish"


class Line(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(default=1, ge=1, le=99, description="How many")


class Shipment(RunInput):
    """Where a parcel goes and what is in it."""

    recipient: str = pydantic.Field(min_length=2, description="Who receives it")
    color: Color = Color.RED
    size: Literal["S", "M", "L"]
    lines: list[Line] = []
    due: pydantic.PastDate | None = None
    note: str | None = None
    token: pydantic.SecretStr | None = None


def stored_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The schema that Prefect's `pause_flow_run` stores for `model`."""
    schema: dict[str, Any] = create_v2_schema(model.__name__, model_base=model)
    return schema


SHIPMENT = stored_schema(Shipment)

DESCRIPTION = "# Parcel check\n\nCheck the **address** first.\n\nSecond paragraph."


def response_of(server_api: ServerApi, flow_run_id: str) -> Any:
    """The answer stored under the pause's response key, or None."""
    text = server_api.read_input(flow_run_id, "paused-1-response")
    return None if text is None else json.loads(text)


def create_flow_run(
    api: ServerApi,
    flow_name: str,
    *,
    tags: Sequence[str] = (),
    deployment_id: str | None = None,
    name: str | None = None,
) -> str:
    """Create a running flow run with tags and a deployment; return its id."""
    flow = api.request("POST", "/flows/", {"name": flow_name})
    flow.raise_for_status()
    body: dict[str, Any] = {
        "flow_id": flow.json()["id"],
        "name": name or f"run-{uuid.uuid4().hex[:12]}",
        "state": {"type": "RUNNING"},
        "tags": list(tags),
    }
    if deployment_id is not None:
        body["deployment_id"] = deployment_id
    flow_run = api.request("POST", "/flow_runs/", body)
    flow_run.raise_for_status()
    flow_run_id: str = flow_run.json()["id"]
    return flow_run_id


def pause_without_input(
    api: ServerApi, flow_run_id: str, timeout_seconds: float
) -> None:
    """Pause a flow run the way `pause_flow_run()` does without wait_for_input."""
    timeout = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=timeout_seconds
    )
    api.set_state(
        flow_run_id,
        {
            "type": "PAUSED",
            "name": "Paused",
            "state_details": {
                "pause_timeout": timeout.isoformat(),
                "pause_reschedule": False,
                "pause_key": "1",
                "run_input_keyset": None,
            },
        },
    )


def create_deployment(api: ServerApi, flow_name: str, name: str) -> str:
    """Create a deployment of `flow_name` and return its id."""
    flow = api.request("POST", "/flows/", {"name": flow_name})
    flow.raise_for_status()
    deployment = api.request(
        "POST", "/deployments/", {"name": name, "flow_id": flow.json()["id"]}
    )
    deployment.raise_for_status()
    deployment_id: str = deployment.json()["id"]
    return deployment_id
