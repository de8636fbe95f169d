"""An in-memory Prefect API for the `send` and `watch` tests, and a CLI runner.

`FakeApi` serves the endpoints those commands use, the way Prefect 3.9's
server does: inputs are listed oldest first, a prefix filter is a plain
`startswith`, a key stored twice gives 409 and a missing flow run 404. It
keeps every request, so tests can check what each poll cost.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from runinput import AsyncClient, Client, Settings
from runinput_cli import main as cli_main
from runinput_cli import send_bulk
from runinput_cli.errors import run_app
from runinput_cli.state import AppState

API_URL = "http://127.0.0.1:4200/api"
START = datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.timezone.utc)

_INPUT_PATH = re.compile(r"/api/flow_runs/([^/]+)/input(/filter)?$")
_FLOW_RUN_PATH = re.compile(r"/api/flow_runs/([^/]+)$")


@dataclass
class FakeApi:
    """Flow runs and their inputs, served through `httpx.MockTransport`."""

    flow_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_creates: set[str] = field(default_factory=set)
    """Values whose create request fails with HTTP 500."""
    failing_filters: int = 0
    """How many of the next input filter requests fail with HTTP 500."""

    def add_flow_run(
        self,
        name: str = "brave-otter",
        state_type: str = "RUNNING",
        state_details: dict[str, Any] | None = None,
        state_name: str | None = None,
    ) -> str:
        """Add a flow run and return its id."""
        flow_run_id = str(uuid.uuid4())
        self.flow_runs[flow_run_id] = {
            "id": flow_run_id,
            "name": name,
            "flow_id": str(uuid.uuid4()),
            "state": {
                "type": state_type,
                "name": state_name or state_type.title(),
                "state_details": state_details or {},
            },
        }
        self.inputs[flow_run_id] = []
        return flow_run_id

    def set_state(self, flow_run_id: str, state_type: str) -> None:
        """Move a flow run to another state type."""
        state = self.flow_runs[flow_run_id]["state"]
        state["type"] = state_type
        state["name"] = state_type.title()

    def add_input(
        self, flow_run_id: str, key: str, value: str, sender: str | None = None
    ) -> None:
        """Store an input as the server would, one second after the last one."""
        stored = self.inputs[flow_run_id]
        created = START + datetime.timedelta(seconds=len(stored))
        stored.append(
            {
                "id": str(uuid.uuid4()),
                "created": created.isoformat(),
                "updated": created.isoformat(),
                "flow_run_id": flow_run_id,
                "key": key,
                "value": value,
                "sender": sender,
            }
        )

    def filter_bodies(self) -> list[dict[str, Any]]:
        """The bodies of the input filter requests, in order."""
        return [
            json.loads(request.content)
            for request in self.requests
            if request.url.path.endswith("/input/filter")
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/api/flow_runs/filter":
            return self._filter_flow_runs(json.loads(request.content))
        match = _INPUT_PATH.match(path)
        if match and request.method == "POST":
            flow_run_id, is_filter = match.groups()
            if flow_run_id not in self.flow_runs:
                return httpx.Response(404, json={"detail": "Flow run not found"})
            body = json.loads(request.content)
            if is_filter and self.failing_filters:
                self.failing_filters -= 1
                return httpx.Response(500, json={"detail": "database is locked"})
            if is_filter:
                return self._filter_inputs(flow_run_id, body)
            return self._create_input(flow_run_id, body)
        match = _FLOW_RUN_PATH.match(path)
        if match and request.method == "GET":
            flow_run = self.flow_runs.get(match.group(1))
            if flow_run is None:
                return httpx.Response(404, json={"detail": "Flow run not found"})
            return httpx.Response(200, json=flow_run)
        return httpx.Response(404, json={"detail": f"no fake for {path}"})

    def _filter_flow_runs(self, body: dict[str, Any]) -> httpx.Response:
        names = body["flow_runs"]["name"]["any_"]
        runs = [run for run in self.flow_runs.values() if run["name"] in names]
        return httpx.Response(200, json=runs)

    def _filter_inputs(self, flow_run_id: str, body: dict[str, Any]) -> httpx.Response:
        excluded = set(body["exclude_keys"])
        found = [
            stored
            for stored in self.inputs[flow_run_id]
            if stored["key"].startswith(body["prefix"])
            and stored["key"] not in excluded
        ]
        return httpx.Response(200, json=found[: body["limit"]])

    def _create_input(self, flow_run_id: str, body: dict[str, Any]) -> httpx.Response:
        if body["value"] in self.fail_creates:
            return httpx.Response(500, json={"detail": "database is locked"})
        if any(s["key"] == body["key"] for s in self.inputs[flow_run_id]):
            return httpx.Response(409, json={"detail": "Key already exists"})
        self.add_input(flow_run_id, body["key"], body["value"], body["sender"])
        return httpx.Response(201, json={})

    def stored_values(self, flow_run_id: str) -> list[Any]:
        """The decoded values stored on a flow run, oldest first."""
        return [json.loads(s["value"]) for s in self.inputs[flow_run_id]]


@dataclass
class Outcome:
    """What one run of the command printed and returned."""

    exit_code: int
    stdout: str
    stderr: str


def install_fake_api(monkeypatch: pytest.MonkeyPatch, api: FakeApi) -> None:
    """Make the command's clients, sync and async, talk to `api`."""
    settings = Settings(api_url=API_URL)
    transport = httpx.MockTransport(api)

    monkeypatch.setattr(AppState, "settings", lambda self: settings)
    monkeypatch.setattr(
        AppState, "client", lambda self: Client(settings, transport=transport)
    )
    monkeypatch.setattr(
        send_bulk,
        "open_async_client",
        lambda settings: AsyncClient(settings, transport=transport),
    )


def run_command(
    monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None
) -> Outcome:
    """Run `runinput ARGS` as the console script does, capturing its output."""
    if not any(info.name == "send" for info in cli_main.app.registered_commands):
        cli_main._register_commands()
    runner = CliRunner()
    with runner.isolation(input=input) as streams:
        monkeypatch.setattr(sys, "argv", ["runinput", *args])
        exit_code = run_app(cli_main.app)
        stdout, stderr = streams[0].getvalue(), streams[1].getvalue()
    return Outcome(exit_code, stdout.decode(), stderr.decode())
