"""Form logic for the input of a paused flow run: typed text to values.

Nothing here reads from or writes to the terminal, so the prompts of the
command line build on it and tests can drive it directly. `form_fields`
builds the fields from the stored schema; this module turns typed text into
values, applies `path=value` assignments, fills in defaults, lists missing
fields and summarizes a value for confirmation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from typing import Any

from runinput.formats import CHECKED_FORMATS, parse_format
from runinput.schema import format_path, validate

from .form_fields import (
    MAX_RECURSION,
    UNSET,
    AnswerError,
    Choice,
    FieldKind,
    Form,
    FormField,
    Path,
    build_form,
)

__all__ = [
    "MAX_RECURSION",
    "SECRET_MASK",
    "UNSET",
    "AnswerError",
    "Choice",
    "FieldKind",
    "Form",
    "FormField",
    "Path",
    "apply_assignments",
    "build_form",
    "fill_defaults",
    "find_field",
    "missing_required",
    "parse_answer",
    "parse_assignment",
    "summarize",
]

SECRET_MASK = "********"

_FORMAT_KINDS = [kind for kind in FieldKind if kind.value in CHECKED_FORMATS]

_SCALAR_KINDS = frozenset(
    {
        FieldKind.STRING,
        FieldKind.INTEGER,
        FieldKind.NUMBER,
        FieldKind.BOOLEAN,
        FieldKind.ENUM,
        *_FORMAT_KINDS,
    }
)
"""Kinds whose values can be typed as comma-separated text."""


def parse_answer(form_field: FormField, text: str) -> Any:
    """Turn the text typed for a field into the value to send.

    Spaces around the text are ignored; a JSON string such as `" a "` keeps
    them, and `""` is the empty string. Empty text gives the default if
    there is one, else null where null is allowed, else `UNSET` for an
    optional field (leave it out). `null` or `none` gives null where null is
    allowed. The value is validated against the field's schema, formats
    included.

    Raises:
        AnswerError: the text is not a value of the field's type, or the value
            breaks a constraint; the message names the text and what is expected.
    """
    stripped = text.strip()
    if not stripped:
        return _empty_answer(form_field)
    if form_field.nullable and stripped.lower() in ("null", "none"):
        return None

    value = _PARSERS[form_field.kind](form_field, stripped)
    issues = validate(value, form_field.schema)
    if issues:
        where = f" (at {issues[0].location})" if issues[0].location else ""
        raise AnswerError(f"{issues[0].message}{where}")
    return value


def _empty_answer(form_field: FormField) -> Any:
    if form_field.has_default:
        return deepcopy(form_field.default)
    if form_field.nullable:
        return None
    if not form_field.required:
        return UNSET
    raise AnswerError(f"a value is required; enter {_expected(form_field)}")


def _expected(form_field: FormField) -> str:
    """Describe what the field accepts, as in "enter a whole number such as 42"."""
    kind = form_field.kind
    if kind is FieldKind.ENUM:
        return "one of " + ", ".join(choice.label for choice in form_field.choices)
    if kind is FieldKind.UNION:
        return " or ".join(_expected(branch) for branch in form_field.branches)
    if kind.value in CHECKED_FORMATS:
        noun, example = CHECKED_FORMATS[kind.value]
        return f"a {noun} such as {example}"
    if kind is FieldKind.LIST and not _accepts_commas(form_field):
        return "a JSON list such as [[1, 2], [3]]"
    return _EXPECTED[kind]


_EXPECTED = {
    FieldKind.STRING: 'text, or "" for an empty text',
    FieldKind.INTEGER: "a whole number such as 42",
    FieldKind.NUMBER: "a number such as 3.14",
    FieldKind.BOOLEAN: "yes or no",
    FieldKind.OBJECT: 'a JSON object such as {"name": "value"}',
    FieldKind.OBJECT_LIST: 'a JSON list of objects such as [{"name": "value"}]',
    FieldKind.LIST: "values separated by commas, or a JSON list such as [1, 2]",
    FieldKind.TUPLE: "values separated by commas, or a JSON list such as [1, 2]",
    FieldKind.DICT: "key=value pairs separated by commas, or a JSON object",
    FieldKind.JSON: 'a JSON value such as {"name": "value"}, or plain text',
}


def _fail(form_field: FormField, text: str, expected_kind: str) -> AnswerError:
    return AnswerError(
        f"{json.dumps(text)} is not {expected_kind}; enter {_expected(form_field)}"
    )


_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def _parse_string(form_field: FormField, text: str) -> Any:
    # A JSON string literal lets a person type "" or text with edge spaces.
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def _parse_integer(form_field: FormField, text: str) -> Any:
    if not _INTEGER.fullmatch(text):
        raise _fail(form_field, text, "an integer")
    return int(text)


def _parse_number(form_field: FormField, text: str) -> Any:
    if _INTEGER.fullmatch(text):
        return int(text)
    if not _NUMBER.fullmatch(text):
        raise _fail(form_field, text, "a number")
    return float(text)


def _parse_boolean(form_field: FormField, text: str) -> Any:
    lowered = text.lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise _fail(form_field, text, "yes or no")


def _parse_enum(form_field: FormField, text: str) -> Any:
    for choice in form_field.choices:
        if choice.label == text:
            return choice.value
    folded = [c for c in form_field.choices if c.label.casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0].value
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        decoded = UNSET
    for choice in form_field.choices:
        if type(choice.value) is type(decoded) and choice.value == decoded:
            return choice.value
    raise _fail(form_field, text, "one of the choices")


def _parse_format(form_field: FormField, text: str) -> Any:
    try:
        return parse_format(form_field.kind.value, text)
    except ValueError as exc:
        raise AnswerError(str(exc)) from None


def _parse_union(form_field: FormField, text: str) -> Any:
    for branch in form_field.branches:
        try:
            return parse_answer(branch, text)
        except AnswerError:
            continue
    raise _fail(form_field, text, "any of the accepted types")


def _parse_json(form_field: FormField, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if form_field.kind is FieldKind.JSON and not validate(text, form_field.schema):
            return text
        raise AnswerError(
            f"{json.dumps(text)} is not valid JSON ({exc.msg}); "
            f"enter {_expected(form_field)}"
        ) from None


def _accepts_commas(form_field: FormField) -> bool:
    """Tell whether the list's items can be typed separated by commas."""
    item = form_field.item
    if item is None or item.kind not in _SCALAR_KINDS:
        return False
    return not any("," in choice.label for choice in item.choices)


def _parse_list(form_field: FormField, text: str) -> Any:
    if text.startswith("[") or not _accepts_commas(form_field):
        return _parse_json(form_field, text)
    assert form_field.item is not None
    return [parse_answer(form_field.item, part) for part in _split_commas(text)]


def _parse_tuple(form_field: FormField, text: str) -> Any:
    positions = form_field.positions
    scalar = all(position.kind in _SCALAR_KINDS for position in positions)
    if text.startswith("[") or not scalar:
        return _parse_json(form_field, text)
    parts = _split_commas(text)
    if len(parts) != len(positions):
        count = len(positions)
        raise _fail(form_field, text, f"{count} values separated by commas")
    pairs = zip(positions, parts, strict=True)
    return [parse_answer(position, part) for position, part in pairs]


def _parse_dict(form_field: FormField, text: str) -> Any:
    item = form_field.item
    if text.startswith("{") or item is None or item.kind not in _SCALAR_KINDS:
        return _parse_json(form_field, text)
    result: dict[str, Any] = {}
    for part in _split_commas(text):
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise _fail(form_field, part, "a key=value pair")
        result[key.strip()] = parse_answer(item, value)
    return result


def _split_commas(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


_PARSERS: dict[FieldKind, Callable[[FormField, str], Any]] = {
    FieldKind.STRING: _parse_string,
    FieldKind.INTEGER: _parse_integer,
    FieldKind.NUMBER: _parse_number,
    FieldKind.BOOLEAN: _parse_boolean,
    FieldKind.ENUM: _parse_enum,
    FieldKind.UNION: _parse_union,
    FieldKind.OBJECT: _parse_json,
    FieldKind.OBJECT_LIST: _parse_json,
    FieldKind.LIST: _parse_list,
    FieldKind.TUPLE: _parse_tuple,
    FieldKind.DICT: _parse_dict,
    FieldKind.JSON: _parse_json,
    **dict.fromkeys(_FORMAT_KINDS, _parse_format),
}


_SEGMENT = re.compile(r'(\.?)([\w-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _scan_path(text: str) -> tuple[Path, int]:
    """Read a path such as `items[0].qty` from the start of `text`.

    Return the path and the position where it ends.
    """
    parts: list[str | int] = []
    position = 0
    while match := _SEGMENT.match(text, position):
        dot, name, index, quoted = match.groups()
        if name is not None:
            if bool(dot) != bool(parts):
                break
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(json.loads(quoted))
        position = match.end()
    if not parts or isinstance(parts[0], int):
        raise AnswerError(
            f"{json.dumps(text)} does not start with a field path such as items[0].qty"
        )
    return tuple(parts), position


def parse_assignment(text: str) -> tuple[Path, str]:
    """Split `items[0].qty=5` into the path `("items", 0, "qty")` and the text `5`.

    A key that is not a plain name is written in brackets: `tags["a b"]=1`.
    """
    path, end = _scan_path(text)
    if text[end : end + 1] != "=":
        raise AnswerError(
            f"{json.dumps(text)} is not an assignment; write path=value, "
            "such as items[0].qty=5"
        )
    return path, text[end + 1 :]


def find_field(form: Form, path: str | Path) -> FormField:
    """Return the field that the value at `path` belongs to.

    For a path into a list or dictionary, such as `items[0].qty`, this is a
    field of the entry's form.
    """
    parts = path if isinstance(path, tuple) else _full_path(path)
    parent: FormField | tuple[FormField, ...] = form.fields
    for depth, part in enumerate(parts):
        found = _step(parent, part)
        if found is None:
            owner = format_path(parts[:depth]) or "the form"
            unknown = format_path(parts[: depth + 1])
            raise AnswerError(f"{unknown} is not a field of {owner}; {_hint(parent)}")
        parent = found
    assert isinstance(parent, FormField), "a path has at least one part"
    return parent


def _hint(parent: FormField | tuple[FormField, ...]) -> str:
    """Say which path segments can follow `parent`."""
    kind = None if isinstance(parent, tuple) else parent.kind
    if kind in (FieldKind.LIST, FieldKind.OBJECT_LIST, FieldKind.TUPLE):
        return "it takes an index such as [0]"
    if kind is FieldKind.DICT:
        return "it takes a key such as .name"
    if kind is FieldKind.UNION and isinstance(parent, FormField):
        names = [f.name for branch in parent.branches for f in branch.fields]
    else:
        names = [
            f.name for f in (parent if isinstance(parent, tuple) else parent.fields)
        ]
    if not names:
        return "it has no fields"
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"the fields are {', '.join(names[:10])}{more}"


def _full_path(text: str) -> Path:
    path, end = _scan_path(text)
    if end != len(text):
        raise AnswerError(
            f"{json.dumps(text)} is not a field path such as items[0].qty"
        )
    return path


def _step(
    parent: FormField | tuple[FormField, ...], part: str | int
) -> FormField | None:
    """Return the field one path segment below `parent`, or None."""
    if isinstance(parent, tuple):
        return next((f for f in parent if f.name == part), None)
    kind = parent.kind
    if kind is FieldKind.OBJECT:
        return _step(parent.fields, part)
    if kind in (FieldKind.LIST, FieldKind.OBJECT_LIST):
        return parent.item if isinstance(part, int) else None
    if kind is FieldKind.DICT:
        return parent.item if isinstance(part, str) else None
    if kind is FieldKind.TUPLE and isinstance(part, int):
        return parent.positions[part] if part < len(parent.positions) else None
    if kind is FieldKind.UNION:
        found = (_step(branch, part) for branch in parent.branches)
        return next((f for f in found if f is not None), None)
    return None


def apply_assignments(
    form: Form | Mapping[str, Any],
    data: Mapping[str, Any] | None,
    assignments: Iterable[str],
) -> dict[str, Any]:
    """Return a copy of `data` with each `path=value` assignment applied.

    Each value is parsed as `parse_answer` parses it for its field, so
    `items[0].qty=5` sets an integer. An empty value, as in `note=`, sets the
    default, or null, or removes an optional field. A list index may be at
    most the list's length, which appends an entry.

    Raises:
        AnswerError: an assignment names no field or its value does not parse;
            the message starts with the path.
    """
    form = form if isinstance(form, Form) else build_form(form)
    result = deepcopy(dict(data or {}))
    for assignment in assignments:
        path, text = parse_assignment(assignment)
        target = find_field(form, path)
        try:
            _set_value(result, path, parse_answer(target, text))
        except AnswerError as exc:
            raise AnswerError(f"{format_path(path)}: {exc}") from None
    return result


def _set_value(data: dict[str, Any], path: Path, value: Any) -> None:
    container: Any = data
    for part, following in zip(path, path[1:], strict=False):
        empty: Any = [] if isinstance(following, int) else {}
        current = _get_child(container, part)
        if not isinstance(current, type(empty)):
            _put_child(container, part, empty)
        container = _get_child(container, part)
    _put_child(container, path[-1], value)


def _get_child(container: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return container[part] if part < len(container) else UNSET
    return container.get(part, UNSET)


def _put_child(container: Any, part: str | int, value: Any) -> None:
    if isinstance(part, str):
        if value is UNSET:
            container.pop(part, None)
        else:
            container[part] = value
    elif part < len(container):
        container[part] = None if value is UNSET else value
    elif part == len(container):
        container.append(None if value is UNSET else value)
    else:
        raise AnswerError(
            f"index {part} is past the end of a list of length "
            f"{len(container)}; add entries in order"
        )


def fill_defaults(form: Form, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a copy of `data` with the schema's default for every missing field.

    A missing required nested model gets an empty object, so that its own
    defaults apply and `missing_required` names its missing fields.
    """
    result = deepcopy(dict(data or {}))
    _fill_fields(form.fields, result)
    return result


def _fill_fields(fields: tuple[FormField, ...], data: dict[str, Any]) -> None:
    for form_field in fields:
        name = form_field.name
        if name not in data and form_field.has_default:
            data[name] = deepcopy(form_field.default)
        elif name not in data and form_field.required and form_field.fields:
            data[name] = {}
        for fields_below, entry in _entries(form_field, data.get(name)):
            _fill_fields(fields_below, entry)


def _entries(
    form_field: FormField, value: Any
) -> list[tuple[tuple[FormField, ...], dict[str, Any]]]:
    """Pair the fields of a model, or of each entry of a list of models, with data."""
    if form_field.kind is FieldKind.OBJECT and isinstance(value, dict):
        return [(form_field.fields, value)]
    if form_field.kind is FieldKind.OBJECT_LIST and isinstance(value, list):
        assert form_field.item is not None
        entries = [entry for entry in value if isinstance(entry, dict)]
        return [(form_field.item.fields, entry) for entry in entries]
    return []


def missing_required(form: Form, data: Mapping[str, Any] | None) -> list[str]:
    """Return the path of every required field that `data` lacks, in form order."""
    return [format_path(path) for path in _missing(form.fields, data or {}, ())]


def _missing(
    fields: tuple[FormField, ...], data: Mapping[str, Any], prefix: Path
) -> list[Path]:
    paths: list[Path] = []
    for form_field in fields:
        path = (*prefix, form_field.name)
        value = data.get(form_field.name, UNSET)
        if value is UNSET:
            if form_field.required:
                paths.append(path)
        elif form_field.kind is FieldKind.OBJECT and isinstance(value, dict):
            paths.extend(_missing(form_field.fields, value, path))
        elif form_field.kind is FieldKind.OBJECT_LIST and isinstance(value, list):
            assert form_field.item is not None
            for index, entry in enumerate(value):
                if isinstance(entry, dict):
                    entry_path = (*path, index)
                    paths.extend(_missing(form_field.item.fields, entry, entry_path))
    return paths


def summarize(form: Form, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """List each value in `data` as (path, display text), with secrets masked.

    Each field of a nested model or of a list entry gets its own row. Fields
    that `data` lacks are left out, and keys that the form does not know are
    listed as they are.
    """
    return [(format_path(path), text) for path, text in _rows(form.fields, data, ())]


def _rows(
    fields: tuple[FormField, ...], data: Mapping[str, Any], prefix: Path
) -> list[tuple[Path, str]]:
    rows: list[tuple[Path, str]] = []
    for form_field in fields:
        if form_field.name not in data:
            continue
        path = (*prefix, form_field.name)
        value = data[form_field.name]
        if form_field.kind is FieldKind.OBJECT and isinstance(value, dict):
            rows.extend(_rows(form_field.fields, value, path))
        elif form_field.kind is FieldKind.OBJECT_LIST and _all_objects(value):
            assert form_field.item is not None
            for index, entry in enumerate(value):
                rows.extend(_rows(form_field.item.fields, entry, (*path, index)))
        else:
            rows.append((path, _display(_mask(form_field, value))))

    known = {form_field.name for form_field in fields}
    for key, value in data.items():
        if key not in known:
            rows.append(((*prefix, key), _display(value)))
    return rows


def _all_objects(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(entry, dict) for entry in value)
    )


def _mask(form_field: FormField, value: Any) -> Any:
    """Replace each secret string in `value` with `SECRET_MASK`."""
    if value is None:
        return None
    if form_field.secret or (
        form_field.kind is FieldKind.UNION
        and any(branch.secret for branch in form_field.branches)
    ):
        return SECRET_MASK
    item = form_field.item
    if item is not None and isinstance(value, list):
        return [_mask(item, entry) for entry in value]
    if item is not None and isinstance(value, dict):
        return {key: _mask(item, entry) for key, entry in value.items()}
    if form_field.kind is FieldKind.TUPLE and isinstance(value, list):
        pairs = zip(form_field.positions, value, strict=False)
        return [_mask(position, entry) for position, entry in pairs]
    if form_field.kind is FieldKind.OBJECT and isinstance(value, dict):
        by_name = {f.name: f for f in form_field.fields}
        return {
            k: _mask(by_name[k], v) if k in by_name else v for k, v in value.items()
        }
    return value


def _display(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
