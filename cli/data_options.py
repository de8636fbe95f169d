"""The `--data` option shared by `resume` and `send`: JSON text, @FILE or @-."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import InvalidAnswerError


def read_data_text(option: str) -> tuple[str, str]:
    """The text that `--data` names, and where it came from.

    `@-` reads stdin, `@PATH` reads a file, anything else is the text itself.
    """
    if option == "@-":
        return sys.stdin.read(), "standard input"
    if option.startswith("@"):
        path = Path(option[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise InvalidAnswerError(
                f"cannot read --data file {str(path)!r}: {exc.strerror}",
                hint="pass --data @PATH with a readable file, or --data '<json>'",
            ) from None
    return option, "--data"


def parse_json(text: str, source: str) -> Any:
    """Parse JSON text, naming its source and position when it is invalid."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswerError(
            f"invalid JSON in {source}: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
            hint="check the quoting: JSON strings need double quotes",
        ) from None


def read_data_option(option: str) -> Any:
    """The JSON value that a `--data` option names."""
    text, source = read_data_text(option)
    return parse_json(text, source)
