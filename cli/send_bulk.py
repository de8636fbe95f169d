"""`send --data @FILE.jsonl`: one input per line, sent a few at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import console
from .errors import EXIT_FAILED, InvalidAnswerError
from .input_types import InputEncoder, Message

if TYPE_CHECKING:
    from runinput import AsyncClient, Settings
    from runinput.models import FlowRun

MAX_LISTED_FAILURES = 20
"""How many failed lines are explained one by one; the rest are only counted."""


@dataclass(frozen=True)
class LineFailure:
    """A line of the file that was not sent, and why."""

    line: int
    reason: str


def open_async_client(settings: Settings) -> AsyncClient:
    """Open the one client that sends every line of the file."""
    from runinput import AsyncClient

    return AsyncClient(settings)


def send_json_lines(
    settings: Settings,
    flow_run: FlowRun,
    encoder: InputEncoder,
    text: str,
    source: str,
    sender: str,
    concurrency: int,
) -> None:
    """Validate every line, send the valid ones and report what failed.

    Exits with status 1 if any line failed, after sending the others.

    Raises:
        InvalidAnswerError: the file has no lines, or the key prefix is
            inside a pause's keyset.
    """
    import anyio

    from .send import check_key_prefix, warn_if_final

    if encoder.key_prefix is not None:
        check_key_prefix(encoder.key_prefix, flow_run)
    messages, failures = encode_lines(text, encoder)
    if not messages and not failures:
        raise InvalidAnswerError(
            f"{source} has no lines to send",
            hint="write one JSON value per line",
        )
    warn_if_final(flow_run)
    total = len(messages) + len(failures)

    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console.stderr,
        disable=not console.stderr.is_terminal,
    )
    with progress:
        task = progress.add_task("send", total=len(messages))
        failures += anyio.run(
            _send_all,
            open_async_client(settings),
            flow_run,
            messages,
            sender,
            concurrency,
            lambda: progress.advance(task),
        )
    _report(flow_run, total, failures)


def encode_lines(
    text: str, encoder: InputEncoder
) -> tuple[list[tuple[int, Message]], list[LineFailure]]:
    """Parse and validate each non-blank line; return the messages and failures."""
    messages: list[tuple[int, Message]] = []
    failures: list[LineFailure] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} at column {exc.colno}"
            failures.append(LineFailure(number, reason))
            continue
        try:
            messages.append((number, encoder.encode(value)))
        except InvalidAnswerError as exc:
            failures.append(LineFailure(number, str(exc)))
    return messages, failures


async def _send_all(
    client: AsyncClient,
    flow_run: FlowRun,
    messages: list[tuple[int, Message]],
    sender: str,
    concurrency: int,
    advance: Callable[[], None],
) -> list[LineFailure]:
    import anyio

    from runinput import RunInputError
    from runinput.keys import new_key

    failures: list[LineFailure] = []
    pending: Iterator[tuple[int, Message]] = iter(messages)

    async def worker() -> None:
        # Workers share one iterator, so each line is taken exactly once and
        # at most `concurrency` requests are open at a time.
        for number, message in pending:
            key = new_key(message.key_prefix)
            try:
                await client.create_flow_run_input(
                    flow_run.id, key, message.value, sender
                )
            except RunInputError as exc:
                failures.append(LineFailure(number, str(exc)))
            advance()

    async with client:
        async with anyio.create_task_group() as task_group:
            for _ in range(min(concurrency, len(messages))):
                task_group.start_soon(worker)
    return failures


def _report(flow_run: FlowRun, total: int, failures: list[LineFailure]) -> None:
    sent = total - len(failures)
    target = f"flow run {flow_run.name} ({flow_run.id})"
    if not failures:
        console.print_success(f"sent {sent} of {total} inputs to {target}")
        return

    failures.sort(key=lambda failure: failure.line)
    for failure in failures[:MAX_LISTED_FAILURES]:
        console.print_error(f"line {failure.line}: {failure.reason}")
    if len(failures) > MAX_LISTED_FAILURES:
        console.print_error(f"… and {len(failures) - MAX_LISTED_FAILURES} more")
    lines = format_line_numbers([failure.line for failure in failures])
    console.print_error(
        f"sent {sent} of {total} inputs to {target}; "
        f"{len(failures)} failed, on lines {lines}"
    )
    raise typer.Exit(EXIT_FAILED)


def format_line_numbers(numbers: list[int], limit: int = 50) -> str:
    """Write sorted line numbers as ranges, such as `3, 7-9, 12`."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    if len(ranges) > limit:
        return ", ".join(ranges[:limit]) + f" and {len(ranges) - limit} more"
    return ", ".join(ranges)
