"""A throwaway PostgreSQL 15 server for tests and local development.

    python -m devstack.servers.postgres     # runs one in the foreground, prints its URL, Ctrl-C stops it

In code:

    with ThrowawayPostgres() as pg:
        url = pg.create_database("test_repository")   # postgresql+psycopg://postgres@127.0.0.1:PORT/test_repository

The server keeps its data in a temporary folder, trusts local connections, runs
without fsync and is stopped with `pg_ctl stop -m immediate`: fast, and
nothing is kept. PostgreSQL refuses to run as root, so as root the data folder
is handed to the `postgres` user and the binaries run through `runuser`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.processes import free_port, tail
from devstack.servers.lifecycle import START_ATTEMPTS, ServerUnavailable, ThrowawayServer, run_in_foreground

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
BIN_DIR_VARIABLE = "MKT_POSTGRES_BIN"
PACKAGE = "postgresql-15"
SERVICE_USER = "postgres"
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(ServerUnavailable):
    """The throwaway server cannot be started here; the message says why and what to do."""


def _traversable_by_others(folder: Path) -> bool:
    """Whether a user other than the owner can reach entries below `folder` (and all its parents)."""
    for part in [folder, *folder.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def server_url(port: int, database: str = "postgres", host: str = "127.0.0.1") -> str:
    return f"postgresql+psycopg://postgres@{host}:{port}/{database}"


def create_database(server: str, name: str) -> str:
    """Creates (or re-creates, empty) database `name` on the server at URL `server`; returns its URL."""
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} must match {DATABASE_NAME.pattern}")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server)
    params = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username or "postgres",
              "dbname": url.database or "postgres"}
    if url.password:
        params["password"] = url.password
    with psycopg.connect(**params, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


class ThrowawayPostgres(ThrowawayServer):
    """A PostgreSQL server in a temporary folder, on a free port of 127.0.0.1."""

    def __init__(self, bin_dir: str | Path | None = None, port: int | None = None):
        self.bin_dir = Path(bin_dir or os.environ.get(BIN_DIR_VARIABLE) or DEFAULT_BIN_DIR)
        self.requested_port = port
        self.port: int | None = None
        self.folder: Path | None = None
        self._as_root = os.geteuid() == 0

    # -- public ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return server_url(self.port)

    @property
    def running(self) -> bool:
        return self.port is not None

    def create_database(self, name: str) -> str:
        """A new empty database on this server; returns its URL."""
        return create_database(self.url, name)

    def _start(self) -> None:
        initdb, pg_ctl = self._binaries()
        runner = self._runner()
        self.folder = self._make_folder()
        data, log, sockets = self.folder / "data", self.log_path, self.folder / "sock"
        try:
            sockets.mkdir()
            self._give_away(sockets)
            self._run([*runner, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"], "initdb")
            for attempt in range(START_ATTEMPTS):
                port = self.requested_port or free_port()
                options = f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off"
                result = subprocess.run(
                    [*runner, str(pg_ctl), "-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", options,
                     "start"],
                    capture_output=True, text=True, stdin=subprocess.DEVNULL)
                if result.returncode == 0:
                    self.port = port
                    break
                # Another process may have taken the port between the probe and the start: try another.
                if self.requested_port or attempt == START_ATTEMPTS - 1:
                    raise PostgresUnavailable(
                        f"pg_ctl start failed (exit {result.returncode}): "
                        f"{(result.stderr or result.stdout).strip()}\n{tail(log)}")
        except BaseException:
            if (data / "postmaster.pid").exists():  # started, but not ready in time
                self._pg_stop(runner, pg_ctl, data)
            self._remove_folder()
            raise

    def _stop(self) -> None:
        if self.folder is None:
            return
        if self.running:
            self._pg_stop(self._runner(), self._binaries()[1], self.folder / "data")
            self.port = None
        self._remove_folder()

    @property
    def log_path(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return self.folder / "server.log"

    # -- internals ------------------------------------------------------------------------------------

    def _binaries(self) -> tuple[Path, Path]:
        initdb, pg_ctl = self.bin_dir / "initdb", self.bin_dir / "pg_ctl"
        missing = [p.name for p in (initdb, pg_ctl) if not os.access(p, os.X_OK)]
        if missing:
            raise PostgresUnavailable(
                f"PostgreSQL server binaries not found: {', '.join(missing)} missing in {self.bin_dir}. "
                f"Install the Debian package {PACKAGE} (apt-get install {PACKAGE}), or point "
                f"{BIN_DIR_VARIABLE} at a folder holding initdb and pg_ctl of PostgreSQL 15.")
        return initdb, pg_ctl

    def _runner(self) -> list[str]:
        """The command prefix that runs a PostgreSQL binary as a user it accepts."""
        if not self._as_root:
            return []
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root, PostgreSQL must run as another user, but runuser "
                                      "(package util-linux) is not installed")
        try:
            import pwd

            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, PostgreSQL must run as user {SERVICE_USER!r}, which does not exist; "
                f"installing the Debian package {PACKAGE} creates it") from None
        return [runuser, "-u", SERVICE_USER, "--"]

    @staticmethod
    def _pg_stop(runner: list[str], pg_ctl: Path, data: Path) -> None:
        subprocess.run([*runner, str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, stdin=subprocess.DEVNULL)

    def _make_folder(self) -> Path:
        """A temporary folder the server's user owns, below parents that user can traverse."""
        candidates = [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")]
        base = next((c for c in candidates if c.is_dir() and (not self._as_root or _traversable_by_others(c))),
                    None)
        if base is None:
            raise PostgresUnavailable(f"no temporary folder that user {SERVICE_USER!r} can reach "
                                      f"(tried {', '.join(map(str, candidates))}); set TMPDIR to one")
        folder = Path(tempfile.mkdtemp(prefix="mkt-pg-", dir=base))
        self._give_away(folder)
        return folder

    def _give_away(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, SERVICE_USER, SERVICE_USER)

    def _run(self, command: list[str], what: str) -> None:
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{what} failed (exit {result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()}")

    def _remove_folder(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def main() -> int:
    def announce(server: ThrowawayPostgres) -> None:
        print(server.url, flush=True)
        print(f"data in {server.folder}; Ctrl-C stops the server and deletes it", file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayPostgres().start, "PostgreSQL", announce)


if __name__ == "__main__":
    sys.exit(main())
