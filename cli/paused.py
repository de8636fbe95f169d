"""The `ls`, `show` and `resume` commands: paused flow runs and their answers.

`ls` lists paused and suspended flow runs, `show` prints what one waits for,
and `resume` answers it through a form built from the schema the flow stored.
The steps of a resume live in `resume.py`.
"""

from __future__ import annotations

import enum
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from uuid import UUID

import typer

from . import console
from .errors import EXIT_FAILED, EXIT_INVALID, InvalidAnswerError
from .state import get_state

if TYPE_CHECKING:
    from runinput import Client
    from runinput.models import FlowRun


DEFAULT_LIMIT = 100

FOLLOW_SECONDS = 12.0
"""How long `resume` follows a run after the server accepts the answer.

A flow that waits in `pause_flow_run` checks for its answer every
`poll_interval` seconds, 10 by default in Prefect 3.9, and fails within a
moment of reading an answer that its model rejects.
"""


class OutputFormat(str, enum.Enum):
    """Output format of a command: a Rich table, or JSON for scripts."""

    table = "table"
    json = "json"


def fail(message: str, hint: str | None = None, code: int = EXIT_FAILED) -> NoReturn:
    """Print one error line on stderr and exit with `code`."""
    console.print_error(message, hint)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add `ls`, `show` and `resume` to the app."""
    app.command("ls")(list_paused)
    app.command("show")(show_paused)
    app.command("resume")(resume_paused)


FlowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--flow",
        "-f",
        metavar="NAME",
        help="Only runs of the flow with this name; repeat for any of several.",
        show_default=False,
    ),
]
DeploymentOption = Annotated[
    list[str] | None,
    typer.Option(
        "--deployment",
        "-d",
        metavar="ID|NAME",
        help=(
            "Only runs of the deployment with this id or name; repeat for any "
            "of several."
        ),
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        "-t",
        metavar="TAG",
        help="Only runs with this tag; repeat to require every one of several.",
        show_default=False,
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="Print a table, or JSON for scripts.",
        case_sensitive=False,
    ),
]


def list_paused(
    ctx: typer.Context,
    flow: FlowOption = None,
    deployment: DeploymentOption = None,
    tag: TagOption = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            metavar="N",
            help="List at most this many runs, newest first; 0 lists them all.",
        ),
    ] = DEFAULT_LIMIT,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List the paused and suspended flow runs, and what each waits for."""
    from runinput.pause import flow_names, iter_paused_flow_runs

    from . import render
    from .pause_reader import pause_record, read_listed_pause

    filters = paused_filter(flow or [], deployment or [], tag or [])
    with get_state(ctx).client() as client:
        flow_runs = list(iter_paused_flow_runs(client, filters, limit or None))
        names = flow_names(client, flow_runs)
        listed = [
            read_listed_pause(client, flow_run, names.get(flow_run.flow_id))
            for flow_run in flow_runs
        ]
        loaded = [item for item in listed if item is not None]
        total = None
        if limit and len(flow_runs) == limit:
            total = client.count_flow_runs(filters)

    if output is OutputFormat.json:
        from .output import print_json

        print_json([pause_record(item.pause, item.schema_problem) for item in loaded])
        return
    if not loaded:
        filtered = bool(flow or deployment or tag)
        console.stderr.print(
            "No paused flow runs match the filters."
            if filtered
            else "No flow runs are paused or suspended.",
            highlight=False,
        )
        return
    problems = {item.pause.flow_run.id: item.schema_problem for item in loaded}
    render.print_view(
        console.stdout,
        render.pause_list(
            [item.pause for item in loaded], console.stdout.width, problems
        ),
    )
    if total is not None and total > limit:
        console.stderr.print(
            f"Showing the newest {limit} of {total} paused flow runs; "
            "pass --limit 0 to list them all.",
            highlight=False,
        )


def show_paused(
    ctx: typer.Context,
    run: Annotated[
        str,
        typer.Argument(
            metavar="RUN", help="The flow run id, or its name.", show_default=False
        ),
    ],
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show what a paused flow run waits for: its description and its fields."""
    from . import render
    from .pause_reader import load_pause, pause_record

    with get_state(ctx).client() as client:
        flow_run = find_flow_run(client, run)
        loaded = load_pause(client, flow_run)

    if output is OutputFormat.json:
        from .output import print_json

        record = pause_record(loaded.pause, loaded.schema_problem)
        record["schema"] = loaded.pause.schema
        print_json(record)
        return
    fields = loaded.form.fields if loaded.form else None
    view = render.show_view(
        loaded.pause, fields, console.stdout.width, loaded.schema_problem
    )
    render.print_view(console.stdout, view)


def resume_paused(
    ctx: typer.Context,
    run: Annotated[
        str | None,
        typer.Argument(
            metavar="RUN",
            help=(
                "The flow run id, or its name. Without it, on a terminal, pick "
                "one of the paused runs."
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
                "Set one field, parsed by the field's type; dotted paths and "
                "indexes reach nested fields, as in budget.amount=5 or "
                "conditions[0].text=ok. Repeatable; applied after --data."
            ),
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="JSON|@FILE|@-",
            help="The answer as a JSON object, or @FILE, or @- for standard input.",
            show_default=False,
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Take every default without asking; ask only for missing values.",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Send without asking for confirmation."),
    ] = False,
    no_input: Annotated[
        bool,
        typer.Option(
            "--no-input",
            help="Never prompt, even on a terminal: a missing value is an error.",
        ),
    ] = False,
    allow_placeholders: Annotated[
        bool,
        typer.Option(
            "--allow-placeholders",
            help=(
                "Send objects with a __prefect_kind key, which the server "
                "replaces (JSON, Jinja templates, variables) before storing them."
            ),
        ),
    ] = False,
    follow: Annotated[
        float,
        typer.Option(
            "--follow",
            min=0,
            metavar="SECONDS",
            help=(
                "After the server accepts the answer, watch the run this many "
                "seconds and exit 1 if it fails; 0 skips the check."
            ),
        ),
    ] = FOLLOW_SECONDS,
) -> None:
    """Answer a paused flow run through a form built from its stored schema.

    On a terminal, the form asks field by field, pre-filled with the defaults
    and the values of --data and --set, then shows the answer for
    confirmation. Without a terminal, or with --no-input, nothing is asked:
    the answer is --data, then --set, then the defaults, sent without
    confirmation, and a missing or invalid value is an error.

    Exit status: 0 resumed, 1 rejected by the server or failed, 2 invalid
    usage or an invalid answer.
    """
    from .pause_reader import load_pause
    from .resume import ResumeOptions, run_resume

    interactive = not no_input and sys.stdin.isatty()
    options = ResumeOptions(
        assignments=list(assignments or []),
        data=data,
        defaults=defaults,
        yes=yes,
        interactive=interactive,
        allow_placeholders=allow_placeholders,
        follow_seconds=follow,
    )
    with get_state(ctx).client() as client:
        if run is None:
            if not interactive:
                fail(
                    "missing flow run: pass RUN, a flow run id or name",
                    hint="runinput ls lists the paused flow runs",
                    code=EXIT_INVALID,
                )
            flow_run = pick_flow_run(client)
        else:
            flow_run = find_flow_run(client, run)
        code = run_resume(client, load_pause(client, flow_run), options)
    raise typer.Exit(code)


def paused_filter(
    flows: list[str], deployments: list[str], tags: list[str]
) -> dict[str, Any]:
    """Build the flow run filter of `ls`; deployments may be ids or names."""
    from runinput.pause import paused_flow_run_filter

    ids = [item for item in deployments if _as_uuid(item) is not None]
    names = [item for item in deployments if _as_uuid(item) is None]
    if ids and names:
        raise InvalidAnswerError(
            "--deployment takes ids or names, not both in one command",
            hint="repeat --deployment with ids only, or with names only",
        )
    filters = paused_flow_run_filter(flows, ids, tags)
    if names:
        filters["deployments"] = {"name": {"any_": names}}
    return filters


def find_flow_run(client: Client, run: str) -> FlowRun:
    """Find the flow run that `run` names: an id, or a flow run name.

    Names are not unique: of several runs with one name, the single paused
    one wins; otherwise the id is needed.
    """
    from runinput.pause import find_flow_runs_by_name

    run_id = _as_uuid(run)
    if run_id is not None:
        return client.read_flow_run(run_id)

    flow_runs = find_flow_runs_by_name(client, run)
    if not flow_runs:
        fail(
            f"no flow run is named {run!r}",
            hint="pass a flow run id or name; runinput ls lists the paused runs",
        )
    paused = [r for r in flow_runs if r.state is not None and r.state.is_paused]
    candidates = paused or flow_runs
    if len(candidates) > 1:
        ids = ", ".join(str(r.id) for r in candidates[:5])
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        fail(
            f"{len(candidates)} flow runs are named {run!r}: {ids}{more}",
            hint="pass the flow run id instead of the name",
            code=EXIT_INVALID,
        )
    return candidates[0]


def pick_flow_run(client: Client) -> FlowRun:
    """Offer the paused runs that can still be answered, and return the one picked."""
    from runinput.pause import flow_names, iter_paused_flow_runs

    from . import render
    from .pause_reader import read_listed_pause

    flow_runs = list(iter_paused_flow_runs(client, limit=DEFAULT_LIMIT))
    names = flow_names(client, flow_runs)
    listed = [
        read_listed_pause(client, flow_run, names.get(flow_run.flow_id))
        for flow_run in flow_runs
    ]
    open_pauses = [
        item.pause
        for item in listed
        if item is not None and not item.pause.is_expired()
    ]
    if not open_pauses:
        fail("no paused flow run is waiting for an answer")
    if len(open_pauses) == 1:
        chosen = open_pauses[0].flow_run
        console.stderr.print(
            f"Answering the only paused flow run, {chosen.name} ({chosen.id}).",
            highlight=False,
        )
        return chosen

    console.stderr.print(render.pick_table(open_pauses))
    count = len(open_pauses)
    while True:
        text = console.stderr.input(f"Pick a flow run (1-{count}): ").strip()
        if text.isdigit() and 1 <= int(text) <= count:
            return open_pauses[int(text) - 1].flow_run
        console.stderr.print(f"  [red]✗[/] enter a number from 1 to {count}")


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
