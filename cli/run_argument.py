"""The RUN argument of `send` and `watch`: a flow run id or a flow run name."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, NoReturn

import typer

from . import console
from .errors import EXIT_FAILED, EXIT_INVALID

if TYPE_CHECKING:
    from runinput import Client
    from runinput.models import FlowRun

RUN_HELP = "The flow run: its id, or its name if no other flow run has that name."

MAX_LISTED_IDS = 10


def resolve_flow_run(client: Client, run: str) -> FlowRun:
    """Read the flow run that RUN names, or exit.

    A UUID is read as an id. Anything else is looked up as a name. A run that
    does not exist gives exit status 1. A name that several flow runs share
    gives status 2 and their ids, because flow run names are not unique.
    """
    from runinput import NotFoundError
    from runinput.pause import find_flow_runs_by_name

    try:
        flow_run_id = uuid.UUID(run)
    except ValueError:
        flow_run_id = None
    if flow_run_id is not None:
        try:
            return client.read_flow_run(flow_run_id)
        except NotFoundError:
            _fail(
                f"flow run {flow_run_id} not found at {client.api_url}",
                "check the id, or pass --api-url for another server",
            )

    matches = find_flow_runs_by_name(client, run)
    if not matches:
        _fail(
            f"no flow run named {run!r} at {client.api_url}",
            "pass a flow run id or an exact flow run name",
        )
    if len(matches) > 1:
        ids = ", ".join(str(flow_run.id) for flow_run in matches[:MAX_LISTED_IDS])
        if len(matches) > MAX_LISTED_IDS:
            ids += f" and {len(matches) - MAX_LISTED_IDS} more"
        _fail(
            f"{len(matches)} flow runs are named {run!r}: {ids}",
            "pass one of these ids instead of the name",
            EXIT_INVALID,
        )
    return matches[0]


def _fail(message: str, hint: str, code: int = EXIT_FAILED) -> NoReturn:
    console.print_error(message, hint)
    raise typer.Exit(code)
