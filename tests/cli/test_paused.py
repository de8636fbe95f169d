"""`runinput ls`, `show` and `resume` without a terminal, against a real server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from runinput_cli import pause_reader, paused
from tests.cli.paused_runs import (
    DESCRIPTION,
    SHIPMENT,
    Invoke,
    MakePausedRun,
    create_deployment,
    create_flow_run,
    response_of,
)
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration


def test_ls_lists_paused_run(
    invoke: Invoke, paused_run: MakePausedRun, flow_name: str
) -> None:
    flow_run_id = paused_run(SHIPMENT, description=DESCRIPTION)

    result = invoke("ls", "--flow", flow_name)

    assert result.exit_code == 0, result.describe()
    header, row = result.stdout.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "FLOW",
        "STATE",
        "PAUSED",
        "SINCE",
        "TIME",
        "LEFT",
        "INPUT",
        "DESCRIPTION",
    ]
    assert row.startswith(flow_run_id)
    assert flow_name in row
    assert "Paused" in row
    assert "59m" in row
    assert " yes " in row
    assert row.rstrip().endswith("Parcel check")


def test_ls_json_fields(
    invoke: Invoke, paused_run: MakePausedRun, flow_name: str
) -> None:
    flow_run_id = paused_run(SHIPMENT, description=DESCRIPTION, tags=["billing"])
    no_input_id = paused_run(awaits_input=False)

    result = invoke("ls", "--flow", flow_name, "--output", "json")

    assert result.exit_code == 0, result.describe()
    records = {record["id"]: record for record in json.loads(result.stdout)}
    assert set(records) == {flow_run_id, no_input_id}
    record = records[flow_run_id]
    assert record["flow_name"] == flow_name
    assert record["state_name"] == "Paused"
    assert record["awaits_input"] is True
    assert record["expired"] is False
    assert record["description"] == DESCRIPTION
    assert record["tags"] == ["billing"]
    assert record["keyset"]["response"] == "paused-1-response"
    assert record["pause_timeout"].startswith("20")
    assert 3500 < record["time_left_seconds"] <= 3600
    assert records[no_input_id]["awaits_input"] is False
    assert records[no_input_id]["description"] is None


def test_ls_filters_by_tag(
    invoke: Invoke, paused_run: MakePausedRun, flow_name: str
) -> None:
    tagged = paused_run(SHIPMENT, tags=["a", "b"])
    paused_run(SHIPMENT, tags=["a"])

    result = invoke("ls", "--flow", flow_name, "--tag", "a", "--tag", "b", "-o", "json")

    assert [record["id"] for record in json.loads(result.stdout)] == [tagged]


def test_ls_filters_by_deployment_id_or_name(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun, flow_name: str
) -> None:
    deployment_name = f"deploy-{flow_name}"
    deployment_id = create_deployment(server_api, flow_name, deployment_name)
    deployed = paused_run(SHIPMENT, deployment_id=deployment_id)
    paused_run(SHIPMENT)

    by_id = invoke("ls", "--deployment", deployment_id, "-o", "json")
    by_name = invoke("ls", "--deployment", deployment_name, "-o", "json")
    mixed = invoke("ls", "-d", deployment_id, "-d", deployment_name)

    assert [record["id"] for record in json.loads(by_id.stdout)] == [deployed]
    assert [record["id"] for record in json.loads(by_name.stdout)] == [deployed]
    assert mixed.exit_code == 2
    assert "ids or names, not both" in mixed.stderr


def test_ls_empty_result_says_so(invoke: Invoke, flow_name: str) -> None:
    table = invoke("ls", "--flow", flow_name)
    as_json = invoke("ls", "--flow", flow_name, "-o", "json")

    assert table.exit_code == 0
    assert table.stdout == ""
    assert table.stderr.strip() == "No paused flow runs match the filters."
    assert json.loads(as_json.stdout) == []


def test_ls_skips_runs_not_paused(
    invoke: Invoke, server_api: ServerApi, flow_name: str
) -> None:
    create_flow_run(server_api, flow_name)

    result = invoke("ls", "--flow", flow_name, "-o", "json")

    assert json.loads(result.stdout) == []


def test_ls_pages_past_server_page_size(
    invoke: Invoke, server_api: ServerApi, flow_name: str
) -> None:
    count = 205
    for _ in range(count):
        flow_run_id = create_flow_run(server_api, flow_name)
        server_api.pause_by_api(flow_run_id)

    everything = invoke("ls", "--flow", flow_name, "--limit", "0", "-o", "json")
    limited = invoke("ls", "--flow", flow_name, "--limit", "201", "-o", "json")
    default = invoke("ls", "--flow", flow_name)

    ids = [record["id"] for record in json.loads(everything.stdout)]
    assert len(ids) == count
    assert len(set(ids)) == count
    assert len(json.loads(limited.stdout)) == 201
    assert len(default.stdout.splitlines()) == 1 + paused.DEFAULT_LIMIT
    assert "Showing the newest 100 of 205 paused flow runs" in default.stderr


def test_show_description_and_fields(invoke: Invoke, paused_run: MakePausedRun) -> None:
    flow_run_id = paused_run(SHIPMENT, description=DESCRIPTION)

    result = invoke("show", flow_run_id)

    assert result.exit_code == 0, result.describe()
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert flow_run_id in lines[0]
    assert lines[1].startswith("Paused since ")
    assert "times out in 59m" in lines[1]
    # Rich renders Markdown: no `#` or `**` left, paragraphs kept apart.
    assert "Check the address first." in result.stdout
    assert "**" not in result.stdout
    assert "Parcel check" in result.stdout
    rows = {line.split()[0]: line for line in lines if line and line[0] != " "}
    assert "recipient" in rows
    assert "required" in rows["recipient"]
    assert "at least 2 characters" in rows["recipient"]
    assert "Who receives it" in rows["recipient"]
    assert '"red-ish"' in rows["color"]
    assert 'one of "S", "M", "L"' in rows["size"]
    assert "list of Line" in rows["lines"]
    assert any("[].qty" in line and "at most 99" in line for line in lines)
    assert "string (secret) | null" in rows["token"]


def test_show_json_has_run_keyset_description_schema(
    invoke: Invoke, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT, description=DESCRIPTION)

    result = invoke("show", flow_run_id, "-o", "json")

    record = json.loads(result.stdout)
    assert record["id"] == flow_run_id
    assert record["keyset"]["schema"] == "paused-1-schema"
    assert record["description"] == DESCRIPTION
    assert record["schema"] == SHIPMENT


def test_show_by_name(invoke: Invoke, server_api: ServerApi, flow_name: str) -> None:
    name = f"named-{flow_name}"
    flow_run_id = create_flow_run(server_api, flow_name, name=name)
    server_api.pause_by_api(flow_run_id, schema=SHIPMENT)

    result = invoke("show", name, "-o", "json")

    assert json.loads(result.stdout)["id"] == flow_run_id


def test_show_not_paused_fails(invoke: Invoke, server_api: ServerApi) -> None:
    flow_run_id = create_flow_run(server_api, "running")

    result = invoke("show", flow_run_id)

    assert result.exit_code == 1
    assert "is not paused: it is RUNNING" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_unknown_name_fails(invoke: Invoke, prefect_api_url: str) -> None:
    result = invoke("show", "no-such-run-name")

    assert result.exit_code == 1
    assert "no flow run is named 'no-such-run-name'" in result.stderr


def test_show_invalid_schema_names_key_and_reason(
    invoke: Invoke, paused_run: MakePausedRun
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "strin"}}}
    flow_run_id = paused_run(schema)

    result = invoke("show", flow_run_id)

    assert result.exit_code == 0, result.describe()
    assert "the schema stored under 'paused-1-schema' is invalid at " in result.stdout
    assert "invalid at properties.n.type: 'strin' is not valid" in result.stdout


def test_resume_data_accepted(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data = {"recipient": "Ada", "size": "M", "lines": [{"name": "bolt", "qty": 3}]}

    result = invoke("resume", flow_run_id, "--data", json.dumps(data), "--follow", "0")

    assert result.exit_code == 0, result.describe()
    assert "Resumed flow run" in result.stderr
    assert response_of(server_api, flow_run_id) == {
        "recipient": "Ada",
        "color": "red-ish",
        "size": "M",
        "lines": [{"name": "bolt", "qty": 3}],
        "due": None,
        "note": None,
        "token": None,
    }
    assert server_api.state_type(flow_run_id) == "RUNNING"


def test_resume_set_values_parsed_by_type(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = invoke(
        "resume",
        flow_run_id,
        "--set",
        "recipient=Bo",
        "--set",
        "size=L",
        "--set",
        "color=blue-ish",
        "--set",
        "lines[0].name=nut",
        "--set",
        "lines[0].qty=7",
        "--set",
        "due=2020-02-29",
        "--follow",
        "0",
    )

    assert result.exit_code == 0, result.describe()
    response = response_of(server_api, flow_run_id)
    assert response["color"] == "blue-ish"
    assert response["lines"] == [{"name": "nut", "qty": 7}]
    assert response["due"] == "2020-02-29"


def test_resume_set_applied_over_data_file(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun, tmp_path: Path
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data_file = tmp_path / "answer.json"
    data_file.write_text(json.dumps({"recipient": "Cy", "size": "S", "note": "x"}))

    result = invoke(
        "resume", flow_run_id, "--data", f"@{data_file}", "-s", "note=", "--follow", "0"
    )

    assert result.exit_code == 0, result.describe()
    assert response_of(server_api, flow_run_id)["note"] is None


def test_resume_data_from_stdin(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = invoke(
        "resume",
        flow_run_id,
        "--data",
        "@-",
        "--follow",
        "0",
        input='{"recipient": "Di", "size": "S"}',
    )

    assert result.exit_code == 0, result.describe()
    assert response_of(server_api, flow_run_id)["recipient"] == "Di"


def test_resume_missing_values_listed(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)

    result = invoke("resume", flow_run_id, "--set", "lines[0].qty=2")

    assert result.exit_code == 2, result.describe()
    assert result.stderr.splitlines()[0] == (
        "error: missing required values: recipient, size, lines[0].name"
    )
    assert server_api.state_type(flow_run_id) == "PAUSED"
    assert response_of(server_api, flow_run_id) is None


def test_resume_invalid_values_all_listed(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data = {
        "recipient": "A",
        "size": "XL",
        "lines": [{"name": "a", "qty": 0}, {"name": "b", "qty": 100}],
        "extra": 1,
    }

    result = invoke("resume", flow_run_id, "--data", json.dumps(data))

    assert result.exit_code == 2, result.describe()
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the answer has 5 problems:"
    located = sorted(line.split(":")[0].strip() for line in lines[1:6])
    assert located == ["extra", "lines[0].qty", "lines[1].qty", "recipient", "size"]
    assert "Traceback" not in result.stderr
    assert server_api.state_type(flow_run_id) == "PAUSED"


def test_resume_bad_date_refused_locally(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data = {"recipient": "Ed", "size": "S", "due": "2021-02-30"}

    result = invoke("resume", flow_run_id, "--data", json.dumps(data))

    assert result.exit_code == 2, result.describe()
    assert 'due: "2021-02-30" is not a valid date' in result.stderr
    assert response_of(server_api, flow_run_id) is None


def test_resume_placeholder_refused(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data = {"recipient": {"__prefect_kind": "json", "value": '"Fay"'}, "size": "S"}

    result = invoke("resume", flow_run_id, "--data", json.dumps(data))

    assert result.exit_code == 2, result.describe()
    assert "recipient: contains a __prefect_kind key" in result.stderr
    assert server_api.state_type(flow_run_id) == "PAUSED"


def test_resume_placeholder_allowed_is_expanded(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    data = {"recipient": {"__prefect_kind": "json", "value": '"Fay"'}, "size": "S"}

    result = invoke(
        "resume",
        flow_run_id,
        "--data",
        json.dumps(data),
        "--allow-placeholders",
        "--follow",
        "0",
    )

    assert result.exit_code == 0, result.describe()
    assert response_of(server_api, flow_run_id)["recipient"] == "Fay"


def test_resume_server_rejection_exits_1(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT)
    # The placeholder hides the value from the local check; the server
    # expands it to 5, which is not a string.
    data = {"recipient": {"__prefect_kind": "json", "value": "5"}, "size": "S"}

    result = invoke(
        "resume", flow_run_id, "--data", json.dumps(data), "--allow-placeholders"
    )

    assert result.exit_code == 1, result.describe()
    assert "the server rejected the answer" in result.stderr
    assert "Validation failed for field 'recipient'" in result.stderr
    assert server_api.state_type(flow_run_id) == "PAUSED"


def test_resume_not_paused_exits_1(invoke: Invoke, server_api: ServerApi) -> None:
    flow_run_id = create_flow_run(server_api, "running")

    result = invoke("resume", flow_run_id, "--data", "{}")

    assert result.exit_code == 1, result.describe()
    assert "is not paused: it is RUNNING" in result.stderr


def test_resume_without_input_needs_no_answer(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(awaits_input=False)

    with_data = invoke("resume", flow_run_id, "--data", "{}")
    plain = invoke("resume", flow_run_id, "--follow", "0")

    assert with_data.exit_code == 2
    assert "awaits no input" in with_data.stderr
    assert plain.exit_code == 0, plain.describe()
    assert server_api.state_type(flow_run_id) == "RUNNING"


def test_resume_invalid_schema_sends_data_as_is(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/definitions/Gone"}}}
    flow_run_id = paused_run(schema)

    without_data = invoke("resume", flow_run_id)
    with_data = invoke("resume", flow_run_id, "--data", '{"a": 1}', "--follow", "0")

    assert without_data.exit_code == 1, without_data.describe()
    assert "the schema stored under 'paused-1-schema' is invalid" in without_data.stderr
    assert "#/definitions/Gone" in without_data.stderr
    assert "pass the whole answer as JSON with --data" in without_data.stderr
    # The server cannot resolve the reference either, and its verdict is final.
    assert with_data.exit_code == 1, with_data.describe()
    assert "the server rejected the answer" in with_data.stderr


def test_resume_waits_for_pending_schema(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(schema=None)
    writer = threading.Timer(
        1.0,
        server_api.create_input,
        (flow_run_id, "paused-1-schema", SHIPMENT),
    )
    writer.start()

    started = time.monotonic()
    result = invoke(
        "resume", flow_run_id, "-s", "recipient=Gus", "-s", "size=M", "--follow", "0"
    )
    writer.join()

    assert result.exit_code == 0, result.describe()
    assert time.monotonic() - started >= 1.0
    assert response_of(server_api, flow_run_id)["recipient"] == "Gus"


def test_resume_pending_schema_gives_up(
    invoke: Invoke,
    paused_run: MakePausedRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pause_reader, "SCHEMA_WAIT_SECONDS", 0.5)
    flow_run_id = paused_run(schema=None)

    result = invoke("resume", flow_run_id, "--data", "{}")

    assert result.exit_code == 1, result.describe()
    assert "has not stored its input schema yet" in result.stderr


def test_resume_ambiguous_name_needs_id(
    invoke: Invoke, server_api: ServerApi, flow_name: str
) -> None:
    name = f"twin-{flow_name}"
    for _ in range(2):
        flow_run_id = create_flow_run(server_api, flow_name, name=name)
        server_api.pause_by_api(flow_run_id, schema=SHIPMENT)

    result = invoke("resume", name, "--data", "{}")

    assert result.exit_code == 2, result.describe()
    assert f"2 flow runs are named {name!r}" in result.stderr
    assert "pass the flow run id instead of the name" in result.stderr


def test_resume_name_prefers_paused_run(
    invoke: Invoke, server_api: ServerApi, flow_name: str
) -> None:
    name = f"twin-{flow_name}"
    create_flow_run(server_api, flow_name, name=name)
    flow_run_id = create_flow_run(server_api, flow_name, name=name)
    server_api.pause_by_api(flow_run_id, schema=SHIPMENT)

    result = invoke(
        "resume", name, "-s", "recipient=Hal", "-s", "size=S", "--follow", "0"
    )

    assert result.exit_code == 0, result.describe()
    assert response_of(server_api, flow_run_id)["recipient"] == "Hal"


def test_resume_without_run_needs_terminal(
    invoke: Invoke, prefect_api_url: str
) -> None:
    result = invoke("resume")

    assert result.exit_code == 2
    assert "missing flow run" in result.stderr


def test_resume_expired_pause_not_answered(
    invoke: Invoke, server_api: ServerApi, paused_run: MakePausedRun
) -> None:
    flow_run_id = paused_run(SHIPMENT, timeout_seconds=-5)

    result = invoke("resume", flow_run_id, "-s", "recipient=Ivy", "-s", "size=S")

    assert result.exit_code == 1, result.describe()
    # The server's expiry service may fail the run before the command reads it.
    assert "expired" in result.stderr or "is not paused" in result.stderr
    assert response_of(server_api, flow_run_id) is None
