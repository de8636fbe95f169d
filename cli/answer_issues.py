"""Problems of an answer: the local checks, and which field to ask again.

`check_answer` applies the server's validation rules plus string formats and
the placeholder rule. An issue's path points into the value (`items[0].qty`);
`field_to_ask` turns it into the field whose prompt can correct it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from runinput.schema import ValidationIssue, validate

from .form import UNSET, FieldKind, Form, FormField, Path

_CONTAINER_KINDS = frozenset({FieldKind.OBJECT, FieldKind.OBJECT_LIST})


PLACEHOLDER_MESSAGE = (
    "contains a __prefect_kind key, which the server would replace as a "
    "placeholder instead of storing it (--allow-placeholders sends it anyway)"
)


def check_answer(
    form: Form,
    value: Any,
    allow_placeholders: bool = False,
    check_formats: bool = True,
) -> list[ValidationIssue]:
    """Return every local issue of `value`: schema, formats and placeholders.

    With `allow_placeholders`, the parts of the value that the server will
    replace are not checked, because only their replacement is validated.
    """
    issues = validate(value, form.schema, check_formats=check_formats)
    placeholders = list(placeholder_paths(value))
    if allow_placeholders:
        return [
            issue
            for issue in issues
            if not any(issue.path[: len(p)] == p for p in placeholders)
        ]
    issues.extend(ValidationIssue(path, PLACEHOLDER_MESSAGE) for path in placeholders)
    return issues


def placeholder_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Yield the path of every object in `value` with a `__prefect_kind` key."""
    if isinstance(value, dict):
        if "__prefect_kind" in value:
            yield prefix
            return
        for key, item in value.items():
            yield from placeholder_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from placeholder_paths(item, (*prefix, index))


def print_issues(console: Console, issues: Sequence[ValidationIssue]) -> None:
    """Print every issue on one line each, with the path of the field in error."""
    count = len(issues)
    noun = "problem" if count == 1 else "problems"
    console.print()
    console.print(f"[bold red]The answer has {count} {noun}:[/]", highlight=False)
    for issue in issues:
        where = issue.location or "(the whole answer)"
        console.print(
            f"  [cyan]{escape(where)}[/]: {escape(issue.message)}", highlight=False
        )


def field_to_ask(form: Form, path: Path) -> tuple[FormField, Path] | None:
    """Find the field to ask again for an issue at `path`, and its value path.

    A path inside a model, or inside an entry of a list of models, leads to
    the innermost field asked as one answer. A path inside a list of scalars
    leads to the whole list. None means the issue is not within any field,
    like an unexpected key at the top level.
    """
    fields: Sequence[FormField] = form.fields
    found: tuple[FormField, Path] | None = None
    index = 0
    while index < len(path):
        part = path[index]
        match = next((f for f in fields if f.name == part), None)
        if match is None:
            return found
        found = (match, path[: index + 1])
        index += 1
        following = path[index] if index < len(path) else None
        if match.kind is FieldKind.OBJECT:
            fields = match.fields
        elif match.kind in _CONTAINER_KINDS | {FieldKind.DICT} and match.item:
            if following is None or not has_model_entries(match):
                return found
            fields = match.item.fields
            index += 1
            if index == len(path):
                return found
        else:
            return found
    return found


def paths_to_ask(form: Form, issues: Sequence[ValidationIssue]) -> list[Path]:
    """Return one value path per field in error, each once, in issue order."""
    paths: list[Path] = []
    for issue in issues:
        found = field_to_ask(form, issue.path)
        path = found[1] if found else ()
        if path not in paths:
            paths.append(path)
    # Asking for a field again covers any field inside it.
    return [p for p in paths if not any(_is_inside(p, other) for other in paths)]


def _is_inside(path: Path, other: Path) -> bool:
    return len(other) < len(path) and path[: len(other)] == other


def value_at(value: Any, path: Path) -> Any:
    """Return the part of `value` at `path`, or `UNSET` where there is none."""
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return UNSET
    return value


def put_value(value: dict[str, Any], path: Path, answer: Any) -> None:
    container: Any = value
    for part in path[:-1]:
        child = value_at(container, (part,))
        if not isinstance(child, dict | list):
            child = {}
            container[part] = child
        container = child
    last = path[-1]
    if isinstance(container, list) and isinstance(last, int):
        container[last] = None if answer is UNSET else answer
    else:
        store_value(container, str(last), answer)


def has_model_entries(form_field: FormField) -> bool:
    """Tell whether a list or dictionary field contains models, asked field by field."""
    item = form_field.item
    return item is not None and item.kind is FieldKind.OBJECT and bool(item.fields)


def store_value(values: dict[str, Any], name: str, answer: Any) -> None:
    """Set `values[name]`, or remove it when the answer is `UNSET`."""
    if answer is UNSET:
        values.pop(name, None)
    else:
        values[name] = answer
