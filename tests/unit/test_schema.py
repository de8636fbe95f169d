import copy
import datetime
import enum
import json
import uuid
from typing import Any, Literal

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.input import RunInput
from prefect.utilities.schema_tools import validation as prefect_validation

from runinput.errors import InvalidSchemaError, RunInputError
from runinput.schema import (
    CIRCULAR_REFERENCE_REASON,
    ValidationIssue,
    check_references,
    contains_placeholder,
    dereference,
    format_path,
    preprocess_schema,
    resolve_reference,
    server_verdict,
    validate,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(pydantic.BaseModel):
    street: str
    zip_code: str = pydantic.Field(pattern=r"^\d{5}$")


class LineItem(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(ge=1, le=100)


class TreeNode(pydantic.BaseModel):
    label: str
    children: list["TreeNode"] = []


class Shipment(RunInput):
    title: str = pydantic.Field(min_length=1, max_length=20)
    count: int = 3
    express: bool
    color: Color
    mode: Literal["air", "sea"]
    note: str | None = None
    priority: int | None
    tags: list[str] = pydantic.Field(default_factory=list)
    items: list[LineItem]
    address: Address
    backup: Address | None = None
    weights: dict[str, float] = {}
    pair: tuple[int, str]
    ship_on: datetime.date
    tracking_id: uuid.UUID
    wait: datetime.timedelta = datetime.timedelta(hours=1)
    code: int | str
    tree: TreeNode | None = None


def schema_of(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Return the schema that Prefect stores for a pause on `model`."""
    return create_v2_schema(model.__name__, model_base=model)


SHIPMENT = schema_of(Shipment)

VALID = {
    "title": "Crate",
    "express": False,
    "color": "red",
    "mode": "sea",
    "priority": 2,
    "items": [{"name": "bolt", "qty": 4}],
    "address": {"street": "Main St", "zip_code": "12345"},
    "pair": [1, "a"],
    "ship_on": "2024-05-31",
    "tracking_id": "123e4567-e89b-12d3-a456-426614174000",
    "code": 7,
}


def prefect_reason(value: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """Return `details.reason` as Prefect 3.9's resume endpoint builds it."""
    stored = json.loads(json.dumps(schema))
    try:
        prefect_validation.validate(value, stored, raise_on_error=True)
    except prefect_validation.ValidationError as exc:
        return f"Reason: {exc}"
    except prefect_validation.CircularSchemaRefError:
        return CIRCULAR_REFERENCE_REASON
    return None


def locations(issues: list[ValidationIssue]) -> list[str]:
    return [issue.location for issue in issues]


# preprocess_schema


def test_preprocess_matches_prefect() -> None:
    stored = json.loads(json.dumps(SHIPMENT))
    expected = prefect_validation.preprocess_schema(stored)
    assert preprocess_schema(SHIPMENT) == expected


def test_preprocess_optional_without_default_accepts_null() -> None:
    tags = preprocess_schema(SHIPMENT)["properties"]["tags"]
    assert tags["anyOf"] == [{"type": "array"}, {"type": "null"}]
    assert "type" not in tags
    assert tags["items"] == {"type": "string"}


def test_preprocess_required_and_defaulted_unchanged() -> None:
    properties = preprocess_schema(SHIPMENT)["properties"]
    assert properties["title"]["type"] == "string"
    assert properties["count"]["type"] == "integer"
    assert "anyOf" not in properties["count"]


def test_preprocess_tuple_items_become_prefix_items() -> None:
    schema = {
        "type": "object",
        "properties": {"pair": {"type": "array", "items": [{"type": "integer"}]}},
        "required": ["pair"],
    }
    pair = preprocess_schema(schema)["properties"]["pair"]
    assert pair["prefixItems"] == [{"type": "integer"}]
    assert "items" not in pair


def test_preprocess_nested_properties_and_definitions() -> None:
    schema = {
        "type": "object",
        "properties": {
            "inline": {
                "type": "object",
                "properties": {"a": {"type": "integer"}},
            }
        },
        "required": ["inline"],
        "definitions": {
            "Model": {"type": "object", "properties": {"b": {"type": "string"}}}
        },
        "$defs": {"Model": {"type": "object", "properties": {"b": {"type": "string"}}}},
    }
    result = preprocess_schema(schema)
    inline = result["properties"]["inline"]["properties"]["a"]
    assert inline["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    definition = result["definitions"]["Model"]["properties"]["b"]
    assert definition["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert result["$defs"]["Model"]["properties"]["b"] == {"type": "string"}


def test_preprocess_leaves_input_unchanged() -> None:
    original = copy.deepcopy(SHIPMENT)
    preprocess_schema(SHIPMENT)
    assert SHIPMENT == original


def test_preprocess_block_definition_matches_prefect() -> None:
    schema = {
        "type": "object",
        "properties": {"creds": {"$ref": "#/definitions/Creds"}},
        "required": ["creds"],
        "definitions": {
            "Creds": {
                "title": "Creds",
                "block_type_slug": "creds",
                "type": "object",
                "properties": {"key": {"type": "string"}},
            }
        },
    }
    expected = prefect_validation.preprocess_schema(copy.deepcopy(schema))
    result = preprocess_schema(schema)
    assert result == expected
    assert len(result["definitions"]["Creds"]["oneOf"]) == 2


# references


def test_resolve_reference_definitions_and_defs() -> None:
    schema = {"definitions": {"A": {"type": "integer"}}, "$defs": {"B": {}}}
    assert resolve_reference(schema, "#/definitions/A") == {"type": "integer"}
    assert resolve_reference(schema, "#/$defs/B") == {}
    assert resolve_reference(schema, "#") is schema


def test_resolve_reference_escaped_pointer() -> None:
    schema = {"definitions": {"a/b": {"type": "string"}, "c~d": {"type": "null"}}}
    assert resolve_reference(schema, "#/definitions/a~1b") == {"type": "string"}
    assert resolve_reference(schema, "#/definitions/c~0d") == {"type": "null"}


def test_resolve_reference_missing_names_reference() -> None:
    with pytest.raises(InvalidSchemaError) as caught:
        resolve_reference({"definitions": {}}, "#/definitions/Gone")
    assert '"#/definitions/Gone"' in str(caught.value)
    assert 'contains no "Gone"' in str(caught.value)


def test_resolve_reference_external_rejected() -> None:
    with pytest.raises(InvalidSchemaError, match="only references within the schema"):
        resolve_reference({}, "other.json#/definitions/A")


def test_resolve_reference_anchor_rejected() -> None:
    with pytest.raises(InvalidSchemaError, match="anchors are not supported"):
        resolve_reference({}, "#anchor")


def test_invalid_schema_error_is_runinput_error() -> None:
    assert issubclass(InvalidSchemaError, RunInputError)


def test_dereference_siblings_override_target() -> None:
    schema = {"definitions": {"Color": {"enum": ["red"], "title": "Color"}}}
    node = {"$ref": "#/definitions/Color", "default": "red", "title": "Paint"}
    assert dereference(node, schema) == {
        "enum": ["red"],
        "title": "Paint",
        "default": "red",
    }


def test_dereference_follows_chain() -> None:
    schema = {
        "definitions": {
            "A": {"$ref": "#/definitions/B"},
            "B": {"type": "integer"},
        }
    }
    assert dereference({"$ref": "#/definitions/A"}, schema) == {"type": "integer"}


def test_dereference_cycle_raises() -> None:
    schema = {"definitions": {"A": {"$ref": "#/definitions/A"}}}
    with pytest.raises(InvalidSchemaError, match="circular"):
        dereference({"$ref": "#/definitions/A"}, schema)


def test_check_references_accepts_tree_model() -> None:
    check_references(schema_of(TreeNode))


def test_check_references_in_place_cycle_named() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/A"}},
        "definitions": {
            "A": {"anyOf": [{"$ref": "#/definitions/B"}, {"type": "null"}]},
            "B": {"allOf": [{"$ref": "#/definitions/A"}]},
        },
    }
    with pytest.raises(InvalidSchemaError) as caught:
        check_references(schema)
    message = str(caught.value)
    assert "circular" in message
    assert "#/definitions/A -> #/definitions/B -> #/definitions/A" in message


@pytest.mark.parametrize(
    "node",
    [
        pytest.param({"anyOf": [{"$ref": "#/definitions/X"}]}, id="anyOf"),
        pytest.param({"oneOf": [{"$ref": "#/definitions/X"}]}, id="oneOf"),
        pytest.param({"allOf": [{"$ref": "#/definitions/X"}]}, id="allOf"),
        pytest.param({"items": {"$ref": "#/definitions/X"}}, id="items"),
        pytest.param({"prefixItems": [{"$ref": "#/definitions/X"}]}, id="prefix"),
        pytest.param(
            {"additionalProperties": {"$ref": "#/definitions/X"}}, id="additional"
        ),
        pytest.param(
            {"properties": {"b": {"properties": {"c": {"$ref": "#/$defs/X"}}}}},
            id="nested",
        ),
    ],
)
def test_check_references_unresolvable_anywhere(node: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"a": node}, "definitions": {}}
    with pytest.raises(InvalidSchemaError, match="cannot be resolved"):
        check_references(schema)


# validate


def test_validate_valid_value_no_issues() -> None:
    assert validate(VALID, SHIPMENT) == []


def test_validate_reports_every_error() -> None:
    value = {
        **VALID,
        "title": "",
        "express": "yes",
        "color": "blue",
        "items": [{"name": "bolt", "qty": 0}, {"qty": 1}],
        "address": {"street": 5, "zip_code": "12"},
        "extra": True,
    }
    del value["mode"]
    assert locations(validate(value, SHIPMENT)) == [
        "extra",
        "title",
        "express",
        "color",
        "items[0].qty",
        "items[1].name",
        "address.street",
        "address.zip_code",
        "mode",
    ]


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        ({"count": "x"}, "count", '"x" is not an integer'),
        ({"express": 1}, "express", "1 is not true or false"),
        ({"color": "blue"}, "color", '"blue" is not one of "red", "green"'),
        ({"mode": "rail"}, "mode", '"rail" is not one of "air", "sea"'),
        ({"title": ""}, "title", '"" has 0 characters; at least 1 expected'),
        (
            {"items": [{"name": "a", "qty": 0}]},
            "items[0].qty",
            "0 is less than the minimum 1",
        ),
        (
            {"items": [{"name": "a", "qty": 101}]},
            "items[0].qty",
            "101 is greater than the maximum 100",
        ),
        (
            {"address": {"street": "s", "zip_code": "12"}},
            "address.zip_code",
            '"12" does not match the pattern ^\\d{5}$',
        ),
        ({"pair": [1, "a", 3]}, "pair", "the list has 3 items; at most 2 expected"),
        ({"weights": {"a": "b"}}, "weights.a", '"b" is not a number'),
        ({"unknown": 1}, "unknown", 'unexpected field "unknown"'),
        ({"priority": "high"}, "priority", '"high" is not an integer or null'),
        ({"code": 1.5}, "code", "1.5 is not an integer or a string"),
    ],
)
def test_validate_message_names_value(
    change: dict[str, Any], location: str, message: str
) -> None:
    issues = validate({**VALID, **change}, SHIPMENT)
    assert len(issues) == 1
    assert issues[0].location == location
    assert issues[0].message.startswith(message)


def test_validate_missing_field_path_includes_name() -> None:
    value = {key: item for key, item in VALID.items() if key != "title"}
    assert validate(value, SHIPMENT) == [
        ValidationIssue(("title",), "a value is required")
    ]


def test_validate_unexpected_field_lists_accepted() -> None:
    issues = validate({**VALID, "city": "x"}, SHIPMENT)
    assert len(issues) == 1
    assert issues[0].location == "city"
    assert 'the accepted fields are "title", "count", "express"' in issues[0].message
    assert "and 8 more" in issues[0].message


def test_validate_optional_model_reports_inner_field() -> None:
    value = {**VALID, "backup": {"street": "s", "zip_code": "abc"}}
    assert locations(validate(value, SHIPMENT)) == ["backup.zip_code"]


def test_validate_optional_model_wrong_type() -> None:
    issues = validate({**VALID, "backup": "nowhere"}, SHIPMENT)
    assert [issue.message for issue in issues] == ['"nowhere" is not an object or null']


def test_validate_optional_without_default_accepts_null() -> None:
    # The server's preprocessing lets `tags` (a default_factory) be null.
    assert validate({**VALID, "tags": None}, SHIPMENT) == []


def test_validate_self_referencing_model_nested_error() -> None:
    value = {**VALID, "tree": {"label": "a", "children": [{"children": []}]}}
    assert locations(validate(value, SHIPMENT)) == ["tree.children[0].label"]


def test_validate_defs_references() -> None:
    schema = Shipment.model_json_schema()
    assert validate(VALID, schema) == []
    bad = {**VALID, "address": {"street": "s", "zip_code": "x"}}
    assert locations(validate(bad, schema)) == ["address.zip_code"]


def test_validate_malformed_date_only_with_formats() -> None:
    value = {**VALID, "ship_on": "2024-13-45"}
    issues = validate(value, SHIPMENT)
    assert locations(issues) == ["ship_on"]
    assert "is not a valid date" in issues[0].message
    assert validate(value, SHIPMENT, check_formats=False) == []


class Formats(RunInput):
    day: datetime.date
    moment: datetime.datetime
    clock: datetime.time
    span: datetime.timedelta
    ident: uuid.UUID
    link: pydantic.AnyUrl
    email: str = pydantic.Field(json_schema_extra={"format": "email"})
    maybe_day: datetime.date | None = None


FORMATS = schema_of(Formats)
GOOD_FORMATS = {
    "day": "2024-05-31",
    "moment": "2024-05-31 14:30",
    "clock": "14:30",
    "span": "PT1H30M",
    "ident": "123e4567e89b12d3a456426614174000",
    "link": "https://example.com",
    "email": "ada@example.com",
}


def test_validate_formats_parse_like_pydantic() -> None:
    assert validate(GOOD_FORMATS, FORMATS) == []
    Formats(**GOOD_FORMATS)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("day", "2024-02-30"),
        ("moment", "yesterday"),
        ("clock", "25:00"),
        ("span", "an hour"),
        ("ident", "not-a-uuid"),
        ("link", "no scheme"),
        ("email", "ada@"),
        ("email", "ada example.com"),
        ("maybe_day", "31/05/2024"),
    ],
)
def test_validate_bad_format_reported(name: str, text: str) -> None:
    issues = validate({**GOOD_FORMATS, name: text}, FORMATS)
    assert locations(issues) == [name]
    assert issues[0].message.startswith(f'"{text}" is not a valid')


@pytest.mark.parametrize(
    ("name", "text"),
    [("day", "2024-02-30"), ("moment", "yesterday"), ("ident", "x")],
)
def test_validate_bad_format_breaks_flow(name: str, text: str) -> None:
    # Each value that validate flags makes the flow's model fail.
    with pytest.raises(pydantic.ValidationError):
        Formats(**{**GOOD_FORMATS, name: text})


def test_validate_circular_schema_raises() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/A"}},
        "definitions": {"A": {"$ref": "#/definitions/A"}},
    }
    with pytest.raises(InvalidSchemaError, match="circular"):
        validate({"a": 1}, schema)


def test_validate_invalid_schema_raises() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "decimal"}}}
    with pytest.raises(InvalidSchemaError, match="not valid"):
        validate({"a": 1}, schema)


def test_validate_plain_value_model() -> None:
    class IntInput(RunInput):
        value: int

    schema = schema_of(IntInput)
    assert validate({"value": 5}, schema) == []
    assert locations(validate({"value": "5"}, schema)) == ["value"]


# format_path and ValidationIssue


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("title",), "title"),
        (("items", 0, "qty"), "items[0].qty"),
        (("weights", "a b"), 'weights["a b"]'),
        (("weights", "1"), 'weights["1"]'),
        ((0,), "[0]"),
    ],
)
def test_format_path_renders(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_issue_location_and_frozen() -> None:
    issue = ValidationIssue(("items", 2, "name"), "a value is required")
    assert issue.location == "items[2].name"
    with pytest.raises(AttributeError):
        issue.message = "changed"  # type: ignore[misc]


# server_verdict


def test_server_verdict_accepts_valid() -> None:
    assert server_verdict(VALID, SHIPMENT) is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"count": "x"}, id="type"),
        pytest.param({"unknown": 1}, id="additional"),
        pytest.param({"priority": "high"}, id="anyOf"),
        pytest.param({"items": [{"qty": 0}]}, id="nested"),
        pytest.param({"ship_on": "not a date"}, id="format-unchecked"),
        pytest.param({"weights": {"a.$.b": "x"}}, id="odd-key"),
    ],
)
def test_server_verdict_equals_prefect(change: dict[str, Any]) -> None:
    value = {**VALID, **change}
    assert server_verdict(value, SHIPMENT) == prefect_reason(value, SHIPMENT)


def test_server_verdict_first_error_wording() -> None:
    verdict = server_verdict({**VALID, "count": "x"}, SHIPMENT)
    assert verdict == (
        "Reason: Validation failed for field 'count'. "
        "Failure reason: 'x' is not of type 'integer'"
    )


def test_server_verdict_empty_value_checks_required() -> None:
    assert server_verdict(None, SHIPMENT) == prefect_reason({}, SHIPMENT)
    assert server_verdict(None, SHIPMENT) is not None


def test_server_verdict_circular_reason() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/A"}},
        "definitions": {"A": {"$ref": "#/definitions/A"}},
    }
    assert server_verdict({"a": 1}, schema) == CIRCULAR_REFERENCE_REASON
    assert prefect_reason({"a": 1}, schema) == CIRCULAR_REFERENCE_REASON


def test_server_verdict_unresolvable_equals_prefect() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/Gone"}},
        "definitions": {},
    }
    verdict = server_verdict({"a": 1}, schema)
    assert verdict == prefect_reason({"a": 1}, schema)
    assert verdict is not None


def test_server_verdict_placeholder_raises() -> None:
    value = {**VALID, "title": {"__prefect_kind": "json", "value": '"x"'}}
    with pytest.raises(ValueError, match="__prefect_kind"):
        server_verdict(value, SHIPMENT)


def mutated_values() -> st.SearchStrategy[dict[str, Any]]:
    """Values near VALID: each field kept, dropped or replaced by another value."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 200),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["", "red", "air", "2024-05-31", "x" * 30, "12345"]),
    )
    replacement = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["name", "qty", "street", "k"]), inner)
        ),
        max_leaves=5,
    )
    choice = st.sampled_from(["keep", "drop", "replace"])
    fields = {
        key: st.tuples(choice, replacement)
        for key in [*SHIPMENT["properties"], "unknown"]
    }

    def build(plan: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        value = {}
        for key, (action, other) in plan.items():
            if action == "replace":
                value[key] = other
            elif action == "keep" and key in VALID:
                value[key] = copy.deepcopy(VALID[key])
        return value

    return st.fixed_dictionaries(fields).map(build)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_values())
def test_verdicts_agree_with_prefect(value: dict[str, Any]) -> None:
    verdict = server_verdict(value, SHIPMENT)
    assert verdict == prefect_reason(value, SHIPMENT)
    unchecked = validate(value, SHIPMENT, check_formats=False)
    assert (unchecked == []) == (verdict is None)
    if validate(value, SHIPMENT) == []:
        assert verdict is None


# contains_placeholder


def test_contains_placeholder_nested_in_list() -> None:
    value = {"a": [{"b": {"__prefect_kind": "json", "value": "1"}}]}
    assert contains_placeholder(value) is True


def test_contains_placeholder_ignores_strings() -> None:
    assert contains_placeholder({"a": ["__prefect_kind"], "b": "x"}) is False
    assert contains_placeholder(VALID) is False
