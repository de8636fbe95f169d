"""Fixtures shared by every test: a clean Prefect environment and real servers.

Unit tests get only the autouse `prefect_environment`. Integration tests ask for
`prefect_api_url` or a fixture built on it, and carry `@pytest.mark.integration`.
The first such test of a session starts the Prefect server, and the end of the
session stops it. `tests/prefect_server.py` explains how the servers start and
how flows run against them.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.harness.processes import start_flow_process
from tests.prefect_server import (
    DATABASE_ENV,
    DATABASE_KINDS,
    FlowProcess,
    PrefectServer,
    PrefectServerFactory,
    RetryTransport,
    RunFlowInSubprocess,
    WaitForFlowRunState,
    selected_database,
    wait_for_flow_run_state,
)

if TYPE_CHECKING:
    from prefect.settings import Settings


SESSION_PREFECT_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    database = selected_database()
    if database not in DATABASE_KINDS:
        raise pytest.UsageError(
            f"{DATABASE_ENV}={database!r} is invalid; use one of: "
            f"{', '.join(DATABASE_KINDS)}."
        )

    # A test module that imports prefect at collection time makes Prefect read
    # its settings, and create its home folder, before any fixture runs. This
    # keeps that away from the real profile as well.
    for name in [name for name in os.environ if name.startswith("PREFECT_")]:
        del os.environ[name]
    home = tempfile.mkdtemp(prefix="runinput-prefect-home-")
    config.stash[SESSION_PREFECT_HOME] = home
    os.environ["PREFECT_HOME"] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(SESSION_PREFECT_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"integration tests database: {selected_database()} ({DATABASE_ENV})"


# NOTE: Prefect 3.9.1 leaks an HTTP client in every async flow run:
# `prefect.results._read_server_default_result_storage_block_id` opens
# `get_client(sync_client=True)` and never closes it. Its socket is closed by
# the garbage collector, at a time no test controls, and the ResourceWarning
# that this raises fails whichever test is running under `filterwarnings =
# error`. Tests that run flows in the test process ignore that one warning,
# and `prefect_settings` collects the leaked clients before the test ends. A
# socket that runinput itself leaks in those tests goes unreported as well.
# Remove this once the Prefect test dependency closes that client.
PREFECT_CLIENT_LEAK_FILTER = "ignore:unclosed <socket.socket:ResourceWarning"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "prefect_settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.filterwarnings(PREFECT_CLIENT_LEAK_FILTER))


@pytest.fixture(autouse=True)
def prefect_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Remove every `PREFECT_*` variable and point `PREFECT_HOME` at a new folder.

    No test then reads the profile, API URL or key of the person running it.
    Returns the new, empty `PREFECT_HOME`.
    """
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("prefect-home")
    monkeypatch.setenv("PREFECT_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def prefect_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PrefectServerFactory]:
    """Start Prefect servers with extra environment, such as an auth string.

    Call it with the extra server environment. Servers with the same extra
    environment are shared by the whole session, and all stop at its end.
    """
    factory = PrefectServerFactory(tmp_path_factory.mktemp, selected_database())
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def prefect_server(prefect_server_factory: PrefectServerFactory) -> PrefectServer:
    """The session's Prefect server with default settings, started on first use."""
    return prefect_server_factory()


@pytest.fixture
def prefect_api_url(
    prefect_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The session server's API URL, also set as `PREFECT_API_URL` for this test."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    return prefect_server.api_url


@pytest.fixture
def prefect_api(prefect_api_url: str) -> Iterator[httpx.Client]:
    """An httpx client for the session server's API URL that retries 503s."""
    with httpx.Client(
        base_url=prefect_api_url, timeout=10.0, transport=RetryTransport()
    ) as client:
        yield client


@pytest.fixture
def run_flow_in_subprocess(
    prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunFlowInSubprocess]:
    """Run a Python script whose flows use the session server, in a child process.

    `script` is a `Path` to a file, or a `str` of source code, which is written
    to a file first. `args` become `sys.argv[1:]`. The child gets this test's
    environment, `PREFECT_API_URL` and `PREFECT_HOME` included, updated with
    `env`. Processes still running when the test ends are stopped.
    """
    processes: list[FlowProcess] = []

    def run(
        script: str | Path, *args: str, env: Mapping[str, str] | None = None
    ) -> FlowProcess:
        folder = tmp_path_factory.mktemp("flow-process")
        if isinstance(script, str):
            path = folder / "flow_script.py"
            path.write_text(script)
        else:
            path = script
        process = start_flow_process(
            path,
            args,
            env={**os.environ, **(env or {})},
            output_path=folder / "output.log",
        )
        processes.append(process)
        return process

    yield run
    for process in processes:
        process.stop()


@pytest.fixture(name="wait_for_flow_run_state")
def wait_for_flow_run_state_fixture(prefect_api: httpx.Client) -> WaitForFlowRunState:
    """`tests.prefect_server.wait_for_flow_run_state` bound to the session server.

    Call it as `wait_for_flow_run_state(flow_run_id, "PAUSED", timeout=30.0,
    process=None)`. It returns the flow run as the API returned it.
    """

    def wait(
        flow_run_id: str,
        state_type: str,
        *,
        timeout: float = 30.0,
        process: FlowProcess | None = None,
    ) -> dict[str, Any]:
        return wait_for_flow_run_state(
            prefect_api, flow_run_id, state_type, timeout=timeout, process=process
        )

    return wait


@pytest.fixture
def prefect_settings(
    prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Make flows called in the test process use the session server.

    Replaces Prefect's process-wide settings context, for this test, with one
    built from the test's environment and with flow run heartbeats off. After
    the test it drains Prefect's log and event workers and collects garbage.
    `tests/prefect_server.py` explains why each step is needed, and the note on
    `PREFECT_CLIENT_LEAK_FILTER` names the one warning that these tests ignore.
    """
    import prefect.context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import Settings
    from prefect.settings.profiles import Profile

    settings = Settings().copy_with_update(updates={"flows.heartbeat_frequency": None})
    context = prefect.context.SettingsContext(
        profile=Profile(name="runinput-tests", settings={}), settings=settings
    )
    monkeypatch.setattr(prefect.context, "GLOBAL_SETTINGS_CONTEXT", context)

    yield settings

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)
    gc.collect()
