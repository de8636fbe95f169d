"""The two consoles (data to stdout, messages to stderr) and logging set-up."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def setup_logging(verbose: bool) -> None:
    """Send runinput's log records to stderr: warnings, or everything if verbose."""
    handler = RichHandler(
        console=stderr,
        show_time=False,
        show_path=False,
        markup=False,
        rich_tracebacks=verbose,
    )
    package_logger = logging.getLogger("runinput")
    package_logger.handlers[:] = [handler]
    package_logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    package_logger.propagate = False


def print_error(message: str, hint: str | None = None) -> None:
    """Print one error line (and an optional hint) on stderr."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if hint:
        stderr.print(f"[dim]{escape(hint)}[/]", highlight=False)


def print_warning(message: str) -> None:
    """Print one warning line on stderr."""
    stderr.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def print_success(message: str) -> None:
    """Print one confirmation line on stderr, apart from the data on stdout."""
    stderr.print(f"[green]✓[/] {escape(message)}", highlight=False)
