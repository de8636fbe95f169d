"""Hypothesis strategies for pydantic models, their stored schemas and typed answers.

`models()` builds a pydantic model class from fields of the kinds that flows
use with `pause_flow_run(wait_for_input=...)`: scalars with and without
constraints, literals, enums, dates, UUIDs, optionals, unions, lists,
dictionaries, tuples and nested models. The schema the tests use is the one
that a pause stores for the model (`runinput.run_input.schema_for`). Each
field type comes with a strategy for JSON values that the model accepts, so
that examples reach the success paths and not only the rejections.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

import pydantic
from hypothesis import strategies as st

_model_numbers = itertools.count()


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"
    LIGHT_BLUE = "light blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 3


@dataclass(frozen=True)
class Shape:
    """A field type and a strategy for JSON values that pydantic accepts for it."""

    annotation: Any
    values: st.SearchStrategy[Any]


def _leaf(annotation: Any, values: st.SearchStrategy[Any]) -> Shape:
    return Shape(annotation, values)


# Texts without surrogates, which JSON and HTTP cannot carry in UTF-8.
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)

LEAVES: list[Shape] = [
    _leaf(int, st.integers(-(10**9), 10**9)),
    _leaf(float, st.floats(allow_nan=False, allow_infinity=False, width=32)),
    _leaf(str, _TEXT),
    _leaf(bool, st.booleans()),
    _leaf(Annotated[int, pydantic.Field(ge=0, le=10)], st.integers(0, 10)),
    _leaf(
        Annotated[float, pydantic.Field(gt=0, lt=1)],
        st.floats(0, 1, exclude_min=True, exclude_max=True),
    ),
    _leaf(
        Annotated[str, pydantic.Field(min_length=1, max_length=5)],
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=5),
    ),
    _leaf(
        Annotated[str, pydantic.Field(pattern=r"^[a-z]{2,4}$")],
        st.from_regex(r"\A[a-z]{2,4}\Z"),
    ),
    _leaf(Literal["low", "high"], st.sampled_from(["low", "high"])),
    _leaf(Literal[1, 2, 3], st.sampled_from([1, 2, 3])),
    _leaf(Color, st.sampled_from([color.value for color in Color])),
    _leaf(Size, st.sampled_from([size.value for size in Size])),
    _leaf(datetime.date, st.dates().map(datetime.date.isoformat)),
    _leaf(
        datetime.datetime,
        st.datetimes(timezones=st.just(datetime.timezone.utc)).map(
            lambda moment: moment.isoformat()
        ),
    ),
    _leaf(uuid.UUID, st.uuids().map(str)),
]


def _optional(inner: Shape) -> Shape:
    return Shape(Optional[inner.annotation], st.none() | inner.values)  # noqa: UP045


def _list(inner: Shape) -> Shape:
    return Shape(list[inner.annotation], st.lists(inner.values, max_size=3))


def _dict(inner: Shape) -> Shape:
    keys = st.text(st.characters(exclude_categories=("Cs",)), max_size=5)
    return Shape(
        dict[str, inner.annotation],
        st.dictionaries(keys, inner.values, max_size=3),
    )


def _tuple(first: Shape, second: Shape) -> Shape:
    annotation = tuple[first.annotation, second.annotation]  # type: ignore[name-defined]
    return Shape(annotation, st.tuples(first.values, second.values).map(list))


def _union(first: Shape, second: Shape) -> Shape:
    return Shape(first.annotation | second.annotation, first.values | second.values)


@st.composite
def _nested_model(draw: st.DrawFn, depth: int) -> Shape:
    model, values = draw(_model_and_values(depth + 1, max_fields=3))
    return Shape(model, values)


def shapes(depth: int = 0) -> st.SearchStrategy[Shape]:
    """Field types, nesting containers and models up to two levels deep."""
    leaves = st.sampled_from(LEAVES)
    if depth >= 2:
        return leaves
    inner = st.deferred(lambda: shapes(depth + 1))
    composite: list[st.SearchStrategy[Shape]] = [
        inner.map(_optional),
        inner.map(_list),
        inner.map(_dict),
        st.tuples(leaves, leaves).map(lambda pair: _tuple(*pair)),
        st.tuples(leaves, leaves).map(lambda pair: _union(*pair)),
        _nested_model(depth),
    ]
    return st.one_of(leaves, leaves, *composite)


@dataclass(frozen=True)
class FieldPlan:
    """One field of a generated model: its type, and its default if it has one."""

    name: str
    shape: Shape
    default: Any
    has_default: bool


@st.composite
def _field_plans(draw: st.DrawFn, depth: int, max_fields: int) -> list[FieldPlan]:
    count = draw(st.integers(1, max_fields))
    plans = []
    for index in range(count):
        shape = draw(shapes(depth))
        has_default = draw(st.booleans())
        default = draw(shape.values) if has_default else None
        plans.append(FieldPlan(f"field_{index}", shape, default, has_default))
    return plans


@st.composite
def _model_and_values(
    draw: st.DrawFn, depth: int = 0, max_fields: int = 5
) -> tuple[type[pydantic.BaseModel], st.SearchStrategy[dict[str, Any]]]:
    plans = draw(_field_plans(depth, max_fields))
    definitions: dict[str, Any] = {}
    for plan in plans:
        default = plan.default if plan.has_default else ...
        definitions[plan.name] = (plan.shape.annotation, default)
    name = f"Answer{next(_model_numbers)}"
    model = pydantic.create_model(name, **definitions)
    required = {p.name: p.shape.values for p in plans if not p.has_default}
    optional = {p.name: p.shape.values for p in plans if p.has_default}
    values = st.fixed_dictionaries(required, optional=optional)
    return model, values


def models() -> st.SearchStrategy[
    tuple[type[pydantic.BaseModel], st.SearchStrategy[dict[str, Any]]]
]:
    """A model class, and a strategy for JSON objects that the model accepts."""
    return _model_and_values()


def nearly_valid(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values that the model accepts, some with one field changed to any JSON."""
    any_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(_TEXT, children, max_size=3)
        ),
        max_leaves=6,
    )

    @st.composite
    def changed(draw: st.DrawFn) -> Any:
        value = draw(values)
        if not value or draw(st.booleans()):
            return value
        name = draw(st.sampled_from(sorted(value)))
        if draw(st.booleans()):
            return {**value, name: draw(any_json)}
        return {key: item for key, item in value.items() if key != name}

    return changed()


def answer_texts(value: Any) -> st.SearchStrategy[str]:
    """Texts a person might type for a field whose valid value is `value`."""
    typed: list[str] = [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, bool):
        typed += ["yes" if value else "no", str(value).lower()]
    elif isinstance(value, int | float):
        typed.append(repr(value))
    elif isinstance(value, str):
        typed.append(value)
    elif isinstance(value, list) and all(_is_scalar(item) for item in value):
        typed.append(", ".join(_plain(item) for item in value))
    elif isinstance(value, dict) and all(_is_scalar(item) for item in value.values()):
        typed.append(", ".join(f"{key}={_plain(item)}" for key, item in value.items()))
    return st.sampled_from(typed) | _TEXT


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
