"""How many HTTP clients and requests the input handlers use to read inputs.

A handler serves most items from the batch it already fetched. Building a
client costs a settings lookup that reads the profile file, and for the async
client a new connection pool, so the handlers must do it only when they fetch.
"""

import datetime
import json
import uuid

import httpx
import pytest

from runinput import AsyncClient, Client, Settings, receive, receive_input

RUN_ID = uuid.UUID("6f1f0c9e-0000-4000-8000-000000000003")
API_URL = "http://127.0.0.1:9/api"
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


class FilterServer:
    """Returns input filter results from a fixed list of stored inputs."""

    def __init__(self, count: int) -> None:
        self.inputs = [
            {
                "flow_run_id": str(RUN_ID),
                "key": f"intautomaticruninput-auto-{index:04d}",
                "value": json.dumps({"value": index}),
                "created": (START + datetime.timedelta(seconds=index)).isoformat(),
            }
            for index in range(count)
        ]
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = json.loads(request.content)
        excluded = set(body["exclude_keys"])
        unread = [item for item in self.inputs if item["key"] not in excluded]
        return httpx.Response(200, json=unread[: body["limit"]])


def test_sync_handler_looks_up_client_per_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = FilterServer(5)
    client = Client(Settings(api_url=API_URL), transport=httpx.MockTransport(server))
    lookups = []

    def counting_shared_client() -> Client:
        lookups.append(1)
        return client

    monkeypatch.setattr(receive, "shared_client", counting_shared_client)

    values = list(receive_input(int, timeout=0, flow_run_id=RUN_ID))

    assert values == [0, 1, 2, 3, 4]
    assert server.requests == 2
    assert len(lookups) == server.requests


@pytest.mark.anyio
async def test_async_handler_opens_client_per_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = FilterServer(5)
    opened = []

    class CountingAsyncClient(AsyncClient):
        def __init__(self) -> None:
            opened.append(1)
            super().__init__(
                Settings(api_url=API_URL), transport=httpx.MockTransport(server)
            )

    monkeypatch.setattr(receive, "AsyncClient", CountingAsyncClient)

    handler = receive_input(int, timeout=0, flow_run_id=RUN_ID)
    values = [value async for value in handler]

    assert values == [0, 1, 2, 3, 4]
    assert server.requests == 2
    assert len(opened) == server.requests


def test_handler_reads_5000_inputs_in_two_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = FilterServer(5_000)
    client = Client(Settings(api_url=API_URL), transport=httpx.MockTransport(server))
    monkeypatch.setattr(receive, "shared_client", lambda: client)

    values = list(receive_input(int, timeout=0, flow_run_id=RUN_ID))

    assert values == list(range(5_000))
    # One request returns all of them, and one more finds nothing new.
    assert server.requests == 2
