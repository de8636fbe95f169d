"""The JSON schema that a paused flow run waits for: references and validation.

A pause stores the JSON schema of its model, and the server validates a resume
against it with jsonschema's Draft 2020-12 validator after the preprocessing
that `preprocess_schema` reproduces. The server reports only the first error
and does not check string formats. `validate` reports every error, and by
default it also checks the formats that the flow's model will parse.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jsonschema import (  # type: ignore[import-untyped]
    Draft202012Validator,
    FormatChecker,
    SchemaError,
)
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from referencing import Registry
from referencing.exceptions import Unresolvable

from runinput.errors import InvalidSchemaError
from runinput.formats import CHECKED_FORMATS, parse_format

__all__ = [
    "CIRCULAR_REFERENCE_REASON",
    "ValidationIssue",
    "check_references",
    "contains_placeholder",
    "dereference",
    "format_path",
    "preprocess_schema",
    "resolve_reference",
    "server_verdict",
    "validate",
]

CIRCULAR_REFERENCE_REASON = (
    "Invalid schema: Unable to validate schema with circular references."
)
"""The reason the server gives when validation recurses without end."""

# Keywords whose subschemas apply to the same value as the schema around them.
# A reference cycle through these alone makes a validator recurse forever.
_IN_PLACE_KEYWORDS = frozenset(
    {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"}
)
# Keywords whose subschemas apply to a part of the value (an item, a property).
_NESTED_KEYWORDS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
# Keywords whose value maps names to subschemas.
_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "dependentSchemas"})

_PLAIN_NAME = re.compile(r"[^\W\d][\w-]*")


def format_path(path: Sequence[str | int]) -> str:
    """Render a path into a value as `items[0].qty`, with `""` for the root.

    A key that is not a plain name is quoted in brackets: `tags["a b"]`.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_NAME.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


@dataclass(frozen=True)
class ValidationIssue:
    """One reason why a value does not match a schema."""

    path: tuple[str | int, ...]
    message: str

    @property
    def location(self) -> str:
        """The path rendered as `items[0].qty`, or `""` for the value itself."""
        return format_path(self.path)


def preprocess_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of `schema` changed as the server changes it before validating.

    A property that is not required and has no default also accepts null, and
    a tuple written as a list of `items` becomes `prefixItems`. Both apply to
    the top-level properties, to properties of inline objects and to the
    models under `definitions`, but not under `$defs`. A definition of a
    Prefect block also accepts a reference to a saved block.
    """
    # The server loads the schema from stored JSON, so a round trip gives the
    # same document: `$defs` and `definitions` become separate copies even when
    # pydantic made them one dictionary.
    result: dict[str, Any] = json.loads(json.dumps(schema))

    if isinstance(result.get("properties"), dict):
        _preprocess_properties(result["properties"], result.get("required", []))

    definitions = result.get("definitions")
    if isinstance(definitions, dict):
        for definition in list(definitions.values()):
            if not isinstance(definition, dict):
                continue
            if isinstance(definition.get("properties"), dict):
                required = definition.get("required", [])
                _preprocess_properties(definition["properties"], required)
            if "block_type_slug" in definition and "title" in definition:
                definitions[definition["title"]] = _with_block_reference(definition)
    return result


def _preprocess_properties(properties: dict[str, Any], required: Any) -> None:
    for name, prop in properties.items():
        if not isinstance(prop, dict):
            continue
        if (
            name not in required
            and "type" in prop
            and prop["type"] != "null"
            and "default" not in prop
        ):
            prop["anyOf"] = [{"type": prop["type"]}, {"type": "null"}]
            del prop["type"]

        items = prop.get("items")
        if items and isinstance(items, list) and not prop.get("prefixItems"):
            prop["prefixItems"] = deepcopy(items)
            del prop["items"]

        if isinstance(prop.get("properties"), dict):
            _preprocess_properties(prop["properties"], prop.get("required", []))


def _with_block_reference(definition: dict[str, Any]) -> dict[str, Any]:
    # A saved block is referenced by its document id, or by an object of
    # string fields that identify it.
    block_id = {"type": "string", "format": "uuid"}
    block_fields = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "minProperties": 1,
    }
    reference = {
        "type": "object",
        "properties": {"$ref": {"oneOf": [block_id, block_fields]}},
        "required": ["$ref"],
    }
    return {"oneOf": [definition, reference]}


def resolve_reference(schema: Mapping[str, Any], ref: str) -> Any:
    """Return the part of `schema` that the reference `ref` points to.

    Only references within the schema are supported: `#`, `#/definitions/X`,
    `#/$defs/X` or any other JSON pointer after `#`.

    Raises:
        InvalidSchemaError: the reference is external, an anchor, or points
            to nothing.
    """
    if not ref.startswith("#"):
        raise InvalidSchemaError(
            f"reference {json.dumps(ref)} cannot be resolved: only references "
            "within the schema, starting with '#', are supported"
        )
    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        raise InvalidSchemaError(
            f"reference {json.dumps(ref)} cannot be resolved: anchors are not "
            "supported, only JSON pointers such as #/definitions/Model"
        )

    node: Any = schema
    walked = ""
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise InvalidSchemaError(
                f"reference {json.dumps(ref)} cannot be resolved: "
                f"#{walked} contains no {json.dumps(key)}"
            )
        walked += f"/{token}"
    return node


def dereference(node: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Follow the `$ref` chain of `node` and return the schema it stands for.

    Keywords beside a `$ref`, such as a field's `default` or `description`,
    override those of the target. Boolean schemas become `{}` (true) and
    `{"not": {}}` (false).

    Raises:
        InvalidSchemaError: a reference is unresolvable or the chain is circular.
    """
    chain: list[str] = []
    current = _as_schema(node, "the schema")
    while isinstance(current.get("$ref"), str):
        ref = current.pop("$ref")
        if ref in chain:
            raise InvalidSchemaError(_circular_message([*chain, ref]))
        chain.append(ref)
        target = _as_schema(resolve_reference(schema, ref), json.dumps(ref))
        current = {**target, **current}
    return current


def _as_schema(node: Any, name: str) -> dict[str, Any]:
    if isinstance(node, bool):
        return {} if node else {"not": {}}
    if not isinstance(node, dict):
        raise InvalidSchemaError(f"{name} is not a JSON schema: {_show(node)}")
    return dict(node)


def check_references(schema: Mapping[str, Any]) -> None:
    """Check every reference that validation of a value could follow.

    A cycle of references is circular when every step applies to the same
    value, as in `A = {"$ref": "#/definitions/A"}`, because a validator then
    recurses forever. A model with a field of its own type (a tree) is fine.

    Raises:
        InvalidSchemaError: a reference is unresolvable or circular.
    """
    in_place: dict[str, list[str]] = {}
    pending = list(_references_in(schema, in_place_only=False))
    while pending:
        ref = pending.pop()
        if ref in in_place:
            continue
        target = resolve_reference(schema, ref)
        in_place[ref] = list(_references_in(target, in_place_only=True))
        pending.extend(_references_in(target, in_place_only=False))

    finished: set[str] = set()
    for start in in_place:
        _raise_on_cycle(start, in_place, [], finished)


def _references_in(node: Any, *, in_place_only: bool) -> Iterator[str]:
    """Yield the `$ref` values in `node` and its subschemas, without following any."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if isinstance(current.get("$ref"), str):
            yield current["$ref"]
        for keyword, value in current.items():
            if keyword in _IN_PLACE_KEYWORDS or (
                not in_place_only and keyword in _NESTED_KEYWORDS
            ):
                stack.extend(_subschemas(keyword, value))


def _subschemas(keyword: str, value: Any) -> list[Any]:
    if keyword in _MAP_KEYWORDS:
        return list(value.values()) if isinstance(value, dict) else []
    return list(value) if isinstance(value, list) else [value]


def _raise_on_cycle(
    ref: str, edges: dict[str, list[str]], chain: list[str], finished: set[str]
) -> None:
    """Search depth first from `ref`. `finished` contains refs without a cycle."""
    if ref in chain:
        raise InvalidSchemaError(_circular_message([*chain[chain.index(ref) :], ref]))
    if ref in finished:
        return
    for successor in edges.get(ref, []):
        _raise_on_cycle(successor, edges, [*chain, ref], finished)
    finished.add(ref)


def _circular_message(cycle: list[str]) -> str:
    return f"reference {json.dumps(cycle[0])} is circular: {' -> '.join(cycle)}"


def _build_format_checker() -> Any:
    checker = FormatChecker(formats=())
    for format_name in CHECKED_FORMATS:
        checker.checks(format_name, raises=ValueError)(_format_check(format_name))
    return checker


def _format_check(format_name: str) -> Callable[[Any], bool]:
    def check(instance: Any) -> bool:
        if isinstance(instance, str):
            parse_format(format_name, instance)
        return True

    return check


_FORMAT_CHECKER = _build_format_checker()


@functools.lru_cache(maxsize=256)
def _checked_document(schema_text: str) -> dict[str, Any]:
    """Preprocess the schema and check it against the Draft 2020-12 metaschema.

    The metaschema check costs many times more than validating a value, and a
    form validates each typed value against the same few schemas, so the
    result is cached by the schema's JSON text. Callers must not change it.
    """
    document = preprocess_schema(json.loads(schema_text))
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as exc:
        raise InvalidSchemaError(f"the schema is not valid: {exc.message}") from exc
    return document


def validate(
    value: Any, schema: Mapping[str, Any], *, check_formats: bool = True
) -> list[ValidationIssue]:
    """Validate `value` against `schema` and return every issue found.

    A value without issues passes the server's resume validation too, unless
    it contains `{"__prefect_kind": ...}` placeholders: they are validated as
    they are, but the server expands them first (see `contains_placeholder`).
    With `check_formats`, strings with a `date`, `date-time`, `time`,
    `duration`, `uuid`, `email` or `uri` format must also parse as the flow's
    model will parse them, which the server does not check.

    Raises:
        InvalidSchemaError: the schema is not valid, or a reference in it is
            unresolvable or circular.
    """
    try:
        document = _checked_document(json.dumps(schema))
        check_references(document)
    except RecursionError as exc:
        raise InvalidSchemaError("the schema is nested too deeply to check") from exc

    format_checker = _FORMAT_CHECKER if check_formats else None
    validator = Draft202012Validator(
        document, registry=Registry(), format_checker=format_checker
    )
    try:
        errors = list(validator.iter_errors(value))
    except Unresolvable as exc:
        raise InvalidSchemaError(f"a reference cannot be resolved: {exc}") from exc
    except RecursionError as exc:
        raise InvalidSchemaError("the value is nested too deeply to validate") from exc

    issues: list[ValidationIssue] = []
    for error in errors:
        issues.extend(i for i in _issues_from_error(error) if i not in issues)
    return issues


def _issues_from_error(error: Any) -> list[ValidationIssue]:
    path = tuple(error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return [
            ValidationIssue((*path, name), "a value is required") for name in missing
        ]
    if error.validator == "additionalProperties" and error.validator_value is False:
        return _unexpected_fields(path, error.instance, error.schema)
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _issues_from_branches(error)
    return [ValidationIssue(path, _message(error))]


def _unexpected_fields(
    path: tuple[str | int, ...], instance: dict[str, Any], schema: dict[str, Any]
) -> list[ValidationIssue]:
    accepted = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    if accepted:
        names = ", ".join(json.dumps(name) for name in accepted[:10])
        more = f" and {len(accepted) - 10} more" if len(accepted) > 10 else ""
        hint = f"the accepted fields are {names}{more}"
    else:
        hint = "this object accepts no fields"
    return [
        ValidationIssue((*path, name), f"unexpected field {json.dumps(name)}; {hint}")
        for name in instance
        if name not in accepted and not any(re.search(p, name) for p in patterns)
    ]


def _issues_from_branches(error: Any) -> list[ValidationIssue]:
    """Report a failed anyOf or oneOf through the branch the value was meant for.

    A branch whose `type` the value matches is taken to be the intended one,
    and the one with the fewest errors wins. When the value matches no
    branch's type, one issue lists the accepted types.
    """
    branches: dict[Any, list[Any]] = {}
    for sub_error in error.context:
        branches.setdefault(sub_error.relative_schema_path[0], []).append(sub_error)

    candidates = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if candidates:
        intended = min(candidates, key=len)
        return [issue for e in intended for issue in _issues_from_error(e)]

    phrases: list[str] = []
    for sub_error in error.context:
        phrase = _type_phrase(sub_error.validator_value)
        if sub_error.validator == "type" and phrase not in phrases:
            phrases.append(phrase)
    message = f"{_show(error.instance)} is not {' or '.join(phrases)}"
    return [ValidationIssue(tuple(error.absolute_path), message)]


_TYPE_PHRASES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "array": "a list",
    "object": "an object",
}


def _type_phrase(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_PHRASES.get(name, str(name)) for name in names)


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"{number} {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {plural}"


_MESSAGES: dict[str, Callable[[Any, Any], str]] = {
    "type": lambda v, e: f"{_show(v)} is not {_type_phrase(e)}",
    "enum": lambda v, e: f"{_show(v)} is not one of {', '.join(map(_show, e))}",
    "const": lambda v, e: f"{_show(v)} is not {_show(e)}",
    "minimum": lambda v, e: f"{_show(v)} is less than the minimum {_show(e)}",
    "maximum": lambda v, e: f"{_show(v)} is greater than the maximum {_show(e)}",
    "exclusiveMinimum": lambda v, e: f"{_show(v)} is not greater than {_show(e)}",
    "exclusiveMaximum": lambda v, e: f"{_show(v)} is not less than {_show(e)}",
    "multipleOf": lambda v, e: f"{_show(v)} is not a multiple of {_show(e)}",
    "pattern": lambda v, e: f"{_show(v)} does not match the pattern {e}",
    "uniqueItems": lambda v, e: f"the list {_show(v)} contains duplicate items",
    "not": lambda v, e: f"{_show(v)} is not allowed here",
    "oneOf": lambda v, e: f"{_show(v)} matches more than one accepted alternative",
}


# Keywords that bound a length, with the bound's wording and the counted noun.
_SIZES = {
    "minLength": ("at least", "character"),
    "maxLength": ("at most", "character"),
    "minItems": ("at least", "item"),
    "maxItems": ("at most", "item"),
    "minProperties": ("at least", "entry"),
    "maxProperties": ("at most", "entry"),
}


def _message(error: Any) -> str:
    value, expected = error.instance, error.validator_value
    if error.validator in _SIZES:
        bound, noun = _SIZES[error.validator]
        if isinstance(value, list | dict):
            subject = "the list" if isinstance(value, list) else "the object"
        else:
            subject = _show(value)
        return f"{subject} has {_count(len(value), noun)}; {bound} {expected} expected"
    if error.validator == "format":
        return str(error.cause) if error.cause else f"{_show(value)} is not valid"
    if error.validator == "items" and expected is False:
        limit = len(error.schema.get("prefixItems", []))
        return f"the list has {_count(len(value), 'item')}; at most {limit} expected"
    if error.validator is None:
        # A `false` schema, which no value matches.
        return f"{_show(value)} is not allowed here"
    build = _MESSAGES.get(error.validator)
    return build(value, expected) if build else str(error.message)


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def server_verdict(
    value: dict[str, Any] | None, schema: Mapping[str, Any]
) -> str | None:
    """Return the reason the server would give for rejecting `value`, or None.

    This repeats the resume validation of Prefect 3.9 step by step: the first
    error by jsonschema's `best_match`, no format checks, and the server's
    wording, so the text equals `details.reason` of a rejected resume.

    NOTE: which error comes first, and its wording, come from jsonschema and
    referencing, so the text matches only while the server runs the same
    versions as this process. The tests compare it with Prefect 3.9.1.

    Raises:
        ValueError: the value contains `{"__prefect_kind": ...}` placeholders,
            which the server expands first in ways this function cannot know
            (workspace variables, Jinja templates).
        InvalidSchemaError: the schema is not a valid JSON schema, for which
            the server fails with an internal error instead of a verdict.
    """
    if contains_placeholder(value):
        raise ValueError("the value contains __prefect_kind placeholders")
    instance = value or {}
    document = _checked_document(json.dumps(schema))
    try:
        validator = Draft202012Validator(document, registry=Registry())
        error = best_match(validator.iter_errors(instance))
    except RecursionError:
        return CIRCULAR_REFERENCE_REASON
    except Unresolvable as exc:
        return f"Reason: Validation failed. Failure reason: {exc}"
    if error is None:
        return None

    if error.json_path == "$":
        summary = "Validation failed."
    else:
        field = error.json_path.replace("$.", "")
        summary = f"Validation failed for field {field!r}."
    return f"Reason: {summary} Failure reason: {error.message}"


def contains_placeholder(value: Any) -> bool:
    """Tell whether any object in `value` has a `__prefect_kind` key.

    The server expands such objects (JSON text, Jinja templates, workspace
    variables) before it validates and stores a resume.
    """
    if isinstance(value, dict):
        return "__prefect_kind" in value or any(
            contains_placeholder(item) for item in value.values()
        )
    if isinstance(value, list):
        return any(contains_placeholder(item) for item in value)
    return False
