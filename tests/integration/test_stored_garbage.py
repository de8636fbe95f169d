"""Stored data that breaks the input protocol, on a real server: runinput keeps working.

Another writer can store anything under a flow run's input keys. The cases
here are text that is not JSON, values of the wrong shape, schemas with
circular or unresolvable references, schemas too large or too deep to use,
descriptions that are not strings, and keysets without their keys. Each such
item must give a warning or problem that names its key, and everything else
must keep working: `ls` lists every run, `show` shows what it can, `resume`
never crashes and sends nothing twice, `watch` and the library's receive skip
or show the bad values.

The data is written straight through the REST API (`tests/server_api.py`),
and pauses are set with a forced PAUSED state that carries a keyset, as
`pause_flow_run` stores it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import runinput
from runinput import Client, InvalidSchemaError, RunInput
from runinput.pause import read_pause
from tests.cli_process import run_cli
from tests.prefect_server import PrefectServer
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration

SCHEMA_KEY = "paused-1-schema"
DESCRIPTION_KEY = "paused-1-description"
RESPONSE_KEY = "paused-1-response"

GOOD_SCHEMA = {
    "type": "object",
    "title": "Answer",
    "properties": {"x": {"type": "integer", "title": "X"}},
    "required": ["x"],
}


def nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"n": schema}, "required": ["n"]}
    return schema


def reference_chain(length: int) -> dict[str, Any]:
    """A schema whose models each hold the next one: shallow JSON, long chain."""
    definitions: dict[str, Any] = {
        f"M{i}": {
            "type": "object",
            "properties": {"n": {"$ref": f"#/definitions/M{i + 1}"}},
        }
        for i in range(length)
    }
    definitions[f"M{length}"] = {"type": "string"}
    return {
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/M0"}},
        "definitions": definitions,
    }


# Each bad schema, and a phrase that its problem must contain.
BAD_SCHEMAS: dict[str, tuple[Any, str]] = {
    "not-json": ("{not json", "not valid JSON"),
    "array": ([1, 2], "not a JSON object"),
    "circular": (
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/A"}},
            "definitions": {
                "A": {"$ref": "#/definitions/B"},
                "B": {"$ref": "#/definitions/A"},
            },
        },
        "circular",
    ),
    "unresolvable": (
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/Missing"}},
            "required": ["x"],
        },
        "cannot be resolved",
    ),
    "invalid-keyword": (
        {"type": "object", "properties": {"x": {"type": 5}}},
        "invalid",
    ),
    "huge": (
        {
            "type": "object",
            "properties": {
                f"field{i}": {"type": "string", "description": "d" * 200}
                for i in range(1300)
            },
        },
        "characters long",
    ),
    "deep": (nested_schema(120), "levels deep"),
    "reference-chain": (reference_chain(700), "nested too deeply"),
}

# Each bad description, and the text that `show` prints for it.
BAD_DESCRIPTIONS: dict[str, tuple[Any, str]] = {
    "number": (42, "42"),
    "object": ({"note": "approve"}, '{"note": "approve"}'),
    "raw-text": ("Approve the *release*", "Approve the"),
}


@dataclass(frozen=True)
class GarbageRuns:
    """The flow runs that one module's tests read, all of one flow."""

    flow_name: str
    good: str
    schemas: dict[str, str]
    descriptions: dict[str, str]
    incomplete_keyset: str


@pytest.fixture(scope="module")
def server_url(prefect_server: PrefectServer) -> str:
    return prefect_server.api_url


@pytest.fixture(scope="module")
def garbage_runs(server_url: str) -> Iterator[GarbageRuns]:
    """Paused runs with bad schemas, bad descriptions and stray bad inputs.

    The tests that read them change nothing, so they share one set.
    """
    flow_name = f"garbage-{uuid.uuid4().hex[:8]}"
    with ServerApi(server_url) as api:
        good = api.create_flow_run(flow_name)
        api.pause_by_api(good, schema=GOOD_SCHEMA, description=json.dumps("Fine"))
        # Garbage beside a valid keyset: other writers' keys, one not JSON.
        api.create_input(good, "paused-1-schema-draft", "{broken")
        api.create_input(good, "notes-1", "not json either")

        schemas = {}
        for name, (schema, _) in BAD_SCHEMAS.items():
            schemas[name] = api.create_flow_run(flow_name)
            api.pause_by_api(
                schemas[name], schema=schema, description=json.dumps(f"case {name}")
            )
        descriptions = {}
        for name, (description, _) in BAD_DESCRIPTIONS.items():
            descriptions[name] = api.create_flow_run(flow_name)
            api.pause_by_api(
                descriptions[name], schema=GOOD_SCHEMA, description=description
            )
        incomplete = api.create_flow_run(flow_name)
        api.set_state(
            incomplete,
            {
                "type": "PAUSED",
                "name": "Paused",
                "state_details": {"pause_key": "1", "run_input_keyset": {"a": "b"}},
            },
        )
        yield GarbageRuns(flow_name, good, schemas, descriptions, incomplete)


@pytest.fixture
def api(server_url: str) -> Iterator[ServerApi]:
    with ServerApi(server_url) as server_api:
        yield server_api


@pytest.fixture
def env(server_url: str) -> dict[str, str]:
    return {"PREFECT_API_URL": server_url}


def test_ls_lists_every_garbage_run(
    garbage_runs: GarbageRuns, env: dict[str, str]
) -> None:
    table = run_cli("ls", "--flow", garbage_runs.flow_name, env=env)
    as_json = run_cli("ls", "--flow", garbage_runs.flow_name, "-o", "json", env=env)

    for result in (table, as_json):
        assert result.returncode == 0, result.describe()
        assert "Traceback" not in result.output, result.describe()
    records = {record["id"]: record for record in json.loads(as_json.stdout)}
    assert records[garbage_runs.good]["schema_problem"] is None
    for name, flow_run_id in garbage_runs.schemas.items():
        assert flow_run_id in table.stdout, name
        problem = records[flow_run_id]["schema_problem"]
        assert problem is not None, name
        assert SCHEMA_KEY in problem, name
        assert BAD_SCHEMAS[name][1] in problem, name
        assert records[flow_run_id]["description"] == f"case {name}"
    for name, flow_run_id in garbage_runs.descriptions.items():
        assert flow_run_id in table.stdout, name
        assert records[flow_run_id]["schema_problem"] is None, name
        assert f"{DESCRIPTION_KEY!r} on flow run {flow_run_id}" in table.stderr
    assert "keyset" in records[garbage_runs.incomplete_keyset]["schema_problem"]


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
def test_show_bad_schema_names_key(
    garbage_runs: GarbageRuns, env: dict[str, str], name: str
) -> None:
    flow_run_id = garbage_runs.schemas[name]

    result = run_cli("show", flow_run_id, env=env)

    assert result.returncode == 0, result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert SCHEMA_KEY in result.output, result.describe()
    assert BAD_SCHEMAS[name][1] in result.output, result.describe()
    assert f"case {name}" in result.stdout, result.describe()


def test_show_json_bad_schema_problem(
    garbage_runs: GarbageRuns, env: dict[str, str]
) -> None:
    result = run_cli("show", garbage_runs.schemas["circular"], "-o", "json", env=env)

    assert result.returncode == 0, result.describe()
    record = json.loads(result.stdout)
    assert SCHEMA_KEY in record["schema_problem"]
    assert record["schema_pending"] is False


@pytest.mark.parametrize("name", list(BAD_DESCRIPTIONS))
def test_show_bad_description_warns_key(
    garbage_runs: GarbageRuns, env: dict[str, str], name: str
) -> None:
    flow_run_id = garbage_runs.descriptions[name]

    result = run_cli("show", flow_run_id, env=env)

    assert result.returncode == 0, result.describe()
    assert f"{DESCRIPTION_KEY!r} on flow run {flow_run_id}" in result.stderr
    assert BAD_DESCRIPTIONS[name][1] in result.stdout, result.describe()
    assert "integer" in result.stdout, result.describe()


def test_show_stray_garbage_keys_ignored(
    garbage_runs: GarbageRuns, env: dict[str, str]
) -> None:
    result = run_cli("show", garbage_runs.good, env=env)

    assert result.returncode == 0, result.describe()
    assert result.stderr == "", result.describe()
    assert "Fine" in result.stdout


def test_show_incomplete_keyset_names_keys(
    garbage_runs: GarbageRuns, env: dict[str, str]
) -> None:
    result = run_cli("show", garbage_runs.incomplete_keyset, env=env)

    assert result.returncode == 0, result.describe()
    assert "'schema'" in result.output, result.describe()
    assert "Traceback" not in result.output


def test_read_pause_bad_schema_raises_with_key(
    garbage_runs: GarbageRuns, server_url: str
) -> None:
    with Client(runinput.Settings(api_url=server_url)) as client:
        for name in ("not-json", "array", "huge", "deep"):
            with pytest.raises(InvalidSchemaError) as caught:
                read_pause(client, garbage_runs.schemas[name])
            assert SCHEMA_KEY in str(caught.value), name
            assert BAD_SCHEMAS[name][1] in str(caught.value), name


def test_read_pause_bad_description_warns(
    garbage_runs: GarbageRuns, server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="runinput")

    with Client(runinput.Settings(api_url=server_url)) as client:
        pause = read_pause(client, garbage_runs.descriptions["number"])

    assert pause.schema == GOOD_SCHEMA
    assert pause.description == "42"
    assert any(DESCRIPTION_KEY in record.getMessage() for record in caplog.records)


@pytest.fixture
def fresh_pause(api: ServerApi) -> Any:
    """Pause a new flow run with the given schema, for tests that resume it."""

    def pause(schema: Any, description: Any = None) -> str:
        flow_run_id = api.create_flow_run("garbage-resume")
        api.pause_by_api(flow_run_id, schema=schema, description=description)
        return flow_run_id

    return pause


@pytest.mark.parametrize("name", list(BAD_SCHEMAS))
def test_resume_bad_schema_no_crash(
    api: ServerApi, fresh_pause: Any, env: dict[str, str], name: str
) -> None:
    flow_run_id = fresh_pause(BAD_SCHEMAS[name][0])

    result = run_cli(
        "resume",
        flow_run_id,
        "--data",
        '{"x": 1}',
        "--no-input",
        "--follow",
        "0",
        env=env,
    )

    assert result.returncode in (0, 1), result.describe()
    assert "Traceback" not in result.output, result.describe()
    assert SCHEMA_KEY in result.stderr, result.describe()
    assert "has not stored its input schema yet" not in result.stderr
    stored = api.read_input(flow_run_id, RESPONSE_KEY)
    if result.returncode == 0:
        assert stored is not None, result.describe()
        assert json.loads(stored) == {"x": 1}
        assert api.state_type(flow_run_id) == "RUNNING"
    else:
        assert stored is None, result.describe()
        assert api.state_type(flow_run_id) == "PAUSED"


def test_resume_bad_schema_without_data_fails(
    fresh_pause: Any, env: dict[str, str]
) -> None:
    flow_run_id = fresh_pause("{not json")

    result = run_cli("resume", flow_run_id, "--no-input", env=env)

    assert result.returncode == 1, result.describe()
    assert SCHEMA_KEY in result.stderr
    assert "--data" in result.stderr


@pytest.mark.parametrize("name", list(BAD_DESCRIPTIONS))
def test_resume_bad_description_works(
    api: ServerApi, fresh_pause: Any, env: dict[str, str], name: str
) -> None:
    flow_run_id = fresh_pause(GOOD_SCHEMA, BAD_DESCRIPTIONS[name][0])

    result = run_cli(
        "resume", flow_run_id, "--set", "x=3", "--no-input", "--follow", "0", env=env
    )

    assert result.returncode == 0, result.describe()
    assert DESCRIPTION_KEY in result.stderr
    stored = api.read_input(flow_run_id, RESPONSE_KEY)
    assert stored is not None
    assert json.loads(stored) == {"x": 3}


class NumberData(RunInput):
    number: int


@pytest.fixture
def mailbox(api: ServerApi) -> str:
    """A running flow run with good and bad inputs under two key prefixes."""
    flow_run_id = api.create_flow_run("garbage-mailbox")
    inputs = [
        ("intautomaticruninput-auto-1", "{not json"),
        ("intautomaticruninput-auto-2", '{"value": "five"}'),
        ("intautomaticruninput-auto-3", "[1, 2]"),
        ("intautomaticruninput-auto-4", '{"value": 5}'),
        ("intautomaticruninput-auto-5", '"just a string"'),
        ("intautomaticruninput-auto-6", '{"value": 7}'),
        ("numberdata-auto-1", '{"number": "many"}'),
        ("numberdata-auto-2", '{"count": 1}'),
        ("numberdata-auto-3", '{"number": 2}'),
    ]
    for key, text in inputs:
        api.create_input(flow_run_id, key, text)
    return flow_run_id


def test_receive_skips_bad_inputs_with_warning(
    mailbox: str,
    server_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", server_url)
    caplog.set_level(logging.WARNING, logger="runinput")
    flow_run_id = uuid.UUID(mailbox)

    numbers = list(runinput.receive_input(int, timeout=0, flow_run_id=flow_run_id))
    models = list(NumberData.receive(timeout=0, flow_run_id=flow_run_id))

    assert numbers == [5, 7]
    assert [model.number for model in models] == [2]
    warnings = [record.getMessage() for record in caplog.records]
    for key in (
        "intautomaticruninput-auto-1",
        "intautomaticruninput-auto-2",
        "intautomaticruninput-auto-3",
        "intautomaticruninput-auto-5",
        "numberdata-auto-1",
        "numberdata-auto-2",
    ):
        assert any(repr(key) in warning for warning in warnings), key


def test_watch_shows_bad_inputs(mailbox: str, env: dict[str, str]) -> None:
    table = run_cli("watch", mailbox, "--timeout", "0", env=env)
    as_json = run_cli("watch", mailbox, "--timeout", "0", "-o", "json", env=env)

    for result in (table, as_json):
        assert result.returncode == 0, result.describe()
        assert "intautomaticruninput-auto-1" in result.stderr, result.describe()
        assert "Traceback" not in result.output
    assert len(table.stdout.splitlines()) == 9
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [line["value"] for line in lines[:2]] == ["{not json", {"value": "five"}]
    assert len(lines) == 9


def test_watch_paused_run_stray_garbage(
    garbage_runs: GarbageRuns, env: dict[str, str]
) -> None:
    result = run_cli("watch", garbage_runs.good, "--timeout", "0", env=env)

    assert result.returncode == 0, result.describe()
    assert "paused-1-schema-draft" in result.stderr
    assert "notes-1" in result.stderr
    assert "Fine" in result.stdout
