"""runinput and prefect.input exchanging messages on one real Prefect server.

Prefect's side always runs inside real Prefect flows in child processes.
runinput's side runs either in such flows too or in the test process, against
a "mailbox" flow run that the test creates through the API.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx
import pydantic
import pytest

import runinput
from runinput import Client, RunInput, receive_input, send_input
from tests.prefect_server import RunFlowInSubprocess, WaitForFlowRunState

pytestmark = pytest.mark.integration


class NumberData(RunInput):
    number: int


class Point(pydantic.BaseModel):
    x: int
    y: int


@pytest.fixture
def mailbox(prefect_api: httpx.Client) -> uuid.UUID:
    """A new flow run that exists only to hold inputs."""
    flow = prefect_api.post("/flows/", json={"name": "mailbox"})
    flow.raise_for_status()
    flow_run = prefect_api.post(
        "/flow_runs/", json={"flow_id": flow.json()["id"], "name": "mailbox-run"}
    )
    flow_run.raise_for_status()
    return uuid.UUID(flow_run.json()["id"])


PREFECT_SENDER_FLOW = """
import sys
from uuid import UUID

import pydantic
from prefect import flow
from prefect.input import RunInput, send_input
from prefect.runtime import flow_run


class NumberData(RunInput):
    number: int


@flow
def prefect_sender(target: UUID) -> None:
    print(f"flow run id: {flow_run.id}", flush=True)
    send_input(5, flow_run_id=target)
    send_input("hello", flow_run_id=target)
    send_input([1, 2, 3], flow_run_id=target)
    send_input({"a": 1}, flow_run_id=target)
    NumberData(number=7).send_to(target)


if __name__ == "__main__":
    prefect_sender(UUID(sys.argv[1]))
    print("done", flush=True)
"""


def test_prefect_flow_sends_runinput_receives(
    mailbox: uuid.UUID, run_flow_in_subprocess: RunFlowInSubprocess
) -> None:
    process = run_flow_in_subprocess(PREFECT_SENDER_FLOW, str(mailbox))
    sender_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)
    process.wait_for_output(r"^done$", timeout=60)

    def receive_all(input_type: object) -> list[object]:
        return list(receive_input(input_type, timeout=0, flow_run_id=mailbox))

    numbers = list(NumberData.receive(timeout=0, flow_run_id=mailbox))
    assert receive_all(int) == [5]
    assert receive_all(str) == ["hello"]
    assert receive_all(list) == [[1, 2, 3]]
    assert receive_all(dict) == [{"a": 1}]
    assert [n.number for n in numbers] == [7]
    assert numbers[0].metadata.sender == f"prefect.flow-run.{sender_id}"
    assert numbers[0].metadata.receiver == mailbox


PREFECT_RECEIVER_FLOW = """
import json
import sys

import pydantic
from prefect import flow
from prefect.input import RunInput, receive_input
from prefect.runtime import flow_run


class NumberData(RunInput):
    number: int


class Point(pydantic.BaseModel):
    x: int
    y: int


@flow
def prefect_receiver() -> None:
    print(f"flow run id: {flow_run.id}", flush=True)
    options = {"timeout": 30, "poll_interval": 0.2}
    got = {
        "int": receive_input(int, **options).next(),
        "str": receive_input(str, **options).next(),
        "list": receive_input(list, **options).next(),
        "dict": receive_input(dict, **options).next(),
        "number": NumberData.receive(**options).next().number,
        "point": receive_input(Point, **options).next().model_dump(),
    }
    print("received " + json.dumps(got), flush=True)


if __name__ == "__main__":
    prefect_receiver()
"""


def test_runinput_sends_prefect_flow_receives(
    prefect_api_url: str, run_flow_in_subprocess: RunFlowInSubprocess
) -> None:
    process = run_flow_in_subprocess(PREFECT_RECEIVER_FLOW)
    receiver = uuid.UUID(process.wait_for_output(r"^flow run id: (\S+)$").group(1))

    send_input(5, flow_run_id=receiver)
    send_input("hello", flow_run_id=receiver)
    send_input([1, 2, 3], flow_run_id=receiver)
    send_input({"a": 1}, flow_run_id=receiver)
    NumberData(number=7).send_to(receiver)
    send_input(Point(x=1, y=2), flow_run_id=receiver)

    received = json.loads(process.wait_for_output(r"^received (.*)$").group(1))
    assert received == {
        "int": 5,
        "str": "hello",
        "list": [1, 2, 3],
        "dict": {"a": 1},
        "number": 7,
        "point": {"x": 1, "y": 2},
    }


# Prefect's module docstring, with runinput's import; the receiver calls
# `data.respond(...)` without `await`, which loses the reply with prefect.input.
DOCSTRING_RECEIVER = """
from prefect import flow
from prefect.runtime import flow_run
from runinput import RunInput


class NumberData(RunInput):
    number: int


@flow
async def receiver_flow():
    print(f"flow run id: {flow_run.id}", flush=True)
    async for data in NumberData.receive(timeout=30, poll_interval=0.2):
        squared = data.number ** 2
        data.respond(NumberData(number=squared))
        print(f"answered {data.number}", flush=True)


if __name__ == "__main__":
    import asyncio

    asyncio.run(receiver_flow())
"""

DOCSTRING_SENDER = """
import sys
from uuid import UUID

from prefect import flow
from {library} import RunInput


class NumberData(RunInput):
    number: int


@flow
async def sender_flow(receiver_flow_run_id: UUID, the_number: int):
    await NumberData(number=the_number).send_to(receiver_flow_run_id)

    receiver = NumberData.receive(
        flow_run_id=receiver_flow_run_id, timeout=30, poll_interval=0.2
    )
    squared = await receiver.next()

    print(f"{{the_number}} squared is {{squared.number}}", flush=True)


if __name__ == "__main__":
    import asyncio

    asyncio.run(sender_flow(UUID(sys.argv[1]), int(sys.argv[2])))
"""


def test_docstring_pair_with_runinput_import(
    run_flow_in_subprocess: RunFlowInSubprocess,
) -> None:
    # The docstring's sender reads replies from the *receiver's* run, where
    # respond() does not write; replies go to the sender's own run. So the
    # sender here reads from its own run, as the protocol intends.
    sender_source = DOCSTRING_SENDER.format(library="runinput").replace(
        "flow_run_id=receiver_flow_run_id, ", ""
    )
    receiver = run_flow_in_subprocess(DOCSTRING_RECEIVER)
    receiver_id = receiver.wait_for_output(r"^flow run id: (\S+)$").group(1)

    sender = run_flow_in_subprocess(sender_source, receiver_id, "12")

    assert (
        sender.wait_for_output(r"^12 squared is (\d+)$", timeout=60).group(1) == "144"
    )
    receiver.wait_for_output(r"^answered 12$")


def test_runinput_respond_reaches_prefect_sender(
    run_flow_in_subprocess: RunFlowInSubprocess,
) -> None:
    sender_source = DOCSTRING_SENDER.format(library="prefect.input").replace(
        "flow_run_id=receiver_flow_run_id, ", ""
    )
    receiver = run_flow_in_subprocess(DOCSTRING_RECEIVER)
    receiver_id = receiver.wait_for_output(r"^flow run id: (\S+)$").group(1)

    sender = run_flow_in_subprocess(sender_source, receiver_id, "9")

    assert sender.wait_for_output(r"^9 squared is (\d+)$", timeout=60).group(1) == "81"


PREFECT_RESPONDER = """
from prefect import flow
from prefect.input import RunInput
from prefect.runtime import flow_run


class NumberData(RunInput):
    number: int


@flow
def prefect_responder():
    print(f"flow run id: {flow_run.id}", flush=True)
    for data in NumberData.receive(timeout=30, poll_interval=0.2):
        data.respond(NumberData(number=data.number * 10))
        print(f"answered {data.number}", flush=True)
        return


if __name__ == "__main__":
    prefect_responder()
"""


def test_prefect_respond_reaches_runinput_sender(
    mailbox: uuid.UUID, run_flow_in_subprocess: RunFlowInSubprocess
) -> None:
    receiver = run_flow_in_subprocess(PREFECT_RESPONDER)
    receiver_id = receiver.wait_for_output(r"^flow run id: (\S+)$").group(1)

    # The mailbox plays the sending flow run: respond() writes to it.
    with runinput.flow_run_context(mailbox):
        NumberData(number=4).send_to(receiver_id)
        reply = NumberData.receive(timeout=30, poll_interval=0.2).next()

    assert reply.number == 40
    assert reply.metadata.sender == f"prefect.flow-run.{receiver_id}"


PAUSING_FLOW = """
import json
import sys

import pydantic
from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.runtime import flow_run
from runinput import RunInput


class Shipment(RunInput):
    quantity: int = pydantic.Field(description="Boxes to ship", ge=1, le=10)
    note: str | None = None


@flow
def wait_for_shipment() -> None:
    print(f"flow run id: {flow_run.id}", flush=True)
    form = Shipment.with_initial_data(description="# Ship?", quantity=2)
    answer = pause_flow_run(wait_for_input=form, timeout=60, poll_interval=0.5)
    print("received " + answer.model_dump_json(), flush=True)


if __name__ == "__main__":
    wait_for_shipment()
"""


def test_real_pause_resumed_through_library(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    from runinput import pause

    process = run_flow_in_subprocess(PAUSING_FLOW)
    run_id = process.wait_for_output(r"^flow run id: (\S+)$").group(1)
    wait_for_flow_run_state(run_id, "PAUSED", process=process)

    with Client() as client:
        paused = _wait_for_schema(client, run_id)
        with pytest.raises(runinput.ResumeRejectedError) as rejected:
            pause.resume(client, run_id, {"quantity": 11})
        still_paused = pause.read_pause(client, run_id)
        accepted = pause.resume(client, run_id, {"quantity": 3, "note": "fragile"})

    quantity = paused.schema["properties"]["quantity"]  # type: ignore[index]
    assert paused.keyset == {
        "description": "paused-1-description",
        "response": "paused-1-response",
        "schema": "paused-1-schema",
    }
    assert paused.description == "# Ship?"
    assert quantity["default"] == 2
    assert quantity["description"] == "Boxes to ship"
    assert quantity["maximum"] == 10
    assert rejected.value.status == "REJECT"
    assert "quantity" in (rejected.value.reason or "")
    assert still_paused.flow_run.state is not None
    assert still_paused.flow_run.state.is_paused
    assert accepted.status == "ACCEPT"
    received = json.loads(process.wait_for_output(r"^received (.*)$").group(1))
    assert received == {"quantity": 3, "note": "fragile"}


def _wait_for_schema(client: Client, run_id: str) -> runinput.pause.Pause:
    import time

    from runinput import pause

    deadline = time.monotonic() + 15
    while True:
        paused = pause.read_pause(client, run_id)
        if not paused.schema_pending or time.monotonic() > deadline:
            return paused
        time.sleep(0.1)


def test_plain_model_sent_and_received(mailbox: uuid.UUID) -> None:
    send_input(Point(x=3, y=4), flow_run_id=mailbox)

    (received,) = list(receive_input(Point, timeout=0, flow_run_id=mailbox))

    assert isinstance(received, Point)
    assert (received.x, received.y) == (3, 4)
    assert received.metadata.key.startswith("pointruninput-auto-")


def test_invalid_stored_values_skipped_with_warning(
    mailbox: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    with Client() as client:
        client.create_flow_run_input(mailbox, "numberdata-auto-1-bad-json", "{oops")
        client.create_flow_run_input(mailbox, "numberdata-auto-2-bad-shape", '{"n":1}')
    NumberData(number=1).send_to(mailbox)

    with caplog.at_level(logging.WARNING, logger="runinput"):
        received = list(NumberData.receive(timeout=0, flow_run_id=mailbox))

    assert [item.number for item in received] == [1]
    warnings = "\n".join(record.getMessage() for record in caplog.records)
    assert "numberdata-auto-1-bad-json" in warnings
    assert "not valid JSON" in warnings
    assert "numberdata-auto-2-bad-shape" in warnings


def test_receive_times_out(mailbox: uuid.UUID) -> None:
    handler = NumberData.receive(
        timeout=0.5, poll_interval=0.1, raise_timeout_error=True, flow_run_id=mailbox
    )

    with pytest.raises(TimeoutError) as caught:
        handler.next()

    assert isinstance(caught.value, runinput.InputTimeoutError)
    assert str(mailbox) in str(caught.value)


def test_iteration_ends_at_timeout(mailbox: uuid.UUID) -> None:
    NumberData(number=1).send_to(mailbox)

    received = list(
        NumberData.receive(timeout=0.3, poll_interval=0.1, flow_run_id=mailbox)
    )

    assert [item.number for item in received] == [1]


def test_exclude_keys_skips_inputs(mailbox: uuid.UUID) -> None:
    for number in (1, 2, 3):
        NumberData(number=number).send_to(mailbox)
    first = NumberData.receive(timeout=0, flow_run_id=mailbox).next()

    rest = NumberData.receive(
        timeout=0, flow_run_id=mailbox, exclude_keys={first.metadata.key}
    )

    assert first.number == 1
    assert [item.number for item in rest] == [2, 3]


def test_receive_reads_in_batches(
    mailbox: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    with Client() as client:
        for number in range(1200):
            client.create_flow_run_input(
                mailbox,
                f"numberdata-auto-{uuid.uuid4()}",
                json.dumps({"number": number}),
            )

    with caplog.at_level(logging.DEBUG, logger="runinput.client"):
        received = [
            item.number for item in NumberData.receive(timeout=0, flow_run_id=mailbox)
        ]

    filter_requests = [
        record for record in caplog.records if "input/filter" in record.getMessage()
    ]
    assert received == list(range(1200))
    assert len(filter_requests) <= 4


@pytest.mark.anyio
async def test_async_twins_and_sync_names_in_async_code(mailbox: uuid.UUID) -> None:
    await NumberData(number=1).asend_to(mailbox)
    await NumberData(number=2).send_to(mailbox)
    NumberData(number=3).send_to(mailbox)  # no await: still delivered
    await runinput.asend_input(4, flow_run_id=mailbox)

    handler = NumberData.receive(timeout=0, flow_run_id=mailbox)
    first = await handler.next()
    second = await handler.anext()
    rest = [item.number async for item in handler]
    value = await receive_input(int, timeout=0, flow_run_id=mailbox).anext()

    assert [first.number, second.number, *rest] == [1, 2, 3]
    assert value == 4


@pytest.mark.anyio
async def test_respond_without_await_delivers(mailbox: uuid.UUID) -> None:
    with runinput.flow_run_context(mailbox):
        await NumberData(number=5).send_to(mailbox)
    request = await NumberData.receive(timeout=0, flow_run_id=mailbox).anext()

    request.respond(NumberData(number=25))  # the docstring's missing await

    replies = NumberData.receive(
        timeout=0, flow_run_id=mailbox, exclude_keys={request.metadata.key}
    )
    assert [item.number async for item in replies] == [25]


def test_save_and_load_round_trip(mailbox: uuid.UUID, tmp_path: Path) -> None:
    keyset = runinput.keyset_from_base_key("manual-1")
    form = NumberData.with_initial_data(description="Pick one", number=3)

    form.save(keyset, flow_run_id=mailbox)
    with Client() as client:
        client.create_flow_run_input(mailbox, keyset["response"], '{"number":8}')
        schema = json.loads(client.read_flow_run_input(mailbox, keyset["schema"]) or "")
        description = client.read_flow_run_input(mailbox, keyset["description"])
    loaded = NumberData.load(keyset, flow_run_id=mailbox)

    assert schema["properties"]["number"]["default"] == 3
    assert description == '"Pick one"'
    assert loaded.number == 8
    assert loaded.metadata.key == "manual-1-response"
