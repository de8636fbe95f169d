"""How the command reports failures: one line on stderr and an exit status.

Exit status 0 means done, 1 a refused or failed operation, 2 invalid usage or
an invalid answer, 130 an interrupt.
"""

from __future__ import annotations

import sys

import typer

from . import console

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


class InvalidAnswerError(Exception):
    """An answer or value that the command cannot use; exits with status 2."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def run_app(app: typer.Typer) -> int:
    """Run the Typer app and return the exit status.

    Typer itself reports usage errors (status 2) and interrupts; this adds
    the library's errors, which name what failed, without a traceback unless
    `--verbose` is given.
    """
    verbose = "--verbose" in sys.argv[1:] or "-v" in sys.argv[1:]
    try:
        app()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except InvalidAnswerError as exc:
        console.print_error(str(exc), exc.hint)
        return EXIT_INVALID
    except Exception as exc:
        # Imported only on failure, because importing the library (httpx,
        # pydantic) takes longer than the rest of `runinput --help`.
        from runinput import RunInputError

        if not isinstance(exc, RunInputError):
            raise
        if verbose:
            console.stderr.print_exception()
        console.print_error(str(exc))
        return EXIT_FAILED
    return 0
