"""
HTTP clients for the Prefect endpoints that the input protocol uses.

`Client` and `AsyncClient` are thin mirrors with the same methods in the same
order. Everything without I/O lives in `BaseClient`: building each call,
parsing responses into models and turning statuses into exceptions. The retry
and CSRF exchange is written once, as a generator that yields requests to send
and delays to wait, and each twin drives it with its own I/O.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import httpx
import pydantic

from .errors import (
    ConflictError,
    ConnectionFailedError,
    NotFoundError,
    ProtocolError,
    ServerError,
    UnauthorizedError,
)
from .models import Flow, FlowRun, FlowRunInput, OrchestrationResult
from .settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
FlowRunId = uuid.UUID | str

RETRY_STATUSES = frozenset({429, 502, 503})
MAX_ATTEMPTS = 5
RETRY_BUDGET_SECONDS = 30.0
"""Retries stop once waiting again would pass this many seconds in total."""
MAX_RETRY_AFTER_SECONDS = 10.0

_Step = httpx.Request | float
"""A step of an exchange: a request to send, or a number of seconds to wait."""
_Exchange = Generator[_Step, httpx.Response | None, T]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One endpoint call: the request to make and how to parse its response."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    subject: str
    json: Any = None
    params: Mapping[str, str] | None = None
    expected: tuple[int, ...] = (200,)
    # A repeat of a call that changes state could apply it twice, so only
    # calls marked safe are repeated after a timeout or a dropped connection.
    safe_to_repeat: bool = True
    # When a repeated create meets 409, the earlier attempt stored the key.
    conflict_on_repeat_means_done: bool = False
    missing: Callable[[], T] | None = field(default=None)


def _ignore(response: httpx.Response) -> None:
    return None


def _parse_list(model: type[pydantic.BaseModel]) -> Callable[[httpx.Response], Any]:
    adapter = pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> Any:
        return adapter.validate_json(response.content)

    return parse


def _parse_one(model: type[pydantic.BaseModel]) -> Callable[[httpx.Response], Any]:
    def parse(response: httpx.Response) -> Any:
        return model.model_validate_json(response.content)

    return parse


_parse_inputs = _parse_list(FlowRunInput)
_parse_flow_runs = _parse_list(FlowRun)
_parse_flows = _parse_list(Flow)
_parse_flow_run = _parse_one(FlowRun)
_parse_flow = _parse_one(Flow)
_parse_result = _parse_one(OrchestrationResult)


class BaseClient:
    """Settings, call building and response handling shared by both clients."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.resolve()
        self._csrf_client = str(uuid.uuid4())
        self._csrf_token: str | None = None

    @property
    def api_url(self) -> str:
        """The API URL for messages, with any password in it replaced by `***`."""
        return self.settings.redact(self.settings.api_url)

    def _default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": "runinput", "Accept": "application/json"}
        if self.settings.auth_string:
            encoded = base64.b64encode(self.settings.auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {encoded}"
        elif self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return headers

    def _verify(self) -> ssl.SSLContext | bool:
        if not self.settings.verify_tls:
            return False
        return _ssl_context(self.settings.ssl_cert_file)

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            self.settings.timeout, connect=min(10.0, self.settings.timeout)
        )

    # Calls, one per endpoint, in the order the twins expose them.

    def _create_flow_run_input(
        self, flow_run_id: FlowRunId, key: str, value: str, sender: str | None
    ) -> Call[None]:
        return Call(
            "POST",
            f"flow_runs/{flow_run_id}/input",
            _ignore,
            subject=f"input {key!r} on flow run {flow_run_id}",
            json={"key": key, "value": value, "sender": sender},
            expected=(201, 200),
            safe_to_repeat=False,
            conflict_on_repeat_means_done=True,
        )

    def _filter_flow_run_input(
        self,
        flow_run_id: FlowRunId,
        key_prefix: str,
        limit: int,
        exclude_keys: Iterable[str],
    ) -> Call[list[FlowRunInput]]:
        return Call(
            "POST",
            f"flow_runs/{flow_run_id}/input/filter",
            _parse_inputs,
            subject=f"inputs of flow run {flow_run_id}",
            json={
                "prefix": key_prefix,
                "limit": limit,
                "exclude_keys": list(exclude_keys),
            },
        )

    def _read_flow_run_input(
        self, flow_run_id: FlowRunId, key: str
    ) -> Call[str | None]:
        return Call(
            "GET",
            f"flow_runs/{flow_run_id}/input/{key}",
            lambda response: response.text,
            subject=f"input {key!r} on flow run {flow_run_id}",
            missing=lambda: None,
        )

    def _delete_flow_run_input(self, flow_run_id: FlowRunId, key: str) -> Call[None]:
        return Call(
            "DELETE",
            f"flow_runs/{flow_run_id}/input/{key}",
            _ignore,
            subject=f"input {key!r} on flow run {flow_run_id}",
            expected=(204, 200),
            safe_to_repeat=False,
        )

    def _read_flow_run(self, flow_run_id: FlowRunId) -> Call[FlowRun]:
        return Call(
            "GET",
            f"flow_runs/{flow_run_id}",
            _parse_flow_run,
            subject=f"flow run {flow_run_id}",
        )

    def _read_flow_runs(
        self, filters: Mapping[str, Any], limit: int, offset: int, sort: str
    ) -> Call[list[FlowRun]]:
        body = {**filters, "limit": limit, "offset": offset, "sort": sort}
        return Call(
            "POST", "flow_runs/filter", _parse_flow_runs, "flow runs", json=body
        )

    def _count_flow_runs(self, filters: Mapping[str, Any]) -> Call[int]:
        return Call(
            "POST",
            "flow_runs/count",
            lambda response: int(response.json()),
            "flow runs",
            json=dict(filters),
        )

    def _read_flows(self, flow_ids: Iterable[FlowRunId]) -> Call[list[Flow]]:
        ids = [str(flow_id) for flow_id in flow_ids]
        return Call(
            "POST",
            "flows/filter",
            _parse_flows,
            "flows",
            json={"flows": {"id": {"any_": ids}}, "limit": len(ids) or 1},
        )

    def _read_flow(self, flow_id: FlowRunId) -> Call[Flow]:
        return Call("GET", f"flows/{flow_id}", _parse_flow, f"flow {flow_id}")

    def _resume_flow_run(
        self, flow_run_id: FlowRunId, run_input: Mapping[str, Any] | None
    ) -> Call[OrchestrationResult]:
        body = {} if run_input is None else {"run_input": dict(run_input)}
        return Call(
            "POST",
            f"flow_runs/{flow_run_id}/resume",
            _parse_result,
            subject=f"flow run {flow_run_id}",
            json=body,
            expected=(200, 201),
            safe_to_repeat=False,
        )

    def _read_health(self) -> Call[bool]:
        return Call("GET", "health", lambda response: bool(response.json()), "health")

    def _read_version(self) -> Call[str]:
        return Call(
            "GET", "admin/version", lambda response: str(response.json()), "version"
        )

    # The exchange shared by both twins.

    def _exchange(self, call: Call[T]) -> _Exchange[T]:
        started = time.monotonic()
        csrf_refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = yield self._build_request(call)
            except httpx.TransportError as exc:
                delay = _backoff(attempt)
                if not call.safe_to_repeat or not _may_retry(attempt, started, delay):
                    raise self._connection_error(call, exc) from exc
                logger.debug("retrying %s %s after %r", call.method, call.path, exc)
                yield delay
                continue
            assert response is not None

            if _asks_for_csrf_token(response) and not csrf_refreshed:
                csrf_refreshed = True
                token_response = yield self._build_csrf_request()
                assert token_response is not None
                self._store_csrf_token(token_response)
                attempt -= 1
                continue

            retry_delay = _retry_delay(response, attempt)
            if retry_delay is not None and _may_retry(attempt, started, retry_delay):
                logger.debug(
                    "server returned %s for %s %s; retrying in %.1f s",
                    response.status_code,
                    call.method,
                    call.path,
                    retry_delay,
                )
                yield retry_delay
                continue
            return self._handle_response(call, response, attempt)

    def _build_request(self, call: Call[Any]) -> httpx.Request:
        headers = self._default_headers()
        if call.method != "GET" and self._csrf_token:
            headers["Prefect-Csrf-Token"] = self._csrf_token
            headers["Prefect-Csrf-Client"] = self._csrf_client
        return httpx.Request(
            call.method,
            f"{self.settings.api_url}/{call.path}",
            json=call.json,
            params=call.params,
            headers=headers,
            extensions={"timeout": self._timeout().as_dict()},
        )

    def _build_csrf_request(self) -> httpx.Request:
        return httpx.Request(
            "GET",
            f"{self.settings.api_url}/csrf-token",
            params={"client": self._csrf_client},
            headers=self._default_headers(),
            extensions={"timeout": self._timeout().as_dict()},
        )

    def _store_csrf_token(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise self._status_error(
                Call("GET", "csrf-token", _ignore, "a CSRF token"), response
            )
        self._csrf_token = str(response.json()["token"])

    def _handle_response(
        self, call: Call[T], response: httpx.Response, attempt: int
    ) -> T:
        logger.debug("%s %s -> %s", call.method, call.path, response.status_code)
        status = response.status_code
        if status in call.expected:
            try:
                return call.parse(response)
            except (ValueError, pydantic.ValidationError) as exc:
                raise ProtocolError(
                    f"unexpected response from the server for {call.subject}: {exc}"
                ) from exc
        if status == 404 and call.missing is not None:
            return call.missing()
        if status == 409 and attempt > 1 and call.conflict_on_repeat_means_done:
            # The first attempt reached the server before its answer was lost.
            return call.parse(response)
        raise self._status_error(call, response)

    def _status_error(self, call: Call[Any], response: httpx.Response) -> ServerError:
        status = response.status_code
        detail = self.settings.redact(_detail(response))
        where = self.settings.redact(self.settings.api_url)
        if status in (401, 403):
            kind = self.settings.credentials_kind
            sent = (
                "No credentials were sent"
                if kind == "none"
                else f"It did not accept the {kind} that was sent"
            )
            return UnauthorizedError(
                f"unauthorized: the Prefect API at {where} returned HTTP {status} "
                f"({detail}) to the request for {call.subject}. {sent}: check "
                "PREFECT_API_AUTH_STRING (user:password) or PREFECT_API_KEY",
                response=response,
            )
        if status == 404:
            return NotFoundError(f"{call.subject} not found", response=response)
        if status == 409:
            return ConflictError(f"{call.subject} already exists", response=response)
        return ServerError(
            f"the Prefect API at {where} returned HTTP {status} for "
            f"{call.subject}: {detail}",
            response=response,
        )

    def _connection_error(
        self, call: Call[Any], exc: httpx.TransportError
    ) -> ConnectionFailedError:
        url = self.settings.redact(self.settings.api_url)
        if isinstance(exc, httpx.TimeoutException):
            reason = f"timed out after {self.settings.timeout:g} s"
        else:
            reason = f"failed: {self.settings.redact(str(exc)) or type(exc).__name__}"
        return ConnectionFailedError(
            f"request for {call.subject} to the Prefect API at {url} {reason}; "
            "set PREFECT_API_URL (or pass --api-url) to use another server",
            api_url=url,
        )


class Client(BaseClient):
    """A synchronous client for the input protocol's endpoints."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings)
        self._http = httpx.Client(
            transport=transport, timeout=self._timeout(), verify=self._verify()
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create_flow_run_input(
        self, flow_run_id: FlowRunId, key: str, value: str, sender: str | None = None
    ) -> None:
        """Store `value`, a JSON text, under `key` on a flow run."""
        return self._run(self._create_flow_run_input(flow_run_id, key, value, sender))

    def filter_flow_run_input(
        self,
        flow_run_id: FlowRunId,
        key_prefix: str,
        limit: int = 1,
        exclude_keys: Iterable[str] = (),
    ) -> list[FlowRunInput]:
        """List inputs whose key starts with `key_prefix`, oldest first."""
        call = self._filter_flow_run_input(flow_run_id, key_prefix, limit, exclude_keys)
        return self._run(call)

    def read_flow_run_input(self, flow_run_id: FlowRunId, key: str) -> str | None:
        """Read one input's JSON text, or None if the key does not exist."""
        return self._run(self._read_flow_run_input(flow_run_id, key))

    def delete_flow_run_input(self, flow_run_id: FlowRunId, key: str) -> None:
        """Delete one input."""
        return self._run(self._delete_flow_run_input(flow_run_id, key))

    def read_flow_run(self, flow_run_id: FlowRunId) -> FlowRun:
        """Read a flow run; raises `NotFoundError` if there is none."""
        return self._run(self._read_flow_run(flow_run_id))

    def read_flow_runs(
        self,
        filters: Mapping[str, Any],
        *,
        limit: int = 200,
        offset: int = 0,
        sort: str = "EXPECTED_START_TIME_DESC",
    ) -> list[FlowRun]:
        """Read one page of flow runs matching the server-side `filters`."""
        return self._run(self._read_flow_runs(filters, limit, offset, sort))

    def count_flow_runs(self, filters: Mapping[str, Any]) -> int:
        """Count the flow runs matching `filters`."""
        return self._run(self._count_flow_runs(filters))

    def read_flows(self, flow_ids: Iterable[FlowRunId]) -> list[Flow]:
        """Read the flows with the given ids."""
        return self._run(self._read_flows(flow_ids))

    def read_flow(self, flow_id: FlowRunId) -> Flow:
        """Read one flow."""
        return self._run(self._read_flow(flow_id))

    def resume_flow_run(
        self, flow_run_id: FlowRunId, run_input: Mapping[str, Any] | None = None
    ) -> OrchestrationResult:
        """Ask the server to resume a paused flow run and return its verdict."""
        return self._run(self._resume_flow_run(flow_run_id, run_input))

    def read_health(self) -> bool:
        """Return whether the server reports itself healthy."""
        return self._run(self._read_health())

    def read_version(self) -> str:
        """Return the server's Prefect version."""
        return self._run(self._read_version())

    def _run(self, call: Call[T]) -> T:
        exchange = self._exchange(call)
        step = next(exchange)
        while True:
            try:
                if isinstance(step, httpx.Request):
                    try:
                        response = self._http.send(step)
                    except httpx.TransportError as exc:
                        step = exchange.throw(exc)
                        continue
                    step = exchange.send(response)
                else:
                    time.sleep(step)
                    step = exchange.send(None)
            except StopIteration as stop:
                result: T = stop.value
                return result


class AsyncClient(BaseClient):
    """An asynchronous client for the input protocol's endpoints."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings)
        self._http = httpx.AsyncClient(
            transport=transport, timeout=self._timeout(), verify=self._verify()
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_flow_run_input(
        self, flow_run_id: FlowRunId, key: str, value: str, sender: str | None = None
    ) -> None:
        """Store `value`, a JSON text, under `key` on a flow run."""
        call = self._create_flow_run_input(flow_run_id, key, value, sender)
        return await self._run(call)

    async def filter_flow_run_input(
        self,
        flow_run_id: FlowRunId,
        key_prefix: str,
        limit: int = 1,
        exclude_keys: Iterable[str] = (),
    ) -> list[FlowRunInput]:
        """List inputs whose key starts with `key_prefix`, oldest first."""
        call = self._filter_flow_run_input(flow_run_id, key_prefix, limit, exclude_keys)
        return await self._run(call)

    async def read_flow_run_input(self, flow_run_id: FlowRunId, key: str) -> str | None:
        """Read one input's JSON text, or None if the key does not exist."""
        return await self._run(self._read_flow_run_input(flow_run_id, key))

    async def delete_flow_run_input(self, flow_run_id: FlowRunId, key: str) -> None:
        """Delete one input."""
        return await self._run(self._delete_flow_run_input(flow_run_id, key))

    async def read_flow_run(self, flow_run_id: FlowRunId) -> FlowRun:
        """Read a flow run; raises `NotFoundError` if there is none."""
        return await self._run(self._read_flow_run(flow_run_id))

    async def read_flow_runs(
        self,
        filters: Mapping[str, Any],
        *,
        limit: int = 200,
        offset: int = 0,
        sort: str = "EXPECTED_START_TIME_DESC",
    ) -> list[FlowRun]:
        """Read one page of flow runs matching the server-side `filters`."""
        return await self._run(self._read_flow_runs(filters, limit, offset, sort))

    async def count_flow_runs(self, filters: Mapping[str, Any]) -> int:
        """Count the flow runs matching `filters`."""
        return await self._run(self._count_flow_runs(filters))

    async def read_flows(self, flow_ids: Iterable[FlowRunId]) -> list[Flow]:
        """Read the flows with the given ids."""
        return await self._run(self._read_flows(flow_ids))

    async def read_flow(self, flow_id: FlowRunId) -> Flow:
        """Read one flow."""
        return await self._run(self._read_flow(flow_id))

    async def resume_flow_run(
        self, flow_run_id: FlowRunId, run_input: Mapping[str, Any] | None = None
    ) -> OrchestrationResult:
        """Ask the server to resume a paused flow run and return its verdict."""
        return await self._run(self._resume_flow_run(flow_run_id, run_input))

    async def read_health(self) -> bool:
        """Return whether the server reports itself healthy."""
        return await self._run(self._read_health())

    async def read_version(self) -> str:
        """Return the server's Prefect version."""
        return await self._run(self._read_version())

    async def _run(self, call: Call[T]) -> T:
        exchange = self._exchange(call)
        step = next(exchange)
        while True:
            try:
                if isinstance(step, httpx.Request):
                    try:
                        response = await self._http.send(step)
                    except httpx.TransportError as exc:
                        step = exchange.throw(exc)
                        continue
                    step = exchange.send(response)
                else:
                    await anyio.sleep(step)
                    step = exchange.send(None)
            except StopIteration as stop:
                result: T = stop.value
                return result


_ssl_contexts: dict[str | None, ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def _ssl_context(cert_file: str | None) -> ssl.SSLContext:
    """A TLS context shared by every client with the same certificate file.

    Building one loads the certificate bundle, which takes 0.1 to 0.3 s, so a
    new client per call (as the async API makes) must not build its own.
    """
    with _ssl_lock:
        context = _ssl_contexts.get(cert_file)
        if context is None:
            context = httpx.create_ssl_context(verify=cert_file or True)
            _ssl_contexts[cert_file] = context
        return context


def _asks_for_csrf_token(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    detail = _detail(response)
    return "CSRF token" in detail or "client identifier" in detail


def _retry_delay(response: httpx.Response, attempt: int) -> float | None:
    """Seconds to wait before repeating a request, or None if it must not repeat."""
    if response.status_code not in RETRY_STATUSES:
        return None
    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is None:
        return _backoff(attempt)
    return min(retry_after, MAX_RETRY_AFTER_SECONDS)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _backoff(attempt: int) -> float:
    # Exponential with jitter: about 0.25, 0.5, 1, 2 seconds.
    base: float = 0.25 * 2 ** (attempt - 1)
    return base * random.uniform(0.8, 1.2)


def _may_retry(attempt: int, started: float, delay: float) -> bool:
    elapsed = time.monotonic() - started
    return attempt < MAX_ATTEMPTS and elapsed + delay <= RETRY_BUDGET_SECONDS


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        # FastAPI errors carry `detail`; Prefect's auth and internal errors
        # carry `exception_message`.
        for name in ("detail", "exception_message"):
            if name in body:
                return str(body[name])[:300]
    return str(body)[:300]


_shared_clients: dict[Settings, Client] = {}


def shared_client() -> Client:
    """A synchronous client for the current settings, kept open for reuse.

    The public RunInput API uses it, so that a loop of `send_to` calls reuses
    one connection. Settings are resolved on every call, so a change of
    `PREFECT_API_URL` takes effect at the next call.
    """
    settings = Settings.resolve()
    client = _shared_clients.get(settings)
    if client is None:
        client = _shared_clients[settings] = Client(settings)
    return client
