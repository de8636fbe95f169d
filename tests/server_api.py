"""Direct REST calls that set up test data on a real Prefect server.

The tests write flow runs, pauses and stored inputs through these calls, not
through runinput, so that a bug in runinput cannot also hide in the set-up.
`pause_by_api` gives a flow run the PAUSED state that `pause_flow_run` sets,
keyset included, without a flow process; the server then treats it like any
paused run (resume validates against the stored schema, accepts or rejects).
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from types import TracebackType
from typing import Any

import httpx

BUSY_RETRIES = 5


class ServerApi:
    """An httpx client for one server, with its auth string and a CSRF token."""

    def __init__(self, api_url: str, auth_string: str | None = None) -> None:
        headers = {}
        if auth_string is not None:
            token = base64.b64encode(auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.http = httpx.Client(base_url=api_url, headers=headers, timeout=30.0)
        self._csrf_client = str(uuid.uuid4())

    def __enter__(self) -> ServerApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.http.close()

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Send one request; on a CSRF refusal, fetch a token and send it again.

        A 503, which a busy SQLite server gives when its database is locked,
        is retried a few times.
        """
        for attempt in range(BUSY_RETRIES):
            response = self.http.request(method, path, json=body)
            if response.status_code == 403 and "CSRF" in response.text:
                self._refresh_csrf_token()
                response = self.http.request(method, path, json=body)
            if response.status_code != 503:
                break
            time.sleep(0.5 * (attempt + 1))
        return response

    def _refresh_csrf_token(self) -> None:
        token = self.http.get("/csrf-token", params={"client": self._csrf_client})
        token.raise_for_status()
        self.http.headers["Prefect-Csrf-Token"] = token.json()["token"]
        self.http.headers["Prefect-Csrf-Client"] = self._csrf_client

    def create_flow_run(
        self, flow_name: str = "runinput-tests", state_type: str = "RUNNING"
    ) -> str:
        """Create a flow run of `flow_name` in `state_type` and return its id."""
        flow = self.request("POST", "/flows/", {"name": flow_name})
        flow.raise_for_status()
        body = {
            "flow_id": flow.json()["id"],
            "name": f"run-{uuid.uuid4().hex[:12]}",
            "state": {"type": state_type},
        }
        flow_run = self.request("POST", "/flow_runs/", body)
        flow_run.raise_for_status()
        flow_run_id: str = flow_run.json()["id"]
        return flow_run_id

    def set_state(self, flow_run_id: str, state: dict[str, Any]) -> None:
        """Force a flow run into `state`, as orchestration rules would not."""
        response = self.request(
            "POST",
            f"/flow_runs/{flow_run_id}/set_state",
            {"state": state, "force": True},
        )
        response.raise_for_status()
        assert response.json()["status"] == "ACCEPT", response.text

    def pause_by_api(
        self,
        flow_run_id: str,
        *,
        pause_key: str = "1",
        timeout_seconds: float = 3600.0,
        schema: Any = None,
        description: Any = None,
    ) -> dict[str, str]:
        """Pause a flow run with a keyset, storing `schema` and `description`.

        Each is stored as given when it is a `str` (so it may be invalid JSON),
        as its JSON text otherwise, and not at all when it is None. Returns
        the keyset.
        """
        base = f"paused-{pause_key}"
        keyset = {
            "description": f"{base}-description",
            "response": f"{base}-response",
            "schema": f"{base}-schema",
        }
        timeout = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=timeout_seconds
        )
        state = {
            "type": "PAUSED",
            "name": "Paused",
            "state_details": {
                "pause_timeout": timeout.isoformat(),
                "pause_reschedule": False,
                "pause_key": pause_key,
                "run_input_keyset": keyset,
            },
        }
        self.set_state(flow_run_id, state)
        if schema is not None:
            self.create_input(flow_run_id, keyset["schema"], schema)
        if description is not None:
            self.create_input(flow_run_id, keyset["description"], description)
        return keyset

    def create_input(self, flow_run_id: str, key: str, value: Any) -> None:
        """Store `value` under `key`: a `str` as it is, anything else as JSON."""
        text = value if isinstance(value, str) else json.dumps(value)
        response = self.request(
            "POST",
            f"/flow_runs/{flow_run_id}/input",
            {"key": key, "value": text, "sender": None},
        )
        assert response.status_code == 201, response.text

    def read_input(self, flow_run_id: str, key: str) -> str | None:
        """The JSON text stored under `key`, or None when there is none."""
        response = self.http.get(f"/flow_runs/{flow_run_id}/input/{key}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.text

    def list_inputs(self, flow_run_id: str, prefix: str = "") -> list[dict[str, Any]]:
        """Every stored input whose key starts with `prefix`."""
        response = self.request(
            "POST",
            f"/flow_runs/{flow_run_id}/input/filter",
            {"prefix": prefix, "limit": 1000, "exclude_keys": []},
        )
        response.raise_for_status()
        inputs: list[dict[str, Any]] = response.json()
        return inputs

    def state_type(self, flow_run_id: str) -> str:
        """The flow run's current state type, such as `PAUSED`."""
        response = self.http.get(f"/flow_runs/{flow_run_id}")
        response.raise_for_status()
        state_type: str = response.json()["state"]["type"]
        return state_type

    def delete_flow_run(self, flow_run_id: str) -> None:
        """Delete a flow run and everything stored on it."""
        response = self.request("DELETE", f"/flow_runs/{flow_run_id}")
        assert response.status_code in (204, 404), response.text
