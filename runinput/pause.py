"""Paused flow runs: what each waits for, and resuming them."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from .client import Client, FlowRunId
from .errors import (
    ConnectionFailedError,
    InvalidSchemaError,
    ResumeRejectedError,
    RunInputError,
)
from .models import FlowRun, Keyset, OrchestrationResult

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
"""The server's default cap on one page of flow runs."""

MAX_SCHEMA_CHARACTERS = 262_144
"""Longer stored schemas are reported as invalid instead of being used.

NOTE: an estimate of what stays usable. pydantic's schema of a model with a
hundred documented fields is about 30,000 characters; checking and showing
one of 700,000 characters took over 20 s on a 2-core machine.
"""

MAX_SCHEMA_DEPTH = 64
"""Schemas nested deeper are reported as invalid: checking one of about 200
levels exhausts Python's default recursion limit."""


@dataclass(frozen=True)
class Pause:
    """A paused flow run and what it waits for.

    `schema` is None when the pause awaits no input, and also in the moment
    after a run pauses and before it stores its schema: `schema_pending`
    tells the two apart.
    """

    flow_run: FlowRun
    flow_name: str | None
    keyset: Keyset | None
    schema: dict[str, Any] | None
    description: str | None

    @property
    def state_name(self) -> str:
        state = self.flow_run.state
        return (state.name if state else None) or "Paused"

    @property
    def awaits_input(self) -> bool:
        return self.keyset is not None

    @property
    def schema_pending(self) -> bool:
        return self.awaits_input and self.schema is None

    @property
    def paused_since(self) -> datetime.datetime | None:
        state = self.flow_run.state
        return state.timestamp if state else None

    @property
    def pause_timeout(self) -> datetime.datetime | None:
        state = self.flow_run.state
        return state.state_details.pause_timeout if state else None

    def time_left(
        self, now: datetime.datetime | None = None
    ) -> datetime.timedelta | None:
        """Time until the pause times out, negative once it has; None if never."""
        if self.pause_timeout is None:
            return None
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return self.pause_timeout - now

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        left = self.time_left(now)
        return left is not None and left.total_seconds() <= 0


def paused_flow_run_filter(
    flow_names: Sequence[str] = (),
    deployment_ids: Sequence[FlowRunId] = (),
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """Build the `flow_runs/filter` body that selects paused and suspended runs."""
    flow_runs: dict[str, Any] = {"state": {"type": {"any_": ["PAUSED"]}}}
    if tags:
        flow_runs["tags"] = {"all_": list(tags)}
    if deployment_ids:
        ids = [str(deployment_id) for deployment_id in deployment_ids]
        flow_runs["deployment_id"] = {"any_": ids}
    filters: dict[str, Any] = {"flow_runs": flow_runs}
    if flow_names:
        filters["flows"] = {"name": {"any_": list(flow_names)}}
    return filters


def iter_paused_flow_runs(
    client: Client,
    filters: dict[str, Any] | None = None,
    limit: int | None = None,
    sort: str = "START_TIME_DESC",
) -> Iterator[FlowRun]:
    """Yield paused flow runs page by page, past the server's page size."""
    filters = filters if filters is not None else paused_flow_run_filter()
    offset = 0
    while limit is None or offset < limit:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - offset)
        page = client.read_flow_runs(filters, limit=size, offset=offset, sort=sort)
        yield from page
        offset += len(page)
        if len(page) < size:
            return


def flow_names(client: Client, flow_runs: Sequence[FlowRun]) -> dict[UUID, str]:
    """Map the flow ids of `flow_runs` to their flow names in one request."""
    flow_ids = {flow_run.flow_id for flow_run in flow_runs}
    if not flow_ids:
        return {}
    return {flow.id: flow.name for flow in client.read_flows(flow_ids)}


def read_pause(
    client: Client, flow_run_id: FlowRunId, flow_name: str | None = None
) -> Pause:
    """Read a paused flow run with its keyset, schema and description.

    Raises:
        NotFoundError: there is no such flow run.
        ResumeRejectedError: the flow run is not paused (status `ABORT`).
        InvalidSchemaError: the stored schema is not a JSON object.
    """
    flow_run = client.read_flow_run(flow_run_id)
    return read_pause_of(client, flow_run, flow_name)


def read_pause_of(
    client: Client, flow_run: FlowRun, flow_name: str | None = None
) -> Pause:
    """Like `read_pause`, for a flow run that was already read."""
    state = flow_run.state
    if state is None or not state.is_paused:
        state_text = state.type if state else "no state"
        raise ResumeRejectedError(
            f"flow run {flow_run.id} ({flow_run.name}) is not paused: "
            f"it is {state_text}",
            status="ABORT",
            reason="not paused",
        )
    if flow_name is None:
        flow_name = client.read_flow(flow_run.flow_id).name
    keyset = state.state_details.run_input_keyset
    schema = description = None
    if keyset:
        _check_keyset(flow_run.id, keyset)
        schema = _read_schema(client, flow_run.id, keyset["schema"])
        description = _read_description(client, flow_run.id, keyset["description"])
    return Pause(flow_run, flow_name, keyset, schema, description)


def find_flow_runs_by_name(client: Client, name: str) -> list[FlowRun]:
    """Find the flow runs called `name`; names are not unique."""
    filters = {"flow_runs": {"name": {"any_": [name]}}}
    return client.read_flow_runs(filters, limit=PAGE_SIZE)


def resume(
    client: Client, flow_run_id: FlowRunId, run_input: dict[str, Any] | None = None
) -> OrchestrationResult:
    """Resume a paused flow run, with `run_input` as its answer.

    The run is read first, and nothing is sent if it is no longer paused.
    Returns the server's verdict when it accepts; raises `ResumeRejectedError`
    with the verdict's status and reason otherwise. The server decides by the
    body's `status`, not the HTTP code: `REJECT` leaves the run paused (or,
    with a `FAILED` state, means the pause expired), `ABORT` means the run is
    not paused. If the connection breaks after the answer was sent, the run's
    state tells whether it was applied; the answer is never sent twice.
    """
    before = client.read_flow_run(flow_run_id)
    state = before.state
    if state is None or not state.is_paused:
        raise ResumeRejectedError(
            f"flow run {flow_run_id} is no longer paused (it is "
            f"{state.type if state else 'without a state'}), so nothing was sent",
            status="ABORT",
            reason="not paused",
        )
    keyset = state.state_details.run_input_keyset
    result = send_resume(client, flow_run_id, run_input, keyset)
    if result.accepted:
        return result
    raise rejection_error(flow_run_id, result)


def send_resume(
    client: Client,
    flow_run_id: FlowRunId,
    run_input: dict[str, Any] | None,
    keyset: Keyset | None,
) -> OrchestrationResult:
    """Send one resume and return the verdict, even when its answer is lost.

    If the connection breaks or times out after the request was sent, the
    request is not sent again: the run's state and its `keyset` response key
    tell whether the resume was applied. The client does repeat a resume
    answered with 429, 502 or 503, and when a proxy gave that status after
    the server had applied the resume, the repeat finds the run no longer
    paused. A stored response equal to `run_input` then counts as accepted.

    Raises:
        ConnectionFailedError: the run is still paused with no answer, so it
            is safe to answer again; or reading it back failed too, so the
            outcome is unknown. The message says which.
    """
    try:
        result = client.resume_flow_run(flow_run_id, run_input)
    except ConnectionFailedError as exc:
        return _verdict_after_lost_answer(client, flow_run_id, keyset, exc)
    if result.status == "ABORT" and keyset and "response" in keyset:
        try:
            stored = client.read_flow_run_input(flow_run_id, keyset["response"])
        except RunInputError:
            return result
        if stored is not None and _same_json(stored, run_input or {}):
            logger.warning(
                "flow run %s is no longer paused because it already took this "
                "answer, from an earlier attempt whose response was lost",
                flow_run_id,
            )
            return OrchestrationResult(state=result.state, status="ACCEPT")
    return result


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def _verdict_after_lost_answer(
    client: Client,
    flow_run_id: FlowRunId,
    keyset: Keyset | None,
    lost: ConnectionFailedError,
) -> OrchestrationResult:
    """Decide from the run's state whether a resume whose answer was lost applied.

    The resume is never sent again: a second resume of a run that did resume
    would be refused, and one of a run that did not could apply an answer
    twice if the first was only delayed.
    """
    try:
        flow_run = client.read_flow_run(flow_run_id)
        response = (
            client.read_flow_run_input(flow_run_id, keyset["response"])
            if keyset and "response" in keyset
            else None
        )
    except RunInputError:
        raise ConnectionFailedError(
            f"the connection broke while resuming flow run {flow_run_id}, and "
            "reading the run back failed too, so it is unknown whether the "
            "answer was applied; check with `runinput show` before answering "
            "again",
            api_url=lost.api_url,
        ) from lost
    state = flow_run.state
    still_paused = state is not None and state.is_paused
    applied = response is not None if keyset else not still_paused
    if applied:
        logger.warning(
            "the connection broke while resuming flow run %s, but the run shows "
            "the answer was applied",
            flow_run_id,
        )
        return OrchestrationResult(state=state, status="ACCEPT")
    if still_paused:
        raise ConnectionFailedError(
            f"the connection broke while resuming flow run {flow_run_id}; the run "
            "is still paused and stored no answer, so nothing was applied and it "
            "is safe to answer again",
            api_url=lost.api_url,
        ) from lost
    return OrchestrationResult(state=state, status="ABORT")


def rejection_error(
    flow_run_id: FlowRunId, result: OrchestrationResult
) -> ResumeRejectedError:
    """Explain a verdict that is not ACCEPT."""
    reason = result.details.reason
    state_type = result.state.type if result.state else None
    if result.status == "ABORT":
        message = f"flow run {flow_run_id} is not paused, so it cannot be resumed"
    elif result.status == "REJECT" and state_type == "FAILED":
        message = f"the pause of flow run {flow_run_id} has expired"
    elif result.status == "REJECT":
        message = f"the server rejected the answer for flow run {flow_run_id}"
    else:
        message = f"the server returned {result.status} for flow run {flow_run_id}"
    if reason:
        message += f": {reason}"
    return ResumeRejectedError(message, status=result.status, reason=reason)


def _check_keyset(flow_run_id: UUID, keyset: Keyset) -> None:
    missing = [
        part for part in ("schema", "description", "response") if part not in keyset
    ]
    if missing:
        raise InvalidSchemaError(
            f"the input keyset in the state of flow run {flow_run_id} has no "
            f"{' or '.join(repr(part) for part in missing)} key, so its schema "
            f"cannot be found: {keyset}"
        )


def _read_schema(client: Client, flow_run_id: UUID, key: str) -> dict[str, Any] | None:
    text = client.read_flow_run_input(flow_run_id, key)
    if text is None:
        return None
    where = f"the schema stored under {key!r} on flow run {flow_run_id}"
    if len(text) > MAX_SCHEMA_CHARACTERS:
        raise InvalidSchemaError(
            f"{where} is {len(text)} characters long, more than the "
            f"{MAX_SCHEMA_CHARACTERS} that runinput reads"
        )
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSchemaError(
            f"{where} is not valid JSON: {exc.msg} at character {exc.pos}"
        ) from exc
    except RecursionError:
        too_deep = True
    else:
        too_deep = _nesting_depth(schema) > MAX_SCHEMA_DEPTH
    if too_deep:
        raise InvalidSchemaError(
            f"{where} is nested more than {MAX_SCHEMA_DEPTH} levels deep"
        )
    if not isinstance(schema, dict):
        raise InvalidSchemaError(
            f"{where} is a {type(schema).__name__}, not a JSON object"
        )
    return schema


def _nesting_depth(value: Any) -> int:
    """Count the levels of objects and lists in a decoded JSON value."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _read_description(client: Client, flow_run_id: UUID, key: str) -> str | None:
    text = client.read_flow_run_input(flow_run_id, key)
    if text is None:
        return None
    try:
        description = json.loads(text)
    except json.JSONDecodeError:
        logger.warning(
            "the description under %r on flow run %s is not valid JSON; "
            "showing it as raw text",
            key,
            flow_run_id,
        )
        return text
    if not isinstance(description, str):
        logger.warning(
            "the description under %r on flow run %s is not a string but "
            "JSON of type %s; showing it as JSON text",
            key,
            flow_run_id,
            type(description).__name__,
        )
        return json.dumps(description)
    return description
