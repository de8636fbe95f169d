"""Rich views of paused flow runs: the `ls` table and the `show` page."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .form import SECRET_MASK, FieldKind, FormField
from .output import first_line, format_duration, format_time

if TYPE_CHECKING:
    from runinput.pause import Pause


def time_left_text(pause: Pause, now: datetime.datetime | None = None) -> Text:
    """Render the time left before the pause times out, or `expired`."""
    if pause.is_expired(now):
        return Text("expired", style="bold red")
    left = pause.time_left(now)
    if left is None:
        return Text("no timeout", style="dim")
    style = "yellow" if left.total_seconds() < 300 else ""
    return Text(format_duration(left), style=style)


def input_text(pause: Pause, schema_problem: str | None = None) -> Text:
    """Render whether the pause awaits input and whether its schema is usable."""
    if not pause.awaits_input:
        return Text("no", style="dim")
    if schema_problem:
        return Text("invalid schema", style="red")
    if pause.schema_pending:
        return Text("pending", style="yellow")
    return Text("yes", style="green")


WIDE_TABLE_COLUMNS = 110
"""Below this console width, `ls` prints each run as a block of lines instead."""


def pause_list(
    pauses: Sequence[Pause],
    width: int,
    schema_problems: Mapping[Any, str | None] | None = None,
    now: datetime.datetime | None = None,
) -> RenderableType:
    """Build the `ls` view: a table on wide consoles, blocks of lines otherwise."""
    if width >= WIDE_TABLE_COLUMNS:
        return pause_table(pauses, schema_problems, now)
    return pause_blocks(pauses, schema_problems, now)


def pause_table(
    pauses: Sequence[Pause],
    schema_problems: Mapping[Any, str | None] | None = None,
    now: datetime.datetime | None = None,
) -> Table:
    """Build the `ls` table: one row per paused or suspended flow run."""
    problems = schema_problems or {}
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True, style="cyan", min_width=36)
    table.add_column("NAME", overflow="fold")
    table.add_column("FLOW", overflow="fold")
    table.add_column("STATE", no_wrap=True)
    table.add_column("PAUSED SINCE", no_wrap=True)
    table.add_column("TIME LEFT", no_wrap=True, justify="right")
    table.add_column("INPUT", no_wrap=True)
    table.add_column("DESCRIPTION", overflow="ellipsis", no_wrap=True, ratio=1)
    for pause in pauses:
        run = pause.flow_run
        table.add_row(
            str(run.id),
            Text(run.name),
            Text(pause.flow_name or ""),
            Text(pause.state_name),
            format_time(pause.paused_since),
            time_left_text(pause, now),
            input_text(pause, problems.get(run.id)),
            Text(first_line(pause.description)),
        )
    return table


def pause_blocks(
    pauses: Sequence[Pause],
    schema_problems: Mapping[Any, str | None] | None = None,
    now: datetime.datetime | None = None,
) -> Group:
    """Build the narrow `ls` view: three lines per run, a blank line between."""
    problems = schema_problems or {}
    blocks: list[RenderableType] = []
    for pause in pauses:
        run = pause.flow_run
        text = Text()
        text.append(str(run.id), style="cyan")
        text.append(f"  {run.name}", style="bold")
        text.append(f"  ({pause.flow_name or 'unknown flow'})\n")
        text.append(f"  {pause.state_name} since {format_time(pause.paused_since)}")
        text.append(" · time left ")
        text.append_text(time_left_text(pause, now))
        text.append(" · input: ")
        text.append_text(input_text(pause, problems.get(run.id)))
        description = first_line(pause.description, width=74)
        if description:
            text.append(f"\n  {description}", style="italic")
        if blocks:
            blocks.append(Text())
        blocks.append(text)
    return Group(*blocks)


def pick_table(pauses: Sequence[Pause], now: datetime.datetime | None = None) -> Table:
    """Build the numbered table that `resume` offers when no run is named."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right", style="bold")
    table.add_column("NAME", no_wrap=True)
    table.add_column("FLOW", no_wrap=True)
    table.add_column("TIME LEFT", no_wrap=True, justify="right")
    table.add_column("INPUT", no_wrap=True)
    table.add_column("DESCRIPTION", overflow="ellipsis", no_wrap=True, ratio=1)
    for number, pause in enumerate(pauses, start=1):
        table.add_row(
            str(number),
            Text(pause.flow_run.name),
            Text(pause.flow_name or ""),
            time_left_text(pause, now),
            input_text(pause),
            Text(first_line(pause.description)),
        )
    return table


def pause_header(pause: Pause, now: datetime.datetime | None = None) -> Text:
    """Build the lines above the description: the run, its state and timeout."""
    run = pause.flow_run
    text = Text()
    text.append(f"{pause.flow_name or 'flow'} / {run.name}", style="bold")
    text.append(f"  {run.id}\n", style="cyan")
    text.append(f"{pause.state_name} since {format_time(pause.paused_since)}")
    if pause.pause_timeout is None:
        text.append(", no timeout")
    elif pause.is_expired(now):
        text.append(", ")
        text.append("expired", style="bold red")
        text.append(f" at {format_time(pause.pause_timeout)}")
    else:
        text.append(f", times out in {format_duration(pause.time_left(now))}")
        text.append(f" (at {format_time(pause.pause_timeout)})")
    if not pause.awaits_input:
        text.append("\nAwaits no input: resuming only needs a confirmation.")
    return text


def description_view(description: str | None) -> RenderableType:
    """Render the run's description as Markdown."""
    if not description:
        return Text("(no description)", style="dim")
    # Imported here because the Markdown parser costs `ls` a tenth of a
    # second at start and only `show` and `resume` render descriptions.
    from rich.markdown import Markdown

    return Markdown(description)


def type_label(form_field: FormField) -> str:
    """Return a short name for the type of value that a field takes."""
    kind = form_field.kind
    if kind is FieldKind.ENUM:
        label = "choice"
    elif kind is FieldKind.UNION:
        label = " | ".join(type_label(branch) for branch in form_field.branches)
    elif kind is FieldKind.OBJECT:
        label = form_field.schema.get("title") or "object"
    elif kind in (FieldKind.LIST, FieldKind.OBJECT_LIST):
        label = f"list of {type_label(form_field.item) if form_field.item else 'any'}"
    elif kind is FieldKind.DICT:
        item = type_label(form_field.item) if form_field.item else "any"
        label = f"dict of {item}"
    elif kind is FieldKind.TUPLE:
        positions = ", ".join(type_label(item) for item in form_field.positions)
        label = f"tuple ({positions})"
    elif kind is FieldKind.JSON:
        label = "JSON"
    else:
        label = kind.value
    if form_field.secret:
        label += " (secret)"
    if form_field.nullable:
        label += " | null"
    return label


def default_text(form_field: FormField) -> str:
    """Return the field's default as JSON, masked for secrets, or `""`."""
    if not form_field.has_default:
        return ""
    if form_field.secret and form_field.default is not None:
        return SECRET_MASK
    return json.dumps(form_field.default, ensure_ascii=False)


def fields_table(fields: Sequence[FormField]) -> Table:
    """Build the table of a form's fields, nested fields indented under theirs."""
    table = Table(box=None, header_style="bold", pad_edge=False, show_lines=False)
    table.add_column("FIELD", no_wrap=True, style="cyan")
    table.add_column("TYPE")
    table.add_column("REQUIRED", no_wrap=True)
    table.add_column("DEFAULT", overflow="fold")
    table.add_column("CONSTRAINTS")
    table.add_column("DESCRIPTION", ratio=1)
    for depth, label, form_field in _walk_fields(fields):
        table.add_row(
            Text("  " * depth + label),
            Text(type_label(form_field)),
            "required" if form_field.required else "",
            Text(default_text(form_field)),
            Text("; ".join(form_field.constraints)),
            Text(form_field.description or ""),
        )
    return table


def fields_blocks(fields: Sequence[FormField]) -> Group:
    """Build the narrow fields view: a few lines per field, nested ones indented."""
    lines: list[RenderableType] = []
    for depth, label, form_field in _walk_fields(fields):
        indent = "  " * depth
        text = Text(indent)
        text.append(label, style="bold cyan")
        if form_field.required:
            text.append(" *", style="bold red")
        text.append(f"  {type_label(form_field)}", style="dim")
        default = default_text(form_field)
        if default:
            text.append(f"  default {default}")
        if form_field.description:
            text.append(f"\n{indent}  {form_field.description}", style="italic")
        if form_field.constraints:
            constraints = "; ".join(form_field.constraints)
            text.append(f"\n{indent}  {constraints}", style="dim")
        lines.append(text)
    return Group(*lines)


def fields_view(fields: Sequence[FormField], width: int) -> RenderableType:
    """Build the fields view: a table on wide consoles, blocks of lines otherwise."""
    if width >= WIDE_TABLE_COLUMNS:
        return fields_table(fields)
    legend = Text("Fields marked * are required.", style="dim")
    return Group(legend, fields_blocks(fields))


def _walk_fields(
    fields: Sequence[FormField], depth: int = 0, parent: str = ""
) -> Iterator[tuple[int, str, FormField]]:
    """Yield each field with its depth and label, nested fields after theirs."""
    for form_field in fields:
        label = form_field.name or form_field.path or "value"
        yield depth, label, form_field
        if form_field.kind is FieldKind.OBJECT:
            yield from _walk_fields(form_field.fields, depth + 1)
        elif form_field.kind is FieldKind.OBJECT_LIST and form_field.item:
            yield from _walk_item_fields(form_field.item, depth + 1, "[].")
        elif form_field.kind is FieldKind.DICT and form_field.item:
            yield from _walk_item_fields(form_field.item, depth + 1, "[key].")
        elif form_field.kind is FieldKind.UNION:
            for branch in form_field.branches:
                if branch.kind is FieldKind.OBJECT:
                    yield from _walk_fields(branch.fields, depth + 1)


def _walk_item_fields(
    item: FormField, depth: int, prefix: str
) -> Iterator[tuple[int, str, FormField]]:
    if item.kind is not FieldKind.OBJECT:
        return
    for depth_, label, form_field in _walk_fields(item.fields, depth):
        shown = prefix + label if depth_ == depth else label
        yield depth_, shown, form_field


def show_view(
    pause: Pause,
    fields: Sequence[FormField] | None,
    width: int,
    schema_problem: str | None = None,
    now: datetime.datetime | None = None,
) -> Group:
    """Build the `show` page: header, description, then the fields."""
    parts: list[RenderableType] = [pause_header(pause, now), Text()]
    parts.append(description_view(pause.description))
    parts.append(Text())
    if not pause.awaits_input:
        return Group(*parts)
    if schema_problem:
        parts.append(Text(f"The stored schema cannot be used: {schema_problem}"))
    elif pause.schema_pending:
        parts.append(Text("The run has not stored its input schema yet."))
    elif fields is not None:
        parts.append(Text("Fields", style="bold"))
        parts.append(fields_view(fields, width))
    return Group(*parts)


def print_view(console: Console, view: RenderableType) -> None:
    """Print a view, with no highlighting of numbers and dates in plain text."""
    console.print(view, highlight=False)
