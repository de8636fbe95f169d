"""The fields of a form, built from a run input's JSON schema.

Field paths are written as in `items[0].qty`. Fields of a nested model carry
their full dotted path (`address.street`). The item of a list or dictionary
starts a form of its own, so the fields of a list entry have paths relative
to that entry (`qty`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from runinput.formats import CHECKED_FORMATS
from runinput.schema import check_references, dereference, format_path

__all__ = [
    "MAX_RECURSION",
    "UNSET",
    "AnswerError",
    "Choice",
    "FieldKind",
    "Form",
    "FormField",
    "Path",
    "build_form",
]

MAX_RECURSION = 4
"""How many times a model may contain itself before its field becomes JSON."""

Path = tuple[str | int, ...]


class _Unset:
    """The type of `UNSET`: no default, or a field to leave out of the value."""

    def __repr__(self) -> str:
        return "UNSET"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unset:
        return self


UNSET: Any = _Unset()


class AnswerError(ValueError):
    """Typed text cannot be turned into a value for the field."""


class FieldKind(enum.Enum):
    """What sort of value a field takes, which decides how text is parsed."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    UNION = "union"
    OBJECT = "object"
    LIST = "list"
    OBJECT_LIST = "object list"
    DICT = "dict"
    TUPLE = "tuple"
    DATE = "date"
    DATE_TIME = "date-time"
    TIME = "time"
    DURATION = "duration"
    UUID = "uuid"
    EMAIL = "email"
    URI = "uri"
    JSON = "json"


_FORMAT_KINDS = {
    kind.value: kind for kind in FieldKind if kind.value in CHECKED_FORMATS
}


@dataclass(frozen=True)
class Choice:
    """One accepted value of an enum field, with the text a person types for it."""

    label: str
    value: Any


@dataclass(frozen=True)
class FormField:
    """One field of a form, with what a prompt needs to ask for it."""

    path: str
    name: str
    title: str
    kind: FieldKind
    schema: dict[str, Any] = field(repr=False, compare=False)
    """The field's own schema with the definitions it refers to, for `validate`."""
    description: str | None = None
    required: bool = False
    default: Any = UNSET
    nullable: bool = False
    secret: bool = False
    format: str | None = None
    constraints: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    fields: tuple[FormField, ...] = ()
    """The model's fields, for an object."""
    item: FormField | None = None
    """The field for one entry, for a list, an object list or a dictionary."""
    positions: tuple[FormField, ...] = ()
    """One field per position, for a tuple."""
    branches: tuple[FormField, ...] = ()
    """The alternatives, in the order `parse_answer` tries them, for a union."""

    @property
    def has_default(self) -> bool:
        """Whether the schema gives a default, which may be null."""
        return self.default is not UNSET

    def item_form(self) -> Form:
        """Return the form for one entry of a list or dictionary of models.

        Raises:
            ValueError: the entries of this field are not models.
        """
        entry = self.item
        if entry is None or entry.kind is not FieldKind.OBJECT:
            raise ValueError(f"the entries of {self.path} are not models")
        return Form(entry.title, entry.description, entry.fields, entry.schema)


@dataclass(frozen=True)
class Form:
    """The fields of the input that a paused flow run waits for, in prompt order."""

    title: str
    description: str | None
    fields: tuple[FormField, ...]
    schema: dict[str, Any] = field(repr=False, compare=False)


def build_form(schema: Mapping[str, Any]) -> Form:
    """Build the form for a stored run input schema.

    Raises:
        InvalidSchemaError: a reference in the schema is unresolvable or circular.
    """
    root = dict(schema)
    check_references(root)
    builder = _FormBuilder(root)
    fields = builder.object_fields(root, (), ())
    return Form(str(root.get("title", "")), root.get("description"), fields, root)


class _FormBuilder:
    """Turns the subschemas of one document into fields."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def object_fields(
        self, schema: dict[str, Any], prefix: Path, refs: tuple[str, ...]
    ) -> tuple[FormField, ...]:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        fields = [
            self.field((*prefix, name), node, name in required, refs)
            for name, node in properties.items()
        ]
        order = {name: i for i, name in enumerate(properties)}
        return tuple(sorted(fields, key=lambda f: _position_key(f, order)))

    def field(
        self, path: Path, node: Any, required: bool, refs: tuple[str, ...]
    ) -> FormField:
        own = node if isinstance(node, dict) else {}
        followed = self.follow(node, refs)
        if followed is None:
            return self.make(path, own, FieldKind.JSON, required=required)
        resolved, refs = followed
        title = own.get("title") or _title(path) or resolved.get("title", "")
        nullable, inner = self.split_null(resolved)
        if inner is not resolved:
            followed = self.follow(inner, refs)
            if followed is None:
                return self.make(
                    path,
                    resolved,
                    FieldKind.JSON,
                    title=title,
                    required=required,
                    nullable=True,
                )
            # The field's own title, default and description win over the
            # model's, and the constraints sit in the non-null branch.
            inner, refs = followed
            inner = {**inner, **_without(resolved, ("anyOf", "oneOf", "type"))}
        return self.typed(path, inner, refs, resolved, title, required, nullable)

    def follow(
        self, node: Any, refs: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]] | None:
        """Dereference `node`, or return None past MAX_RECURSION levels of a model."""
        ref = node.get("$ref") if isinstance(node, dict) else None
        if isinstance(ref, str):
            if refs.count(ref) >= MAX_RECURSION:
                return None
            refs = (*refs, ref)
        return dereference(node, self.root), refs

    def split_null(self, schema: dict[str, Any]) -> tuple[bool, Any]:
        """Split an optional schema into (accepts null, the schema without null)."""
        kind = schema.get("type")
        if isinstance(kind, list) and "null" in kind:
            rest = [name for name in kind if name != "null"]
            return True, {**schema, "type": rest[0] if len(rest) == 1 else rest}
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if not isinstance(branches, list) or {"type": "null"} not in branches:
                continue
            rest = [branch for branch in branches if branch != {"type": "null"}]
            if len(rest) == 1:
                return True, rest[0]
            return True, {**_without(schema, (keyword,)), keyword: rest}
        return False, schema

    def typed(
        self,
        path: Path,
        schema: dict[str, Any],
        refs: tuple[str, ...],
        outer: dict[str, Any],
        title: str,
        required: bool,
        nullable: bool,
    ) -> FormField:
        common: dict[str, Any] = {
            "title": title,
            "required": required,
            "nullable": nullable,
            "document": outer,
        }
        kind = _kind_of(schema)
        if kind is FieldKind.ENUM:
            return self.make(path, schema, kind, choices=_choices(schema), **common)
        if kind is FieldKind.UNION:
            branches = self.branches(path, schema, refs)
            return self.make(path, schema, kind, branches=branches, **common)
        if kind is FieldKind.OBJECT:
            fields = self.object_fields(schema, path, refs)
            return self.make(path, schema, kind, fields=fields, **common)
        if kind in (FieldKind.LIST, FieldKind.DICT):
            key = "additionalProperties" if kind is FieldKind.DICT else "items"
            item = self.field((), schema.get(key, {}), True, refs)
            if kind is FieldKind.LIST and item.kind is FieldKind.OBJECT:
                kind = FieldKind.OBJECT_LIST
            return self.make(path, schema, kind, item=item, **common)
        if kind is FieldKind.TUPLE:
            prefix = schema.get("prefixItems") or schema.get("items") or []
            positions = tuple(
                self.field((*path, i), node, True, refs)
                for i, node in enumerate(prefix)
            )
            return self.make(path, schema, kind, positions=positions, **common)
        return self.make(path, schema, kind, **common)

    def branches(
        self, path: Path, schema: dict[str, Any], refs: tuple[str, ...]
    ) -> tuple[FormField, ...]:
        nodes = schema.get("anyOf") or schema.get("oneOf")
        if not isinstance(nodes, list):
            # A `type` list such as ["integer", "string"].
            nodes = [{"type": name} for name in schema.get("type", [])]
        fields = [self.field(path, node, True, refs) for node in nodes]
        return tuple(sorted(fields, key=lambda f: _UNION_ORDER.index(f.kind)))

    def make(
        self,
        path: Path,
        schema: dict[str, Any],
        kind: FieldKind,
        *,
        document: dict[str, Any] | None = None,
        title: str | None = None,
        **details: Any,
    ) -> FormField:
        """Create the field, filling in what every kind has in common."""
        name = str(path[-1]) if path else ""
        format_name = schema.get("format")
        return FormField(
            path=format_path(path),
            name=name,
            title=title or _title(path),
            kind=kind,
            schema=self.document(document if document is not None else schema),
            description=schema.get("description"),
            default=deepcopy(schema.get("default", UNSET)),
            secret=format_name == "password" or schema.get("writeOnly") is True,
            format=format_name,
            constraints=_constraints(schema),
            **details,
        )

    def document(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Return `schema` with the root's definitions, so its references resolve."""
        document = dict(schema)
        if isinstance(document.get("items"), list) and not document.get("prefixItems"):
            # The server turns a property's tuple `items` into `prefixItems`,
            # and Draft 2020-12 rejects a list of `items` anywhere else.
            document["prefixItems"] = document.pop("items")
        for key in ("definitions", "$defs"):
            if key in self.root and key not in document:
                document[key] = self.root[key]
        return document


def _title(path: Path) -> str:
    if not path:
        return ""
    if isinstance(path[-1], int):
        return format_path(path)
    return path[-1].replace("_", " ").title()


def _without(schema: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in keys}


def _position_key(form_field: FormField, order: dict[str, int]) -> tuple[int, float]:
    """Sort fields with a `position` first, by position, then the rest in order."""
    position = form_field.schema.get("position")
    if isinstance(position, int | float) and not isinstance(position, bool):
        return (0, position)
    return (1, order[form_field.name])


def _kind_of(schema: dict[str, Any]) -> FieldKind:
    if "enum" in schema or "const" in schema or _all_constants(schema):
        return FieldKind.ENUM
    if isinstance(schema.get("anyOf") or schema.get("oneOf"), list):
        return FieldKind.UNION
    kind = schema.get("type")
    if isinstance(kind, list) and len(kind) == 1:
        return _kind_of({**schema, "type": kind[0]})
    if isinstance(kind, list):
        return FieldKind.UNION if kind else FieldKind.JSON
    if kind == "string":
        return _FORMAT_KINDS.get(schema.get("format", ""), FieldKind.STRING)
    if kind == "array":
        tuple_items = schema.get("prefixItems") or isinstance(schema.get("items"), list)
        return FieldKind.TUPLE if tuple_items else FieldKind.LIST
    if kind == "object":
        if "properties" in schema:
            return FieldKind.OBJECT
        if isinstance(schema.get("additionalProperties"), dict):
            return FieldKind.DICT
        return FieldKind.JSON
    return _SIMPLE_KINDS.get(str(kind), FieldKind.JSON)


_SIMPLE_KINDS = {
    "integer": FieldKind.INTEGER,
    "number": FieldKind.NUMBER,
    "boolean": FieldKind.BOOLEAN,
}


def _all_constants(schema: dict[str, Any]) -> bool:
    """Tell whether the schema is an anyOf of constants, as a union of Literals is."""
    branches = schema.get("anyOf")
    return isinstance(branches, list) and all(
        isinstance(b, dict) and ("const" in b or "enum" in b) for b in branches
    )


def _choices(schema: dict[str, Any]) -> tuple[Choice, ...]:
    if "enum" in schema:
        values = list(schema["enum"])
    elif "const" in schema:
        values = [schema["const"]]
    else:
        values = []
        for branch in schema["anyOf"]:
            values.extend(branch["enum"] if "enum" in branch else [branch["const"]])
    labels = [
        value if isinstance(value, str) else json.dumps(value) for value in values
    ]
    if len(set(labels)) < len(labels):
        # Literal["1", 1] would show "1" twice, so every label becomes JSON.
        labels = [json.dumps(value) for value in values]
    pairs = zip(labels, values, strict=True)
    return tuple(Choice(label, value) for label, value in pairs)


_UNION_ORDER = [
    FieldKind.ENUM,
    FieldKind.INTEGER,
    FieldKind.NUMBER,
    FieldKind.BOOLEAN,
    *_FORMAT_KINDS.values(),
    FieldKind.OBJECT,
    FieldKind.OBJECT_LIST,
    FieldKind.LIST,
    FieldKind.TUPLE,
    FieldKind.DICT,
    FieldKind.UNION,
    FieldKind.JSON,
    FieldKind.STRING,
]
"""The order in which a union tries its alternatives: specific before general."""


_BOUNDS = {
    "minimum": "at least {}",
    "maximum": "at most {}",
    "exclusiveMinimum": "greater than {}",
    "exclusiveMaximum": "less than {}",
    "multipleOf": "a multiple of {}",
}
_SIZES = (
    ("minLength", "maxLength", "character", "characters"),
    ("minItems", "maxItems", "item", "items"),
    ("minProperties", "maxProperties", "entry", "entries"),
)


def _constraints(schema: dict[str, Any]) -> tuple[str, ...]:
    """Render the schema's constraints as short phrases, such as "at least 1"."""
    texts = [
        template.format(json.dumps(schema[key]))
        for key, template in _BOUNDS.items()
        if key in schema
    ]
    for low_key, high_key, singular, plural in _SIZES:
        low, high = schema.get(low_key), schema.get(high_key)
        if low is not None and low == high:
            texts.append(f"exactly {low} {singular if low == 1 else plural}")
            continue
        if low is not None:
            texts.append(f"at least {low} {singular if low == 1 else plural}")
        if high is not None:
            texts.append(f"at most {high} {singular if high == 1 else plural}")
    if "pattern" in schema:
        texts.append(f"matching {schema['pattern']}")
    if schema.get("uniqueItems") is True:
        texts.append("no duplicates")
    return (*texts, *_value_constraints(schema))


def _value_constraints(schema: dict[str, Any]) -> list[str]:
    texts = []
    if "enum" in schema:
        texts.append("one of " + ", ".join(json.dumps(v) for v in schema["enum"]))
    if "const" in schema:
        texts.append(f"exactly {json.dumps(schema['const'])}")
    format_name = schema.get("format")
    if format_name in CHECKED_FORMATS:
        noun, example = CHECKED_FORMATS[format_name]
        texts.append(f"a {noun} such as {example}")
    elif format_name and format_name != "password":
        texts.append(f"format {format_name}")
    return texts
