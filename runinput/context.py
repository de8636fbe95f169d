"""Which flow run is "the current one" when no flow run id is given."""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import uuid
from collections.abc import Iterator

from .errors import NoFlowRunError

FLOW_RUN_ID_VARIABLE = "PREFECT__FLOW_RUN_ID"
SENDER_PREFIX = "prefect.flow-run."

_current_flow_run: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "runinput_current_flow_run", default=None
)


@contextlib.contextmanager
def flow_run_context(flow_run_id: uuid.UUID | str) -> Iterator[uuid.UUID]:
    """Make `flow_run_id` the current flow run inside a `with` block.

    Inputs received without a `flow_run_id` are read from this run, and
    inputs sent inside the block name it as their sender, so that receivers
    can `respond()` to it.
    """
    resolved = uuid.UUID(str(flow_run_id))
    token = _current_flow_run.set(resolved)
    try:
        yield resolved
    finally:
        _current_flow_run.reset(token)


def current_flow_run_id() -> uuid.UUID | None:
    """Find the current flow run, or None.

    The order is: `flow_run_context()`, then Prefect's running flow-run
    context, then the `PREFECT__FLOW_RUN_ID` environment variable.
    """
    explicit = _current_flow_run.get()
    if explicit is not None:
        return explicit
    from_prefect = _prefect_flow_run_id()
    if from_prefect is not None:
        return from_prefect
    from_environment = os.environ.get(FLOW_RUN_ID_VARIABLE)
    if not from_environment:
        return None
    try:
        return uuid.UUID(from_environment)
    except ValueError:
        raise NoFlowRunError(
            f"{FLOW_RUN_ID_VARIABLE} is {from_environment!r}, which is not a "
            "flow run id; unset it or set it to the id of a flow run"
        ) from None


def ensure_flow_run_id(flow_run_id: uuid.UUID | str | None = None) -> uuid.UUID:
    """Return `flow_run_id` as a UUID, or the current flow run's id."""
    if flow_run_id is not None:
        try:
            return uuid.UUID(str(flow_run_id))
        except ValueError:
            raise NoFlowRunError(
                f"invalid flow run id {flow_run_id!r}: expected a UUID"
            ) from None
    current = current_flow_run_id()
    if current is None:
        raise NoFlowRunError(
            "no flow run id was given and there is no current flow run; pass "
            "flow_run_id=..., call this inside a Prefect flow run or a "
            "`with runinput.flow_run_context(id):` block, or set "
            f"{FLOW_RUN_ID_VARIABLE}"
        )
    return current


def current_sender() -> str | None:
    """The sender string of the current flow run, `prefect.flow-run.<id>`."""
    current = current_flow_run_id()
    return None if current is None else f"{SENDER_PREFIX}{current}"


def flow_run_id_from_sender(sender: str | None) -> uuid.UUID | None:
    """Parse the flow run id out of a `prefect.flow-run.<id>` sender."""
    if not sender or not sender.startswith(SENDER_PREFIX):
        return None
    try:
        return uuid.UUID(sender[len(SENDER_PREFIX) :])
    except ValueError:
        return None


def _prefect_flow_run_id() -> uuid.UUID | None:
    # A flow can only be running in this process if Prefect is already
    # imported, so this never imports Prefect itself.
    prefect_context = sys.modules.get("prefect.context")
    if prefect_context is None:
        return None
    flow_run_context_class = getattr(prefect_context, "FlowRunContext", None)
    if flow_run_context_class is None:
        return None
    context = flow_run_context_class.get()
    flow_run = getattr(context, "flow_run", None)
    flow_run_id = getattr(flow_run, "id", None)
    return uuid.UUID(str(flow_run_id)) if flow_run_id is not None else None
