"""Settings, child processes and seeding, shared by every benchmark section."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server import Api, clean_environment

BENCH_DIR = Path(__file__).resolve().parent
WORKER = BENCH_DIR / "worker.py"
SEED_CONCURRENCY = 4
"""Concurrent creates when seeding. More gains nothing on SQLite, which
serializes writers: 60 to 90 creates per second were measured at 1, 4, 16
and 64 concurrent requests on a 2-core machine."""

RECEIVE_PREFIX = "intautomaticruninput-auto"
"""The key prefix that `receive_input(int)` reads, under which inputs are seeded."""


class BenchError(Exception):
    """A benchmark step failed; the message contains the child's output."""


@dataclass(frozen=True)
class Config:
    """Sizes, repetitions and limits of one run, full or quick."""

    sizes: tuple[int, ...]
    runinput_repeat: int
    prefect_repeat: int
    prefect_limit: float
    poll_interval: float
    round_trips: int
    watch_samples: int
    watch_interval: float
    bulk_count: int
    relay_delay: float
    """Seconds by which the bulk section's relay delays each chunk, each way."""
    command_repeat: int
    large_count: int | None


FULL = Config(
    sizes=(100, 1_000, 5_000),
    runinput_repeat=5,
    prefect_repeat=3,
    prefect_limit=900.0,
    poll_interval=0.2,
    round_trips=20,
    watch_samples=15,
    watch_interval=1.0,
    bulk_count=1_000,
    relay_delay=0.02,
    command_repeat=5,
    large_count=50_000,
)

QUICK = Config(
    sizes=(50, 200),
    runinput_repeat=2,
    prefect_repeat=1,
    prefect_limit=20.0,
    poll_interval=0.2,
    round_trips=4,
    watch_samples=3,
    watch_interval=0.5,
    bulk_count=100,
    relay_delay=0.02,
    command_repeat=2,
    large_count=None,
)


@dataclass
class Bench:
    """The server under test and where child processes keep their files."""

    api_url: str
    api: Api
    work_dir: Path
    config: Config

    def child_env(self, **extra: str) -> dict[str, str]:
        """Return the environment for a child: this server, a fresh Prefect home."""
        env = clean_environment()
        env.update(
            {
                "PREFECT_API_URL": self.api_url,
                "PREFECT_HOME": str(self.work_dir / "prefect-home"),
                "PREFECT_LOGGING_LEVEL": "WARNING",
                "DO_NOT_TRACK": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def run_worker(
        self, *args: str, timeout: float, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Run one `worker.py` task and return the JSON result it printed."""
        process = self.start_worker(*args, env=env)
        try:
            return self.finish_worker(process, timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    def start_worker(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        log_path = self.work_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, str(WORKER), *args],
                env=self.child_env(**(env or {})),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                text=True,
            )
        process.log_path = log_path  # type: ignore[attr-defined]
        return process

    def finish_worker(
        self, process: subprocess.Popen[str], *, timeout: float
    ) -> dict[str, Any]:
        """Wait for a worker and parse its `RESULT` line."""
        log_path: Path = process.log_path  # type: ignore[attr-defined]
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise BenchError(
                f"worker {process.args[2:]} timed out after {timeout:.0f} s:\n"
                f"{tail(log_path)}"
            ) from None
        output = log_path.read_text(errors="replace")
        for line in reversed(output.splitlines()):
            if line.startswith("RESULT "):
                result: dict[str, Any] = json.loads(line[len("RESULT ") :])
                return result
        raise BenchError(
            f"worker {process.args[2:]} exited with code {code} and no result:\n"
            f"{tail(log_path)}"
        )


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def seed_inputs(
    api_url: str, flow_run_id: uuid.UUID, count: int, *, first_value: int = 0
) -> list[str]:
    """Store the integers `first_value` … as `receive_input(int)` inputs.

    Uses runinput's AsyncClient with `SEED_CONCURRENCY` requests at a time,
    and returns the keys in the order the values were numbered.
    """
    from runinput import AsyncClient, Settings

    keys = [f"{RECEIVE_PREFIX}-{uuid.uuid4()}" for _ in range(count)]

    async def store_all() -> None:
        semaphore = asyncio.Semaphore(SEED_CONCURRENCY)
        settings = Settings.resolve(api_url=api_url)
        async with AsyncClient(settings) as client:

            async def store(index: int) -> None:
                value = json.dumps({"value": first_value + index})
                async with semaphore:
                    await client.create_flow_run_input(flow_run_id, keys[index], value)

            await asyncio.gather(*(store(index) for index in range(count)))

    asyncio.run(store_all())
    return keys
