"""`runinput watch`: print a flow run's inputs as they arrive."""

from __future__ import annotations

import enum
import json
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from . import console
from .errors import EXIT_FAILED
from .output import format_time, print_json_line
from .run_argument import RUN_HELP, resolve_flow_run
from .state import get_state

if TYPE_CHECKING:
    from runinput import Client
    from runinput.models import FlowRun, FlowRunInput
    from runinput.receive import InputFeed

DEFAULT_INTERVAL = 1.0


class WatchOutput(str, enum.Enum):
    """Output formats of `watch`."""

    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add the `watch` command to the app."""
    app.command("watch")(watch)


def watch(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help=RUN_HELP, show_default=False)],
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix",
            "-p",
            help="Show only inputs whose key starts with this prefix.",
            show_default=False,
        ),
    ] = "",
    new: Annotated[
        bool,
        typer.Option("--new", help="Skip the inputs that exist when the watch starts."),
    ] = False,
    output: Annotated[
        WatchOutput,
        typer.Option(
            "--output",
            "-o",
            help=(
                "table: one line per input with time, key, sender and value. "
                "json: one JSON object per line with key, sender, created and "
                "value, flushed at once for pipes."
            ),
        ),
    ] = WatchOutput.table,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help=(
                "Stop when the flow run reaches a final state (Completed, "
                "Failed, Cancelled or Crashed), after a last poll, with exit "
                "status 0."
            ),
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0,
            help=(
                "Stop after this many seconds. Without it, the watch goes on "
                "until Ctrl-C, or with --follow until the run ends. 0 prints "
                "the inputs there now and stops."
            ),
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            "-i",
            min=0.05,
            help="Seconds between polls.",
        ),
    ] = DEFAULT_INTERVAL,
) -> None:
    """Print a flow run's inputs oldest first, then poll for new ones.

    Each poll requests every input not shown yet, so a value that arrives is
    printed within one interval. A stored value that is not valid JSON is
    shown as raw text with a warning. Ctrl-C stops the watch with exit status
    0. With --follow and --timeout, a run that has not ended when the timeout
    passes gives exit status 1.
    """
    from runinput.receive import InputFeed

    printer = _print_json if output is WatchOutput.json else _print_line
    state = get_state(ctx)
    try:
        with state.client() as client:
            flow_run = resolve_flow_run(client, run)
            feed = InputFeed(prefix)
            if new:
                _drain(client, flow_run, feed, lambda flow_run_input: None)
            watcher = _Watcher(client, flow_run, feed, printer, interval)
            ended = watcher.run(follow=follow, timeout=timeout)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except BrokenPipeError:
        # The reader of a pipe went away, as with `| head`: stop quietly, and
        # point stdout at nothing so that the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    if follow and not ended:
        console.print_error(
            f"flow run {flow_run.id} did not reach a final state within {timeout:g} s"
        )
        raise typer.Exit(EXIT_FAILED)


class _Watcher:
    """The polling loop: one filter request per key partition per poll.

    The filter has no cursor, so each poll excludes every key already shown;
    the `InputFeed` requests inputs in batches and splits a long exclude list
    over narrower prefixes, so one poll costs what the protocol forces.
    """

    def __init__(
        self,
        client: Client,
        flow_run: FlowRun,
        feed: InputFeed,
        printer: Callable[[FlowRunInput], None],
        interval: float,
    ) -> None:
        self.client = client
        self.flow_run = flow_run
        self.feed = feed
        self.printer = printer
        self.interval = interval
        self._failing = False

    def run(self, *, follow: bool, timeout: float | None) -> bool:
        """Poll until the run ends (with `follow`) or `timeout` passes.

        Returns whether the run reached a final state.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # The state is read before the inputs, so an input written before
            # the run ended is in the poll that reads the final state.
            ended = follow and self._run_has_ended()
            self._poll()
            if ended:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            wait = self.interval
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0.0))
            time.sleep(wait)

    def _run_has_ended(self) -> bool:
        from runinput import ConnectionFailedError, ServerError

        try:
            self.flow_run = self.client.read_flow_run(self.flow_run.id)
        except (ConnectionFailedError, ServerError) as exc:
            self._note_failure(exc)
            return False
        state = self.flow_run.state
        return state is not None and state.is_final

    def _poll(self) -> None:
        from runinput import ConnectionFailedError, ServerError

        try:
            _drain(self.client, self.flow_run, self.feed, self.printer)
        except (ConnectionFailedError, ServerError) as exc:
            self._note_failure(exc)
            return
        if self._failing:
            self._failing = False
            console.print_success("polling works again")

    def _note_failure(self, exc: Exception) -> None:
        from runinput import NotFoundError

        if isinstance(exc, NotFoundError):
            console.print_error(f"flow run {self.flow_run.id} no longer exists")
            raise typer.Exit(EXIT_FAILED)
        # One warning per run of failures, not one per poll.
        if not self._failing:
            self._failing = True
            console.print_warning(
                f"polling failed, retrying every {self.interval:g} s: {exc}"
            )


def _drain(
    client: Client,
    flow_run: FlowRun,
    feed: InputFeed,
    handle: Callable[[FlowRunInput], None],
) -> None:
    """Fetch every input not seen yet and hand each to `handle`, oldest first."""
    while True:
        for request in feed.fetch_requests():
            inputs = client.filter_flow_run_input(
                flow_run.id, request.key_prefix, request.limit, request.exclude_keys
            )
            feed.accept(request, inputs)
        while (flow_run_input := feed.pop()) is not None:
            handle(flow_run_input)
        if not feed.needs_fetch():
            return


def decode_value(flow_run_input: FlowRunInput) -> tuple[Any, bool]:
    """Decode the stored value; return it and whether it was valid JSON.

    Invalid JSON is returned as the raw text, with a warning on stderr.
    """
    try:
        return flow_run_input.decoded_value, True
    except json.JSONDecodeError as exc:
        console.print_warning(
            f"input {flow_run_input.key} is not valid JSON ({exc.msg}); "
            "showing the raw text"
        )
        return flow_run_input.value, False


def _print_json(flow_run_input: FlowRunInput) -> None:
    value, _ = decode_value(flow_run_input)
    print_json_line(
        {
            "key": flow_run_input.key,
            "sender": flow_run_input.sender,
            "created": flow_run_input.created,
            "value": value,
        }
    )


def _print_line(flow_run_input: FlowRunInput) -> None:
    value, valid = decode_value(flow_run_input)
    shown = json.dumps(value, ensure_ascii=False) if valid else value
    line = Text.assemble(
        (format_time(flow_run_input.created), "dim"),
        "  ",
        (flow_run_input.key, "cyan"),
        "  ",
        (flow_run_input.sender or "-", "magenta"),
        "  ",
        shown,
    )
    console.stdout.print(line, highlight=False)
