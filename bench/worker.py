"""The measured side of each benchmark, run by `bench/run.py` in a child process.

Every task runs in a fresh interpreter, so that Prefect reads its settings
from the environment that `run.py` prepared, one library's imports cannot
speed up or slow down the other's, and peak memory belongs to one task.
Tasks that use `prefect.input` run inside a Prefect flow, its intended
setting: there Prefect reuses one API client, while outside a flow it builds
a new client, with a new TLS context, for every request. Timers start after
the imports and the flow run's start, and stop when the last input is read.

A task prints its result as one line, `RESULT <json>`, after any log output.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LIBRARIES = ("runinput", "prefect")
CHECKPOINT_EVERY = 500
"""Inputs between two timestamps of a receive, for the cost growth report."""


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def current_rss_kib() -> int:
    """Return the resident set size of this process in KiB, from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() // 1024


def peak_rss_kib() -> int:
    """Return the peak resident set size of this process in KiB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def library_api(library: str) -> Any:
    """Return the module whose `receive_input` and `send_input` are measured."""
    if library == "prefect":
        import prefect.input

        return prefect.input
    import runinput

    return runinput


def run_in_flow(body: Callable[[], dict[str, Any]], name: str) -> dict[str, Any]:
    """Run `body` inside a Prefect flow run and return what it returned."""
    from prefect import flow

    outcome: dict[str, Any] = {}

    @flow(name=name, persist_result=False, log_prints=False)
    def bench_flow() -> None:
        outcome.update(body())

    bench_flow()
    return outcome


# Receive all


def new_handler(api: Any, flow_run_id: uuid.UUID) -> Any:
    """Return a handler that reads `int` inputs until none is left, not waiting."""
    return api.receive_input(int, timeout=0, poll_interval=0, flow_run_id=flow_run_id)


def receive_once(
    api: Any, flow_run_id: uuid.UUID, expected: int, limit: float
) -> dict[str, Any]:
    """Read every `int` input of a flow run with a new handler, and time it.

    Stops early, marking the result incomplete, once `limit` seconds pass.
    """
    values: list[int] = []
    checkpoints: list[tuple[int, float]] = []
    complete = True
    started = time.perf_counter()
    handler = new_handler(api, flow_run_id)
    for value in handler:
        values.append(value)
        if len(values) % CHECKPOINT_EVERY == 0:
            checkpoints.append((len(values), time.perf_counter() - started))
        if time.perf_counter() - started > limit:
            complete = False
            break
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "count": len(values),
        "distinct": len(set(values)),
        "values_match": complete and sorted(values) == list(range(expected)),
        "complete": complete,
        "checkpoints": checkpoints,
    }


def task_receive(args: argparse.Namespace) -> dict[str, Any]:
    api = library_api(args.library)
    flow_run_id = uuid.UUID(args.flow_run)

    def body() -> dict[str, Any]:
        # A short read first, so that connection set-up and the building of
        # model classes do not count against the first repetition.
        warm = new_handler(api, flow_run_id)
        for _, _value in zip(range(5), warm, strict=False):
            pass
        rss_before = current_rss_kib()
        runs: list[dict[str, Any]] = []
        peak_after_first = 0
        for _ in range(args.repeat):
            runs.append(receive_once(api, flow_run_id, args.expected, args.limit))
            if len(runs) == 1:
                peak_after_first = peak_rss_kib()
            if not runs[-1]["complete"]:
                break
        return {
            "runs": runs,
            "rss_before_kib": rss_before,
            "peak_rss_after_first_kib": peak_after_first,
        }

    if args.in_flow:
        return run_in_flow(body, f"bench-receive-{args.library}")
    return body()


# Round trip


def message_classes(library: str) -> tuple[type[Any], type[Any]]:
    """Return the Ping and Pong RunInput classes built on `library`."""
    run_input = library_api(library).RunInput

    class Ping(run_input):  # type: ignore[misc, valid-type]
        seq: int

    class Pong(run_input):  # type: ignore[misc, valid-type]
        seq: int

    return Ping, Pong


def task_echo(args: argparse.Namespace) -> dict[str, Any]:
    """Reply to `count` Ping messages with a Pong each, inside a flow run."""
    ping_cls, pong_cls = message_classes(args.library)

    def body() -> dict[str, Any]:
        from prefect.runtime import flow_run

        print(f"flow run id: {flow_run.id}", flush=True)
        handler = ping_cls.receive(timeout=args.timeout, poll_interval=args.poll)
        answered = 0
        for ping in handler:
            ping.respond(pong_cls(seq=ping.seq))
            answered += 1
            if answered == args.count:
                break
        return {"answered": answered}

    return run_in_flow(body, f"bench-echo-{args.library}")


def task_ping(args: argparse.Namespace) -> dict[str, Any]:
    """Send Ping messages to an echo flow run and time each until its Pong."""
    ping_cls, pong_cls = message_classes(args.library)
    target = uuid.UUID(args.target)

    def body() -> dict[str, Any]:
        replies: Iterator[Any] = iter(
            pong_cls.receive(
                timeout=args.timeout, poll_interval=args.poll, raise_timeout_error=True
            )
        )
        latencies = []
        for seq in range(args.warmup + args.count):
            started = time.perf_counter()
            ping_cls(seq=seq).send_to(target)
            pong = next(replies)
            elapsed = time.perf_counter() - started
            if pong.seq != seq:
                raise RuntimeError(f"expected the reply to {seq}, got {pong.seq}")
            if seq >= args.warmup:
                latencies.append(elapsed)
        return {"latencies": latencies}

    return run_in_flow(body, f"bench-ping-{args.library}")


# Bulk send


def task_send_loop(args: argparse.Namespace) -> dict[str, Any]:
    """Send `count` integers one `send_input` call after another."""
    api = library_api(args.library)
    flow_run_id = uuid.UUID(args.flow_run)

    def body() -> dict[str, Any]:
        api.send_input(-1, flow_run_id=flow_run_id)
        started = time.perf_counter()
        for value in range(args.count):
            api.send_input(value, flow_run_id=flow_run_id)
        return {"seconds": time.perf_counter() - started, "count": args.count}

    if args.in_flow:
        return run_in_flow(body, f"bench-send-{args.library}")
    return body()


# Where prefect.input stops working


def task_exclude_limit(args: argparse.Namespace) -> dict[str, Any]:
    """Find the smallest exclude list that makes Prefect's handler fail.

    A Prefect handler that has read K inputs sends those K keys with its next
    request. Reading 50,000 inputs one at a time would take days, so the
    handler is given the first K stored keys as `exclude_keys` instead, and
    one `next()` call shows whether the server still returns an input. When
    even the largest list works, one more probe halfway gives the notes a
    third point to fit request time against list size.
    """
    from prefect.input import receive_input

    keys = Path(args.keys_file).read_text().split()
    flow_run_id = uuid.UUID(args.flow_run)
    probes: list[dict[str, Any]] = []

    def probe(size: int) -> bool:
        handler = receive_input(
            int,
            timeout=0,
            poll_interval=0,
            flow_run_id=flow_run_id,
            exclude_keys=set(keys[:size]),
        )
        started = time.perf_counter()
        try:
            next(iter(handler))
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            probes.append(
                {
                    "size": size,
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}"[:600],
                    "seconds": time.perf_counter() - started,
                }
            )
            return False
        probes.append(
            {"size": size, "ok": True, "seconds": time.perf_counter() - started}
        )
        return True

    low, high = args.low, min(args.high, len(keys))
    if not probe(low):
        return {"probes": probes, "first_failing": None, "last_working": None}
    if probe(high):
        # One more size between the two, so that the time per excluded key
        # can be fitted to more than two points.
        probe((low + high) // 2)
        return {"probes": probes, "first_failing": None, "last_working": high}
    while high - low > args.resolution:
        middle = (low + high) // 2
        if probe(middle):
            low = middle
        else:
            high = middle
    return {"probes": probes, "first_failing": high, "last_working": low}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest="task", required=True)

    receive = tasks.add_parser("receive")
    receive.add_argument("--library", choices=LIBRARIES, required=True)
    receive.add_argument("--flow-run", required=True)
    receive.add_argument("--expected", type=int, required=True)
    receive.add_argument("--repeat", type=int, default=1)
    receive.add_argument("--limit", type=float, default=600.0)
    receive.add_argument("--in-flow", action="store_true")
    receive.set_defaults(run=task_receive)

    for name, run in (("echo", task_echo), ("ping", task_ping)):
        exchange = tasks.add_parser(name)
        exchange.add_argument("--library", choices=LIBRARIES, required=True)
        exchange.add_argument("--count", type=int, required=True)
        exchange.add_argument("--poll", type=float, required=True)
        exchange.add_argument("--timeout", type=float, default=60.0)
        exchange.add_argument("--target")
        exchange.add_argument("--warmup", type=int, default=2)
        exchange.set_defaults(run=run)

    send = tasks.add_parser("send-loop")
    send.add_argument("--library", choices=LIBRARIES, required=True)
    send.add_argument("--flow-run", required=True)
    send.add_argument("--count", type=int, required=True)
    send.add_argument("--in-flow", action="store_true")
    send.set_defaults(run=task_send_loop)

    limit = tasks.add_parser("exclude-limit")
    limit.add_argument("--flow-run", required=True)
    limit.add_argument("--keys-file", required=True)
    limit.add_argument("--low", type=int, required=True)
    limit.add_argument("--high", type=int, required=True)
    limit.add_argument("--resolution", type=int, default=1)
    limit.set_defaults(run=task_exclude_limit)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    result = args.run(args)
    result["peak_rss_kib"] = peak_rss_kib()
    emit(result)


if __name__ == "__main__":
    sys.exit(main())
