"""`runinput send` and `runinput watch` with real Prefect flows on a real server.

The flows under `tests/flows/` receive and send with `prefect.input` only, so
these tests check that the command line follows Prefect's key rules.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.prefect_server import FlowProcess, RunFlowInSubprocess, WaitForFlowRunState

pytestmark = pytest.mark.integration

FLOWS = Path(__file__).parent.parent / "flows"
RUNINPUT = str(Path(sys.executable).parent / "runinput")

# Generous bounds in seconds, for loaded machines; the flows poll every 0.2 s.
FLOW_TIMEOUT = 90.0
WATCH_INTERVAL = 1.0
ARRIVAL_BOUND = WATCH_INTERVAL + 9.0


def runinput(
    *args: str, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `runinput` console script against the session server."""
    return subprocess.run(
        [RUNINPUT, *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def send(*args: str, cwd: Path | None = None) -> str:
    """Run `runinput send ARGS`, check that it worked and return the stored key."""
    result = runinput("send", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def start_receiver(
    run_flow_in_subprocess: RunFlowInSubprocess, output: Path, *counts: str
) -> tuple[FlowProcess, str]:
    process = run_flow_in_subprocess(FLOWS / "send_receiver.py", str(output), *counts)
    flow_run_id = process.wait_for_output(r"^flow run id: (\S+)$", timeout=60).group(1)
    return process, flow_run_id


def received(output: Path) -> dict[str, list[dict[str, Any]]]:
    """The receiver's records, grouped by kind."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for line in output.read_text().splitlines():
        record = json.loads(line)
        by_kind.setdefault(record.pop("kind"), []).append(record)
    return by_kind


def test_send_reaches_prefect_receivers(
    run_flow_in_subprocess: RunFlowInSubprocess, tmp_path: Path
) -> None:
    output = tmp_path / "received.jsonl"
    process, run_id = start_receiver(
        run_flow_in_subprocess,
        output,
        "int=2",
        "list-int=1",
        "str-greetings=2",
        "number-data=1",
        "point=1",
    )

    int_keys = [send(run_id, "5", "--type", "int"), send(run_id, "7")]
    list_key = send(run_id, '[1, "2", 3]', "--type", "list[int]")
    decoy_key = send(run_id, '"not for greetings"', "--type", "str")
    greeting_keys = [
        send(run_id, '"hello"', "--type", "str", "--key-prefix", "greetings"),
        send(run_id, '"hi"', "--key-prefix", "greetings", "--sender", "ops-bot"),
    ]
    number_key = send(
        run_id,
        '{"number": 42}',
        "--model",
        "send_models:NumberData",
        cwd=FLOWS,
    )
    point_key = send(
        run_id,
        "--model",
        f"{FLOWS / 'send_models.py'}:Point",
        "--set",
        "x=1",
        "--set",
        "y=2",
    )
    assert process.wait(FLOW_TIMEOUT) == 0, process.output()

    got = received(output)
    assert [r["value"] for r in got["int"]] == [5, 7]
    assert [r["key"] for r in got["int"]] == int_keys
    assert all(r["sender"].startswith("runinput.user.") for r in got["int"])
    assert got["list-int"] == [
        {"value": [1, 2, 3], "key": list_key, "sender": got["int"][0]["sender"]}
    ]
    assert [r["value"] for r in got["str-greetings"]] == ["hello", "hi"]
    assert [r["key"] for r in got["str-greetings"]] == greeting_keys
    assert got["str-greetings"][1]["sender"] == "ops-bot"
    assert decoy_key.startswith("strautomaticruninput-auto-")
    assert got["number-data"][0]["value"] == {"number": 42, "label": "none"}
    assert got["number-data"][0]["key"] == number_key
    assert number_key.startswith("numberdata-auto-")
    assert got["point"][0]["value"] == {"x": 1, "y": 2}
    assert point_key.startswith("pointruninput-auto-")


def test_send_jsonl_reaches_prefect_receiver(
    run_flow_in_subprocess: RunFlowInSubprocess, tmp_path: Path
) -> None:
    output = tmp_path / "received.jsonl"
    process, run_id = start_receiver(run_flow_in_subprocess, output, "int=40")
    lines = tmp_path / "numbers.jsonl"
    lines.write_text("".join(f"{n}\n" for n in range(40)))

    result = runinput("send", run_id, "--type", "int", "--data", f"@{lines}")

    assert result.returncode == 0, result.stderr
    assert "sent 40 of 40 inputs" in result.stderr
    assert process.wait(FLOW_TIMEOUT) == 0, process.output()
    assert sorted(r["value"] for r in received(output)["int"]) == list(range(40))


def test_send_unknown_run_fails(prefect_api_url: str) -> None:
    result = runinput("send", "6f1f0c9e-0000-4000-8000-00000000dead", "5")

    assert result.returncode == 1
    assert "flow run 6f1f0c9e-0000-4000-8000-00000000dead not found" in result.stderr


@dataclass
class WatchLine:
    """One line of `watch --output json`, and when the test read it."""

    record: dict[str, Any]
    seen_at: float


class WatchProcess:
    """`runinput watch` in a child process, its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.popen = subprocess.Popen(
            [RUNINPUT, "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[WatchLine | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(WatchLine(json.loads(line), time.monotonic()))
        self.lines.put(None)

    def next_line(self, timeout: float = 60.0) -> WatchLine:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"watch printed no line within {timeout} s") from None
        assert line is not None, f"watch ended early: {self.stderr()}"
        return line

    def stderr(self) -> str:
        assert self.popen.stderr is not None
        return self.popen.stderr.read() if self.popen.poll() is not None else ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._reader.join(timeout=10)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()


def test_watch_follow_shows_flow_inputs_and_exits(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    process = run_flow_in_subprocess(FLOWS / "watch_conversation.py")
    run_id = process.wait_for_output(r"^flow run id: (\S+)$", timeout=60).group(1)
    flow_sender = f"prefect.flow-run.{run_id}"
    watcher = WatchProcess(
        run_id, "--output", "json", "--follow", "--interval", str(WATCH_INTERVAL)
    )
    try:
        ping = watcher.next_line().record
        reply = watcher.next_line().record
        process.wait_for_output(r"^replied$")

        sent_at = time.monotonic()
        stop_key = send(run_id, '"stop now"', "--key-prefix", "stop")
        stop = watcher.next_line()
        exit_code = watcher.popen.wait(FLOW_TIMEOUT)
        rest = list(iter(watcher.lines.get, None))
    finally:
        watcher.stop()

    assert set(ping) == {"key", "sender", "created", "value"}
    assert ping["key"].startswith("strautomaticruninput-auto-")
    assert ping["sender"] == flow_sender
    assert ping["value"] == {"value": "ping"}
    assert reply["key"].startswith("dictautomaticruninput-auto-")
    assert reply["sender"] == flow_sender
    assert reply["value"] == {"value": {"reply": "ping pong"}}
    assert stop.record["key"] == stop_key
    assert stop.record["value"] == {"value": "stop now"}
    assert stop.seen_at - sent_at < ARRIVAL_BOUND
    assert exit_code == 0
    assert rest == []
    wait_for_flow_run_state(run_id, "COMPLETED", process=process)


def test_watch_table_and_new_after_run_ended(
    run_flow_in_subprocess: RunFlowInSubprocess,
    wait_for_flow_run_state: WaitForFlowRunState,
) -> None:
    process = run_flow_in_subprocess(FLOWS / "watch_conversation.py")
    run_id = process.wait_for_output(r"^flow run id: (\S+)$", timeout=60).group(1)
    process.wait_for_output(r"^replied$")
    send(run_id, '"done"', "--key-prefix", "stop")
    wait_for_flow_run_state(run_id, "COMPLETED", process=process)

    table = runinput("watch", run_id, "--timeout", "0")
    only_new = runinput("watch", run_id, "--new", "--follow")
    stop_only = runinput("watch", run_id, "--prefix", "stop", "--timeout", "0")

    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert len(rows) == 3
    assert "strautomaticruninput-auto-" in rows[0]
    assert '{"value": "ping"}' in rows[0]
    assert f"prefect.flow-run.{run_id}" in rows[1]
    assert '{"value": {"reply": "ping pong"}}' in rows[1]
    assert "runinput.user." in rows[2]
    assert only_new.returncode == 0, only_new.stderr
    assert only_new.stdout == ""
    assert len(stop_only.stdout.splitlines()) == 1


TYPE_NAMES = [
    "int",
    "float",
    "str",
    "bool",
    "list",
    "dict",
    "datetime",
    "date",
    "uuid",
    "list[int]",
    "dict[str, list[float]]",
]


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_type_key_prefix_matches_prefect(type_name: str) -> None:
    from prefect.input.run_input import run_input_subclass_from_type

    from runinput_cli.input_types import build_encoder, parse_type_name

    prefect_class = run_input_subclass_from_type(parse_type_name(type_name))
    encoder = build_encoder(type_name, None, None)
    sample = {
        "int": 1,
        "float": 1.5,
        "str": "a",
        "bool": True,
        "list": [1],
        "dict": {"a": 1},
        "datetime": "2026-01-05T09:30:00Z",
        "date": "2026-01-05",
        "uuid": "6f1f0c9e-0000-4000-8000-000000000001",
        "list[int]": [1],
        "dict[str, list[float]]": {"a": [1.0]},
    }[type_name]

    assert encoder.encode(sample).key_prefix == f"{prefect_class.__name__.lower()}-auto"


@pytest.fixture
def mailbox(prefect_api: httpx.Client) -> str:
    """A flow run that exists only to hold inputs."""
    flow = prefect_api.post("/flows/", json={"name": "send-mailbox"})
    flow.raise_for_status()
    flow_run = prefect_api.post(
        "/flow_runs/",
        json={"flow_id": flow.json()["id"], "state": {"type": "RUNNING"}},
    )
    flow_run.raise_for_status()
    return str(flow_run.json()["id"])


def test_send_model_form_on_terminal(mailbox: str, prefect_api: httpx.Client) -> None:
    import pexpect

    child = pexpect.spawn(
        RUNINPUT,
        ["send", mailbox, "--model", "send_models:NumberData"],
        cwd=str(FLOWS),
        env={**os.environ, "COLUMNS": "120"},
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    try:
        child.expect("number")
        child.sendline("forty")
        child.expect("number")
        child.sendline("42")
        child.expect("label")
        child.sendline("")
        child.expect("Send this input")
        child.sendline("yes")
        child.expect(r"numberdata-auto-[0-9a-f-]{36}")
        key = child.after
        child.expect(pexpect.EOF)
    finally:
        child.close()

    stored = prefect_api.post(
        f"/flow_runs/{mailbox}/input/filter",
        json={"prefix": "numberdata-auto", "limit": 10, "exclude_keys": []},
    ).json()
    assert child.exitstatus == 0
    assert [s["key"] for s in stored] == [key]
    assert json.loads(stored[0]["value"]) == {"number": 42, "label": "none"}
