"""The terminal side of a form: ask field by field, check the answer, confirm it.

`cli.form` turns a stored schema into fields and typed text into values; this
module decides what to ask and prints it with Rich. Every line of input goes
through one `read_text(prompt, hidden)` function, so tests can drive a form
without a terminal. `ask_form` is the entry point for any command that needs a
value for a schema; `confirm_answer` shows the summary and asks to send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from runinput.schema import ValidationIssue, contains_placeholder, format_path, validate

from .answer_issues import (
    PLACEHOLDER_MESSAGE,
    check_answer,
    field_to_ask,
    has_model_entries,
    paths_to_ask,
    print_issues,
    put_value,
    store_value,
    value_at,
)
from .form import (
    SECRET_MASK,
    UNSET,
    AnswerError,
    FieldKind,
    Form,
    FormField,
    Path,
    fill_defaults,
    parse_answer,
    summarize,
)
from .render import type_label

ReadText = Callable[[str, bool], str]
"""Read one line after showing a plain-text prompt; `True` hides the typing."""

Decision = Literal["send", "edit", "cancel"]

_NONE_WORDS = frozenset({"none", "null"})
_MODEL_KINDS = frozenset({FieldKind.OBJECT, FieldKind.OBJECT_LIST})


def console_reader(console: Console) -> ReadText:
    """Return a `ReadText` that reads from the terminal through `console`."""

    def read_text(prompt: str, hidden: bool) -> str:
        return console.input(Text(prompt), password=hidden)

    return read_text


class FormPrompter:
    """Asks for the fields of a form one by one on a console.

    Args:
        console: Where prompts, hints and errors are printed.
        read_text: Reads one answer; by default from the terminal, hidden for
            secrets.
    """

    def __init__(self, console: Console, read_text: ReadText | None = None) -> None:
        self.console = console
        self.read_text = read_text or console_reader(console)

    # Whole forms.

    def ask_fields(
        self,
        fields: Sequence[FormField],
        values: dict[str, Any],
        prefix: Path = (),
        skip: Callable[[Path, FormField], bool] | None = None,
    ) -> None:
        """Ask each field in turn and store the answers in `values`.

        The value already in `values` (or the field's default) is shown in
        brackets and kept on an empty answer. Fields for which `skip` returns
        True are not asked; their value stays as it is.
        """
        for form_field in fields:
            path = (*prefix, form_field.name)
            if skip is not None and skip(path, form_field):
                continue
            current = values.get(form_field.name, form_field.default)
            store_value(
                values, form_field.name, self.ask_field(form_field, current, path)
            )

    def ask_field(self, form_field: FormField, current: Any, path: Path) -> Any:
        """Ask for one field and return its value, or `UNSET` to leave it out."""
        kind = form_field.kind
        if kind is FieldKind.OBJECT:
            return self._ask_object(form_field, current, path)
        if kind is FieldKind.OBJECT_LIST:
            return self._ask_entries(form_field, current, path)
        if kind is FieldKind.DICT and has_model_entries(form_field):
            return self._ask_dict_entries(form_field, current, path)
        if kind is FieldKind.UNION and _has_model_branch(form_field):
            return self._ask_union(form_field, current, path)
        return self._ask_text(form_field, current, path)

    # One line of text, parsed by the field's type.

    def _ask_text(self, form_field: FormField, current: Any, path: Path) -> Any:
        self._print_header(form_field, path)
        while True:
            text = self._read(_prompt(path, form_field, current), form_field.secret)
            if not text.strip() and current is not UNSET:
                return deepcopy(current)
            try:
                return parse_answer(form_field, text)
            except AnswerError as exc:
                self._print_error(str(exc))

    # Nested models.

    def _ask_object(self, form_field: FormField, current: Any, path: Path) -> Any:
        self._print_header(form_field, path)
        if _is_optional(form_field):
            if not self._fill_in(form_field, current, path):
                return None if form_field.nullable else UNSET
        values = deepcopy(current) if isinstance(current, dict) else {}
        self.ask_fields(form_field.fields, values, path)
        return values

    def _fill_in(self, form_field: FormField, current: Any, path: Path) -> bool:
        """Ask whether to fill in an optional model; False means none."""
        skip_word = "none" if form_field.nullable else "skip"
        default = "yes" if isinstance(current, dict) else skip_word
        while True:
            text = self._read(
                f"{_label(path)}: fill in? (yes/{skip_word}) [{default}]: ", False
            )
            answer = (text.strip() or default).lower()
            if answer in ("y", "yes"):
                return True
            if answer in (skip_word, "n", "no") or answer in _NONE_WORDS:
                return False
            self._print_error(f'enter "yes" to fill it in or "{skip_word}"')

    # Lists of models: add, edit and remove entries.

    def _ask_entries(self, form_field: FormField, current: Any, path: Path) -> Any:
        self._print_header(form_field, path)
        entries: list[Any] = deepcopy(current) if isinstance(current, list) else []
        entry_form = form_field.item_form()
        while True:
            self._print_entries(entries, path, form_field)
            command, argument = self._read_entry_command(form_field, path)
            if command == "done":
                if not entries and current is UNSET and not form_field.required:
                    return UNSET
                return entries
            if command == "none":
                return None
            if command == "json":
                return argument
            if command == "add":
                entry = fill_defaults(entry_form)
                index = len(entries)
                self.ask_fields(entry_form.fields, entry, (*path, index))
                entries.append(entry)
            elif command == "edit":
                entry = entries[argument]
                if not isinstance(entry, dict):
                    entry = {}
                self.ask_fields(entry_form.fields, entry, (*path, argument))
                entries[argument] = entry
            elif command == "remove":
                del entries[argument]

    def _read_entry_command(self, form_field: FormField, path: Path) -> tuple[str, Any]:
        words = "add, edit N, remove N, done"
        if form_field.nullable:
            words += ", none"
        while True:
            text = self._read(f"{_label(path)}: {words} [done]: ", False).strip()
            try:
                return _entry_command(form_field, text)
            except AnswerError as exc:
                self._print_error(str(exc))

    def _print_entries(
        self, entries: list[Any], path: Path, form_field: FormField
    ) -> None:
        if not entries:
            self.console.print(Text("  no entries yet", style="dim"))
            return
        for index, entry in enumerate(entries):
            line = Text(f"  [{index}] ", style="cyan")
            line.append(_entry_line(form_field, entry))
            self.console.print(line)

    # Dictionaries of models.

    def _ask_dict_entries(self, form_field: FormField, current: Any, path: Path) -> Any:
        self._print_header(form_field, path)
        entries: dict[str, Any] = deepcopy(current) if isinstance(current, dict) else {}
        entry_form = form_field.item_form()
        while True:
            for key, entry in entries.items():
                line = Text(f"  {key}: ", style="cyan")
                line.append(_entry_line(form_field, entry))
                self.console.print(line)
            text = self._read(
                f"{_label(path)}: add KEY, edit KEY, remove KEY, done [done]: ", False
            ).strip()
            command, _, key = text.partition(" ")
            key = key.strip()
            if command in ("", "done", "d"):
                if not entries and current is UNSET and not form_field.required:
                    return UNSET
                return entries
            if command in _NONE_WORDS and form_field.nullable:
                return None
            if command in ("add", "a", "edit", "e") and key:
                existing = entries.get(key)
                entry = existing if isinstance(existing, dict) else None
                entry = entry if entry is not None else fill_defaults(entry_form)
                self.ask_fields(entry_form.fields, entry, (*path, key))
                entries[key] = entry
            elif command in ("remove", "r") and key in entries:
                del entries[key]
            else:
                self._print_error(
                    f'enter "add KEY", "edit KEY" or "remove KEY" with one of '
                    f"the keys {', '.join(entries) or '(none yet)'}, or done"
                )

    # Unions that include a model: pick the alternative first.

    def _ask_union(self, form_field: FormField, current: Any, path: Path) -> Any:
        self._print_header(form_field, path)
        branches = form_field.branches
        labels = [_branch_label(branch) for branch in branches]
        if form_field.nullable:
            labels.append("none")
        chosen = _matching_branch(branches, current)
        default = labels[chosen] if chosen is not None else None
        if current is None and form_field.nullable:
            default = "none"
        index = self._choose(path, labels, default)
        if index == len(branches):
            return None
        branch = branches[index]
        kept = current if chosen == index else branch.default
        return self.ask_field(branch, kept, path)

    def _choose(self, path: Path, labels: list[str], default: str | None) -> int:
        options = ", ".join(f"{i + 1}) {label}" for i, label in enumerate(labels))
        suffix = f" [{default}]" if default is not None else ""
        while True:
            text = self._read(f"{_label(path)}: pick {options}{suffix}: ", False)
            text = text.strip() or (default or "")
            if text.isdigit() and 1 <= int(text) <= len(labels):
                return int(text) - 1
            if text in labels:
                return labels.index(text)
            self._print_error(f"enter a number from 1 to {len(labels)}")

    # Output.

    def _read(self, prompt: str, hidden: bool) -> str:
        return self.read_text(prompt, hidden)

    def _print_header(self, form_field: FormField, path: Path) -> None:
        line = Text()
        line.append(_label(path), style="bold")
        if form_field.required:
            line.append(" *", style="bold red")
        line.append(f"  {type_label(form_field)}", style="dim")
        self.console.print()
        self.console.print(line)
        if form_field.description:
            self.console.print(Text(f"  {form_field.description}", style="italic"))
        if form_field.constraints:
            self.console.print(
                Text(f"  {'; '.join(form_field.constraints)}", style="dim")
            )

    def _print_error(self, message: str) -> None:
        self.console.print(f"  [red]✗[/] {escape(message)}", highlight=False)


def ask_form(
    form: Form,
    console: Console,
    values: Mapping[str, Any] | None = None,
    *,
    read_text: ReadText | None = None,
    skip: Callable[[Path, FormField], bool] | None = None,
    allow_placeholders: bool = False,
    check_formats: bool = True,
) -> dict[str, Any]:
    """Ask for every field of `form` on `console` and return a valid value.

    `values` pre-fills the fields (the schema's defaults fill the rest), and
    each value is shown in brackets so that Enter keeps it. Fields for which
    `skip(path, field)` is True are not asked the first time round. Then the
    whole value is validated with the server's rules plus string formats:
    every issue is printed with its path, and only the fields in error are
    asked again, until none remain.
    """
    prompter = FormPrompter(console, read_text)
    value = fill_defaults(form, values)
    print_form_intro(console, form)
    prompter.ask_fields(form.fields, value, skip=skip)
    return fix_issues(
        prompter,
        form,
        value,
        allow_placeholders=allow_placeholders,
        check_formats=check_formats,
    )


def print_form_intro(console: Console, form: Form) -> None:
    """Print the form's title and how to answer its prompts."""
    title = Text(form.title or "Answer", style="bold")
    if form.description:
        title.append(f"  {form.description}", style="italic")
    console.print(title)
    console.print(
        Text(
            "Fields marked * are required. Enter keeps the value in brackets,\n"
            "and none gives no value where a field allows it.",
            style="dim",
        )
    )


def fix_issues(
    prompter: FormPrompter,
    form: Form,
    value: dict[str, Any],
    *,
    allow_placeholders: bool = False,
    check_formats: bool = True,
    issues: Sequence[ValidationIssue] | None = None,
) -> dict[str, Any]:
    """Ask again for the fields in error until the value has no issues.

    `issues` are the problems already known, such as a rejection by the
    server; without them the value is checked first.
    """
    pending = list(issues) if issues is not None else None
    while True:
        if pending is None:
            pending = check_answer(form, value, allow_placeholders, check_formats)
        if not pending:
            return value
        print_issues(prompter.console, pending)
        for issue_path in paths_to_ask(form, pending):
            ask_again(prompter, form, value, issue_path)
        pending = None


def ask_again(
    prompter: FormPrompter, form: Form, value: dict[str, Any], path: Path
) -> None:
    """Ask again for the value at `path`, a path that `field_to_ask` returned."""
    found = field_to_ask(form, path)
    if found is None:
        _ask_whole_answer(prompter, form, value)
        return
    form_field, value_path = found
    current = value_at(value, value_path)
    answer = prompter.ask_field(form_field, current, value_path)
    put_value(value, value_path, answer)


def confirm_answer(
    form: Form | None,
    value: Mapping[str, Any] | None,
    console: Console,
    read_text: ReadText | None = None,
    question: str = "Send this answer?",
) -> Decision:
    """Show the answer with secrets masked and ask whether to send it.

    Returns "send", "edit" (ask the fields again) or "cancel".
    """
    read = read_text or console_reader(console)
    if form is not None and value is not None:
        console.print()
        console.print(summary_table(form, value))
    while True:
        text = read(f"{question} (yes/edit/no) [yes]: ", False).strip().lower()
        if text in ("", "y", "yes"):
            return "send"
        if text in ("e", "edit") and form is not None:
            return "edit"
        if text in ("n", "no", "q", "quit"):
            return "cancel"
        console.print('  [red]✗[/] enter "yes", "edit" or "no"', highlight=False)


def summary_table(form: Form, value: Mapping[str, Any]) -> Table:
    """Build the table of the answer to send, one row per value."""
    table = Table(title="Answer", title_justify="left", box=None, pad_edge=False)
    table.add_column("FIELD", style="cyan", no_wrap=True)
    table.add_column("VALUE", overflow="fold")
    rows = summarize(form, value)
    if not rows:
        table.add_row(Text("(no fields)", style="dim"), Text(""))
    for path, text in rows:
        table.add_row(Text(path), Text(text))
    return table


def ask_json_answer(
    console: Console,
    read_text: ReadText | None = None,
    current: Any = UNSET,
    allow_placeholders: bool = False,
) -> dict[str, Any]:
    """Ask for the whole answer as one JSON object, for schemas without a form."""
    read = read_text or console_reader(console)
    shown = "" if current is UNSET else f" [{_one_line(current)}]"
    while True:
        text = read(f"answer (a JSON object){shown}: ", False).strip()
        if not text and isinstance(current, dict):
            return current
        try:
            answer = json.loads(text)
        except json.JSONDecodeError as exc:
            console.print(f"  [red]✗[/] invalid JSON: {escape(exc.msg)}")
            continue
        if not isinstance(answer, dict):
            console.print("  [red]✗[/] the answer must be a JSON object {...}")
            continue
        if contains_placeholder(answer) and not allow_placeholders:
            console.print(f"  [red]✗[/] the answer {escape(PLACEHOLDER_MESSAGE)}")
            continue
        return answer


def _ask_whole_answer(
    prompter: FormPrompter, form: Form, value: dict[str, Any]
) -> None:
    answer = ask_json_answer(prompter.console, prompter.read_text, value)
    value.clear()
    value.update(answer)


def _entry_command(form_field: FormField, text: str) -> tuple[str, Any]:
    """Parse a command of the entry list: add, edit N, remove N, done or none."""
    word, _, rest = text.partition(" ")
    word = word.lower()
    if word in ("", "d", "done"):
        return "done", None
    if word in _NONE_WORDS and form_field.nullable:
        return "none", None
    if word in ("a", "add") and not rest:
        return "add", None
    if text.startswith("["):
        return "json", parse_answer(form_field, text)
    if word in ("e", "edit", "r", "remove") and rest.strip().isdigit():
        return ("edit" if word.startswith("e") else "remove"), int(rest)
    raise AnswerError(
        'enter "add", "edit N" or "remove N" with an entry number, "done", '
        "or the whole list as JSON"
    )


def _is_optional(form_field: FormField) -> bool:
    """Tell whether a model may be left out or set to null instead of filled in."""
    return form_field.nullable or not (form_field.required or form_field.has_default)


def _has_model_branch(form_field: FormField) -> bool:
    return any(branch.kind in _MODEL_KINDS for branch in form_field.branches)


def _branch_label(branch: FormField) -> str:
    if branch.kind is FieldKind.OBJECT:
        return str(branch.schema.get("title") or branch.title or "object")
    return type_label(branch)


def _matching_branch(branches: Sequence[FormField], current: Any) -> int | None:
    if current is UNSET or current is None:
        return None
    for index, branch in enumerate(branches):
        if not validate(current, branch.schema, check_formats=False):
            return index
    return None


def _label(path: Path) -> str:
    return format_path(path) or "value"


def _prompt(path: Path, form_field: FormField, current: Any) -> str:
    label = _label(path)
    if current is UNSET:
        return f"{label}: "
    return f"{label} [{_shown(form_field, current)}]: "


def _shown(form_field: FormField, value: Any) -> str:
    """Show a value as text that the field's parser reads back as the value."""
    if value is None:
        return "none"
    if form_field.secret:
        return SECRET_MASK
    if form_field.kind is FieldKind.ENUM:
        for choice in form_field.choices:
            if choice.value == value and type(choice.value) is type(value):
                return choice.label
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value if value and value.strip() == value else json.dumps(value)
    if isinstance(value, list) and form_field.item is not None:
        texts = [_shown(form_field.item, item) for item in value]
        if value and all("," not in text for text in texts):
            return ", ".join(texts)
    return _one_line(value)


def _entry_line(form_field: FormField, entry: Any) -> str:
    """Show one entry of a list of models as `name=value` pairs, secrets masked."""
    if form_field.item is None or not isinstance(entry, dict):
        return _one_line(entry)
    rows = summarize(form_field.item_form(), entry)
    text = ", ".join(f"{path}={shown}" for path, shown in rows) or "(empty)"
    return text if len(text) <= 70 else text[:69] + "…"


def _one_line(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
