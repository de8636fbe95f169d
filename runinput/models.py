"""The server's objects as they arrive over the wire; unknown fields are ignored."""

from __future__ import annotations

import datetime
import json
from typing import Any
from uuid import UUID

import pydantic

Keyset = dict[str, str]
"""A pause's input keys: `{"description": …, "response": …, "schema": …}`."""


class _WireModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


class FlowRunInput(_WireModel):
    """One stored input: a key and its JSON text on a flow run."""

    id: UUID | None = None
    created: datetime.datetime | None = None
    updated: datetime.datetime | None = None
    flow_run_id: UUID
    key: str
    value: str
    sender: str | None = None

    @property
    def decoded_value(self) -> Any:
        """The stored JSON text, decoded; raises `json.JSONDecodeError` if invalid."""
        return json.loads(self.value)


class StateDetails(_WireModel):
    """The part of a state's details that pauses use."""

    pause_timeout: datetime.datetime | None = None
    pause_reschedule: bool = False
    pause_key: str | None = None
    run_input_keyset: Keyset | None = None


class State(_WireModel):
    """A flow run state: its type (`PAUSED`, `RUNNING`, …) and display name."""

    id: UUID | None = None
    type: str
    name: str | None = None
    timestamp: datetime.datetime | None = None
    message: str | None = None
    state_details: StateDetails = pydantic.Field(default_factory=StateDetails)

    @property
    def is_paused(self) -> bool:
        """Whether the run waits for a resume: Paused and Suspended both count."""
        return self.type == "PAUSED"

    @property
    def is_final(self) -> bool:
        """Whether the run has finished and will not change state again."""
        return self.type in _FINAL_STATE_TYPES


_FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


class FlowRun(_WireModel):
    """A flow run with the fields that runinput shows."""

    id: UUID
    name: str
    flow_id: UUID
    deployment_id: UUID | None = None
    tags: list[str] = pydantic.Field(default_factory=list)
    state: State | None = None
    created: datetime.datetime | None = None


class Flow(_WireModel):
    """A flow: the name that flow runs are grouped under."""

    id: UUID
    name: str


class ResumeDetails(_WireModel):
    """Extra details of an orchestration verdict."""

    reason: str | None = None


class OrchestrationResult(_WireModel):
    """The server's verdict on a resume: ACCEPT, REJECT, ABORT or WAIT."""

    state: State | None = None
    status: str
    details: ResumeDetails = pydantic.Field(default_factory=ResumeDetails)

    @property
    def accepted(self) -> bool:
        return self.status == "ACCEPT"
