"""The `runinput` command: answer and exchange Prefect flow-run inputs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from . import console
from .state import AppState

app = typer.Typer(
    name="runinput",
    help=(
        "Answer paused Prefect flow runs and exchange inputs with running ones, "
        "from the terminal."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from runinput import __version__

        console.stdout.print(f"runinput {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def callback(
    ctx: typer.Context,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help=(
                "Prefect API URL, such as http://127.0.0.1:4200/api. Overrides "
                "PREFECT_API_URL and the active Prefect profile."
            ),
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log every request, and show tracebacks."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Answer paused Prefect flow runs and exchange inputs with running ones."""
    ctx.obj = AppState(api_url=api_url, verbose=verbose)
    console.setup_logging(verbose)


def _register_commands() -> None:
    # Each command group lives in its own module; modules import the library
    # inside their commands, so `runinput --help` starts without it.
    import importlib

    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module_name}":
                raise
            continue
        module.register(app)


_COMMAND_MODULES = ("paused", "send", "watch", "config")


def main() -> None:
    """Run the command, turning library errors into one line on stderr."""
    from .errors import run_app

    _register_commands()
    sys.exit(run_app(app))
