"""Options shared by every command, and the client built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from . import console
from .errors import EXIT_FAILED

if TYPE_CHECKING:
    from runinput import Client, Settings


@dataclass
class AppState:
    """What the app callback read from the global options."""

    api_url: str | None = None
    verbose: bool = False

    def settings(self) -> Settings:
        """Resolve the settings; exit with status 1 if a profile or variable is bad."""
        from runinput import Settings

        try:
            return Settings.resolve(api_url=self.api_url)
        except ValueError as exc:
            console.print_error(
                str(exc), "fix the profiles file or the variable that it names"
            )
            raise typer.Exit(EXIT_FAILED) from None

    def client(self) -> Client:
        from runinput import Client

        return Client(self.settings())


def get_state(ctx: typer.Context) -> AppState:
    """The AppState of the running command (a default one outside the app)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj
