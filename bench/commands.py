"""Command line sections: command start, watch latency and bulk send."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from common import RECEIVE_PREFIX, Bench, BenchError
from relay import DelayRelay
from report import Results, Row, median, percentile, seconds

START = "Command start"
WATCH = "Watch latency"
BULK = "Bulk send"

BIN_DIR = Path(sys.executable).parent
RUNINPUT = str(BIN_DIR / "runinput")
PREFECT = str(BIN_DIR / "prefect")


def command_available(bench: Bench, name: str) -> bool:
    """Return whether `runinput NAME --help` works in this checkout."""
    result = subprocess.run(
        [RUNINPUT, name, "--help"],
        env=bench.child_env(),
        capture_output=True,
        timeout=60,
    )
    return result.returncode == 0


def time_command(bench: Bench, command: list[str], repeat: int) -> float:
    """Return the median wall time of `command` over `repeat` runs, after one more."""
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        result = subprocess.run(
            command, env=bench.child_env(), capture_output=True, text=True, timeout=120
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise BenchError(
                f"{' '.join(command)} exited with code {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        if attempt > 0:
            times.append(elapsed)
    return median(times)


def command_start(bench: Bench, results: Results) -> None:
    """Time `--help` and the listing of paused flow runs with both commands."""
    repeat = bench.config.command_repeat
    for _ in range(3):
        bench.api.create_paused_flow_run("paused")
    pairs = [
        ("--help", [RUNINPUT, "--help"], [PREFECT, "--help"], 0.25, "<"),
        (
            "paused runs: `runinput ls` / `prefect flow-run ls --state PAUSED`",
            [RUNINPUT, "ls"],
            [PREFECT, "flow-run", "ls", "--state", "PAUSED"],
            0.3,
            "<=",
        ),
    ]
    for measure, ours_command, theirs_command, bound, relation in pairs:
        if ours_command[1:] == ["ls"] and not command_available(bench, "ls"):
            results.add(Row(START, measure, "not available", "", target="", met=None))
            continue
        ours = time_command(bench, ours_command, repeat)
        theirs = time_command(bench, theirs_command, repeat)
        ratio = ours / theirs
        met = ratio < bound if relation == "<" else ratio <= bound
        results.add(
            Row(
                START,
                f"{measure} (median of {repeat})",
                seconds(ours),
                seconds(theirs),
                ratio,
                f"ratio {relation} {bound:g}",
                met,
            )
        )
        print(f"  {measure}: {ours:.3f} s against {theirs:.3f} s", flush=True)


class LineReader(threading.Thread):
    """Reads a process's stdout and records when each line containing a key arrived."""

    def __init__(self, process: subprocess.Popen[str], stderr_path: Path) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.stderr_path = stderr_path
        self.seen: dict[str, float] = {}
        self.condition = threading.Condition()

    def run(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            arrived = time.perf_counter()
            with self.condition:
                for key in self.keys_in(line):
                    self.seen.setdefault(key, arrived)
                self.condition.notify_all()

    @staticmethod
    def keys_in(line: str) -> list[str]:
        return [word.strip('",') for word in line.split() if "bench-watch-" in word]

    def wait_for(self, key: str, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        with self.condition:
            while key not in self.seen:
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or self.process.poll() is not None:
                    raise BenchError(
                        f"runinput watch did not print {key!r} (exit code "
                        f"{self.process.poll()}, seen {list(self.seen)}); its stderr:\n"
                        f"{self.stderr_path.read_text()[-2000:]}"
                    )
                self.condition.wait(remaining)
            return self.seen[key]


def watch_latency(bench: Bench, results: Results) -> None:
    """Time from storing an input to `runinput watch` printing its line."""
    config = bench.config
    measure = f"median, --interval {config.watch_interval:g} s"
    if not command_available(bench, "watch"):
        results.add(Row(WATCH, measure, "not available", "n/a"))
        return

    from runinput import Client, Settings

    flow_run_id = bench.api.create_flow_run("watch")
    samples = config.watch_samples
    command = [RUNINPUT, "watch", str(flow_run_id), "--output", "json"]
    command += ["--interval", str(config.watch_interval)]
    command += ["--timeout", str(60 + samples * (config.watch_interval + 5))]
    stderr_path = bench.work_dir / "watch-stderr.log"
    with stderr_path.open("w") as stderr_file:
        process = subprocess.Popen(
            command,
            env=bench.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
        )
    reader = LineReader(process, stderr_path)
    reader.start()
    latencies = []
    try:
        with Client(Settings.resolve(api_url=bench.api_url)) as client:
            for index in range(samples + 1):
                # A random pause spreads the stores over the poll cycle.
                time.sleep(random.uniform(0, config.watch_interval))
                key = f"bench-watch-{uuid.uuid4()}"
                stored = time.perf_counter()
                client.create_flow_run_input(flow_run_id, key, str(index))
                printed = reader.wait_for(key, timeout=60)
                # The first one only shows that the watch is polling.
                if index > 0:
                    latencies.append(printed - stored)
    finally:
        process.terminate()
        process.wait(15)

    ours = median(latencies)
    bound = config.watch_interval + 0.1
    results.add(
        Row(
            WATCH,
            f"{measure}, {samples} inputs",
            seconds(ours),
            "n/a (the prefect CLI has no watch)",
            target=f"< {seconds(bound)}",
            met=ours < bound,
        )
    )
    results.add(
        Row(
            WATCH,
            "95th percentile",
            seconds(percentile(latencies, 0.95)),
            "n/a",
        )
    )
    print(f"  watch: median {ours:.3f} s over {samples} inputs", flush=True)


def bulk_send(bench: Bench, results: Results) -> None:
    """Send inputs with `runinput send --data @FILE.jsonl` and with send_input loops.

    Each comparison runs twice: straight to the server on loopback, and
    through a relay that adds a round trip of a distant server.
    """
    config = bench.config
    count = config.bulk_count
    repeat = 3 if count >= 1_000 else 1
    if not command_available(bench, "send"):
        results.add(Row(BULK, f"{count:,} inputs", "not available", "n/a"))
        return

    data_file = bench.work_dir / "bulk.jsonl"
    data_file.write_text("".join(f"{index}\n" for index in range(count)))
    loopback = measure_bulk(bench, data_file, repeat, with_concurrency_one=True)
    add_bulk_rows(results, loopback, "on loopback", count, repeat)

    round_trip_ms = 2 * config.relay_delay * 1000
    with DelayRelay(bench.api_url, config.relay_delay) as relay:
        distant = measure_bulk(replace(bench, api_url=relay.url), data_file, repeat)
    where = f"through a relay adding {round_trip_ms:.0f} ms per round trip"
    add_bulk_rows(results, distant, where, count, repeat)


@dataclass
class BulkRates:
    """Inputs per second of the bulk command and of both send_input loops."""

    command: float
    prefect_loop: float
    runinput_loop: float
    command_one_at_a_time: float | None = None


def measure_bulk(
    bench: Bench, data_file: Path, repeat: int, with_concurrency_one: bool = False
) -> BulkRates:
    """Return the median rates of `repeat` runs of the command and both loops."""
    count = bench.config.bulk_count
    times: dict[str, list[float]] = {
        "command": [],
        "concurrency one": [],
        "prefect": [],
        "runinput": [],
    }
    for _ in range(repeat):
        times["command"].append(send_file(bench, data_file, count))
        if with_concurrency_one:
            one_at_a_time = send_file(bench, data_file, count, concurrency=1)
            times["concurrency one"].append(one_at_a_time)
        times["prefect"].append(send_loop(bench, "prefect", count))
        times["runinput"].append(send_loop(bench, "runinput", count))
    rates = BulkRates(
        command=count / median(times["command"]),
        prefect_loop=count / median(times["prefect"]),
        runinput_loop=count / median(times["runinput"]),
    )
    if times["concurrency one"]:
        rates.command_one_at_a_time = count / median(times["concurrency one"])
    print(
        f"  bulk via {bench.api_url}: command {rates.command:.0f}/s, prefect loop "
        f"{rates.prefect_loop:.0f}/s, runinput loop {rates.runinput_loop:.0f}/s",
        flush=True,
    )
    return rates


def add_bulk_rows(
    results: Results, rates: BulkRates, where: str, count: int, repeat: int
) -> None:
    measure = f"{count:,} inputs {where}, inputs per second (median of {repeat})"
    command = "`runinput send --data @FILE.jsonl`"
    loops = [
        ("a prefect.input", rates.prefect_loop),
        ("a runinput", rates.runinput_loop),
    ]
    for library_name, loop_rate in loops:
        results.add(
            Row(
                BULK,
                f"{command} against {library_name} send_input loop, {measure}",
                f"{rates.command:.0f}/s",
                f"{loop_rate:.0f}/s",
                rates.command / loop_rate,
                "rate >= 3x the loop's",
                rates.command >= 3 * loop_rate,
            )
        )
    if rates.command_one_at_a_time is not None:
        results.add(
            Row(
                BULK,
                f"{command} against the same with --concurrency 1, {measure}",
                f"{rates.command:.0f}/s",
                f"{rates.command_one_at_a_time:.0f}/s",
                rates.command / rates.command_one_at_a_time,
            )
        )


def send_file(
    bench: Bench, data_file: Path, count: int, concurrency: int | None = None
) -> float:
    """Run `runinput send --data @FILE` on a new flow run and return its wall time."""
    flow_run_id = bench.api.create_flow_run("bulk-cli")
    command = [RUNINPUT, "send", str(flow_run_id), "--data", f"@{data_file}"]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    result = subprocess.run(
        command, env=bench.child_env(), capture_output=True, text=True, timeout=900
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise BenchError(f"runinput send failed:\n{result.stderr[-2000:]}")
    check_stored(bench, flow_run_id, count)
    return elapsed


def send_loop(bench: Bench, library: str, count: int) -> float:
    flow_run_id = bench.api.create_flow_run(f"bulk-{library}")
    args = ["send-loop", "--library", library, "--flow-run", str(flow_run_id)]
    args += ["--count", str(count)]
    if library == "prefect":
        args.append("--in-flow")
    outcome = bench.run_worker(*args, timeout=1800)
    check_stored(bench, flow_run_id, count + 1)
    seconds_taken: float = outcome["seconds"]
    return seconds_taken


def check_stored(bench: Bench, flow_run_id: uuid.UUID, count: int) -> None:
    """Raise BenchError unless the flow run has exactly `count` int inputs."""
    from runinput import Client, Settings

    with Client(Settings.resolve(api_url=bench.api_url)) as client:
        stored = client.filter_flow_run_input(
            flow_run_id, RECEIVE_PREFIX, limit=count + 10
        )
    if len(stored) != count:
        raise BenchError(
            f"flow run {flow_run_id} has {len(stored)} inputs, expected {count}"
        )
