"""`runinput send`: store an input on a flow run for its `receive_input` loop."""

from __future__ import annotations

import getpass
import re
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from . import console
from .data_options import parse_json, read_data_text
from .errors import EXIT_FAILED, InvalidAnswerError
from .input_types import TYPE_NAMES_HELP, InputEncoder, Message, build_encoder
from .run_argument import RUN_HELP, resolve_flow_run
from .state import get_state

if TYPE_CHECKING:
    from runinput import Client
    from runinput.models import FlowRun

SENDER_PREFIX = "runinput.user."
"""Senders that name a person, unlike Prefect's `prefect.flow-run.<id>`."""

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

# The names Prefect gives a pause's keyset keys: `{state name}-{pause key}-{part}`,
# for example `paused-1-response` or `suspended-<uuid>-schema`.
_KEYSET_KEY = re.compile(
    r"(paused|suspended)-.+-(schema|description|response)(-|$)", re.IGNORECASE
)


def register(app: typer.Typer) -> None:
    """Add the `send` command to the app."""
    app.command("send")(send)


def send(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help=RUN_HELP, show_default=False)],
    value: Annotated[
        str | None,
        typer.Argument(
            help="The value as JSON, such as 5, '\"text\"' or '{\"x\": 1}'.",
            show_default=False,
        ),
    ] = None,
    type_name: Annotated[
        str | None,
        typer.Option(
            "--type",
            "-t",
            help=(
                "Validate the value as this type and store it as "
                "receive_input(<type>) reads it: "
                f"{escape(TYPE_NAMES_HELP)}. Without --type or --model, the type is "
                'the JSON value\'s own (5 is int, 5.0 float, "a" str).'
            ),
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help=(
                "A RunInput or pydantic model class from your code, as "
                "MODULE:CLASS or path/to/file.py:CLASS. The value is validated "
                "with it and stored under its key prefix."
            ),
            show_default=False,
        ),
    ] = None,
    key_prefix: Annotated[
        str | None,
        typer.Option(
            "--key-prefix",
            "-k",
            help=(
                "Store the input under PREFIX-<uuid> instead of the type's or "
                "model's prefix, for a receiver called with key_prefix=PREFIX."
            ),
            show_default=False,
        ),
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="PATH=VALUE",
            help=(
                "Set one field, such as --set items[0].qty=5, on top of VALUE or "
                "--data; may be repeated. Needs --model or --type."
            ),
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            metavar="JSON|@FILE|@-",
            help=(
                "The value as JSON text, @FILE or @- for standard input. A "
                f"{' or '.join(JSON_LINES_SUFFIXES)} file sends one input per "
                "line."
            ),
            show_default=False,
        ),
    ] = None,
    json_lines: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help="Read --data as JSON Lines, one input per line, whatever its name.",
        ),
    ] = False,
    sender: Annotated[
        str | None,
        typer.Option(
            "--sender",
            help=(
                "The sender stored with the input. Default: "
                f"{SENDER_PREFIX}<login>@<host>, which names you; respond() in "
                "the flow rejects it because it is not a flow run."
            ),
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=MAX_CONCURRENCY,
            help=(
                "How many inputs of a JSON Lines file are sent at once. With "
                "more than 1 the receiver may see lines slightly out of order."
            ),
        ),
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Send an input to a flow run that listens with receive_input.

    The input is validated first, and its key follows the protocol's rules,
    so that the flow's receive_input(<type>) or RunInput.receive() finds it.
    The stored key is printed on stdout. To resume a paused flow run with input,
    use `resume` instead.
    """
    state = get_state(ctx)
    encoder = build_encoder(type_name, model, key_prefix)
    sender = sender or default_sender()

    if data is not None and _is_json_lines(data, json_lines):
        if value is not None or assignments:
            raise InvalidAnswerError(
                "a JSON Lines file cannot be combined with VALUE or --set",
                hint="put every field in the file's lines",
            )
        from .send_bulk import send_json_lines

        text, source = read_data_text(data)
        with state.client() as client:
            flow_run = resolve_flow_run(client, run)
        send_json_lines(
            state.settings(), flow_run, encoder, text, source, sender, concurrency
        )
        return

    initial = _read_value(value, data)
    with state.client() as client:
        flow_run = resolve_flow_run(client, run)
        payload = _complete_value(encoder, initial, assignments or [])
        message = encoder.encode(payload)
        check_key_prefix(message.key_prefix, flow_run)
        warn_if_final(flow_run)
        key = send_message(client, flow_run, message, sender)

    console.stdout.print(key, highlight=False, markup=False)
    console.print_success(f"sent to flow run {flow_run.name} ({flow_run.id})")


def default_sender() -> str:
    """Return `runinput.user.<login>@<host>`, naming the person at this machine."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    host = socket.gethostname() or "localhost"
    return f"{SENDER_PREFIX}{login}@{host}"


def check_key_prefix(key_prefix: str, flow_run: FlowRun) -> None:
    """Reject a key prefix inside a pause's keyset.

    A pause reads its input from the exact `…-response` key, which the
    server writes when it accepts a resume. An input stored there by hand
    does not resume the run, and the later resume fails with a conflict
    because the key already exists.

    Raises:
        InvalidAnswerError: the prefix is inside the run's current keyset or
            has the form of a keyset key.
    """
    lowered = key_prefix.lower()
    state = flow_run.state
    keyset = state.state_details.run_input_keyset if state is not None else None
    if state is not None and state.is_paused and keyset and "response" in keyset:
        base = keyset["response"].removesuffix("-response").lower()
        if lowered == base or lowered.startswith(f"{base}-"):
            raise InvalidAnswerError(
                f"key prefix {key_prefix!r} is inside the keyset of the pause "
                f"of flow run {flow_run.id} ({base}-…); an input stored there "
                "does not resume the run",
                hint=f"answer the pause with `runinput resume {flow_run.id}`",
            )
    if _KEYSET_KEY.match(key_prefix):
        raise InvalidAnswerError(
            f"key prefix {key_prefix!r} has the form of a pause's keyset key; "
            "an input stored there does not resume a paused run",
            hint="answer a pause with `runinput resume`, or choose another prefix",
        )


def warn_if_final(flow_run: FlowRun) -> None:
    """Warn that a finished flow run will not receive what is sent to it."""
    state = flow_run.state
    if state is not None and state.is_final:
        console.print_warning(
            f"flow run {flow_run.id} is {state.type}, so nothing will receive "
            "this input; sending it anyway"
        )


def send_message(
    client: Client, flow_run: FlowRun, message: Message, sender: str
) -> str:
    """Store one message under a new key and return the key."""
    from runinput.keys import new_key

    key = new_key(message.key_prefix)
    client.create_flow_run_input(flow_run.id, key, message.value, sender)
    return key


def _is_json_lines(data: str, forced: bool) -> bool:
    if forced:
        return True
    return data.startswith("@") and Path(data[1:]).suffix in JSON_LINES_SUFFIXES


def _read_value(value: str | None, data: str | None) -> Any:
    """Parse the value of VALUE or --data; return `_MISSING` when neither is given."""
    if value is not None and data is not None:
        raise InvalidAnswerError(
            "VALUE and --data cannot be used together",
            hint="pass the value once, either as an argument or with --data",
        )
    if value is not None:
        return parse_json(value, "VALUE")
    if data is not None:
        text, source = read_data_text(data)
        return parse_json(text, source)
    return _MISSING


def _complete_value(encoder: InputEncoder, initial: Any, assignments: list[str]) -> Any:
    """Apply --set to the value, or ask for it with a form when none was given."""
    if assignments:
        return _apply_assignments(encoder, initial, assignments)
    if initial is not _MISSING:
        return initial
    if encoder.model is not None and sys.stdin.isatty() and console.stderr.is_terminal:
        return _ask_with_form(encoder)
    raise InvalidAnswerError(
        "missing value: pass VALUE, --data or --set",
        hint="for example `runinput send RUN 5`, or --model MODULE:CLASS on a "
        "terminal to fill in a form",
    )


def _apply_assignments(
    encoder: InputEncoder, initial: Any, assignments: list[str]
) -> Any:
    from .form import AnswerError, apply_assignments

    schema = encoder.schema()
    if schema is None:
        raise InvalidAnswerError(
            "--set needs --model or --type, because the field types come from "
            "their schema",
            hint="add --model MODULE:CLASS or --type 'dict[str, int]', or pass "
            "the whole value as JSON",
        )
    base = None if initial is _MISSING else initial
    try:
        if encoder.model is not None:
            if base is not None and not isinstance(base, dict):
                raise AnswerError(
                    f"--set needs an object to change, but the value is a "
                    f"{type(base).__name__}"
                )
            return apply_assignments(schema, base, assignments)
        # A plain type has no fields, so its schema becomes the one field
        # `value` of a wrapping object, and every path starts below it.
        wrapped = {"type": "object", "properties": {"value": schema}}
        paths = [_below_value(assignment) for assignment in assignments]
        start = {} if base is None else {"value": base}
        return apply_assignments(wrapped, start, paths).get("value")
    except AnswerError as exc:
        raise InvalidAnswerError(
            f"invalid --set: {exc}", hint="write --set PATH=VALUE, such as a.b=5"
        ) from None


def _below_value(assignment: str) -> str:
    return f"value{assignment}" if assignment.startswith("[") else f"value.{assignment}"


def _ask_with_form(encoder: InputEncoder) -> Any:
    """Ask for the model's fields as `resume` does, prompting on stderr."""
    from .form import build_form
    from .prompts import ask_form, confirm_answer

    schema = encoder.schema()
    assert schema is not None, "a model always has a schema"
    form = build_form(schema)
    values: dict[str, Any] | None = None
    while True:
        values = ask_form(form, console.stderr, values)
        decision = confirm_answer(
            form, values, console.stderr, question="Send this input?"
        )
        if decision == "send":
            return values
        if decision == "cancel":
            console.print_error("cancelled; nothing was sent")
            raise typer.Exit(EXIT_FAILED)


_MISSING: Any = object()
