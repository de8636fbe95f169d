import copy
import datetime
import decimal
import enum
import uuid
from typing import Any, Literal

import pydantic
import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.input import RunInput
from prefect.input.run_input import AutomaticRunInput

from runinput.errors import InvalidSchemaError
from runinput.schema import validate
from runinput_cli.form import (
    MAX_RECURSION,
    SECRET_MASK,
    UNSET,
    AnswerError,
    FieldKind,
    Form,
    FormField,
    apply_assignments,
    build_form,
    fill_defaults,
    find_field,
    missing_required,
    parse_answer,
    parse_assignment,
    summarize,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


class Address(pydantic.BaseModel):
    """Where the parcel goes."""

    street: str
    zip_code: str = pydantic.Field(pattern=r"^\d{5}$")
    country: str = "NO"


class LineItem(pydantic.BaseModel):
    name: str
    qty: int = pydantic.Field(ge=1, le=100)
    token: pydantic.SecretStr | None = None


class TreeNode(pydantic.BaseModel):
    label: str
    children: list["TreeNode"] = []


class Shipment(RunInput):
    title: str = pydantic.Field(
        description="Shown on the label", min_length=1, max_length=20
    )
    count: int = 3
    ratio: float = pydantic.Field(0.5, gt=0, lt=1, multiple_of=0.25)
    express: bool
    color: Color
    size: Size = Size.SMALL
    mode: Literal["air", "sea"]
    only: Literal["fixed"]
    mixed: Literal[1, "two", True]
    note: str | None = None
    priority: int | None
    tags: list[str] = pydantic.Field(default_factory=list)
    numbers: list[int] = pydantic.Field(min_length=1, max_length=3)
    colors: set[Color] = set()
    items: list[LineItem]
    address: Address
    backup: Address | None = None
    weights: dict[str, float] = {}
    pair: tuple[int, str]
    many: tuple[int, ...] = ()
    ship_on: datetime.date
    ship_at: datetime.datetime
    pickup: datetime.time
    wait: datetime.timedelta = datetime.timedelta(hours=1)
    tracking_id: uuid.UUID
    link: pydantic.AnyUrl | None = None
    contact: str = pydantic.Field(
        "ops@example.com", json_schema_extra={"format": "email"}
    )
    password: pydantic.SecretStr
    code: int | str
    amount: decimal.Decimal = decimal.Decimal("1.5")
    tree: TreeNode | None = None
    extra_data: Any = None


def schema_of(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Return the schema that Prefect stores for a pause on `model`."""
    return create_v2_schema(model.__name__, model_base=model)


SHIPMENT = schema_of(Shipment)
FORM = build_form(SHIPMENT)


def field_named(name: str, form: Form = FORM) -> FormField:
    return find_field(form, name)


ANSWERS = [
    "title=Crate",
    "express=no",
    "color=green",
    "mode=air",
    "only=fixed",
    "mixed=two",
    "priority=",
    "numbers=1, 2",
    "items[0].name=bolt",
    "items[0].qty=4",
    "items[0].token=s3cret",
    "address.street=Main St",
    "address.zip_code=12345",
    "pair=7, x",
    "ship_on=2024-05-31",
    "ship_at=2024-05-31 14:30",
    "pickup=14:30",
    "tracking_id=123e4567e89b12d3a456426614174000",
    "password=hunter2",
    "code=A7",
]


# build_form


def test_build_form_keeps_property_order() -> None:
    names = [form_field.name for form_field in FORM.fields]
    assert names == list(SHIPMENT["properties"])


def test_build_form_honours_position() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "position": 1},
            "c": {"type": "string", "position": 0},
        },
    }
    names = [form_field.name for form_field in build_form(schema).fields]
    assert names == ["c", "b", "a"]


def test_build_form_flow_parameters_order() -> None:
    schema = {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "position": 1, "title": "x"},
            "y": {"type": "integer", "position": 0, "title": "y"},
        },
        "required": ["x", "y"],
    }
    form = build_form(schema)
    assert [form_field.name for form_field in form.fields] == ["y", "x"]
    assert form.fields[0].title == "y"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("title", FieldKind.STRING),
        ("count", FieldKind.INTEGER),
        ("ratio", FieldKind.NUMBER),
        ("express", FieldKind.BOOLEAN),
        ("color", FieldKind.ENUM),
        ("size", FieldKind.ENUM),
        ("mode", FieldKind.ENUM),
        ("only", FieldKind.ENUM),
        ("mixed", FieldKind.ENUM),
        ("note", FieldKind.STRING),
        ("priority", FieldKind.INTEGER),
        ("tags", FieldKind.LIST),
        ("numbers", FieldKind.LIST),
        ("colors", FieldKind.LIST),
        ("items", FieldKind.OBJECT_LIST),
        ("address", FieldKind.OBJECT),
        ("backup", FieldKind.OBJECT),
        ("weights", FieldKind.DICT),
        ("pair", FieldKind.TUPLE),
        ("many", FieldKind.LIST),
        ("ship_on", FieldKind.DATE),
        ("ship_at", FieldKind.DATE_TIME),
        ("pickup", FieldKind.TIME),
        ("wait", FieldKind.DURATION),
        ("tracking_id", FieldKind.UUID),
        ("link", FieldKind.URI),
        ("contact", FieldKind.EMAIL),
        ("password", FieldKind.STRING),
        ("code", FieldKind.UNION),
        ("amount", FieldKind.UNION),
        ("tree", FieldKind.OBJECT),
        ("extra_data", FieldKind.JSON),
    ],
)
def test_build_form_field_kind(name: str, kind: FieldKind) -> None:
    assert field_named(name).kind is kind


def test_build_form_required_flags() -> None:
    assert field_named("title").required is True
    assert field_named("count").required is False
    assert field_named("priority").required is True
    assert field_named("tags").required is False


def test_build_form_defaults() -> None:
    assert field_named("count").default == 3
    assert field_named("size").default == 1
    assert field_named("wait").default == "PT1H"
    assert field_named("note").default is None
    assert field_named("tags").has_default is False
    assert field_named("title").default is UNSET


def test_build_form_nullable_flags() -> None:
    assert field_named("note").nullable is True
    assert field_named("priority").nullable is True
    assert field_named("backup").nullable is True
    assert field_named("title").nullable is False
    # Preprocessing on the server lets `tags` be null, but the model rejects it.
    assert field_named("tags").nullable is False


def test_build_form_secret_flags() -> None:
    assert field_named("password").secret is True
    assert field_named("items").item is not None
    token = find_field(FORM, "items[0].token")
    assert token.secret is True
    assert token.nullable is True
    assert field_named("title").secret is False


def test_build_form_title_and_description() -> None:
    title = field_named("title")
    assert title.title == "Title"
    assert title.description == "Shown on the label"
    assert field_named("ship_on").title == "Ship On"
    assert FORM.title == "Shipment"


@pytest.mark.parametrize(
    ("name", "constraints"),
    [
        ("title", ("at least 1 character", "at most 20 characters")),
        ("ratio", ("greater than 0", "less than 1", "a multiple of 0.25")),
        ("numbers", ("at least 1 item", "at most 3 items")),
        ("colors", ("no duplicates",)),
        ("pair", ("exactly 2 items",)),
        ("mode", ('one of "air", "sea"',)),
        ("only", ('exactly "fixed"',)),
        ("ship_on", ("a date such as 2024-05-31",)),
        ("count", ()),
        ("password", ()),
    ],
)
def test_build_form_constraint_text(name: str, constraints: tuple[str, ...]) -> None:
    assert field_named(name).constraints == constraints


def test_build_form_nested_constraints() -> None:
    assert find_field(FORM, "address.zip_code").constraints == ("matching ^\\d{5}$",)
    assert find_field(FORM, "items[0].qty").constraints == ("at least 1", "at most 100")


def test_build_form_enum_choices_are_values() -> None:
    color = field_named("color")
    assert [(c.label, c.value) for c in color.choices] == [
        ("red", "red"),
        ("green", "green"),
    ]
    size = field_named("size")
    assert [(c.label, c.value) for c in size.choices] == [("1", 1), ("2", 2)]


def test_build_form_mixed_literal_choices() -> None:
    mixed = field_named("mixed")
    assert [(c.label, c.value) for c in mixed.choices] == [
        ("1", 1),
        ("two", "two"),
        ("true", True),
    ]


def test_build_form_colliding_labels_use_json() -> None:
    schema = {
        "type": "object",
        "properties": {"v": {"enum": ["1", 1]}},
        "required": ["v"],
    }
    choices = build_form(schema).fields[0].choices
    assert [c.label for c in choices] == ['"1"', "1"]


def test_build_form_literal_union_is_enum() -> None:
    schema = {
        "type": "object",
        "properties": {"v": {"anyOf": [{"const": "a"}, {"const": "b"}]}},
        "required": ["v"],
    }
    form_field = build_form(schema).fields[0]
    assert form_field.kind is FieldKind.ENUM
    assert [c.value for c in form_field.choices] == ["a", "b"]


def test_build_form_nested_model_paths() -> None:
    address = field_named("address")
    assert [f.path for f in address.fields] == [
        "address.street",
        "address.zip_code",
        "address.country",
    ]
    assert address.fields[2].default == "NO"
    assert address.description == "Where the parcel goes."


def test_build_form_optional_model_offers_none() -> None:
    backup = field_named("backup")
    assert backup.nullable is True
    assert backup.default is None
    assert [f.name for f in backup.fields] == ["street", "zip_code", "country"]
    assert parse_answer(backup, "none") is None


def test_build_form_list_of_models_item_form() -> None:
    items = field_named("items")
    entry = items.item_form()
    assert entry.title == "LineItem"
    assert [f.path for f in entry.fields] == ["name", "qty", "token"]
    assert entry.fields[1].required is True


def test_build_form_list_item_kinds() -> None:
    colors = field_named("colors")
    assert colors.item is not None
    assert colors.item.kind is FieldKind.ENUM
    numbers = field_named("numbers")
    assert numbers.item is not None
    assert numbers.item.kind is FieldKind.INTEGER


def test_build_form_dict_and_tuple_parts() -> None:
    weights = field_named("weights")
    assert weights.item is not None
    assert weights.item.kind is FieldKind.NUMBER
    pair = field_named("pair")
    assert [p.kind for p in pair.positions] == [FieldKind.INTEGER, FieldKind.STRING]
    assert [p.path for p in pair.positions] == ["pair[0]", "pair[1]"]


def test_build_form_union_branch_order() -> None:
    code = field_named("code")
    assert [b.kind for b in code.branches] == [FieldKind.INTEGER, FieldKind.STRING]


def test_build_form_items_list_is_tuple() -> None:
    schema = {
        "type": "object",
        "properties": {
            "pair": {
                "type": "array",
                "items": [{"type": "integer"}, {"type": "string"}],
            }
        },
        "required": ["pair"],
    }
    pair = build_form(schema).fields[0]
    assert pair.kind is FieldKind.TUPLE
    assert [p.kind for p in pair.positions] == [FieldKind.INTEGER, FieldKind.STRING]
    assert parse_answer(pair, "1, a") == [1, "a"]


class Cat(pydantic.BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(pydantic.BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Adoption(RunInput):
    pet: Cat | Dog = pydantic.Field(discriminator="kind")
    kennels: dict[str, Dog] = {}


def test_build_form_model_union_branches() -> None:
    form = build_form(schema_of(Adoption))
    pet = field_named("pet", form)
    assert pet.kind is FieldKind.UNION
    assert [b.kind for b in pet.branches] == [FieldKind.OBJECT, FieldKind.OBJECT]
    assert [f.name for f in pet.branches[1].fields] == ["kind", "good"]
    assert parse_answer(pet, '{"kind": "dog"}') == {"kind": "dog"}
    assert find_field(form, "pet.good").kind is FieldKind.BOOLEAN


def test_build_form_dict_of_models_item_form() -> None:
    kennels = field_named("kennels", build_form(schema_of(Adoption)))
    assert kennels.kind is FieldKind.DICT
    assert [f.name for f in kennels.item_form().fields] == ["kind", "good"]


def test_item_form_scalar_list_raises() -> None:
    with pytest.raises(ValueError, match="not models"):
        field_named("tags").item_form()


def test_build_form_self_reference_becomes_json() -> None:
    form_field = field_named("tree")
    depth = 1
    while form_field.kind is FieldKind.OBJECT:
        children = next(f for f in form_field.fields if f.name == "children")
        assert children.item is not None
        form_field = children.item
        depth += 1
    assert form_field.kind is FieldKind.JSON
    assert depth == MAX_RECURSION + 1


def test_build_form_defs_references() -> None:
    form = build_form(Shipment.model_json_schema())
    assert field_named("address", form).kind is FieldKind.OBJECT
    assert field_named("backup", form).nullable is True
    assert field_named("color", form).kind is FieldKind.ENUM


def test_build_form_plain_value_type() -> None:
    model = AutomaticRunInput.subclass_from_type(int)
    form = build_form(schema_of(model))
    assert [f.name for f in form.fields] == ["value"]
    assert form.fields[0].kind is FieldKind.INTEGER
    assert form.fields[0].required is True


def test_build_form_initial_data_defaults() -> None:
    model = Shipment.with_initial_data(title="Preset", count=9, color=Color.GREEN)
    form = build_form(schema_of(model))
    assert field_named("title", form).default == "Preset"
    assert field_named("title", form).required is False
    assert field_named("count", form).default == 9
    assert field_named("color", form).default == "green"
    assert parse_answer(field_named("color", form), "") == "green"


def test_build_form_unresolvable_reference_raises() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/definitions/A"}}}
    with pytest.raises(InvalidSchemaError, match="cannot be resolved"):
        build_form(schema)


# parse_answer


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("title", "Crate", "Crate"),
        ("title", '"  padded "', "  padded "),
        ("count", " 42 ", 42),
        ("count", "-3", -3),
        ("count", "", 3),
        ("ratio", "0.75", 0.75),
        ("ratio", ".25", 0.25),
        ("express", "yes", True),
        ("express", "N", False),
        ("express", "true", True),
        ("color", "green", "green"),
        ("color", "RED", "red"),
        ("size", "2", 2),
        ("mode", "sea", "sea"),
        ("mixed", "1", 1),
        ("mixed", "true", True),
        ("mixed", "two", "two"),
        ("note", "", None),
        ("note", "null", None),
        ("priority", "", None),
        ("priority", "none", None),
        ("priority", "5", 5),
        ("tags", "", UNSET),
        ("tags", "a, b ,c", ["a", "b", "c"]),
        ("tags", '["a,b", "c"]', ["a,b", "c"]),
        ("numbers", "1,2,3", [1, 2, 3]),
        ("colors", "red, green", ["red", "green"]),
        ("weights", "a=1.5, b=2", {"a": 1.5, "b": 2}),
        ("weights", '{"a b": 1}', {"a b": 1}),
        ("pair", "7, x", [7, "x"]),
        ("pair", '[7, "x, y"]', [7, "x, y"]),
        ("many", "1, 2", [1, 2]),
        ("ship_on", "2024-05-31", "2024-05-31"),
        ("ship_at", "2024-05-31 14:30", "2024-05-31T14:30:00"),
        ("pickup", "14:30", "14:30:00"),
        ("wait", "01:30:00", "PT1H30M"),
        ("wait", "", "PT1H"),
        (
            "tracking_id",
            "123e4567e89b12d3a456426614174000",
            "123e4567-e89b-12d3-a456-426614174000",
        ),
        ("link", "https://example.com/a", "https://example.com/a"),
        ("contact", "ada@example.com", "ada@example.com"),
        ("password", "hunter2", "hunter2"),
        ("code", "42", 42),
        ("code", "A7", "A7"),
        ("amount", "2.5", 2.5),
        ("extra_data", '{"a": [1]}', {"a": [1]}),
        ("extra_data", "plain words", "plain words"),
        ("backup", '{"street": "s", "zip_code": "12345"}', None),
    ],
)
def test_parse_answer_value(name: str, text: str, value: Any) -> None:
    if name == "backup":
        value = {"street": "s", "zip_code": "12345"}
    assert parse_answer(field_named(name), text) == value


def test_parse_answer_keeps_value_types() -> None:
    assert type(parse_answer(field_named("mixed"), "1")) is int
    assert type(parse_answer(field_named("mixed"), "true")) is bool
    weight = field_named("weights").item
    assert weight is not None
    assert type(parse_answer(weight, "1")) is int
    assert type(parse_answer(weight, "1.0")) is float


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "count",
            "abc",
            '"abc" is not an integer; enter a whole number such as 42',
        ),
        ("count", "4.5", '"4.5" is not an integer'),
        ("ratio", "lots", '"lots" is not a number; enter a number such as 3.14'),
        ("ratio", "nan", '"nan" is not a number'),
        ("ratio", "2", "2 is not less than 1"),
        ("ratio", "0.3", "0.3 is not a multiple of 0.25"),
        ("express", "maybe", '"maybe" is not yes or no'),
        ("color", "blue", '"blue" is not one of the choices; enter one of red, green'),
        ("color", "RED_", '"RED_" is not one of the choices'),
        ("title", "", "a value is required"),
        ("title", '""', '"" has 0 characters; at least 1 expected'),
        ("title", "x" * 21, f'"{"x" * 21}" has 21 characters; at most 20 expected'),
        ("numbers", "1, x", '"x" is not an integer'),
        ("numbers", "", "a value is required"),
        ("numbers", "1,2,3,4", "the list has 4 items; at most 3 expected"),
        ("weights", "a", '"a" is not a key=value pair'),
        ("pair", "7", '"7" is not 2 values separated by commas'),
        ("ship_on", "2024-02-30", '"2024-02-30" is not a valid date'),
        ("ship_at", "soon", '"soon" is not a valid date and time'),
        ("pickup", "25:00", '"25:00" is not a valid time'),
        ("wait", "an hour", '"an hour" is not a valid duration'),
        ("tracking_id", "x", '"x" is not a valid UUID'),
        ("contact", "ada", '"ada" is not a valid email address'),
        ("link", "example", '"example" is not a valid URL'),
        ("items", "[1]", "1 is not an object (at [0])"),
        ("items", "[{", '"[{" is not valid JSON'),
        ("backup", '{"street": "s"}', "a value is required (at zip_code)"),
        ("backup", "somewhere", '"somewhere" is not valid JSON'),
    ],
)
def test_parse_answer_error_message(name: str, text: str, message: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(field_named(name), text)
    assert str(caught.value).startswith(message)


def test_parse_answer_enum_sends_value_not_name() -> None:
    assert parse_answer(field_named("color"), "green") == "green"
    with pytest.raises(AnswerError):
        parse_answer(field_named("color"), "GREEN_")
    size = field_named("size")
    assert parse_answer(size, "2") == 2
    with pytest.raises(AnswerError):
        parse_answer(size, "LARGE")


def test_parse_answer_null_only_where_allowed() -> None:
    with pytest.raises(AnswerError):
        parse_answer(field_named("count"), "null")
    assert parse_answer(field_named("title"), "null") == "null"


def test_parse_answer_comma_enum_needs_json() -> None:
    schema = {
        "type": "object",
        "properties": {
            "v": {"type": "array", "items": {"enum": ["a,b", "c"]}},
        },
        "required": ["v"],
    }
    form_field = build_form(schema).fields[0]
    assert parse_answer(form_field, '["a,b", "c"]') == ["a,b", "c"]
    with pytest.raises(AnswerError, match="not valid JSON"):
        parse_answer(form_field, "a,b, c")


# paths and assignments


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("count=5", ("count",), "5"),
        ("items[0].qty=5", ("items", 0, "qty"), "5"),
        ('weights["a b"]=1', ("weights", "a b"), "1"),
        ("weights.x-y=1", ("weights", "x-y"), "1"),
        ("title=a=b", ("title",), "a=b"),
        ("note=", ("note",), ""),
    ],
)
def test_parse_assignment_splits(
    text: str, path: tuple[str | int, ...], value: str
) -> None:
    assert parse_assignment(text) == (path, value)


@pytest.mark.parametrize("text", ["count", "=5", "[0]=1", "a..b=1", "a b=1"])
def test_parse_assignment_rejects_malformed(text: str) -> None:
    with pytest.raises(AnswerError, match="items\\[0\\].qty"):
        parse_assignment(text)


def test_apply_assignments_builds_valid_value() -> None:
    data = fill_defaults(FORM, apply_assignments(FORM, {}, ANSWERS))
    assert missing_required(FORM, data) == []
    assert validate(data, SHIPMENT) == []
    shipment = Shipment(**data)
    assert shipment.items[0].qty == 4
    assert shipment.color is Color.GREEN
    assert shipment.code == "A7"


def test_apply_assignments_parses_by_type() -> None:
    data = apply_assignments(FORM, {}, ["count=5", "express=yes", "numbers=1,2"])
    assert data == {"count": 5, "express": True, "numbers": [1, 2]}


def test_apply_assignments_nested_paths() -> None:
    data = apply_assignments(
        FORM,
        {},
        [
            "items[0].name=a",
            "items[1].name=b",
            "items[1].qty=2",
            "address.street=Main",
            "weights.heavy=9.5",
            "tags[0]=x",
        ],
    )
    assert data == {
        "items": [{"name": "a"}, {"name": "b", "qty": 2}],
        "address": {"street": "Main"},
        "weights": {"heavy": 9.5},
        "tags": ["x"],
    }


def test_apply_assignments_accepts_schema() -> None:
    assert apply_assignments(SHIPMENT, None, ["count=1"]) == {"count": 1}


def test_apply_assignments_leaves_input_unchanged() -> None:
    original = {"address": {"street": "Old"}}
    snapshot = copy.deepcopy(original)
    apply_assignments(FORM, original, ["address.street=New"])
    assert original == snapshot


def test_apply_assignments_empty_value_resets() -> None:
    start = {"tags": ["a"], "note": "n", "count": 1}
    data = apply_assignments(FORM, start, ["tags=", "note=", "count="])
    assert data == {"note": None, "count": 3}


def test_apply_assignments_index_past_end() -> None:
    with pytest.raises(AnswerError) as caught:
        apply_assignments(FORM, {}, ["items[1].name=a"])
    message = str(caught.value)
    assert message.startswith("items[1].name: index 1 is past the end")
    assert "add entries in order" in message


def test_apply_assignments_unknown_field_lists_fields() -> None:
    with pytest.raises(AnswerError) as caught:
        apply_assignments(FORM, {}, ["address.city=Oslo"])
    message = str(caught.value)
    assert message.startswith("address.city is not a field of address")
    assert "street, zip_code, country" in message


def test_apply_assignments_bad_value_names_path() -> None:
    with pytest.raises(AnswerError) as caught:
        apply_assignments(FORM, {}, ["items[0].qty=many"])
    assert str(caught.value).startswith('items[0].qty: "many" is not an integer')


def test_find_field_into_scalar_rejected() -> None:
    with pytest.raises(AnswerError, match="it has no fields"):
        find_field(FORM, "count.x")
    with pytest.raises(AnswerError, match="index such as"):
        find_field(FORM, "items.name")


# fill_defaults and missing_required


def test_fill_defaults_adds_missing_defaults() -> None:
    data = fill_defaults(FORM, {"count": 7})
    assert data["count"] == 7
    assert data["size"] == 1
    assert data["wait"] == "PT1H"
    assert data["backup"] is None
    assert "tags" not in data
    assert "title" not in data


def test_fill_defaults_nested_and_list_entries() -> None:
    data = fill_defaults(FORM, {"items": [{"name": "a"}]})
    assert data["address"] == {"country": "NO"}
    assert data["items"] == [{"name": "a", "token": None}]


def test_fill_defaults_leaves_input_unchanged() -> None:
    original: dict[str, Any] = {"items": [{"name": "a"}]}
    fill_defaults(FORM, original)
    assert original == {"items": [{"name": "a"}]}


def test_missing_required_lists_every_field() -> None:
    data = {"items": [{"name": "a", "qty": 1}, {"qty": 2}], "address": {}}
    assert missing_required(FORM, data) == [
        "title",
        "express",
        "color",
        "mode",
        "only",
        "mixed",
        "priority",
        "numbers",
        "items[1].name",
        "address.street",
        "address.zip_code",
        "pair",
        "ship_on",
        "ship_at",
        "pickup",
        "tracking_id",
        "password",
        "code",
    ]


def test_missing_required_none_when_complete() -> None:
    data = apply_assignments(FORM, {}, ANSWERS)
    assert missing_required(FORM, data) == []


# summarize


def test_summarize_masks_secrets() -> None:
    data = apply_assignments(FORM, {}, ANSWERS)
    rows = dict(summarize(FORM, data))
    assert rows["password"] == SECRET_MASK
    assert rows["items[0].token"] == SECRET_MASK
    assert "hunter2" not in str(summarize(FORM, data))
    assert "s3cret" not in str(summarize(FORM, data))


def test_summarize_rows_follow_form_order() -> None:
    data = {
        "title": "Crate",
        "items": [{"name": "bolt", "qty": 4}],
        "address": {"street": "Main"},
        "numbers": [1, 2],
        "note": None,
        "surprise": {"a": 1},
    }
    assert summarize(FORM, data) == [
        ("title", "Crate"),
        ("note", "null"),
        ("numbers", "[1, 2]"),
        ("items[0].name", "bolt"),
        ("items[0].qty", "4"),
        ("address.street", "Main"),
        ("surprise", '{"a": 1}'),
    ]


def test_summarize_masks_secret_in_list() -> None:
    schema = {
        "type": "object",
        "properties": {
            "keys": {
                "type": "array",
                "items": {"type": "string", "format": "password", "writeOnly": True},
            }
        },
        "required": ["keys"],
    }
    form = build_form(schema)
    assert summarize(form, {"keys": ["a", "b"]}) == [
        ("keys", f'["{SECRET_MASK}", "{SECRET_MASK}"]')
    ]


def test_summarize_unset_secret_shows_null() -> None:
    rows = dict(summarize(FORM, {"items": [{"name": "a", "token": None}]}))
    assert rows["items[0].token"] == "null"
