"""A throwaway PostgreSQL cluster on 127.0.0.1 for the PostgreSQL test run.

`start_postgres` uses Debian's server programs in `/usr/lib/postgresql/*/bin`:
initdb creates a cluster in a new temporary folder, and `postgres` runs as a
child of the test process. PostgreSQL refuses to run as root, so under root
both run as the `postgres` system user, which Debian's postgresql package
creates. The cluster trusts connections on its Unix socket, which sits in the
cluster's own folder, and wants a random password over TCP. Durability is off
(`fsync`, `synchronous_commit` and `full_page_writes`), because the data lives
only as long as the test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.processes import (
    HarnessError,
    child_command,
    find_free_port,
    read_log_tail,
    stop_process_group,
)

# Seconds to wait for a new cluster to accept connections.
POSTGRES_START_TIMEOUT = 60.0


@dataclass
class PostgresServer:
    """A running PostgreSQL cluster and how to reach it."""

    bin_dir: Path
    root: Path
    port: int
    user: str
    password: str
    process: subprocess.Popen[bytes]
    database_count: int = 0

    @property
    def log_path(self) -> Path:
        """The server log."""
        return postgres_log_path(self.root)

    def create_database(self) -> str:
        """Create a new empty database and return its asyncpg URL for Prefect."""
        self.database_count += 1
        name = f"prefect_{self.database_count}"
        command = [
            str(self.bin_dir / "createdb"),
            "--host=127.0.0.1",
            f"--port={self.port}",
            f"--username={self.user}",
            name,
        ]
        env = {**os.environ, "PGPASSWORD": self.password}
        run_checked(
            command, env=env, description=f"createdb {name}", log_path=self.log_path
        )
        return (
            f"postgresql+asyncpg://{self.user}:{self.password}"
            f"@127.0.0.1:{self.port}/{name}"
        )

    def stop(self) -> None:
        """Stop the cluster with a fast shutdown and delete its files."""
        try:
            # SIGINT is PostgreSQL's fast shutdown: it ends open sessions, where
            # SIGTERM would wait for every client to disconnect.
            stop_process_group(self.process, stop_signal=signal.SIGINT)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def postgres_log_path(root: Path) -> Path:
    """Return where the cluster in `root` writes its log."""
    return root / "postgres.log"


def find_postgres_bin_dir() -> Path:
    """Return the newest `/usr/lib/postgresql/<version>/bin` that has initdb.

    Raises:
        HarnessError: No PostgreSQL server is installed.
    """
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if candidates:
        newest = max(candidates, key=lambda path: int(Path(path).parts[-3]))
        return Path(newest).parent
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    raise HarnessError(
        "the PostgreSQL test run needs a PostgreSQL server, but no initdb was "
        "found in /usr/lib/postgresql/*/bin or on PATH. Install it with "
        "`apt-get install postgresql`."
    )


def postgres_system_user() -> str | None:
    """Return the user to run PostgreSQL as: `postgres` under root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError(
            "PostgreSQL refuses to run as root and there is no `postgres` user. "
            "Installing Debian's postgresql package creates one."
        ) from None
    return "postgres"


def run_checked(
    command: Sequence[str],
    *,
    description: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run a PostgreSQL program and raise `HarnessError` with its output on failure."""
    result = subprocess.run(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise HarnessError(
            f"{description} failed with exit code {result.returncode}.\n"
            f"command: {' '.join(command)}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}\nLast lines of {log_path}:\n"
            f"{read_log_tail(log_path)}"
        )


def start_postgres() -> PostgresServer:
    """Create a PostgreSQL cluster in a new temporary folder and start it.

    The folder comes from `tempfile.mkdtemp`, outside pytest's temporary
    folders, because those are private to the user running the tests and the
    `postgres` user could not enter them.

    Raises:
        HarnessError: PostgreSQL is missing, or initdb or the server failed.
    """
    bin_dir = find_postgres_bin_dir()
    user = postgres_system_user()
    root = Path(tempfile.mkdtemp(prefix="runinput-postgres-"))
    password = secrets.token_hex(16)
    password_file = root / "password"
    password_file.write_text(password)
    if user is not None:
        shutil.chown(root, user=user)
        shutil.chown(password_file, user=user)

    try:
        initialise_cluster(bin_dir, root, password_file, user)
        port = find_free_port()
        process = start_cluster(bin_dir, root, port, user)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    server = PostgresServer(
        bin_dir=bin_dir,
        root=root,
        port=port,
        user="runinput",
        password=password,
        process=process,
    )

    try:
        wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def initialise_cluster(
    bin_dir: Path, root: Path, password_file: Path, user: str | None
) -> None:
    """Run initdb for a cluster whose superuser `runinput` has the given password."""
    command = [
        str(bin_dir / "initdb"),
        f"--pgdata={root / 'data'}",
        "--username=runinput",
        f"--pwfile={password_file}",
        "--auth-host=scram-sha-256",
        "--auth-local=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]
    run_checked(
        child_command(command, parent_death_signal="KILL", user=user),
        description="initdb",
        log_path=postgres_log_path(root),
    )


def start_cluster(
    bin_dir: Path, root: Path, port: int, user: str | None
) -> subprocess.Popen[bytes]:
    """Start `postgres` for the cluster in `root`, listening on 127.0.0.1 only."""
    command = [
        str(bin_dir / "postgres"),
        "-D",
        str(root / "data"),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"port={port}",
        # Debian's default socket folder, /var/run/postgresql, may be missing
        # or not writable by this user on a fresh machine.
        "-c",
        f"unix_socket_directories={root}",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]
    with postgres_log_path(root).open("wb") as log_file:
        return subprocess.Popen(
            child_command(command, parent_death_signal="INT", user=user),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_ready(
    server: PostgresServer, timeout: float = POSTGRES_START_TIMEOUT
) -> None:
    """Poll `pg_isready` until the cluster accepts TCP connections."""
    command = [
        str(server.bin_dir / "pg_isready"),
        "--host=127.0.0.1",
        f"--port={server.port}",
        "--timeout=2",
        "--quiet",
    ]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise HarnessError(
                f"PostgreSQL exited with code {server.process.returncode} before "
                f"it accepted connections. Last lines of {server.log_path}:\n"
                f"{read_log_tail(server.log_path)}"
            )
        if subprocess.run(command, stdin=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.1)

    raise HarnessError(
        f"PostgreSQL on 127.0.0.1:{server.port} did not accept connections within "
        f"{timeout:.0f} s. Last lines of {server.log_path}:\n"
        f"{read_log_tail(server.log_path)}"
    )
