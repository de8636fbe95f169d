"""`runinput config`: the connection settings and a check of the server."""

from __future__ import annotations

import enum
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from . import console
from .errors import EXIT_FAILED
from .output import print_json
from .state import get_state

if TYPE_CHECKING:
    from runinput import Settings

# Labels for the values of `Settings.sources`, as a person at the terminal reads them.
_SOURCE_LABELS = {
    "argument": "--api-url option",
    "environment": "environment variable {name}",
    "default": "default",
}


class ConfigOutput(str, enum.Enum):
    """The output format of `config`."""

    table = "table"
    json = "json"


@dataclass(frozen=True)
class ServerStatus:
    """The server check's result: `status` is ok, unreachable, unauthorized or error."""

    status: str
    healthy: bool | None = None
    version: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ConnectionReport:
    """The resolved connection settings, with secrets left out, and the server."""

    api_url: str
    api_url_source: str
    profile: str | None
    profiles_path: str
    profile_found: bool
    credentials: str
    credentials_source: str | None
    auth_user: str | None
    unused_api_key: bool
    timeout: float
    timeout_source: str
    server: ServerStatus

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON object, which contains no key or password."""
        return {
            "api_url": self.api_url,
            "api_url_source": self.api_url_source,
            "profile": self.profile,
            "profiles_path": self.profiles_path,
            "profile_found": self.profile_found,
            "credentials": {
                "kind": self.credentials,
                "source": self.credentials_source,
                "user": self.auth_user,
                "unused_api_key": self.unused_api_key,
            },
            "timeout": self.timeout,
            "timeout_source": self.timeout_source,
            "server": asdict(self.server),
        }


def register(app: typer.Typer) -> None:
    """Add the `config` command to the app."""
    app.command("config")(config)


def config(
    ctx: typer.Context,
    output: Annotated[
        ConfigOutput,
        typer.Option(
            "--output",
            "-o",
            help=(
                "table: one line per setting with where it came from. json: the "
                "same report as one JSON object. Keys and passwords never appear."
            ),
        ),
    ] = ConfigOutput.table,
) -> None:
    """Show where runinput connects and how, and check that the server responds.

    Shows the API URL, the Prefect profile, the kind of credentials and where
    each came from, then reads the server's health and version. Exit status 1
    means the server could not be reached or rejected the credentials.
    """
    settings = get_state(ctx).settings()
    report = build_report(settings, check_server(settings))
    if output is ConfigOutput.json:
        print_json(_redact_all(report.to_json(), settings))
    else:
        console.stdout.print(report_table(report, settings))
    if report.server.status != "ok":
        console.print_error(
            settings.redact(report.server.message or "the server check failed"),
            _hint(report),
        )
        raise typer.Exit(EXIT_FAILED)


def check_server(settings: Settings) -> ServerStatus:
    """Read the server's health, then its version, which needs valid credentials.

    Prefect servers answer `GET /health` without credentials, so a healthy
    server that rejects the version request rejects the credentials.
    """
    from runinput import (
        Client,
        ConnectionFailedError,
        RunInputError,
        UnauthorizedError,
    )

    with Client(settings) as client:
        try:
            healthy = client.read_health()
        except ConnectionFailedError as exc:
            return ServerStatus("unreachable", message=str(exc))
        except RunInputError as exc:
            return ServerStatus("error", message=str(exc))

        try:
            version = client.read_version()
        except UnauthorizedError as exc:
            return ServerStatus("unauthorized", healthy, message=str(exc))
        except RunInputError as exc:
            return ServerStatus("error", healthy, message=str(exc))

    if not healthy:
        message = f"the Prefect API at {settings.api_url} reports itself unhealthy"
        return ServerStatus("error", healthy, version, message)
    return ServerStatus("ok", healthy, version)


def build_report(settings: Settings, server: ServerStatus) -> ConnectionReport:
    """Collect the settings, with the source of each, into a report."""
    from runinput.settings import load_active_profile, profiles_path

    environ = os.environ
    profile_name, profile = load_active_profile(environ)
    credential_name = {
        "auth string": "PREFECT_API_AUTH_STRING",
        "API key": "PREFECT_API_KEY",
    }.get(settings.credentials_kind)
    auth_user = None
    if settings.auth_string and ":" in settings.auth_string:
        auth_user = settings.auth_string.partition(":")[0]

    return ConnectionReport(
        api_url=settings.redact(settings.api_url),
        api_url_source=settings.sources.get("PREFECT_API_URL", "default"),
        profile=profile_name,
        profiles_path=str(profiles_path(environ)),
        profile_found=bool(profile),
        credentials=settings.credentials_kind,
        credentials_source=(
            settings.sources.get(credential_name) if credential_name else None
        ),
        auth_user=auth_user,
        unused_api_key=bool(settings.auth_string and settings.api_key),
        timeout=settings.timeout,
        timeout_source=settings.sources.get("PREFECT_API_REQUEST_TIMEOUT", "default"),
        server=server,
    )


def report_table(report: ConnectionReport, settings: Settings) -> Table:
    """Build a table with one row per setting: name, value and source."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("setting", style="bold")
    table.add_column("value")
    table.add_column("source", style="dim")

    # Cells are Text, not markup, because values such as a profile name or
    # path may contain square brackets.
    table.add_row(
        "API URL",
        Text(report.api_url),
        _source_text(report.api_url_source, "PREFECT_API_URL"),
    )
    table.add_row("Profile", _profile_text(report), Text(report.profiles_path))
    table.add_row(
        "Credentials",
        _credentials_text(report),
        _source_text(report.credentials_source, _credential_variable(report)),
    )
    table.add_row(
        "Timeout",
        Text(f"{report.timeout:g} s"),
        _source_text(report.timeout_source, "PREFECT_API_REQUEST_TIMEOUT"),
    )
    table.add_row("Server", _server_text(report.server, settings))
    return table


def _profile_text(report: ConnectionReport) -> Text:
    if report.profile is None:
        return Text("none")
    if not report.profile_found:
        return Text.assemble(report.profile, (" (not in the profiles file)", "yellow"))
    return Text(report.profile)


def _credentials_text(report: ConnectionReport) -> Text:
    text = Text(report.credentials)
    if report.auth_user is not None:
        text.append(f" for user {report.auth_user!r}, password ***")
    elif report.credentials != "none":
        text.append(" ***")
    if report.unused_api_key:
        text.append(" (an API key is set too, but the auth string wins)", "dim")
    return text


def _credential_variable(report: ConnectionReport) -> str:
    if report.credentials == "API key":
        return "PREFECT_API_KEY"
    return "PREFECT_API_AUTH_STRING"


def _source_text(source: str | None, variable: str) -> Text:
    if source is None:
        return Text("")
    label = _SOURCE_LABELS.get(source, source)
    return Text(label.replace("{name}", variable))


def _server_text(server: ServerStatus, settings: Settings) -> Text:
    if server.status == "ok":
        return Text.assemble(f"Prefect {server.version}, ", ("healthy", "green"))
    labels = {
        "unreachable": "unreachable",
        "unauthorized": "unauthorized: credentials rejected",
    }
    label = labels.get(server.status, "error")
    if server.status == "unauthorized" and settings.credentials_kind == "none":
        label = "unauthorized: credentials required"
    return Text(label, style="bold red")


def _hint(report: ConnectionReport) -> str | None:
    status = report.server.status
    if status == "unauthorized" and report.credentials == "none":
        return (
            "set PREFECT_API_AUTH_STRING to the server's user:password, or "
            "PREFECT_API_KEY for Prefect Cloud"
        )
    if status == "unauthorized":
        source = _source_text(report.credentials_source, _credential_variable(report))
        return f"check the {report.credentials} from {source.plain}"
    if status == "error" and not report.api_url.rstrip("/").endswith("/api"):
        return (
            "a Prefect API URL usually ends in /api, such as http://127.0.0.1:4200/api"
        )
    return None


def _redact_all(value: Any, settings: Settings) -> Any:
    """Apply `settings.redact` to every string in a JSON-ready value."""
    if isinstance(value, str):
        return settings.redact(value)
    if isinstance(value, dict):
        return {key: _redact_all(item, settings) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_all(item, settings) for item in value]
    return value
