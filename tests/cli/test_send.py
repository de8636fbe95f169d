"""`runinput send` against an in-memory Prefect API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runinput_cli import input_types, send
from runinput_cli.errors import InvalidAnswerError
from tests.cli.fake_api import FakeApi, install_fake_api, run_command

UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"

MODELS = """
import pydantic
from runinput import RunInput


class NumberData(RunInput):
    number: int
    label: str = "none"


class Point(pydantic.BaseModel):
    x: int
    y: int


class Outer:
    class Inner(RunInput):
        flag: bool


NOT_A_MODEL = 5
"""


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = FakeApi()
    install_fake_api(monkeypatch, fake)
    return fake


@pytest.fixture
def run_id(api: FakeApi) -> str:
    return api.add_flow_run()


@pytest.fixture
def models_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "send_test_models.py"
    path.write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


def stored_key(api: FakeApi, run_id: str, index: int = 0) -> str:
    return str(api.inputs[run_id][index]["key"])


@pytest.mark.parametrize(
    ("args", "prefix", "stored"),
    [
        pytest.param(["5", "--type", "int"], "intautomaticruninput-auto", 5, id="int"),
        pytest.param(["5", "--type", "float"], "floatautomaticruninput-auto", 5.0),
        pytest.param(['"hi"', "--type", "str"], "strautomaticruninput-auto", "hi"),
        pytest.param(["true", "--type", "bool"], "boolautomaticruninput-auto", True),
        pytest.param(
            ['[1, "2"]', "--type", "list[int]"],
            "listautomaticruninput-auto",
            [1, 2],
            id="list-int-coerced",
        ),
        pytest.param(
            ['{"a": [1]}', "--type", "dict[str, list[float]]"],
            "dictautomaticruninput-auto",
            {"a": [1.0]},
            id="nested-generic",
        ),
        pytest.param(
            ['"2026-01-05T09:30:00Z"', "--type", "datetime"],
            "datetimeautomaticruninput-auto",
            "2026-01-05T09:30:00Z",
            id="datetime",
        ),
    ],
)
def test_send_type_stores_wrapped_value(
    api: FakeApi,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    prefix: str,
    stored: object,
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, *args)

    assert outcome.exit_code == 0, outcome.stderr
    key = stored_key(api, run_id)
    assert re.fullmatch(f"{prefix}-{UUID_PATTERN}", key)
    assert outcome.stdout == f"{key}\n"
    assert api.stored_values(run_id) == [{"value": stored}]


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("5", "intautomaticruninput-auto"),
        ("5.0", "floatautomaticruninput-auto"),
        ('"a"', "strautomaticruninput-auto"),
        ("false", "boolautomaticruninput-auto"),
        ("[1]", "listautomaticruninput-auto"),
        ('{"a": 1}', "dictautomaticruninput-auto"),
    ],
)
def test_send_without_type_uses_json_type(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, value: str, prefix: str
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, value)

    assert outcome.exit_code == 0, outcome.stderr
    assert stored_key(api, run_id).startswith(f"{prefix}-")
    assert api.stored_values(run_id) == [{"value": json.loads(value)}]


def test_send_null_without_type_is_rejected(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "null")

    assert outcome.exit_code == 2
    assert "cannot tell the type of a null value" in outcome.stderr
    assert api.inputs[run_id] == []


def test_send_key_prefix_replaces_prefix(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, '"hello"', "--key-prefix", "greetings"
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert re.fullmatch(f"greetings-{UUID_PATTERN}", stored_key(api, run_id))
    assert api.stored_values(run_id) == [{"value": "hello"}]


def test_send_sender_default_names_user_and_host(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(send.getpass, "getuser", lambda: "ada")
    monkeypatch.setattr(send.socket, "gethostname", lambda: "lab-3")

    run_command(monkeypatch, "send", run_id, "5")

    assert api.inputs[run_id][0]["sender"] == "runinput.user.ada@lab-3"


def test_send_sender_option_is_stored(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_command(monkeypatch, "send", run_id, "5", "--sender", "ops-bot")

    assert api.inputs[run_id][0]["sender"] == "ops-bot"


def test_default_sender_without_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(send.getpass, "getuser", no_login)
    monkeypatch.setattr(send.socket, "gethostname", lambda: "lab-3")

    assert send.default_sender() == "runinput.user.unknown@lab-3"


def test_send_run_name_finds_flow_run(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", "brave-otter", "5")

    assert outcome.exit_code == 0, outcome.stderr
    assert len(api.inputs[run_id]) == 1
    assert f"brave-otter ({run_id})" in outcome.stderr


def test_send_ambiguous_name_lists_ids(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = api.add_flow_run("twin")
    second = api.add_flow_run("twin")

    outcome = run_command(monkeypatch, "send", "twin", "5")

    assert outcome.exit_code == 2
    assert "2 flow runs are named 'twin'" in outcome.stderr
    assert first in outcome.stderr
    assert second in outcome.stderr
    assert api.inputs[first] == api.inputs[second] == []


def test_send_unknown_id_fails_before_sending(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "6f1f0c9e-0000-4000-8000-00000000dead"

    outcome = run_command(monkeypatch, "send", missing, "5")

    assert outcome.exit_code == 1
    assert f"flow run {missing} not found" in outcome.stderr
    assert not any(r.url.path.endswith("/input") for r in api.requests)


def test_send_unknown_name_fails(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = run_command(monkeypatch, "send", "nobody", "5")

    assert outcome.exit_code == 1
    assert "no flow run named 'nobody'" in outcome.stderr


def test_send_invalid_json_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "{x")

    assert outcome.exit_code == 2
    assert "invalid JSON in VALUE" in outcome.stderr
    assert outcome.stdout == ""


def test_send_value_not_fitting_type_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, '"many"', "--type", "int")

    assert outcome.exit_code == 2
    assert "invalid value for int (1 error)" in outcome.stderr
    assert "value: Input should be a valid integer" in outcome.stderr
    assert api.inputs[run_id] == []


def test_send_unknown_type_lists_names(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "5", "--type", "complex")

    assert outcome.exit_code == 2
    assert "unknown --type 'complex'" in outcome.stderr
    assert "list[T]" in outcome.stderr


def test_send_missing_value_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id)

    assert outcome.exit_code == 2
    assert "missing value" in outcome.stderr


def test_send_value_and_data_together_exit_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "5", "--data", "6")

    assert outcome.exit_code == 2
    assert "VALUE and --data cannot be used together" in outcome.stderr


def test_send_data_from_file_and_stdin(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    value_file = tmp_path / "value.json"
    value_file.write_text('{"a": 1}\n')

    from_file = run_command(monkeypatch, "send", run_id, "--data", f"@{value_file}")
    from_stdin = run_command(monkeypatch, "send", run_id, "--data", "@-", input="[2]")

    assert from_file.exit_code == 0, from_file.stderr
    assert from_stdin.exit_code == 0, from_stdin.stderr
    assert api.stored_values(run_id) == [{"value": {"a": 1}}, {"value": [2]}]


def test_send_unreadable_data_file_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, "--data", f"@{tmp_path / 'missing.json'}"
    )

    assert outcome.exit_code == 2
    assert "cannot read --data file" in outcome.stderr


def test_send_type_and_model_together_exit_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, "5", "--type", "int", "--model", "m:C"
    )

    assert outcome.exit_code == 2
    assert "--type and --model cannot be used together" in outcome.stderr


def test_send_to_finished_run_warns(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = api.add_flow_run(state_type="COMPLETED")

    outcome = run_command(monkeypatch, "send", run_id, "5")

    assert outcome.exit_code == 0
    assert "is COMPLETED, so nothing will receive this input" in outcome.stderr
    assert len(api.inputs[run_id]) == 1


# --model


def test_send_model_run_input_uses_class_prefix(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        '{"number": 7}',
        "--model",
        "send_test_models:NumberData",
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert re.fullmatch(f"numberdata-auto-{UUID_PATTERN}", stored_key(api, run_id))
    assert api.stored_values(run_id) == [{"number": 7, "label": "none"}]


def test_send_model_plain_pydantic_uses_run_input_prefix(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        '{"x": 1, "y": "2"}',
        "--model",
        f"{models_file}:Point",
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert stored_key(api, run_id).startswith("pointruninput-auto-")
    assert api.stored_values(run_id) == [{"x": 1, "y": 2}]


def test_send_model_nested_class_and_key_prefix(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        '{"flag": true}',
        "--model",
        "send_test_models:Outer.Inner",
        "--key-prefix",
        "flags",
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert stored_key(api, run_id).startswith("flags-")
    assert api.stored_values(run_id) == [{"flag": True}]


def test_send_model_invalid_value_lists_every_error(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        '{"number": "x", "extra": 1}',
        "--model",
        "send_test_models:NumberData",
    )

    assert outcome.exit_code == 2
    assert "invalid value for NumberData (2 errors)" in outcome.stderr
    assert "number: Input should be a valid integer" in outcome.stderr
    assert "extra: Extra inputs are not permitted" in outcome.stderr
    assert api.inputs[run_id] == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("send_test_models", "expected MODULE:CLASS"),
        ("no_such_module_xyz:Model", "cannot import module 'no_such_module_xyz'"),
        ("send_test_models:Missing", "has no attribute 'Missing'"),
        ("send_test_models:NOT_A_MODEL", "is not a pydantic model class but a int"),
        ("missing_file.py:Model", "no such file"),
    ],
)
def test_send_model_that_cannot_load_exits_2(
    api: FakeApi,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
    models_file: Path,
    spec: str,
    message: str,
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "{}", "--model", spec)

    assert outcome.exit_code == 2
    assert message in outcome.stderr
    assert api.inputs[run_id] == []


def test_load_model_import_error_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken_models.py"
    broken.write_text("raise RuntimeError('boom')\n")

    with pytest.raises(InvalidAnswerError, match="RuntimeError: boom"):
        input_types.load_model(f"{broken}:Model")


# --set


def test_send_set_fills_model_fields(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        '{"label": "a"}',
        "--model",
        "send_test_models:NumberData",
        "--set",
        "number=12",
        "--set",
        "label=b",
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert api.stored_values(run_id) == [{"number": 12, "label": "b"}]


def test_send_set_with_type_dict(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        "--type",
        "dict[str, int]",
        "--set",
        "a=5",
        "--set",
        "b=7",
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert api.stored_values(run_id) == [{"value": {"a": 5, "b": 7}}]


def test_send_set_without_type_or_model_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "--set", "a=5")

    assert outcome.exit_code == 2
    assert "--set needs --model or --type" in outcome.stderr


def test_send_set_unknown_field_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, models_file: Path
) -> None:
    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        "--model",
        "send_test_models:NumberData",
        "--set",
        "nmber=1",
    )

    assert outcome.exit_code == 2
    assert "invalid --set" in outcome.stderr
    assert "nmber" in outcome.stderr


# Key prefixes of a pause's keyset


def test_send_key_prefix_in_paused_keyset_is_rejected(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyset = {
        "schema": "paused-1-schema",
        "description": "paused-1-description",
        "response": "paused-1-response",
    }
    run_id = api.add_flow_run(
        state_type="PAUSED",
        state_name="Paused",
        state_details={"pause_key": "1", "run_input_keyset": keyset},
    )

    outcomes = [
        run_command(monkeypatch, "send", run_id, "5", "--key-prefix", prefix)
        for prefix in ("paused-1-response", "paused-1", "PAUSED-1-extra")
    ]

    for outcome in outcomes:
        assert outcome.exit_code == 2
        assert "inside the keyset of the pause" in outcome.stderr
        assert f"runinput resume {run_id}" in outcome.stderr
    assert api.inputs[run_id] == []


def test_send_other_prefix_to_paused_run_is_sent(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyset = {"response": "paused-1-response"}
    run_id = api.add_flow_run(
        state_type="PAUSED", state_details={"run_input_keyset": keyset}
    )

    outcome = run_command(monkeypatch, "send", run_id, "5", "--key-prefix", "paused-10")

    assert outcome.exit_code == 0, outcome.stderr
    assert len(api.inputs[run_id]) == 1


def test_send_keyset_shaped_prefix_rejected_when_running(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, "5", "--key-prefix", "suspended-abc-response"
    )

    assert outcome.exit_code == 2
    assert "has the form of a pause's keyset key" in outcome.stderr


@pytest.mark.parametrize("prefix", ["", "with space", "trailing-"])
def test_send_invalid_key_prefix_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    outcome = run_command(monkeypatch, "send", run_id, "5", "--key-prefix", prefix)

    assert outcome.exit_code == 2
    assert "invalid key prefix" in outcome.stderr


# --data @FILE.jsonl


def test_send_jsonl_sends_every_line(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = tmp_path / "numbers.jsonl"
    lines.write_text("".join(f"{n}\n" for n in range(30)) + "\n")

    outcome = run_command(
        monkeypatch, "send", run_id, "--type", "int", "--data", f"@{lines}"
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert f"sent 30 of 30 inputs to flow run brave-otter ({run_id})" in outcome.stderr
    values = sorted(v["value"] for v in api.stored_values(run_id))
    assert values == list(range(30))
    keys = [s["key"] for s in api.inputs[run_id]]
    assert all(k.startswith("intautomaticruninput-auto-") for k in keys)
    assert len(set(keys)) == 30


def test_send_jsonl_concurrency_one_keeps_order(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = tmp_path / "words.jsonl"
    lines.write_text('"a"\n"b"\n"c"\n')

    outcome = run_command(
        monkeypatch, "send", run_id, "--data", f"@{lines}", "--concurrency", "1"
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert api.stored_values(run_id) == [{"value": v} for v in "abc"]


def test_send_jsonl_reports_failed_lines(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    api.fail_creates.add('{"value":4}')
    lines = tmp_path / "mixed.jsonl"
    lines.write_text('1\n"two"\n3\n{bad\n4\n5\n')

    outcome = run_command(
        monkeypatch, "send", run_id, "--type", "int", "--data", f"@{lines}"
    )

    assert outcome.exit_code == 1
    assert sorted(v["value"] for v in api.stored_values(run_id)) == [1, 3, 5]
    assert "line 2: invalid value for int" in outcome.stderr
    assert "line 4: invalid JSON" in outcome.stderr
    assert "line 5: the Prefect API" in outcome.stderr
    assert "sent 3 of 6 inputs" in outcome.stderr
    assert "3 failed, on lines 2, 4-5" in outcome.stderr


def test_send_jsonl_flag_reads_stdin_lines(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, "--data", "@-", "--jsonl", input="1\n2\n"
    )

    assert outcome.exit_code == 0, outcome.stderr
    assert len(api.inputs[run_id]) == 2


def test_send_jsonl_empty_file_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = tmp_path / "empty.jsonl"
    lines.write_text("\n\n")

    outcome = run_command(monkeypatch, "send", run_id, "--data", f"@{lines}")

    assert outcome.exit_code == 2
    assert "has no lines to send" in outcome.stderr


def test_send_jsonl_unreadable_file_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = run_command(
        monkeypatch, "send", run_id, "--data", f"@{tmp_path / 'none.jsonl'}"
    )

    assert outcome.exit_code == 2
    assert "cannot read --data file" in outcome.stderr


def test_send_jsonl_with_value_exits_2(
    api: FakeApi, run_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = tmp_path / "one.jsonl"
    lines.write_text("1\n")

    outcome = run_command(monkeypatch, "send", run_id, "5", "--data", f"@{lines}")

    assert outcome.exit_code == 2
    assert "cannot be combined with VALUE or --set" in outcome.stderr


def test_send_jsonl_keyset_prefix_sends_nothing(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run_id = api.add_flow_run(
        state_type="PAUSED",
        state_details={"run_input_keyset": {"response": "paused-2-response"}},
    )
    lines = tmp_path / "one.jsonl"
    lines.write_text("1\n")

    outcome = run_command(
        monkeypatch,
        "send",
        run_id,
        "--data",
        f"@{lines}",
        "--key-prefix",
        "paused-2-response",
    )

    assert outcome.exit_code == 2
    assert api.inputs[run_id] == []


@pytest.mark.parametrize(
    ("numbers", "text"),
    [([3], "3"), ([1, 2, 3, 7], "1-3, 7"), ([2, 4, 5, 9, 10], "2, 4-5, 9-10")],
)
def test_format_line_numbers_ranges(numbers: list[int], text: str) -> None:
    from runinput_cli.send_bulk import format_line_numbers

    assert format_line_numbers(numbers) == text
