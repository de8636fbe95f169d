"""Fixtures for the `ls`, `show` and `resume` tests: paused runs and the command.

Paused runs are made through the REST API (`tests.server_api`), so each test
gets runs with exactly the schema, description and timeout it needs, without
a flow process. `invoke` runs the command in this process through `run_app`,
as the console script does, so exit statuses and error lines are the real ones.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from typer.testing import CliRunner

from runinput_cli import console
from runinput_cli import main as cli_main
from runinput_cli.errors import run_app
from tests.cli.paused_runs import (
    Invoke,
    MakePausedRun,
    Outcome,
    create_flow_run,
    pause_without_input,
)
from tests.server_api import ServerApi

CONSOLE_WIDTH = 200


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, prefect_api_url: str) -> Invoke:
    """Run `runinput ARGS` against the session server, with a 200-column console."""
    if not any(info.name == "ls" for info in cli_main.app.registered_commands):
        cli_main._register_commands()
    monkeypatch.setattr(console.stdout, "_width", CONSOLE_WIDTH)
    monkeypatch.setattr(console.stderr, "_width", CONSOLE_WIDTH)

    def run(*args: str, input: str | None = None) -> Outcome:
        runner = CliRunner()
        with runner.isolation(input=input) as streams:
            monkeypatch.setattr(sys, "argv", ["runinput", *args])
            exit_code = run_app(cli_main.app)
            stdout, stderr = streams[0].getvalue(), streams[1].getvalue()
        return Outcome(exit_code, stdout.decode(), stderr.decode())

    return run


@pytest.fixture
def server_api(prefect_api_url: str) -> Iterator[ServerApi]:
    """REST calls on the session's Prefect server, for setting up runs."""
    with ServerApi(prefect_api_url) as api:
        yield api


@pytest.fixture
def flow_name() -> str:
    """A flow name of this test alone, so `ls --flow` sees only its runs."""
    return f"paused-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def paused_run(server_api: ServerApi, flow_name: str) -> MakePausedRun:
    """Make a paused flow run with a stored schema, as `pause_flow_run` leaves it.

    With `awaits_input=False` the pause has no keyset, like `pause_flow_run()`
    without `wait_for_input`. Returns the flow run id.
    """

    def make(
        schema: Any = None,
        *,
        description: Any = None,
        timeout_seconds: float = 3600.0,
        flow_name: str | None = flow_name,
        tags: Sequence[str] = (),
        deployment_id: str | None = None,
        awaits_input: bool = True,
    ) -> str:
        flow_run_id = create_flow_run(
            server_api, flow_name or "paused", tags=tags, deployment_id=deployment_id
        )
        if awaits_input:
            server_api.pause_by_api(
                flow_run_id,
                timeout_seconds=timeout_seconds,
                schema=schema,
                description=description,
            )
        else:
            pause_without_input(server_api, flow_run_id, timeout_seconds)
        return flow_run_id

    return make
