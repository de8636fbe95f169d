"""Benchmark runinput against prefect.input and the prefect CLI on one Prefect server.

Run from the repository root with the development environment:

    .venv/bin/python bench/run.py            # full run, about 40 minutes
    .venv/bin/python bench/run.py --quick    # smoke run, about 2 minutes
    .venv/bin/python bench/run.py --large --write docs/benchmarks.md

It starts a Prefect server on a free port of 127.0.0.1, or uses --api-url.
Then it measures, in this order: receiving all of N stored inputs with its
cost growth and peak memory, the round trip between two flow runs, command
start, `runinput watch` latency, bulk send (on loopback and through a relay
that adds network latency), and with --large a flow run of 50,000 inputs.
Every measured step of a library runs in its own child process
(`bench/worker.py`). At the end it prints a table of medians, ratios
runinput / reference and targets, and --write also writes them to a Markdown
page.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

# Run as a script, so this folder is first on sys.path and its modules import
# by their plain names.
import commands
import library
from common import FULL, QUICK, Bench, BenchError
from report import Results, Row, print_table, write_page
from server import Api, start_server

PAGE_INTRO = """
`bench/run.py` measures runinput against `prefect.input` and the `prefect`
command on one local Prefect server (SQLite), in one run. Each figure is a
median of the repetitions that its row names. "ratio" is runinput /
reference, so below 1 is faster or smaller, except for bulk send, where it
is the ratio of rates and above 1 is faster. Library steps run in child
processes. Code using `prefect.input` runs inside a Prefect flow, where
Prefect reuses one API client, and timers start after the imports and the
flow run's start. The load average in the machine table shows whether
other work shared the machine during the run.
"""

SECTION_NOTES = {
    library.RECEIVE: """
N integers are stored on a new flow run through the API. A fresh handler,
`receive_input(int, timeout=0, poll_interval=0, flow_run_id=...)`, then reads
until none is left, inside a Prefect flow in a child process, and every read
is checked to deliver each value exactly once. Each process first reads 5
inputs untimed, so that connection set-up and class building are not
counted. prefect.input reads the largest N once, and is stopped and reported
as skipped if it runs past the time limit in the command.

The "bare requests" rows show the server's own share. The benchmark sends,
with plain httpx, one filter request that returns all N inputs and one that
excludes them all and finds none left. A reader that stops only when a
request finds nothing new, as both libraries do, needs at least these two.
Their time is therefore a lower bound for any client, and that bound divided
by prefect.input's time is the best ratio a client could reach here.
""",
    library.GROWTH: """
Both libraries must send every key already read in `exclude_keys`, so each
request grows with the inputs read. The first row divides the median times.
The second gives the time per input over the first and the last 500 inputs
of one read at the largest N. prefect.input makes one request per input, so
its cost per input grows with N. runinput requests up to 5,000 inputs at a
time, so its first window carries the whole fetch and the last one none.
""",
    library.MEMORY: """
`ru_maxrss` of the child process after its first timed read at the largest
N. Both libraries run inside a Prefect flow there, so Prefect's own imports
and flow engine are part of both figures. The growth row subtracts the
resident size measured just before that read. The last row reads the same
inputs in a plain Python process that never imports Prefect.
""",
    library.ROUND_TRIP: """
Two Prefect flows in two child processes, both using the library under test.
`ping` sends `Ping(seq=i)` with `send_to` to the `echo` flow run, which
replies with `respond(Pong(seq=i))`. `ping` waits for that Pong with a
handler polling at the same interval as `echo`. Two warm-up exchanges are
not counted. With a poll on both sides, a round trip costs about one poll
interval plus the requests.
""",
    commands.START: """
Wall time of the whole command in a new process, the median of several runs
after one untimed run, with `PREFECT_API_URL` set to the benchmark server,
which has 3 paused flow runs.
""",
    commands.WATCH: """
`runinput watch RUN --output json --interval I` runs in a child process. The
benchmark stores an input at a random point of the poll cycle and times from
just before the create request until its line is read from the command's
stdout. The first input only shows that the watch is polling and is not
counted.
""",
    commands.BULK: """
A JSON Lines file of integers, sent by `runinput send RUN --data @FILE.jsonl`
with its default concurrency of 8, timed as a whole command including
Python's start-up. The loops call `send_input` once per value and are timed
after their imports and first call: prefect.input's inside a Prefect flow,
runinput's in a plain process. The ratio here is of rates, so above 1 is
faster.

Every comparison runs twice. On loopback a request's network round trip
costs well under a millisecond, so a sequential loop already keeps the
single-process Prefect server close to busy, and concurrent requests only
queue in the server. The `--concurrency 1` row shows how little they add
there, and no client can send much faster than that server stores. The
second run sends the same requests through `bench/relay.py`, a relay on
127.0.0.1 that delays every chunk by 20 ms in each direction, as a server in
another data centre or a hosted one would. There a sequential loop waits for
the network on every input, and the command's 8 concurrent requests overlap
those waits.
""",
    library.LARGE: """
A large number of inputs on one flow run, stored through the API. runinput
reads them all three times with a fresh handler and checks that each value
arrives exactly once. Reading that many with prefect.input one request at a time
would take days (the notes give an estimate). Its break point is therefore
found by bisection: a Prefect handler gets the first K stored keys as
`exclude_keys`, which is the request it sends after reading K inputs, and one
`next()` shows whether the server still returns an input.
""",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark runinput against prefect.input and the prefect CLI."
    )
    parser.add_argument(
        "--api-url",
        help=(
            "Use the Prefect server at this API URL, such as "
            "http://127.0.0.1:4200/api, instead of starting one."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Fewer repetitions and smaller N, for a smoke run of about 2 minutes.",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=(
            "Also store --large-count inputs on one flow run (6 to 30 minutes "
            "for 50,000 on SQLite), read them with runinput and find where "
            "prefect.input fails."
        ),
    )
    parser.add_argument(
        "--large-count",
        type=int,
        metavar="N",
        help="How many inputs --large stores on its flow run. Default: 50,000.",
    )
    parser.add_argument(
        "--prefect-limit",
        type=float,
        help=(
            "Seconds after which a prefect.input receive stops and is reported "
            "as skipped. Default: 900, or 20 with --quick."
        ),
    )
    parser.add_argument(
        "--write",
        type=Path,
        metavar="PAGE",
        help="Write the results as Markdown to PAGE, such as docs/benchmarks.md.",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTION_NAMES,
        help="Run only this section; may be repeated.",
    )
    return parser.parse_args(argv)


Section = Callable[[Bench, Results], None]
SECTIONS: list[tuple[str, Section]] = [
    ("receive", library.receive_all),
    ("round-trip", library.round_trip),
    ("start", commands.command_start),
    ("watch", commands.watch_latency),
    ("bulk", commands.bulk_send),
    ("large", library.large_flow_run),
]
SECTION_NAMES = [name for name, _ in SECTIONS]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.prefect_limit is not None:
        config = replace(config, prefect_limit=args.prefect_limit)
    if args.large_count is not None:
        config = replace(config, large_count=args.large_count)
    wanted = set(args.only or SECTION_NAMES)
    if not args.large:
        wanted.discard("large")

    started_at = datetime.datetime.now().astimezone()
    started = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="runinput-bench-"))
    server = None
    results = Results()
    failed = False
    try:
        if args.api_url is None:
            print("starting a Prefect server ...", flush=True)
            server = start_server()
        api_url = args.api_url or server.api_url  # type: ignore[union-attr]
        bench = Bench(api_url, Api(api_url), work_dir, config)
        print(f"Prefect server at {api_url}", flush=True)
        for name, section in SECTIONS:
            if name not in wanted:
                continue
            print(f"{name} ...", flush=True)
            try:
                section(bench, results)
            except (BenchError, OSError, ValueError, KeyError) as exc:
                failed = True
                traceback.print_exc()
                results.add(Row(name, "failed", str(exc).splitlines()[0][:200], ""))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)

    duration = time.perf_counter() - started
    print_table(results)
    if args.write is not None:
        command = shlex.join([".venv/bin/python", "bench/run.py", *sys.argv[1:]])
        write_page(
            args.write,
            results,
            command=command,
            started=started_at.strftime("%Y-%m-%d %H:%M %Z"),
            duration=duration,
            intro=PAGE_INTRO,
            section_notes=SECTION_NOTES,
        )
        print(f"wrote {args.write}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
