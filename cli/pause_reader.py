"""Read a pause with its description and its form, as `show` and `resume` need.

A run can be paused before its schema is stored, so `load_pause` waits a
moment for it. A schema that is stored but unusable is kept as a problem
message instead of an exception, so that `show` can print it and `resume`
can offer to take the whole answer as JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from jsonschema import (  # type: ignore[import-untyped]
    Draft202012Validator,
    SchemaError,
)

from runinput import Client, InvalidSchemaError, ResumeRejectedError
from runinput.models import FlowRun
from runinput.pause import Pause, read_pause_of
from runinput.schema import validate

from . import console
from .form import Form, build_form

SCHEMA_WAIT_SECONDS = 10.0
"""How long to wait for a run that has paused but not stored its schema yet."""

SCHEMA_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class LoadedPause:
    """A pause with its form, or the reason why its stored schema is unusable."""

    pause: Pause
    form: Form | None
    schema_problem: str | None


def load_pause(
    client: Client, flow_run: FlowRun, wait_seconds: float | None = None
) -> LoadedPause:
    """Read the pause of `flow_run` and build its form.

    A run that has paused but not stored its schema yet is read again for up
    to `wait_seconds` (by default `SCHEMA_WAIT_SECONDS`), with a spinner on
    stderr.

    Raises:
        ResumeRejectedError: the flow run is not paused.
    """
    loaded = read_loaded_pause(client, flow_run)
    if not loaded.pause.schema_pending or loaded.schema_problem:
        return loaded

    if wait_seconds is None:
        wait_seconds = SCHEMA_WAIT_SECONDS
    deadline = time.monotonic() + wait_seconds
    message = f"Waiting for flow run {flow_run.name} to store its input schema…"
    with console.stderr.status(message):
        while loaded.pause.schema_pending and time.monotonic() < deadline:
            time.sleep(SCHEMA_POLL_SECONDS)
            loaded = read_loaded_pause(client, client.read_flow_run(flow_run.id))
    return loaded


def read_loaded_pause(
    client: Client, flow_run: FlowRun, flow_name: str | None = None
) -> LoadedPause:
    """Read a pause once, keeping it even when its stored schema is unusable."""

    if flow_name is None:
        flow_name = client.read_flow(flow_run.flow_id).name
    try:
        pause = read_pause_of(client, flow_run, flow_name)
    except InvalidSchemaError as exc:
        state = flow_run.state
        keyset = state.state_details.run_input_keyset if state else None
        description = _read_description(client, flow_run)
        pause = Pause(flow_run, flow_name, keyset, None, description)
        return LoadedPause(pause, None, str(exc))
    if pause.schema is None:
        return LoadedPause(pause, None, None)
    try:
        form, problem = build_checked_form(pause)
    except RecursionError:
        # A long chain of references between definitions is not deep as
        # JSON, so only checking or building the form finds it.
        assert pause.keyset is not None
        key = pause.keyset["schema"]
        form, problem = None, f"the schema stored under {key!r} is nested too deeply"
    return LoadedPause(pause, form, problem)


def build_checked_form(pause: Pause) -> tuple[Form | None, str | None]:
    """Build the form of a pause, or describe the part of its schema that is invalid."""

    assert pause.schema is not None and pause.keyset is not None
    key = pause.keyset["schema"]
    try:
        Draft202012Validator.check_schema(pause.schema)
    except SchemaError as exc:
        where = ".".join(str(part) for part in exc.path) or "the top level"
        return None, f"the schema stored under {key!r} is invalid at {where}: " + (
            exc.message
        )
    try:
        # Validating a value also resolves every reference the schema holds,
        # so that a broken one shows now and not when the answer is sent.
        validate({}, pause.schema)
        return build_form(pause.schema), None
    except InvalidSchemaError as exc:
        return None, f"the schema stored under {key!r} is invalid: {exc}"


def pause_record(pause: Pause, schema_problem: str | None = None) -> dict[str, Any]:
    """Return the JSON object that `ls` and `show` print for a pause."""
    run = pause.flow_run
    left = pause.time_left()
    return {
        "id": str(run.id),
        "name": run.name,
        "flow_id": str(run.flow_id),
        "flow_name": pause.flow_name,
        "deployment_id": str(run.deployment_id) if run.deployment_id else None,
        "tags": list(run.tags),
        "state_type": run.state.type if run.state else None,
        "state_name": pause.state_name,
        "paused_since": pause.paused_since,
        "pause_timeout": pause.pause_timeout,
        "time_left_seconds": left.total_seconds() if left is not None else None,
        "expired": pause.is_expired(),
        "suspended": bool(run.state and run.state.state_details.pause_reschedule),
        "awaits_input": pause.awaits_input,
        "schema_pending": pause.schema_pending and schema_problem is None,
        "schema_problem": schema_problem,
        "keyset": pause.keyset,
        "description": pause.description,
    }


def read_listed_pause(
    client: Client, flow_run: FlowRun, flow_name: str | None
) -> LoadedPause | None:
    """Read one pause for `ls`; None if the run stopped being paused meanwhile."""

    try:
        return read_loaded_pause(client, flow_run, flow_name)
    except ResumeRejectedError:
        return None


def _read_description(client: Client, flow_run: FlowRun) -> str | None:
    state = flow_run.state
    keyset = state.state_details.run_input_keyset if state else None
    if not keyset or "description" not in keyset:
        return None
    text = client.read_flow_run_input(flow_run.id, keyset["description"])
    if text is None:
        return None
    try:
        description = json.loads(text)
    except json.JSONDecodeError:
        return text
    return description if isinstance(description, str) else text
