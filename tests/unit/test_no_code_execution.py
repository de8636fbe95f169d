"""Stored data is only ever decoded as JSON: nothing in it runs as code.

`--model MODULE:CLASS` imports the person's own code, on purpose. Apart from
that, no module of runinput or its command evaluates, unpickles or imports
anything, which the source check below enforces, and stored values, schemas
and descriptions built to run code if evaluated stay inert text.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import pickle
import uuid
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from rich.console import Console  # noqa: TID251 - renders the command's views

from runinput import Client, RunInput, Settings
from runinput.models import FlowRunInput
from runinput.schema import validate
from runinput_cli import render, watch
from runinput_cli.errors import InvalidAnswerError
from runinput_cli.form import build_form, fill_defaults, summarize
from runinput_cli.input_types import load_model, parse_type_name
from runinput_cli.pause_reader import load_pause

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = (ROOT / "runinput", ROOT / "cli")

FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "__import__"})
FORBIDDEN_MODULES = frozenset(
    {"pickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle", "yaml"}
    | {"runpy", "code", "codeop"}
)
IMPORT_CALLS = frozenset({"import_module", "spec_from_file_location", "exec_module"})
# The only modules that import code: the package and the command, each
# importing its own modules by fixed names, and the class that `--model` names.
IMPORTING_MODULES = frozenset(
    {"runinput/__init__.py", "cli/main.py", "cli/input_types.py"}
)


def source_files() -> list[Path]:
    return sorted(path for folder in SOURCE_FOLDERS for path in folder.rglob("*.py"))


def called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def test_source_has_no_code_execution() -> None:
    findings = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = called_name(node)
                if isinstance(node.func, ast.Name) and name in FORBIDDEN_CALLS:
                    findings.append(f"{relative}:{node.lineno} calls {name}")
                if name in IMPORT_CALLS and relative not in IMPORTING_MODULES:
                    findings.append(f"{relative}:{node.lineno} calls {name}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    if name.split(".")[0] in FORBIDDEN_MODULES:
                        findings.append(f"{relative}:{node.lineno} imports {name}")

    assert source_files(), "no source files found"
    assert findings == []


class Trap:
    """Pickles to a call that creates the sentinel file when unpickled."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> Any:
        return (Path.touch, (self.sentinel,))


def payloads(sentinel: Path) -> list[str]:
    """Texts that create `sentinel` if anything evaluates or unpickles them."""
    expression = f"__import__('pathlib').Path({str(sentinel)!r}).touch()"
    pickled = pickle.dumps(Trap(sentinel))
    return [
        expression,
        json.dumps(expression),
        json.dumps({"value": expression, "__prefect_kind": "none"}),
        json.dumps({"py/object": "pathlib.Path", "py/reduce": expression}),
        pickled.decode("latin-1"),
        base64.b64encode(pickled).decode(),
        "{{ " + expression + " }}",
    ]


class Answer(RunInput):
    note: str = ""


def test_stored_values_stay_inert(tmp_path: Path) -> None:
    sentinel = tmp_path / "executed"
    flow_run_id = uuid.uuid4()

    for index, text in enumerate(payloads(sentinel)):
        stored = FlowRunInput(
            flow_run_id=flow_run_id, key=f"answer-{index}", value=text
        )
        watch.decode_value(stored)
        try:
            Answer.load_from_flow_run_input(stored)
        except (ValueError, TypeError, pydantic.ValidationError):
            pass
        with pytest.raises(InvalidAnswerError):
            parse_type_name(text)

    assert not sentinel.exists()


def test_stored_schema_and_description_stay_inert(tmp_path: Path) -> None:
    sentinel = tmp_path / "executed"
    expression = payloads(sentinel)[0]
    schema = {
        "type": "object",
        "title": expression,
        "description": expression,
        "properties": {
            "note": {"type": "string", "default": expression, "pattern": ".*"},
            "code": {"title": expression, "examples": [expression]},
        },
        "definitions": {expression: {"type": "string"}},
    }
    flow_run_id = str(uuid.uuid4())
    flow_id = str(uuid.uuid4())
    keyset = {
        "schema": "paused-1-schema",
        "description": "paused-1-description",
        "response": "paused-1-response",
    }

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == f"/flow_runs/{flow_run_id}":
            state = {
                "type": "PAUSED",
                "name": "Paused",
                "state_details": {"run_input_keyset": keyset},
            }
            body = {"id": flow_run_id, "name": "n", "flow_id": flow_id, "state": state}
            return httpx.Response(200, json=body)
        if path == f"/flows/{flow_id}":
            return httpx.Response(200, json={"id": flow_id, "name": "f"})
        if path.endswith(keyset["schema"]):
            return httpx.Response(200, text=json.dumps(schema))
        if path.endswith(keyset["description"]):
            return httpx.Response(200, text=json.dumps(expression))
        return httpx.Response(404, json={"detail": "not found"})

    transport = httpx.MockTransport(handle)
    with Client(Settings(api_url="http://127.0.0.1:9/api"), transport=transport) as c:
        loaded = load_pause(c, c.read_flow_run(flow_run_id))
    assert loaded.form is not None
    form = build_form(schema)
    value = fill_defaults(form, {"code": expression})
    validate(value, schema)
    summarize(form, value)
    console = Console(file=io.StringIO(), width=120)
    fields = loaded.form.fields
    console.print(render.show_view(loaded.pause, fields, 120, loaded.schema_problem))

    assert value["note"] == expression
    assert "Path(" in console.file.getvalue()  # type: ignore[attr-defined]
    assert not sentinel.exists()


def test_model_option_imports_on_purpose(tmp_path: Path) -> None:
    sentinel = tmp_path / "imported"
    module = tmp_path / "my_models.py"
    module.write_text(
        "from pathlib import Path\n"
        "import pydantic\n"
        f"Path({str(sentinel)!r}).touch()\n"
        "class Point(pydantic.BaseModel):\n"
        "    x: int\n",
        encoding="utf-8",
    )

    model = load_model(f"{module}:Point")

    assert model.__name__ == "Point"
    assert sentinel.exists()
