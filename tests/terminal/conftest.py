"""Fixtures for driving the real `runinput` command in a pseudo-terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pexpect
import pytest

from tests.server_api import ServerApi

COLUMNS = 100
LINES = 50


def runinput_script() -> str:
    """The `runinput` console script of the Python that runs the tests."""
    script = Path(sys.executable).parent / "runinput"
    if not script.exists():
        pytest.skip(f"no runinput console script next to {sys.executable}")
    return str(script)


class SpawnRuninput(Protocol):
    def __call__(self, *args: str) -> pexpect.spawn: ...


@pytest.fixture
def spawn_runinput(prefect_api_url: str) -> Iterator[SpawnRuninput]:
    """Start `runinput ARGS` in a 100x50 pseudo-terminal without colours.

    The child gets the test's environment, `PREFECT_API_URL` included. Every
    child still running at the end of the test is closed.
    """
    children: list[pexpect.spawn] = []

    def spawn(*args: str) -> pexpect.spawn:
        env = {
            **os.environ,
            "COLUMNS": str(COLUMNS),
            "LINES": str(LINES),
            "TERM": "dumb",
            "NO_COLOR": "1",
        }
        child = pexpect.spawn(
            runinput_script(),
            list(args),
            env=env,
            encoding="utf-8",
            timeout=60,
            dimensions=(LINES, COLUMNS),
        )
        children.append(child)
        return child

    yield spawn
    for child in children:
        child.close(force=True)


@pytest.fixture
def server_api(prefect_api_url: str) -> Iterator[ServerApi]:
    """REST calls on the session's Prefect server, for setting up runs."""
    with ServerApi(prefect_api_url) as api:
        yield api
