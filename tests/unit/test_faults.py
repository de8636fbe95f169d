"""Faults that a real server does not produce on demand, served by a mock transport.

A resume whose connection breaks after the request went out, a run that
stops being paused, expires or is deleted while the form is open, retry
limits in count and total time, and secrets in error messages. Each resume
test counts the resume requests: an answer is never sent twice.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from typing import Any

import httpx
import pytest

from runinput import (
    Client,
    ConnectionFailedError,
    InvalidSchemaError,
    ServerError,
    Settings,
)
from runinput import client as client_module
from runinput.schema import validate
from runinput_cli import console
from runinput_cli.pause_reader import load_pause
from runinput_cli.resume import ResumeOptions, run_resume

API_URL = "http://127.0.0.1:9/api"
SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer", "title": "N"}},
    "required": ["n"],
}
SECRET_SCHEMA = {
    "type": "object",
    "properties": {
        "user": {"type": "string", "title": "User"},
        "password": {
            "type": "string",
            "format": "password",
            "title": "Password",
            "writeOnly": True,
        },
        "pin": {"type": "string", "title": "Pin", "writeOnly": True},
    },
    "required": ["user", "password", "pin"],
}
KEYSET = {
    "schema": "paused-1-schema",
    "description": "paused-1-description",
    "response": "paused-1-response",
}


class PausedRunApi:
    """One paused flow run whose state, stored answer and transport can be broken.

    `resume_fault` is raised instead of responding to the resume, after the
    run took the answer when `apply_before_fault` is set.
    """

    def __init__(self, schema: dict[str, Any] = SCHEMA) -> None:
        self.flow_run_id = str(uuid.uuid4())
        self.flow_id = str(uuid.uuid4())
        self.schema = schema
        self.state_type = "PAUSED"
        self.pause_timeout = datetime.datetime.now(
            datetime.timezone.utc
        ) + datetime.timedelta(hours=1)
        self.deleted = False
        self.response: str | None = None
        self.resume_fault: Exception | None = None
        self.resume_status = 200
        self.apply_before_fault = False
        self.resumes: list[Any] = []

    def flow_run(self) -> dict[str, Any]:
        return {
            "id": self.flow_run_id,
            "name": "quiet-heron",
            "flow_id": self.flow_id,
            "state": {
                "type": self.state_type,
                "name": self.state_type.title(),
                "state_details": {
                    "pause_timeout": self.pause_timeout.isoformat(),
                    "run_input_keyset": KEYSET,
                },
            },
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        run_path = f"/flow_runs/{self.flow_run_id}"
        if self.deleted and path.startswith(run_path):
            return httpx.Response(404, json={"detail": "Flow run not found"})
        if path == run_path:
            return httpx.Response(200, json=self.flow_run())
        if path == f"/flows/{self.flow_id}":
            return httpx.Response(200, json={"id": self.flow_id, "name": "billing"})
        if path == f"{run_path}/input/{KEYSET['schema']}":
            return httpx.Response(200, text=json.dumps(self.schema))
        if path == f"{run_path}/input/{KEYSET['description']}":
            return httpx.Response(404, json={"detail": "not found"})
        if path == f"{run_path}/input/{KEYSET['response']}":
            if self.response is None:
                return httpx.Response(404, json={"detail": "not found"})
            return httpx.Response(200, text=self.response)
        if path == f"{run_path}/resume":
            return self._resume(request)
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def _resume(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.resumes.append(body)
        if self.resume_fault is not None:
            if self.apply_before_fault:
                self._apply(body)
            raise self.resume_fault
        if self.resume_status != 200:
            return httpx.Response(self.resume_status, text="Internal Server Error")
        self._apply(body)
        return httpx.Response(200, json={"status": "ACCEPT", "state": None})

    def _apply(self, body: dict[str, Any]) -> None:
        self.state_type = "RUNNING"
        self.response = json.dumps(body["run_input"])


@pytest.fixture(autouse=True)
def wide_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.stderr, "_width", 200)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", recorded.append)
    return recorded


def resume_with(api: PausedRunApi, **options: Any) -> int:
    """Read the pause and run `resume` with `--data '{"n": 2}'` and no prompts."""
    transport = httpx.MockTransport(api.handle)
    with Client(Settings(api_url=API_URL), transport=transport) as client:
        loaded = load_pause(client, client.read_flow_run(api.flow_run_id))
        options.setdefault("data", '{"n": 2}')
        return run_resume(client, loaded, ResumeOptions(**options))


def test_resume_lost_response_applied_reports_success(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # The command's log handler prints the warning on stderr; here it is
    # captured as a log record.
    caplog.set_level(logging.WARNING, logger="runinput")
    api = PausedRunApi()
    api.resume_fault = httpx.RemoteProtocolError("Server disconnected")
    api.apply_before_fault = True

    code = resume_with(api)

    stderr = capsys.readouterr().err
    warnings = [record.getMessage() for record in caplog.records]
    assert code == 0
    assert len(api.resumes) == 1
    assert any("connection broke" in warning for warning in warnings)
    assert any("the answer was applied" in warning for warning in warnings)
    assert "Resumed flow run quiet-heron" in stderr


def test_resume_lost_response_not_applied_says_safe() -> None:
    api = PausedRunApi()
    api.resume_fault = httpx.RemoteProtocolError("Server disconnected")

    with pytest.raises(ConnectionFailedError) as caught:
        resume_with(api)

    message = str(caught.value)
    assert len(api.resumes) == 1
    assert api.flow_run_id in message
    assert "still paused" in message
    assert "safe to answer again" in message


def test_resume_lost_response_unknown_says_check() -> None:
    api = PausedRunApi()
    api.resume_fault = httpx.ReadError("connection reset by peer")
    api.apply_before_fault = True

    def fail_after_resume(request: httpx.Request) -> httpx.Response:
        if api.resumes:
            raise httpx.ConnectError("connection refused")
        return api.handle(request)

    transport = httpx.MockTransport(fail_after_resume)
    with Client(Settings(api_url=API_URL), transport=transport) as client:
        loaded = load_pause(client, client.read_flow_run(api.flow_run_id))
        with pytest.raises(ConnectionFailedError) as caught:
            run_resume(client, loaded, ResumeOptions(data='{"n": 2}'))

    assert len(api.resumes) == 1
    assert "unknown whether the answer was applied" in str(caught.value)
    assert "runinput show" in str(caught.value)


def test_resume_timeout_not_repeated(sleeps: list[float]) -> None:
    api = PausedRunApi()
    api.resume_fault = httpx.ReadTimeout("timed out")

    with pytest.raises(ConnectionFailedError) as caught:
        resume_with(api)

    assert len(api.resumes) == 1
    assert sleeps == []
    assert "safe to answer again" in str(caught.value)


def test_resume_server_error_not_repeated(sleeps: list[float]) -> None:
    api = PausedRunApi()
    api.resume_status = 500

    with pytest.raises(ServerError) as caught:
        resume_with(api)

    assert len(api.resumes) == 1
    assert sleeps == []
    assert caught.value.status_code == 500
    assert API_URL in str(caught.value)


def reader_that(change: Any, answers: list[str]) -> Any:
    """A `ReadText` that calls `change()` at its first prompt, then answers."""
    prompts: list[tuple[str, bool]] = []

    def read_text(prompt: str, hidden: bool) -> str:
        if not prompts:
            change()
        prompts.append((prompt, hidden))
        return answers.pop(0)

    read_text.prompts = prompts  # type: ignore[attr-defined]
    return read_text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            "complete", "stopped being paused while the form was open", id="completed"
        ),
        pytest.param("expire", "expired", id="expired"),
        pytest.param("delete", "deleted while the form was open", id="deleted"),
    ],
)
def test_resume_run_changed_during_form(
    capsys: pytest.CaptureFixture[str], change: str, expected: str
) -> None:
    api = PausedRunApi()

    def apply_change() -> None:
        if change == "complete":
            api.state_type = "COMPLETED"
        elif change == "expire":
            api.pause_timeout = datetime.datetime.now(
                datetime.timezone.utc
            ) - datetime.timedelta(seconds=1)
        else:
            api.deleted = True

    read_text = reader_that(apply_change, ["2"])
    code = resume_with(api, data=None, interactive=True, yes=True, read_text=read_text)

    stderr = capsys.readouterr().err
    assert code == 1
    assert api.resumes == []
    assert expected in stderr
    assert "nothing was sent" in stderr


def test_secret_fields_hidden_and_masked(capsys: pytest.CaptureFixture[str]) -> None:
    api = PausedRunApi(SECRET_SCHEMA)
    read_text = reader_that(lambda: None, ["ada", "hunter2-pass", "4242-pin", "y"])

    code = resume_with(api, data=None, interactive=True, read_text=read_text)

    output = capsys.readouterr()
    hidden = {prompt.strip(): flag for prompt, flag in read_text.prompts}
    assert code == 0
    assert hidden["user:"] is False
    assert hidden["password:"] is True
    assert hidden["pin:"] is True
    assert api.resumes == [
        {"run_input": {"user": "ada", "password": "hunter2-pass", "pin": "4242-pin"}}
    ]
    assert "ada" in output.err
    for secret in ("hunter2-pass", "4242-pin"):
        assert secret not in output.err
        assert secret not in output.out


class FakeClock:
    """`time.monotonic` and `time.sleep` for the client, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(client_module.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(client_module.time, "sleep", fake.sleep)
    return fake


def busy_client(status: int, headers: dict[str, str]) -> tuple[Client, list[Any]]:
    requests: list[Any] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, headers=headers, json={"detail": "busy"})

    transport = httpx.MockTransport(handle)
    return Client(Settings(api_url=API_URL), transport=transport), requests


def test_retries_bounded_by_total_time(clock: FakeClock) -> None:
    client, requests = busy_client(503, {"Retry-After": "9"})

    with client, pytest.raises(ServerError) as caught:
        client.read_health()

    assert caught.value.status_code == 503
    assert sum(clock.sleeps) <= client_module.RETRY_BUDGET_SECONDS
    assert clock.sleeps == [9.0, 9.0, 9.0]
    assert len(requests) == 4


def test_retries_bounded_by_count(clock: FakeClock) -> None:
    client, requests = busy_client(429, {"Retry-After": "0"})

    with client, pytest.raises(ServerError):
        client.create_flow_run_input(uuid.uuid4(), "k-1", "1")

    assert len(requests) == client_module.MAX_ATTEMPTS


def test_retry_after_http_date_honoured(clock: FakeClock) -> None:
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)
    answers = [
        httpx.Response(
            502, headers={"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")}
        ),
        httpx.Response(200, json=True),
    ]
    transport = httpx.MockTransport(lambda request: answers.pop(0))

    with Client(Settings(api_url=API_URL), transport=transport) as client:
        healthy = client.read_health()

    assert healthy is True
    assert len(clock.sleeps) == 1
    assert 2.0 <= clock.sleeps[0] <= 4.0


@pytest.mark.parametrize("status", [500, 504])
def test_other_5xx_on_create_not_retried(clock: FakeClock, status: int) -> None:
    client, requests = busy_client(status, {"Retry-After": "1"})

    with client, pytest.raises(ServerError) as caught:
        client.create_flow_run_input(uuid.uuid4(), "k-1", "1")

    assert len(requests) == 1
    assert clock.sleeps == []
    assert f"HTTP {status}" in str(caught.value)


def test_dropped_create_not_repeated(clock: FakeClock) -> None:
    requests: list[httpx.Request] = []

    def drop(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise httpx.RemoteProtocolError("Server disconnected")

    transport = httpx.MockTransport(drop)
    with (
        Client(Settings(api_url=API_URL), transport=transport) as client,
        pytest.raises(ConnectionFailedError) as caught,
    ):
        client.create_flow_run_input(uuid.uuid4(), "k-1", "1")

    assert len(requests) == 1
    assert "Server disconnected" in str(caught.value)


def test_url_password_redacted_in_errors() -> None:
    url = "http://someone:pa%24%24word@127.0.0.1:9/api"

    def reject_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    transport = httpx.MockTransport(reject_connection)
    settings = Settings(api_url=url)
    with (
        Client(settings, transport=transport) as client,
        pytest.raises(ConnectionFailedError) as caught,
    ):
        client.create_flow_run_input(uuid.uuid4(), "k-1", "1")

    message = str(caught.value)
    assert "someone:***@127.0.0.1:9/api" in message
    assert "pa%24%24word" not in message
    assert "pa$$word" not in message
    assert "pa$$word" not in client.api_url


def test_prefect_auth_body_shown_as_unauthorized() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(401, json={"exception_message": "Unauthorized"})
    )

    with (
        Client(Settings(api_url=API_URL), transport=transport) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.read_version()

    message = str(caught.value)
    assert message.startswith("unauthorized: ")
    assert "(Unauthorized)" in message
    assert "No credentials were sent" in message


def test_validate_long_reference_chain_invalid() -> None:
    length = 1500
    definitions: dict[str, Any] = {
        f"M{i}": {"allOf": [{"$ref": f"#/definitions/M{i + 1}"}]} for i in range(length)
    }
    definitions[f"M{length}"] = {"type": "string"}
    schema = {
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/M0"}},
        "definitions": definitions,
    }

    with pytest.raises(InvalidSchemaError) as caught:
        validate({"x": "a"}, schema)

    assert "too deeply" in str(caught.value)


def test_resume_applied_behind_proxy_502_accepted(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    sleeps: list[float],
) -> None:
    # The proxy answers 502 after the server took the resume, so the client's
    # repeat meets a run that is no longer paused.
    caplog.set_level(logging.WARNING, logger="runinput")
    api = PausedRunApi()

    def proxy(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/resume"):
            return api.handle(request)
        api.resumes.append(json.loads(request.content))
        if len(api.resumes) == 1:
            api._apply(api.resumes[0])
            return httpx.Response(502, text="Bad Gateway")
        return httpx.Response(200, json={"status": "ABORT", "state": None})

    transport = httpx.MockTransport(proxy)
    with Client(Settings(api_url=API_URL), transport=transport) as client:
        loaded = load_pause(client, client.read_flow_run(api.flow_run_id))
        code = run_resume(client, loaded, ResumeOptions(data='{"n": 2}'))

    stderr = capsys.readouterr().err
    warnings = [record.getMessage() for record in caplog.records]
    assert code == 0
    assert len(api.resumes) == 2
    assert len(sleeps) == 1
    assert api.response == '{"n": 2}'
    assert any("already took this answer" in warning for warning in warnings)
    assert "Resumed flow run quiet-heron" in stderr


def test_resume_taken_by_other_answer_not_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = PausedRunApi()

    def other_answer_first(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/resume"):
            return api.handle(request)
        api.resumes.append(json.loads(request.content))
        api.state_type = "RUNNING"
        api.response = '{"n": 8}'
        return httpx.Response(200, json={"status": "ABORT", "state": None})

    transport = httpx.MockTransport(other_answer_first)
    with Client(Settings(api_url=API_URL), transport=transport) as client:
        loaded = load_pause(client, client.read_flow_run(api.flow_run_id))
        code = run_resume(client, loaded, ResumeOptions(data='{"n": 2}'))

    stderr = capsys.readouterr().err
    assert code == 1
    assert "not paused" in stderr
