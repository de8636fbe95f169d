"""The local validator and the real server's resume agree on every answer.

Each case stores a schema on a freshly paused flow run, sends the answer to
the server's resume endpoint and compares the verdict (ACCEPT or REJECT)
with `runinput.schema.validate` run without format checks, and the server's
reason with `server_verdict`. With format checks on, the local validator is
stricter on purpose in the cases of `FORMAT_CASES` only: the server's resume
does not check string formats, so it stores a date like 2024-13-01 and the
flow fails later when its model parses the answer.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.input import RunInput

from runinput.schema import server_verdict, validate
from tests.server_api import ServerApi

pytestmark = pytest.mark.integration


class Color(enum.Enum):
    RED = "red-ish"
    BLUE = "blue-ish"


class Line(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(default=1, ge=1, le=99)


class Order(RunInput):
    customer: str = pydantic.Field(min_length=2, max_length=10)
    color: Color = Color.RED
    size: Literal["S", "M"]
    lines: list[Line] = []
    note: str | None = None
    code: str = pydantic.Field(default="AA", pattern=r"^[A-Z]{2}$")
    ratio: float = pydantic.Field(default=0.5, gt=0, le=1)
    step: int = pydantic.Field(default=5, multiple_of=5)
    pair: tuple[int, str] = (1, "a")
    extra: dict[str, Line] = {}
    choice: int | str = 0
    flag: bool = False


class Dates(RunInput):
    day: datetime.date | None = None
    moment: datetime.datetime | None = None
    clock: datetime.time | None = None
    wait: datetime.timedelta | None = None
    ident: uuid.UUID | None = None
    email: str | None = pydantic.Field(
        default=None, json_schema_extra={"format": "email"}
    )
    link: pydantic.AnyUrl | None = None


ORDER = create_v2_schema("Order", model_base=Order)
DATES = create_v2_schema("Dates", model_base=Dates)

# Optional fields without a default accept null only at the top level, in
# inline objects and in models under `definitions`; `$defs` is left alone.
OPTIONAL_IN_DEFS = {
    "type": "object",
    "properties": {"m": {"$ref": "#/$defs/M"}},
    "$defs": {"M": {"type": "object", "properties": {"y": {"type": "integer"}}}},
}
OPTIONAL_IN_DEFINITIONS = {
    "type": "object",
    "properties": {"m": {"$ref": "#/definitions/M"}},
    "definitions": {"M": {"type": "object", "properties": {"y": {"type": "integer"}}}},
}
TOP_LEVEL = {
    "type": "object",
    "properties": {
        "plain": {"type": "integer"},
        "with_default": {"type": "integer", "default": 1},
        "inline": {"type": "object", "properties": {"z": {"type": "string"}}},
        "tuple": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]},
    },
    "required": ["required_one"],
}

BASE = {"customer": "Ada", "size": "S"}

CASES = [
    pytest.param(ORDER, BASE, "ACCEPT", id="minimal"),
    pytest.param(ORDER, {}, "REJECT", id="required-missing"),
    pytest.param(ORDER, {"customer": "Ada"}, "REJECT", id="one-required-missing"),
    pytest.param(ORDER, {**BASE, "customer": "A"}, "REJECT", id="min-length"),
    pytest.param(ORDER, {**BASE, "customer": "A" * 11}, "REJECT", id="max-length"),
    pytest.param(ORDER, {**BASE, "customer": None}, "REJECT", id="required-null"),
    pytest.param(ORDER, {**BASE, "color": "blue-ish"}, "ACCEPT", id="enum-value"),
    pytest.param(ORDER, {**BASE, "color": "BLUE"}, "REJECT", id="enum-name"),
    pytest.param(ORDER, {**BASE, "size": "L"}, "REJECT", id="literal-other"),
    pytest.param(
        ORDER, {**BASE, "lines": [{"name": "a"}]}, "ACCEPT", id="list-of-models"
    ),
    pytest.param(
        ORDER,
        {**BASE, "lines": [{"name": "a", "qty": 0}]},
        "REJECT",
        id="entry-minimum",
    ),
    pytest.param(ORDER, {**BASE, "lines": [{"qty": 2}]}, "REJECT", id="entry-required"),
    pytest.param(
        ORDER,
        {**BASE, "lines": [{"name": "a", "x": 1}]},
        "ACCEPT",
        id="entry-extra-key",
    ),
    pytest.param(
        ORDER, {**BASE, "lines": {"name": "a"}}, "REJECT", id="list-not-array"
    ),
    pytest.param(ORDER, {**BASE, "note": None}, "ACCEPT", id="optional-null"),
    pytest.param(ORDER, {**BASE, "note": 5}, "REJECT", id="optional-wrong-type"),
    pytest.param(ORDER, {**BASE, "code": "ab"}, "REJECT", id="pattern"),
    pytest.param(ORDER, {**BASE, "ratio": 0}, "REJECT", id="exclusive-minimum"),
    pytest.param(ORDER, {**BASE, "ratio": 1}, "ACCEPT", id="maximum-inclusive"),
    pytest.param(ORDER, {**BASE, "step": 7}, "REJECT", id="multiple-of"),
    pytest.param(ORDER, {**BASE, "step": 10.0}, "ACCEPT", id="integer-as-float"),
    pytest.param(ORDER, {**BASE, "step": 10.5}, "REJECT", id="integer-fraction"),
    pytest.param(ORDER, {**BASE, "pair": [2, "b"]}, "ACCEPT", id="tuple"),
    pytest.param(ORDER, {**BASE, "pair": ["b", 2]}, "REJECT", id="tuple-order"),
    pytest.param(ORDER, {**BASE, "pair": [2, "b", 3]}, "REJECT", id="tuple-too-long"),
    pytest.param(
        ORDER, {**BASE, "extra": {"k": {"name": "a"}}}, "ACCEPT", id="dict-of-models"
    ),
    pytest.param(
        ORDER, {**BASE, "extra": {"k": {"qty": 1}}}, "REJECT", id="dict-entry-invalid"
    ),
    pytest.param(ORDER, {**BASE, "choice": "x"}, "ACCEPT", id="union-string"),
    pytest.param(ORDER, {**BASE, "choice": [1]}, "REJECT", id="union-neither"),
    pytest.param(ORDER, {**BASE, "flag": 1}, "REJECT", id="boolean-as-integer"),
    pytest.param(ORDER, {**BASE, "unknown": 1}, "REJECT", id="extra-key-forbidden"),
    pytest.param(
        OPTIONAL_IN_DEFS, {"m": {"y": None}}, "REJECT", id="defs-optional-null"
    ),
    pytest.param(
        OPTIONAL_IN_DEFINITIONS, {"m": {"y": None}}, "ACCEPT", id="definitions-null"
    ),
    pytest.param(
        TOP_LEVEL, {"required_one": 1, "plain": None}, "ACCEPT", id="top-optional-null"
    ),
    pytest.param(
        TOP_LEVEL,
        {"required_one": 1, "with_default": None},
        "REJECT",
        id="default-not-null",
    ),
    pytest.param(
        TOP_LEVEL,
        {"required_one": 1, "inline": {"z": None}},
        "ACCEPT",
        id="inline-optional-null",
    ),
    pytest.param(
        TOP_LEVEL,
        {"required_one": 1, "tuple": ["x", 1]},
        "REJECT",
        id="items-list-as-tuple",
    ),
    pytest.param(
        TOP_LEVEL, {"required_one": None}, "ACCEPT", id="required-without-type"
    ),
    pytest.param(DATES, {}, "ACCEPT", id="formats-empty"),
    pytest.param(DATES, {"day": 20240101}, "REJECT", id="format-wrong-type"),
]

VALID_FORMATS = {
    "day": "2024-02-29",
    "moment": "2024-02-29T10:00:00+00:00",
    "clock": "10:30:00",
    "wait": "PT1H30M",
    "ident": "123e4567-e89b-12d3-a456-426614174000",
    "email": "ada@example.com",
    "link": "https://example.com/report",
}

# Malformed strings that the server stores and the flow's model then rejects.
FORMAT_CASES = [
    pytest.param("day", "2024-13-01", id="date-month"),
    pytest.param("day", "2023-02-29", id="date-leap"),
    pytest.param("moment", "yesterday", id="date-time"),
    pytest.param("clock", "25:00", id="time"),
    pytest.param("wait", "P1X", id="duration"),
    pytest.param("ident", "not-a-uuid", id="uuid"),
    pytest.param("email", "nobody", id="email"),
    pytest.param("link", "not a url", id="uri"),
]


@pytest.fixture(scope="module")
def server_api(prefect_server: Any) -> Iterator[ServerApi]:
    with ServerApi(prefect_server.api_url) as api:
        yield api


def server_resume(
    server_api: ServerApi, schema: dict[str, Any], answer: dict[str, Any]
) -> dict[str, Any]:
    """Resume a new flow run paused with `schema`, and return the verdict."""
    flow_run_id = server_api.create_flow_run("resume-parity")
    server_api.pause_by_api(flow_run_id, schema=schema)
    response = server_api.request(
        "POST", f"/flow_runs/{flow_run_id}/resume", {"run_input": answer}
    )
    assert response.status_code in (200, 201), response.text
    verdict: dict[str, Any] = response.json()
    return verdict


@pytest.mark.parametrize(("schema", "answer", "expected"), CASES)
def test_parity_same_verdict(
    server_api: ServerApi,
    schema: dict[str, Any],
    answer: dict[str, Any],
    expected: str,
) -> None:
    verdict = server_resume(server_api, schema, answer)
    issues = validate(answer, schema, check_formats=False)
    strict_issues = validate(answer, schema)

    server_accepts = verdict["status"] == "ACCEPT"
    assert verdict["status"] == expected, verdict
    assert (not issues) == server_accepts, (verdict, issues)
    assert (not strict_issues) == server_accepts, (verdict, strict_issues)
    reason = None if server_accepts else verdict["details"]["reason"]
    assert server_verdict(answer, schema) == reason


def test_parity_valid_formats_accepted(server_api: ServerApi) -> None:
    verdict = server_resume(server_api, DATES, VALID_FORMATS)

    assert verdict["status"] == "ACCEPT", verdict
    assert validate(VALID_FORMATS, DATES) == []


@pytest.mark.parametrize(("field", "text"), FORMAT_CASES)
def test_parity_formats_stricter_locally(
    server_api: ServerApi, field: str, text: str
) -> None:
    answer = {**VALID_FORMATS, field: text}

    verdict = server_resume(server_api, DATES, answer)
    issues = validate(answer, DATES)

    assert verdict["status"] == "ACCEPT", verdict
    assert validate(answer, DATES, check_formats=False) == []
    assert server_verdict(answer, DATES) is None
    assert [issue.location for issue in issues] == [field]
