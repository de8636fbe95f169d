"""Data output: JSON for scripts, and the small formatting helpers tables share."""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any, Literal

OutputFormat = Literal["table", "json"]


def to_jsonable(value: Any) -> Any:
    """Turn pydantic models, datetimes and UUIDs into JSON-ready values."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def print_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def print_json_line(data: Any) -> None:
    """Print `data` as one line of JSON on stdout and flush it, for pipes."""
    sys.stdout.write(json.dumps(to_jsonable(data), ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def format_time(moment: datetime.datetime | None) -> str:
    """A local date and time to the second, or an empty string."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(delta: datetime.timedelta | None) -> str:
    """A short duration such as `2h 05m`, `4m 10s` or `12s`; empty for None."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours >= 24:
        return f"{sign}{hours // 24}d {hours % 24:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {seconds:02d}s"
    return f"{sign}{seconds}s"


def first_line(text: str | None, width: int = 60) -> str:
    """The first non-empty line of `text`, cut to `width` characters."""
    for line in (text or "").splitlines():
        stripped = line.strip().lstrip("#").strip()
        if stripped:
            return stripped if len(stripped) <= width else stripped[: width - 1] + "…"
    return ""
