"""A Prefect flow that talks to itself with `prefect.input`, for `runinput watch`.

Usage: `python watch_conversation.py`. The flow prints its flow run id, sends
itself the string "ping", receives it and replies with `respond()`, which
stores `{"reply": "ping pong"}` as a dict input from the flow itself. It then
waits for a string under the key prefix `stop` and returns once one arrives.
"""

from __future__ import annotations

from prefect import flow
from prefect.input import receive_input, send_input
from prefect.runtime import flow_run

OPTIONS = {"timeout": 120, "poll_interval": 0.2}


@flow
def watch_conversation() -> str:
    print(f"flow run id: {flow_run.id}", flush=True)
    send_input("ping", flow_run_id=flow_run.id)
    ping = next(iter(receive_input(str, with_metadata=True, **OPTIONS)))
    ping.respond({"reply": f"{ping.value} pong"})
    print("replied", flush=True)
    stop = next(iter(receive_input(str, key_prefix="stop", **OPTIONS)))
    return stop


if __name__ == "__main__":
    print(f"stopped by {watch_conversation()!r}", flush=True)
