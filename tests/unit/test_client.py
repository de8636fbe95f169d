import base64
import json
import uuid
from collections.abc import Callable

import httpx
import pytest

from runinput import client as client_module
from runinput.client import AsyncClient, Client
from runinput.errors import (
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    ServerError,
    UnauthorizedError,
)
from runinput.settings import Settings

API_URL = "http://127.0.0.1:4200/api"
RUN_ID = uuid.UUID("6f1f0c9e-0000-4000-8000-000000000001")

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A mock server: answers from a list, and keeps every request it got."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", recorded.append)
    return recorded


def make_client(handler: Handler, **settings: str) -> Client:
    return Client(
        Settings(api_url=API_URL, **settings),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
    )


def test_create_input_sends_key_value_sender() -> None:
    server = Recorder(httpx.Response(201, json={}))

    with make_client(server) as client:
        client.create_flow_run_input(RUN_ID, "k-auto-1", '{"value":5}', "me")

    request = server.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{API_URL}/flow_runs/{RUN_ID}/input"
    assert json.loads(request.content) == {
        "key": "k-auto-1",
        "value": '{"value":5}',
        "sender": "me",
    }


def test_every_request_has_timeout() -> None:
    server = Recorder(httpx.Response(200, json=True))

    with make_client(server) as client:
        client.read_health()

    timeout = server.requests[0].extensions["timeout"]
    assert timeout["read"] == pytest.approx(60.0)
    assert timeout["connect"] == pytest.approx(10.0)


def test_read_missing_input_returns_none() -> None:
    server = Recorder(httpx.Response(404, json={"detail": "Flow run input not found"}))

    with make_client(server) as client:
        assert client.read_flow_run_input(RUN_ID, "nope") is None


def test_missing_flow_run_names_it() -> None:
    server = Recorder(httpx.Response(404, json={"detail": "Flow run not found"}))

    with make_client(server) as client, pytest.raises(NotFoundError) as caught:
        client.read_flow_run(RUN_ID)

    assert str(RUN_ID) in str(caught.value)
    assert caught.value.status_code == 404


def test_existing_key_raises_conflict() -> None:
    server = Recorder(httpx.Response(409, json={"detail": "already exists"}))

    with make_client(server) as client, pytest.raises(ConflictError, match="k-1"):
        client.create_flow_run_input(RUN_ID, "k-1", "1")


def test_503_retried_after_retry_after(sleeps: list[float]) -> None:
    server = Recorder(
        httpx.Response(503, headers={"Retry-After": "2"}),
        httpx.Response(200, json=[]),
    )

    with make_client(server) as client:
        assert client.filter_flow_run_input(RUN_ID, "x", 10) == []

    assert len(server.requests) == 2
    assert sleeps == [2.0]


def test_retry_after_is_capped(sleeps: list[float]) -> None:
    server = Recorder(
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json=True),
    )

    with make_client(server) as client:
        client.read_health()

    assert sleeps == [client_module.MAX_RETRY_AFTER_SECONDS]


def test_retries_stop_after_max_attempts(sleeps: list[float]) -> None:
    server = Recorder(httpx.Response(502, text="bad gateway"))

    with make_client(server) as client, pytest.raises(ServerError, match="502"):
        client.read_health()

    assert len(server.requests) == client_module.MAX_ATTEMPTS
    assert len(sleeps) == client_module.MAX_ATTEMPTS - 1


def test_500_is_not_retried(sleeps: list[float]) -> None:
    server = Recorder(httpx.Response(500, json={"detail": "boom"}))

    with make_client(server) as client, pytest.raises(ServerError, match="boom"):
        client.create_flow_run_input(RUN_ID, "k-1", "1")

    assert len(server.requests) == 1
    assert sleeps == []


def test_timeout_on_create_is_not_retried(sleeps: list[float]) -> None:
    server = Recorder(httpx.ReadTimeout("slow"))

    with make_client(server) as client, pytest.raises(ConnectionFailedError) as caught:
        client.create_flow_run_input(RUN_ID, "k-1", "1")

    assert len(server.requests) == 1
    assert API_URL in str(caught.value)
    assert "PREFECT_API_URL" in str(caught.value)


def test_timeout_on_read_is_retried(sleeps: list[float]) -> None:
    server = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json=[]))

    with make_client(server) as client:
        assert client.filter_flow_run_input(RUN_ID, "x") == []

    assert len(server.requests) == 2


def test_conflict_after_retried_create_counts_as_done(sleeps: list[float]) -> None:
    server = Recorder(
        httpx.Response(503, headers={"Retry-After": "0"}),
        httpx.Response(409, json={"detail": "already exists"}),
    )

    with make_client(server) as client:
        client.create_flow_run_input(RUN_ID, "k-1", "1")

    assert len(server.requests) == 2


def test_csrf_token_fetched_when_server_asks() -> None:
    server = Recorder(
        httpx.Response(403, json={"detail": "Missing CSRF token."}),
        httpx.Response(200, json={"token": "tok-1", "client": "c"}),
        httpx.Response(201, json={}),
    )

    with make_client(server) as client:
        client.create_flow_run_input(RUN_ID, "k-1", "1")

    token_request, retried = server.requests[1], server.requests[2]
    assert token_request.url.path == "/api/csrf-token"
    assert retried.headers["Prefect-Csrf-Token"] == "tok-1"
    assert retried.headers["Prefect-Csrf-Client"] == token_request.url.params["client"]


def test_api_key_sent_as_bearer() -> None:
    server = Recorder(httpx.Response(200, json=True))

    with make_client(server, api_key="pnu_abc") as client:
        client.read_health()

    assert server.requests[0].headers["Authorization"] == "Bearer pnu_abc"


def test_auth_string_sent_as_basic() -> None:
    server = Recorder(httpx.Response(200, json=True))

    with make_client(server, auth_string="admin:pw", api_key="pnu_abc") as client:
        client.read_health()

    expected = base64.b64encode(b"admin:pw").decode()
    assert server.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_unauthorized_message_hides_credentials() -> None:
    server = Recorder(
        httpx.Response(401, json={"detail": "bad credentials admin:hunter2"})
    )

    with (
        make_client(server, auth_string="admin:hunter2") as client,
        pytest.raises(UnauthorizedError) as caught,
    ):
        client.read_flow_run(RUN_ID)

    assert "hunter2" not in str(caught.value)
    assert "PREFECT_API_AUTH_STRING" in str(caught.value)


def test_unreachable_server_names_url() -> None:
    server = Recorder(httpx.ConnectError("connection refused"))

    with make_client(server) as client, pytest.raises(ConnectionFailedError) as caught:
        client.create_flow_run_input(RUN_ID, "k", "1")

    assert API_URL in str(caught.value)


def test_resume_parses_verdict() -> None:
    body = {
        "status": "REJECT",
        "state": {"type": "PAUSED", "name": "Paused"},
        "details": {"reason": "Reason: Validation failed for field 'n'."},
    }
    server = Recorder(httpx.Response(200, json=body))

    with make_client(server) as client:
        result = client.resume_flow_run(RUN_ID, {"n": "x"})

    assert result.status == "REJECT"
    assert result.accepted is False
    assert result.details.reason == "Reason: Validation failed for field 'n'."
    assert json.loads(server.requests[0].content) == {"run_input": {"n": "x"}}


def test_unexpected_body_raises_protocol_error() -> None:
    server = Recorder(httpx.Response(200, json={"not": "a flow run"}))

    with make_client(server) as client, pytest.raises(Exception, match="unexpected"):
        client.read_flow_run(RUN_ID)


@pytest.mark.anyio
async def test_async_client_retries_like_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(client_module.anyio, "sleep", no_sleep)
    server = Recorder(
        httpx.Response(503, headers={"Retry-After": "1"}),
        httpx.Response(200, json=[]),
    )
    transport = httpx.MockTransport(server)

    async with AsyncClient(Settings(api_url=API_URL), transport=transport) as client:
        assert await client.filter_flow_run_input(RUN_ID, "x") == []

    assert len(server.requests) == 2


def public_methods(cls: type) -> list[str]:
    return sorted(name for name in vars(cls) if not name.startswith("_"))


def test_sync_and_async_clients_have_same_methods() -> None:
    sync_names = set(public_methods(Client)) - {"close"}
    async_names = set(public_methods(AsyncClient)) - {"aclose"}

    assert sync_names == async_names
