import uuid

import httpx
import pytest

from runinput import pause
from runinput.client import Client
from runinput.errors import ConnectionFailedError, ResumeRejectedError
from runinput.settings import Settings

API_URL = "http://127.0.0.1:4200/api"
RUN_ID = uuid.UUID("6f1f0c9e-0000-4000-8000-000000000004")
KEYSET = {
    "description": "paused-1-description",
    "response": "paused-1-response",
    "schema": "paused-1-schema",
}


def flow_run(state_type: str, keyset: dict[str, str] | None = KEYSET) -> dict:
    return {
        "id": str(RUN_ID),
        "name": "brave-fox",
        "flow_id": str(uuid.uuid4()),
        "state": {
            "type": state_type,
            "name": state_type.title(),
            "state_details": {"run_input_keyset": keyset},
        },
    }


class FakeServer:
    """Answers reads from the current state; the resume breaks the connection."""

    def __init__(self, states: list[str], response_stored: bool) -> None:
        self.states = states
        self.response_stored = response_stored
        self.resumes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/resume"):
            self.resumes += 1
            raise httpx.ReadError("connection reset by peer")
        if path.endswith("/paused-1-response"):
            if self.response_stored:
                return httpx.Response(200, text='{"ok":true}')
            return httpx.Response(404, json={"detail": "not found"})
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return httpx.Response(200, json=flow_run(state))


def make_client(server: FakeServer) -> Client:
    return Client(Settings(api_url=API_URL), transport=httpx.MockTransport(server))


def test_broken_resume_confirmed_by_stored_answer() -> None:
    server = FakeServer(["PAUSED", "RUNNING"], response_stored=True)

    with make_client(server) as client:
        result = pause.resume(client, RUN_ID, {"ok": True})

    assert result.status == "ACCEPT"
    assert server.resumes == 1


def test_broken_resume_still_paused_says_safe_to_retry() -> None:
    server = FakeServer(["PAUSED"], response_stored=False)

    with make_client(server) as client, pytest.raises(ConnectionFailedError) as caught:
        pause.resume(client, RUN_ID, {"ok": True})

    assert "still paused" in str(caught.value)
    assert "nothing was applied" in str(caught.value)
    assert server.resumes == 1


def test_resume_of_run_no_longer_paused_sends_nothing() -> None:
    server = FakeServer(["RUNNING"], response_stored=False)

    with make_client(server) as client, pytest.raises(ResumeRejectedError) as caught:
        pause.resume(client, RUN_ID, {"ok": True})

    assert caught.value.status == "ABORT"
    assert "nothing was sent" in str(caught.value)
    assert server.resumes == 0
