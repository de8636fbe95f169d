"""Run the `runinput` command in a child process, as a person's shell would.

A child process goes through the console script's `main()`, exit statuses and
error handling included, and a test can bound how long it takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

# `main()` is what the console script calls; running it with `sys.executable`
# works wherever the test runs, installed script or not.
_COMMAND = [sys.executable, "-c", "from runinput_cli.main import main; main()"]


@dataclass(frozen=True)
class CliResult:
    """What one run of the command printed, its exit status and its duration."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        """stdout and stderr together, for checks that apply to both."""
        return self.stdout + self.stderr

    def describe(self) -> str:
        """The command, status and output, for assertion messages."""
        return (
            f"runinput {' '.join(self.args)} -> exit {self.returncode} in "
            f"{self.seconds:.1f} s\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 120.0,
) -> CliResult:
    """Run `runinput ARGS` with the test's environment updated by `env`.

    Standard input is `input_text`, or empty, so no prompt can wait forever.
    The terminal is 200 columns wide without colour, so lines do not wrap.
    """
    environment = {**os.environ, **(env or {})}
    environment.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    started = time.monotonic()
    completed = subprocess.run(
        [*_COMMAND, *args],
        env=environment,
        input=input_text or "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(
        args=args,
        returncode=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        seconds=time.monotonic() - started,
    )
