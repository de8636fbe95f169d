"""Library sections: receive all, cost growth, peak memory, round trips, 50k inputs."""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
from typing import Any

import httpx
from common import RECEIVE_PREFIX, Bench, BenchError, seed_inputs
from report import Results, Row, mebibytes, median, percentile, seconds

RECEIVE = "Receive all"
GROWTH = "Receive cost growth"
MEMORY = "Peak memory"
ROUND_TRIP = "Round trip"
LARGE = "Large flow run"


def receive_all(bench: Bench, results: Results) -> None:
    """Time fresh handlers reading N stored inputs with each library."""
    config = bench.config
    medians: dict[tuple[str, int], float] = {}
    outcomes: dict[tuple[str, int], dict[str, Any]] = {}
    floors: dict[int, float] = {}
    for size in config.sizes:
        flow_run_id = bench.api.create_flow_run(f"receive-{size}")
        seed_started = time.perf_counter()
        seed_inputs(bench.api_url, flow_run_id, size)
        print(
            f"  seeded {size} inputs in {time.perf_counter() - seed_started:.1f} s",
            flush=True,
        )
        for library in ("runinput", "prefect"):
            outcome = run_receive(bench, library, flow_run_id, size)
            outcome["flow_run_id"] = str(flow_run_id)
            outcomes[library, size] = outcome
            complete = [run for run in outcome["runs"] if run["complete"]]
            if complete:
                medians[library, size] = median([run["seconds"] for run in complete])
            print(f"  {library} N={size}: {describe_runs(outcome)}", flush=True)
        floors[size] = time_bare_read(bench, flow_run_id, size)
        print(f"  bare requests N={size}: {floors[size]:.3f} s", flush=True)

        add_receive_row(bench, results, size, medians, outcomes)
    add_floor_rows(results, medians, floors)
    add_growth_rows(bench, results, medians, outcomes)
    add_memory_rows(bench, results, outcomes)


def time_bare_read(
    bench: Bench, flow_run_id: uuid.UUID, size: int, repeat: int = 5
) -> float:
    """Return the median time of the two filter requests that a complete read needs.

    The first request returns all `size` inputs and the second, which excludes
    them all, shows that none is left. They are sent with plain httpx on one
    connection, so the time is nearly all the server's.
    """
    body: dict[str, Any] = {"prefix": RECEIVE_PREFIX, "limit": size + 1}
    url = f"/flow_runs/{flow_run_id}/input/filter"
    times = []
    with httpx.Client(base_url=bench.api_url, timeout=300) as client:
        client.get("/health").raise_for_status()
        for _ in range(repeat):
            started = time.perf_counter()
            first = client.post(url, json={**body, "exclude_keys": []})
            first.raise_for_status()
            keys = [item["key"] for item in first.json()]
            second = client.post(url, json={**body, "exclude_keys": keys})
            second.raise_for_status()
            times.append(time.perf_counter() - started)
            if len(keys) != size or second.json():
                raise BenchError(
                    f"the bare requests read {len(keys)} inputs of {size}, and "
                    f"{len(second.json())} more after excluding them"
                )
    return median(times)


def add_floor_rows(
    results: Results, medians: dict[tuple[str, int], float], floors: dict[int, float]
) -> None:
    """Compare runinput's reads, and prefect.input's, with the bare requests."""
    for size, floor in floors.items():
        ours = medians.get(("runinput", size))
        theirs = medians.get(("prefect", size))
        results.add(
            Row(
                RECEIVE,
                f"N = {size:,}: runinput against the 2 bare requests a complete "
                "read needs (median of 5)",
                seconds(ours),
                seconds(floor),
                None if ours is None else ours / floor,
            )
        )
        if theirs is not None:
            results.add(
                Row(
                    RECEIVE,
                    f"N = {size:,}: the 2 bare requests against prefect.input",
                    seconds(floor),
                    seconds(theirs),
                    floor / theirs,
                )
            )


def run_receive(
    bench: Bench, library: str, flow_run_id: uuid.UUID, size: int
) -> dict[str, Any]:
    config = bench.config
    repeat = config.runinput_repeat if library == "runinput" else config.prefect_repeat
    if library == "prefect" and size == max(config.sizes):
        repeat = 1
    args = ["receive", "--library", library, "--flow-run", str(flow_run_id)]
    args += ["--expected", str(size), "--repeat", str(repeat)]
    args += ["--limit", str(config.prefect_limit), "--in-flow"]
    timeout = repeat * config.prefect_limit + 300
    return bench.run_worker(*args, timeout=timeout)


def describe_runs(outcome: dict[str, Any]) -> str:
    parts = []
    for run in outcome["runs"]:
        state = "" if run["complete"] else f" (stopped after {run['count']} inputs)"
        parts.append(f"{run['seconds']:.3f} s{state}")
    return ", ".join(parts)


def add_receive_row(
    bench: Bench,
    results: Results,
    size: int,
    medians: dict[tuple[str, int], float],
    outcomes: dict[tuple[str, int], dict[str, Any]],
) -> None:
    ours = medians.get(("runinput", size))
    theirs = medians.get(("prefect", size))
    for library in ("runinput", "prefect"):
        for run in outcomes[library, size]["runs"]:
            if run["complete"] and not (
                run["count"] == size and run["distinct"] == size and run["values_match"]
            ):
                raise BenchError(
                    f"{library} read {run['count']} inputs ({run['distinct']} "
                    f"distinct) of {size}, or wrong values"
                )
    reference = seconds(theirs)
    if theirs is None:
        partial = outcomes["prefect", size]["runs"][0]
        reference = (
            f"skipped: {partial['count']} of {size} read in "
            f"{bench.config.prefect_limit:.0f} s"
        )
    target, met = "", None
    if size == 1_000:
        target = "ratio <= 1/100"
        met = None if ours is None or theirs is None else ours <= theirs / 100
    runinput_repeat = len(outcomes["runinput", size]["runs"])
    prefect_repeat = len(outcomes["prefect", size]["runs"])
    results.add(
        Row(
            RECEIVE,
            f"N = {size:,} (median of {runinput_repeat} / {prefect_repeat})",
            seconds(ours),
            reference,
            None if ours is None or theirs is None else ours / theirs,
            target,
            met,
        )
    )


def add_growth_rows(
    bench: Bench,
    results: Results,
    medians: dict[tuple[str, int], float],
    outcomes: dict[tuple[str, int], dict[str, Any]],
) -> None:
    """Report time(N large) / time(N small) and the cost per input near the end."""
    small, large = sorted(bench.config.sizes)[-2:]
    cells = {}
    for library in ("runinput", "prefect"):
        low = medians.get((library, small))
        high = medians.get((library, large))
        if low is None:
            cells[library] = "n/a"
        elif high is not None:
            cells[library] = f"x{high / low:.2f}"
        else:
            cells[library] = "n/a (not completed)"
    results.add(
        Row(
            GROWTH,
            f"time at N = {large:,} / time at N = {small:,} (linear = "
            f"x{large / small:.0f})",
            cells["runinput"],
            cells["prefect"],
        )
    )
    per_input = {}
    for library in ("runinput", "prefect"):
        run = outcomes[library, large]["runs"][0]
        per_input[library] = cost_per_input_windows(run)
    results.add(
        Row(
            GROWTH,
            f"time per input, first and last 500 inputs at N = {large:,}",
            per_input["runinput"],
            per_input["prefect"],
        )
    )


def cost_per_input_windows(run: dict[str, Any]) -> str:
    points = [(0, 0.0), *[tuple(point) for point in run["checkpoints"]]]
    if len(points) < 3:
        return "n/a"
    first = (points[1][1] - points[0][1]) / (points[1][0] - points[0][0])
    last = (points[-1][1] - points[-2][1]) / (points[-1][0] - points[-2][0])
    return (
        f"{seconds(first)} -> {seconds(last)} (at {points[-1][0]:,} read, "
        f"x{last / first:.2g})"
    )


def add_memory_rows(
    bench: Bench, results: Results, outcomes: dict[tuple[str, int], dict[str, Any]]
) -> None:
    size = max(bench.config.sizes)
    cells = {}
    growth = {}
    for library in ("runinput", "prefect"):
        outcome = outcomes[library, size]
        peak = outcome["peak_rss_after_first_kib"]
        growth[library] = peak - outcome["rss_before_kib"]
        cells[library] = mebibytes(peak)
    note = "" if outcomes["prefect", size]["runs"][0]["complete"] else " (partial)"
    results.add(
        Row(
            MEMORY,
            f"peak RSS of the flow process reading N = {size:,}",
            cells["runinput"],
            cells["prefect"] + note,
            growth_ratio(outcomes, size, "peak_rss_after_first_kib"),
        )
    )
    results.add(
        Row(
            MEMORY,
            f"peak RSS growth during the first read of N = {size:,}",
            mebibytes(growth["runinput"]),
            mebibytes(growth["prefect"]) + note,
            growth["runinput"] / growth["prefect"] if growth["prefect"] > 0 else None,
        )
    )
    plain = bench.run_worker(
        "receive",
        "--library",
        "runinput",
        "--flow-run",
        outcomes["runinput", size]["flow_run_id"],
        "--expected",
        str(size),
        timeout=300,
    )
    results.add(
        Row(
            MEMORY,
            f"peak RSS of a plain Python process (no Prefect) reading N = {size:,}",
            mebibytes(plain["peak_rss_kib"]),
            "n/a",
        )
    )


def growth_ratio(
    outcomes: dict[tuple[str, int], dict[str, Any]], size: int, key: str
) -> float:
    return outcomes["runinput", size][key] / outcomes["prefect", size][key]


def round_trip(bench: Bench, results: Results) -> None:
    """Time a Ping and its Pong between two flow runs, with each library."""
    config = bench.config
    latencies: dict[str, list[float]] = {}
    for library in ("runinput", "prefect"):
        latencies[library] = exchange(bench, library)
        print(
            f"  {library}: median {median(latencies[library]):.3f} s over "
            f"{len(latencies[library])} round trips",
            flush=True,
        )
    for name, pick in (
        ("median", median),
        ("95th percentile", lambda values: percentile(values, 0.95)),
    ):
        ours = pick(latencies["runinput"])
        theirs = pick(latencies["prefect"])
        results.add(
            Row(
                ROUND_TRIP,
                f"{name}, poll interval {config.poll_interval:g} s, "
                f"{config.round_trips} round trips",
                seconds(ours),
                seconds(theirs),
                ours / theirs,
            )
        )


def exchange(bench: Bench, library: str) -> list[float]:
    config = bench.config
    common = ["--library", library, "--poll", str(config.poll_interval)]
    echo = bench.start_worker("echo", *common, "--count", str(config.round_trips + 2))
    try:
        target = wait_for_flow_run_id(echo)
        ping = bench.run_worker(
            "ping",
            *common,
            "--count",
            str(config.round_trips),
            "--target",
            target,
            timeout=300,
        )
        bench.finish_worker(echo, timeout=120)
    finally:
        if echo.poll() is None:
            echo.kill()
            echo.wait()
    latencies: list[float] = ping["latencies"]
    return latencies


def wait_for_flow_run_id(process: subprocess.Popen[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in process.log_path.read_text().splitlines():  # type: ignore[attr-defined]
            if line.startswith("flow run id: "):
                return line.split(": ", 1)[1].strip()
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise BenchError(
        f"echo flow printed no flow run id:\n{process.log_path.read_text()}"  # type: ignore[attr-defined]
    )


def sqlite_limit_note(count: int, probes: list[dict[str, Any]]) -> str:
    """Explain why no exclude list failed, from this Python's SQLite limits."""
    connection = sqlite3.connect(":memory:")
    variables = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.close()
    largest = max(probes, key=lambda probe: probe["size"])
    return (
        f"No exclude list of up to {largest['size']:,} keys failed. The server's "
        f"SQLite {sqlite3.sqlite_version} allows {variables:,} variables in one "
        f"statement, not the default 32,766, so that limit lies past {count:,} "
        f"inputs. The request with {largest['size']:,} excluded keys took "
        f"{seconds(largest['seconds'])}, against the 60 s default of Prefect's "
        "request timeout (PREFECT_API_REQUEST_TIMEOUT)."
    )


def request_time_note(count: int, probes: list[dict[str, Any]]) -> str | None:
    """Estimate where requests time out, and how long a full read takes.

    Both come from a straight line fitted to the probes that worked.
    """
    working = [(probe["size"], probe["seconds"]) for probe in probes if probe["ok"]]
    fit = fit_line(working)
    if fit is None:
        return None
    intercept, slope = fit
    timeout_size = (PREFECT_REQUEST_TIMEOUT - intercept) / slope
    total = count * intercept + slope * count * count / 2
    return (
        f"A straight line fitted to the {len(working)} probes that worked gives "
        f"{slope * 1000:.2f} ms per excluded key, so a request reaches Prefect's "
        f"{PREFECT_REQUEST_TIMEOUT:.0f} s request timeout at about "
        f"{timeout_size:,.0f} keys. Reading all {count:,} inputs one request at "
        f"a time, as prefect.input does, would take about {long_duration(total)} "
        "by the same line. Both are estimates from the fit."
    )


BISECTION_RESOLUTION = 1_000
"""The width, in keys, to which the bisection narrows the break point. Every
failing probe waits for a 60 s request timeout, so finer steps cost minutes."""

PREFECT_REQUEST_TIMEOUT = 60.0
"""The default of PREFECT_API_REQUEST_TIMEOUT in Prefect 3.9, in seconds."""


def long_duration(total_seconds: float) -> str:
    """Write a duration in days, hours or minutes, whichever reads best."""
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if total_seconds >= size:
            return f"{total_seconds / size:.1f} {unit}"
    return f"{total_seconds:.0f} s"


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Return the least-squares (intercept, slope) of `points`, or None if flat."""
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    if slope <= 0:
        return None
    return mean_y - slope * mean_x, slope


def large_flow_run(bench: Bench, results: Results) -> None:
    """Read a large flow run with runinput, and find where prefect.input fails."""
    count = bench.config.large_count
    assert count is not None
    flow_run_id = bench.api.create_flow_run(f"large-{count}")
    started = time.perf_counter()
    keys = seed_inputs(bench.api_url, flow_run_id, count)
    seeding = time.perf_counter() - started
    print(f"  seeded {count} inputs in {seeding:.0f} s", flush=True)
    results.note(
        f"Seeding {count:,} inputs through the API took {seeding:.0f} s "
        f"({count / seeding:.0f} creates per second)."
    )

    outcome = bench.run_worker(
        "receive",
        "--library",
        "runinput",
        "--flow-run",
        str(flow_run_id),
        "--expected",
        str(count),
        "--repeat",
        "3",
        timeout=900,
    )
    runs = outcome["runs"]
    exact = all(
        run["count"] == count and run["distinct"] == count and run["values_match"]
        for run in runs
    )
    results.add(
        Row(
            LARGE,
            f"runinput reads all {count:,} inputs, none lost or repeated "
            f"(median of {len(runs)})",
            seconds(median([run["seconds"] for run in runs])),
            "see the next row",
            target="complete and exact",
            met=exact,
        )
    )

    keys_file = bench.work_dir / "large-keys.txt"
    keys_file.write_text("\n".join(keys))
    limit = bench.run_worker(
        "exclude-limit",
        "--flow-run",
        str(flow_run_id),
        "--keys-file",
        str(keys_file),
        "--low",
        "1000",
        "--high",
        str(count - 1),
        "--resolution",
        str(BISECTION_RESOLUTION),
        timeout=3600,
        # A request that times out then fails at once instead of after
        # Prefect's 5 retries of 60 s each. Whether it fails does not change.
        env={"PREFECT_CLIENT_MAX_RETRIES": "0"},
    )
    first_failing = limit["first_failing"]
    failure = next((p for p in limit["probes"] if not p["ok"]), None)
    reference = (
        f"works with every exclude list tried, up to {count - 1:,} keys"
        if first_failing is None
        else f"works with {limit['last_working']:,} excluded keys, fails with "
        f"{first_failing:,}"
    )
    results.add(
        Row(
            LARGE,
            f"prefect.input on the same flow run of {count:,} inputs",
            "works (exclude lists split per key prefix)",
            reference,
        )
    )
    if failure is None:
        results.note(sqlite_limit_note(count, limit["probes"]))
    else:
        results.note(
            f"prefect.input's handler works with {limit['last_working']:,} excluded "
            f"keys and fails with {first_failing:,}, after "
            f"{seconds(failure['seconds'])}. Its error: {failure['error']}"
        )
    estimate = request_time_note(count, limit["probes"])
    if estimate is not None:
        results.note(estimate)
