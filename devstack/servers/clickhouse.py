"""A throwaway ClickHouse server (Debian `clickhouse-server`, 18.16) for tests and local development.

    python -m devstack.servers.clickhouse     # runs one in the foreground, prints its URL, Ctrl-C stops it

In code:

    with ThrowawayClickHouse() as ch:
        ch.url            # clickhouse://127.0.0.1:TCP_PORT/default (native protocol, clickhouse-driver)
        ch.http_url       # http://127.0.0.1:HTTP_PORT/ (GET /ping answers "Ok.")

It runs with a generated `<yandex>` config in a temporary folder (data, tmp, user files, format
schemas and its logs all below it), listens on 127.0.0.1 only on two free ports (HTTP and native
TCP), and has one user, `default`, without password, allowed from 127.0.0.1 only. It is ready when
`GET /ping` answers "Ok.". The Debian package's own service is not used (its config listens on
fixed ports and keeps data in /var/lib/clickhouse). ClickHouse 18.16 runs as root without
complaint; its standard input is a pipe from this process, so it is stopped (by the lifecycle's
atexit hook, or SIGTERM) rather than left behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

from devstack.processes import free_port, tail
from devstack.servers.lifecycle import LaunchedServer, ServerUnavailable, run_in_foreground

BINARY_VARIABLE = "MKT_CLICKHOUSE_SERVER"
DEFAULT_BINARY = "clickhouse-server"
PACKAGE = "clickhouse-server"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

_CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{folder}/log/clickhouse-server.log</log>
        <errorlog>{folder}/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <mark_cache_size>268435456</mark_cache_size>
    <path>{folder}/data/</path>
    <tmp_path>{folder}/tmp/</tmp_path>
    <user_files_path>{folder}/user_files/</user_files_path>
    <format_schema_path>{folder}/format_schemas/</format_schema_path>
    <users_config>{folder}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
"""

_USERS = """<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"""


class ClickHouseUnavailable(ServerUnavailable):
    """The throwaway server cannot be started here; the message says why and what to do."""


def server_url(tcp_port: int, database: str = "default", host: str = "127.0.0.1") -> str:
    return f"clickhouse://{host}:{tcp_port}/{database}"


def server_binary() -> str:
    configured = os.environ.get(BINARY_VARIABLE)
    # /usr/sbin, where Debian puts it, is not on every user's PATH.
    found = shutil.which(configured) if configured else (
        shutil.which(DEFAULT_BINARY) or shutil.which(DEFAULT_BINARY, path="/usr/sbin:/usr/bin"))
    if found is None:
        raise ClickHouseUnavailable(
            f"the ClickHouse server binary ({configured or DEFAULT_BINARY}) was not found. Install the Debian "
            f"package {PACKAGE} (apt-get install {PACKAGE}; `devstack/install.sh test` does it as root), "
            f"or point {BINARY_VARIABLE} at a clickhouse-server binary")
    return found


class ThrowawayClickHouse(LaunchedServer):
    """A ClickHouse server in a temporary folder, on two free ports of 127.0.0.1 (HTTP, native TCP)."""

    folder_prefix = "mkt-clickhouse-"
    log_name = "server.log"  # its stdout/stderr; its own logs are in log/ beside it
    stop_timeout = STOP_TIMEOUT

    def __init__(self, ready_timeout: float = READY_TIMEOUT):
        super().__init__()
        self.ready_timeout = ready_timeout
        self.http_port: int | None = None
        self.tcp_port: int | None = None

    # -- public ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The native-protocol URL clickhouse-driver (and svc_analytics' store) takes."""
        if self.tcp_port is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return server_url(self.tcp_port)

    @property
    def http_url(self) -> str:
        if self.http_port is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self.http_port}/"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.tcp_port is not None

    @property
    def failed_start_log(self) -> Path:
        return Path(tempfile.gettempdir()) / "mkt-clickhouse-failed-start.log"

    # -- internals ------------------------------------------------------------------------------------

    def _prepare(self) -> list[str]:
        return [server_binary()]

    def _pick_ports(self) -> tuple[int, ...]:
        http_port = free_port()
        tcp_port = free_port()
        while tcp_port == http_port:
            tcp_port = free_port()
        return http_port, tcp_port

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        self.http_port, self.tcp_port = ports if ports else (None, None)

    def _launch(self, command: list[str], http_port: int, tcp_port: int) -> None:
        assert self.folder is not None
        for sub in ("data", "tmp", "user_files", "format_schemas", "log"):
            (self.folder / sub).mkdir(exist_ok=True)
        folder = escape(str(self.folder))
        (self.folder / "users.xml").write_text(_USERS)
        config = self.folder / "config.xml"
        config.write_text(_CONFIG.format(folder=folder, http_port=http_port, tcp_port=tcp_port))
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches Python, which then stops the server.
            self.process = subprocess.Popen([*command, f"--config-file={config}"], cwd=self.folder,
                                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def _wait_until_ready(self, http_port: int, tcp_port: int) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise ClickHouseUnavailable(f"clickhouse-server exited with code {code} while starting; the last "
                                            f"lines of its logs:\n{self._logs_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=1) as response:
                    body = response.read().decode(errors="replace").strip()
                if body == "Ok.":
                    return
                last = f"/ping answered {body!r}"
            except (urllib.error.URLError, OSError) as error:
                last = f"/ping: {error}"
            time.sleep(0.05)
        raise ClickHouseUnavailable(f"clickhouse-server was not ready after {self.ready_timeout:.0f} s ({last}); "
                                    f"the last lines of its logs:\n{self._logs_tail()}")

    def _logs_tail(self) -> str:
        assert self.folder is not None
        # "Address already in use" lands in the error log; LaunchedServer looks for it in log_path.
        error_log = self.folder / "log" / "clickhouse-server.err.log"
        text = tail(error_log)
        if text:
            with open(self.log_path, "a") as log:
                log.write(text + "\n")
        return tail(self.log_path)


def main() -> int:
    def announce(server: ThrowawayClickHouse) -> None:
        print(server.url, flush=True)
        print(f"ClickHouse ready in {server.startup_seconds:.2f} s; HTTP {server.http_url}; data and logs in "
              f"{server.folder}; Ctrl-C stops it and deletes its data", file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayClickHouse().start, "ClickHouse", announce)


if __name__ == "__main__":
    sys.exit(main())
