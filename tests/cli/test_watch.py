"""`runinput watch` against an in-memory Prefect API."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from runinput.receive import BATCH_SIZE
from runinput_cli import watch
from tests.cli.fake_api import FakeApi, install_fake_api, run_command

SENDER = "prefect.flow-run.6f1f0c9e-0000-4000-8000-000000000001"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    install_fake_api(monkeypatch, fake)
    return fake


@pytest.fixture
def run_id(api: FakeApi) -> str:
    return api.add_flow_run()


Step = Callable[[], None]


def script_polls(monkeypatch: pytest.MonkeyPatch, *steps: Step) -> list[float]:
    """Replace the wait between polls: the n-th wait runs the n-th step.

    After the last step, a wait raises KeyboardInterrupt, as Ctrl-C would.
    Returns the waits asked for, in seconds.
    """
    waits: list[float] = []
    pending = list(steps)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if not pending:
            raise KeyboardInterrupt
        pending.pop(0)()

    monkeypatch.setattr(watch.time, "sleep", sleep)
    return waits


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_watch_json_prints_existing_oldest_first(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_input(run_id, "intautomaticruninput-auto-1", '{"value":5}', SENDER)
    api.add_input(run_id, "paused-1-response", '{"approved":true}')

    outcome = run_command(
        monkeypatch, "watch", run_id, "--output", "json", "--timeout", "0"
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert json_lines(outcome.stdout) == [
        {
            "key": "intautomaticruninput-auto-1",
            "sender": SENDER,
            "created": "2026-01-05T09:30:00Z",
            "value": {"value": 5},
        },
        {
            "key": "paused-1-response",
            "sender": None,
            "created": "2026-01-05T09:30:01Z",
            "value": {"approved": True},
        },
    ]


def test_watch_table_line_has_key_sender_value(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_input(run_id, "strautomaticruninput-auto-1", '{"value":"hi"}', SENDER)

    outcome = run_command(monkeypatch, "watch", run_id, "--timeout", "0")

    assert outcome.exit_code == 0, outcome.stderr
    (line,) = outcome.stdout.splitlines()
    fields = line.split("  ")
    assert len(fields) == 4
    assert fields[1:] == ["strautomaticruninput-auto-1", SENDER, '{"value": "hi"}']
    assert fields[0].startswith("2026-01-0")


def test_watch_invalid_json_is_raw_text_with_warning(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_input(run_id, "odd-1", "not json {")
    api.add_input(run_id, "fine-1", "[1]")

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json", "--timeout", "0")

    assert outcome.exit_code == 0
    assert [line["value"] for line in json_lines(outcome.stdout)] == [
        "not json {",
        [1],
    ]
    assert "input odd-1 is not valid JSON" in outcome.stderr
    assert "showing the raw text" in outcome.stderr


def test_watch_prefix_narrows_keys(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_input(run_id, "numberdata-auto-1", '{"number":1}')
    api.add_input(run_id, "pointruninput-auto-1", '{"x":1,"y":2}')

    outcome = run_command(
        monkeypatch, "watch", run_id, "-o", "json", "--timeout", "0", "-p", "point"
    )

    assert [line["key"] for line in json_lines(outcome.stdout)] == [
        "pointruninput-auto-1"
    ]


def test_watch_polls_until_ctrl_c(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.add_input(run_id, "a-1", "1")
    waits = script_polls(
        monkeypatch,
        lambda: api.add_input(run_id, "a-2", "2"),
        lambda: None,
        lambda: api.add_input(run_id, "a-3", "3"),
    )

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json", "-i", "0.5")

    assert outcome.exit_code == 0, outcome.stderr
    assert [line["key"] for line in json_lines(outcome.stdout)] == ["a-1", "a-2", "a-3"]
    assert waits == [0.5, 0.5, 0.5, 0.5]


def test_watch_new_skips_existing_inputs(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        api.add_input(run_id, f"old-{number}", str(number))
    script_polls(monkeypatch, lambda: api.add_input(run_id, "new-1", "9"))

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json", "--new")

    assert outcome.exit_code == 0, outcome.stderr
    assert [line["key"] for line in json_lines(outcome.stdout)] == ["new-1"]


def test_watch_follow_exits_after_last_poll(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def finish() -> None:
        api.add_input(run_id, "last-1", '"bye"')
        api.set_state(run_id, "COMPLETED")

    script_polls(monkeypatch, lambda: api.add_input(run_id, "a-1", "1"), finish)

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json", "--follow")

    assert outcome.exit_code == 0, outcome.stderr
    assert [line["key"] for line in json_lines(outcome.stdout)] == ["a-1", "last-1"]


@pytest.mark.parametrize("state_type", ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])
def test_watch_follow_finished_run_prints_and_exits(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, state_type: str
) -> None:
    run_id = api.add_flow_run(state_type=state_type)
    api.add_input(run_id, "a-1", "1")
    waits = script_polls(monkeypatch)

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json", "--follow")

    assert outcome.exit_code == 0, outcome.stderr
    assert len(json_lines(outcome.stdout)) == 1
    assert waits == []


def test_watch_follow_timeout_before_end_exits_1(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "watch", run_id, "--follow", "--timeout", "0")

    assert outcome.exit_code == 1
    assert "did not reach a final state within 0 s" in outcome.stderr


def test_watch_timeout_ends_without_follow(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr(watch.time, "monotonic", lambda: now[0])

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    waits: list[float] = []
    monkeypatch.setattr(watch.time, "sleep", sleep)

    outcome = run_command(monkeypatch, "watch", run_id, "--timeout", "1", "-i", "0.4")

    assert outcome.exit_code == 0, outcome.stderr
    assert waits == [pytest.approx(0.4), pytest.approx(0.4), pytest.approx(0.2)]
    assert len(api.filter_bodies()) == 4


def test_watch_unknown_run_exits_1(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch, "watch", "6f1f0c9e-0000-4000-8000-00000000dead", "--timeout", "0"
    )

    assert outcome.exit_code == 1
    assert "not found" in outcome.stderr


def test_watch_failed_polls_warn_once_and_recover(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def break_server() -> None:
        api.failing_filters = 3
        api.add_input(run_id, "a-1", "1")

    script_polls(monkeypatch, break_server, lambda: None, lambda: None, lambda: None)

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json")

    assert outcome.exit_code == 0
    assert outcome.stderr.count("polling failed") == 1
    assert "HTTP 500" in outcome.stderr
    assert "polling works again" in outcome.stderr
    assert [line["key"] for line in json_lines(outcome.stdout)] == ["a-1"]


def test_watch_poll_cost_is_one_request_per_poll(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(1200):
        api.add_input(run_id, f"k-{number:04d}", str(number))
    idle_polls = [lambda: None] * 3
    script_polls(monkeypatch, *idle_polls)

    outcome = run_command(monkeypatch, "watch", run_id, "-o", "json")

    assert len(outcome.stdout.splitlines()) == 1200
    bodies = api.filter_bodies()
    # The 1200 inputs arrive in batches of BATCH_SIZE, then each of the three
    # polls that follow is one request that excludes what was shown.
    batches = list(range(0, 1200, BATCH_SIZE))
    assert [len(body["exclude_keys"]) for body in bodies] == [
        *batches,
        1200,
        1200,
        1200,
    ]
    assert all(body["limit"] == BATCH_SIZE for body in bodies)
    assert len(set(bodies[-1]["exclude_keys"])) == 1200


def test_watch_ambiguous_name_lists_ten_ids(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [api.add_flow_run("twin") for _ in range(12)]

    outcome = run_command(monkeypatch, "watch", "twin", "--timeout", "0")

    assert outcome.exit_code == 2
    assert "12 flow runs are named 'twin'" in outcome.stderr
    assert sum(run_id in outcome.stderr for run_id in ids) == 10
    assert "and 2 more" in outcome.stderr
