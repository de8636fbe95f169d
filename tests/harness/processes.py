"""Child processes for the integration tests: starting, stopping, and their output.

Every long-running child starts in a session of its own, so that stopping it
can signal its whole process group. Where util-linux's `setpriv` exists, as on
every Debian system, the child also gets a parent-death signal, so that it
stops when the test process is killed before its fixtures can clean up. Linux
sends that signal when the *thread* that started the child exits, which for
pytest fixtures is the main thread.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Seconds between the stop signal and SIGKILL when stopping a process group.
STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 60


class HarnessError(Exception):
    """A server or process that the tests need failed to start or stop."""


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last `lines` lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])


def child_command(
    command: Sequence[str],
    *,
    parent_death_signal: str,
    user: str | None = None,
) -> list[str]:
    """Prefix `command` with `setpriv` to set its parent-death signal and user.

    Args:
        command: The program and its arguments.
        parent_death_signal: The signal name, such as `TERM`, that the child
            gets when the test process exits.
        user: A system user to run as, which needs root. The tests need this
            only for PostgreSQL, which refuses to run as root.

    Raises:
        HarnessError: `user` is given but `setpriv` is missing.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if user is not None:
            raise HarnessError(
                f"running {command[0]} as {user} needs setpriv, which is missing; "
                "it comes with util-linux."
            )
        return list(command)

    prefix = [setpriv, f"--pdeathsig={parent_death_signal}"]
    if user is not None:
        prefix += [f"--reuid={user}", f"--regid={user}", "--init-groups"]
    return [*prefix, "--", *command]


def stop_process_group(
    process: subprocess.Popen[Any],
    *,
    stop_signal: signal.Signals = signal.SIGTERM,
    timeout: float = STOP_TIMEOUT,
) -> None:
    """Send `stop_signal` to the process group led by `process`, then SIGKILL.

    The process must have been started with `start_new_session=True`, so that its
    group contains it and its children and nothing else.
    """
    if process.poll() is not None:
        return

    try:
        os.killpg(process.pid, stop_signal)
        process.wait(timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


@dataclass
class FlowProcess:
    """A Python script running flows in a child process, its output in a file."""

    popen: subprocess.Popen[bytes]
    output_path: Path

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.popen.pid

    def output(self) -> str:
        """Return everything the process wrote to stdout and stderr so far."""
        return self.output_path.read_text(errors="replace")

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the process to exit and return its exit code.

        Raises:
            TimeoutError: It still runs after `timeout` seconds. The message
                contains its output.
        """
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(
                f"flow process {self.pid} still running after {timeout:.0f} s. "
                f"Output so far:\n{self.output()}"
            ) from None

    def wait_for_output(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait until the output matches the regular expression `pattern`.

        `^` and `$` match at line boundaries.

        Raises:
            AssertionError: The process exited without printing a match.
            TimeoutError: No match within `timeout` seconds.
        """
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            exited = self.popen.poll() is not None
            output = self.output()
            match = regex.search(output)
            if match is not None:
                return match
            if exited:
                raise AssertionError(
                    f"flow process {self.pid} exited with code "
                    f"{self.popen.returncode} without printing {pattern!r}. "
                    f"Output:\n{output}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"flow process {self.pid} printed nothing matching {pattern!r} "
                    f"within {timeout:.0f} s. Output so far:\n{output}"
                )
            time.sleep(0.05)

    def describe(self) -> str:
        """Return the exit status and output, for a failure message."""
        code = self.popen.poll()
        status = "still running" if code is None else f"exit code {code}"
        return f"flow process {self.pid}, {status}. Output:\n{self.output()}"

    def stop(self) -> None:
        """Stop the process and its children if they are still running."""
        stop_process_group(self.popen)


def start_flow_process(
    script: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    output_path: Path,
) -> FlowProcess:
    """Run `script` with the test's Python in a new session, output to a file.

    The output goes to a file rather than a pipe, so that a paused flow that
    keeps logging can never block on a full pipe.
    """
    environment = dict(env)
    # Unbuffered, so that `wait_for_output` finds each print as soon as it runs.
    environment["PYTHONUNBUFFERED"] = "1"
    command = child_command(
        [sys.executable, str(script), *args], parent_death_signal="KILL"
    )
    with output_path.open("wb") as output_file:
        popen = subprocess.Popen(
            command,
            env=environment,
            cwd=script.parent,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return FlowProcess(popen=popen, output_path=output_path)
