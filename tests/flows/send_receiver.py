"""A Prefect flow that receives inputs with `prefect.input` and records them.

Usage: `python send_receiver.py OUTPUT_PATH KIND=COUNT [KIND=COUNT ...]`. The
flow prints its flow run id, then for each KIND in turn receives COUNT inputs
and appends each to OUTPUT_PATH as one JSON line with the kind, value, key and
sender. KIND is one of the keys of `RECEIVERS`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from prefect import flow
from prefect.input import receive_input
from prefect.input.run_input import AutomaticRunInput
from prefect.runtime import flow_run
from send_models import NumberData, Point

OPTIONS: dict[str, Any] = {"timeout": 60, "poll_interval": 0.2}

RECEIVERS: dict[str, Callable[[], Any]] = {
    "int": lambda: receive_input(int, with_metadata=True, **OPTIONS),
    "list-int": lambda: receive_input(list[int], with_metadata=True, **OPTIONS),
    "str-greetings": lambda: receive_input(
        str, key_prefix="greetings", with_metadata=True, **OPTIONS
    ),
    "number-data": lambda: NumberData.receive(**OPTIONS),
    "point": lambda: receive_input(Point, **OPTIONS),
}


def record(kind: str, item: Any) -> dict[str, Any]:
    """The kind, value, key and sender of one received input."""
    if isinstance(item, AutomaticRunInput):
        value = item.value
    else:
        value = item.model_dump()
    metadata = item.metadata
    return {
        "kind": kind,
        "value": value,
        "key": metadata.key,
        "sender": metadata.sender,
    }


@flow
def send_receiver(output_path: str, counts: dict[str, int]) -> None:
    print(f"flow run id: {flow_run.id}", flush=True)
    for kind, count in counts.items():
        received = 0
        for item in RECEIVERS[kind]():
            with open(output_path, "a") as output:
                output.write(json.dumps(record(kind, item)) + "\n")
            received += 1
            if received == count:
                break


if __name__ == "__main__":
    counts = dict(argument.split("=") for argument in sys.argv[2:])
    send_receiver(sys.argv[1], {kind: int(count) for kind, count in counts.items()})
    print("done", flush=True)
