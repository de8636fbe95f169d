"""String formats, checked the way the flow's pydantic model will parse them.

The server does not check `format` when it validates a resume, so it accepts
`"2024-13-45"` for a `date` field, and the flow then fails when its model
parses the stored input. Each check here runs pydantic's own lax parsing, as
`Model(**value)` does inside the flow.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from typing import Any

import pydantic

__all__ = ["CHECKED_FORMATS", "check_format", "parse_format"]

# The formats pydantic emits for the types that a flow's model parses from text.
_PYDANTIC_TYPES: dict[str, Any] = {
    "date": datetime.date,
    "date-time": datetime.datetime,
    "time": datetime.time,
    "duration": datetime.timedelta,
    "uuid": uuid.UUID,
    "uri": pydantic.AnyUrl,
}

# Formats whose text is replaced by pydantic's canonical JSON form on parsing,
# so that `2024-01-05 10:00` is sent as `2024-01-05T10:00:00`. URLs and email
# addresses keep the text as typed.
_NORMALIZED = frozenset({"date", "date-time", "time", "duration", "uuid"})

CHECKED_FORMATS: dict[str, tuple[str, str]] = {
    "date": ("date", "2024-05-31"),
    "date-time": ("date and time", "2024-05-31T14:30:00+00:00"),
    "time": ("time", "14:30:00"),
    "duration": ("duration", "PT1H30M or 01:30:00"),
    "uuid": ("UUID", "123e4567-e89b-12d3-a456-426614174000"),
    "email": ("email address", "ada@example.com"),
    "uri": ("URL", "https://example.com/report"),
}
"""The formats checked here, each with a noun and an example for messages."""

# NOTE: pydantic's EmailStr needs the email-validator package, which is not a
# dependency here. This check requires only one "@" between a local part
# without spaces and a domain of dot-separated labels, so an address it
# accepts can still fail EmailStr, and EmailStr's "Name <address>" form fails
# here although the flow would accept it.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

_ADAPTERS: dict[str, pydantic.TypeAdapter[Any]] = {}


def _adapter(format_name: str) -> pydantic.TypeAdapter[Any]:
    if format_name not in _ADAPTERS:
        _ADAPTERS[format_name] = pydantic.TypeAdapter(_PYDANTIC_TYPES[format_name])
    return _ADAPTERS[format_name]


def parse_format(format_name: str, text: str) -> str:
    """Parse `text` as the given string format and return the text to send.

    Dates, times, durations and UUIDs come back in pydantic's canonical form,
    other formats as typed. Formats without a check here (`password`, `ipv4`,
    ...) accept any text.

    Raises:
        ValueError: the text does not parse; the message names the text and
            what the format expects.
    """
    if format_name == "email":
        if _EMAIL.fullmatch(text) is None:
            raise ValueError(_invalid(format_name, text))
        return text
    if format_name not in _PYDANTIC_TYPES:
        return text

    adapter = _adapter(format_name)
    try:
        parsed = adapter.validate_python(text)
    except pydantic.ValidationError as exc:
        raise ValueError(_invalid(format_name, text)) from exc
    if format_name in _NORMALIZED:
        return str(adapter.dump_python(parsed, mode="json"))
    return text


def check_format(format_name: str, text: str) -> str | None:
    """Return why `text` is not valid for the format, or None if it is."""
    try:
        parse_format(format_name, text)
    except ValueError as exc:
        return str(exc)
    return None


def _invalid(format_name: str, text: str) -> str:
    noun, example = CHECKED_FORMATS[format_name]
    quoted_text = json.dumps(text)
    return f"{quoted_text} is not a valid {noun}; expected a value such as {example}"
