"""VictoriaLogs (Apache-2.0), the log store the platform's JSON log lines are shipped to.

    python -m devstack.servers.victorialogs --install   # builds it if missing (devstack/install.sh test runs this)
    python -m devstack.servers.victorialogs             # a throwaway one in the foreground, prints its URL

In code:

    with ThrowawayVictoriaLogs() as logs:                 # a free port of 127.0.0.1, data in a temporary folder
        logs.url                                          # http://127.0.0.1:PORT
        logs.query("trace_id:4bf92f3577b34da6a3ce929d0e0e4736")   # matching lines, as dicts

`go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2` (Go 1.21+, which fetches
the toolchain the module asks for) into ~/.cache/marketing-platform/victoria-logs-v1.52.2/<digest of the
build flags>/victoria-logs, or $MKT_VICTORIALOGS_HOME/<digest>/: built once (about 20 s with the module
cache warm, a 15 MB binary), found with one stat afterwards (no Go needed then), under a lock so two
checkouts never build it at once. `make run` starts one (devstack/servers/run.py) when it is built, as a
child of the platform, with its data in <state dir>/victorialogs.

Ready means `GET /health` answers OK. Lines go in through `/insert/jsonline` (devstack/logship.py) and are
queryable with LogsQL within about a second (`/select/logsql/query`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from devstack.processes import tail
from devstack.servers.lifecycle import LaunchedServer, ServerUnavailable, run_in_foreground
from devstack.tools.gobuild import GoTool

VERSION = "v1.52.2"
PACKAGE = "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
HOME_VARIABLE = "MKT_VICTORIALOGS_HOME"
LDFLAGS = "-s -w"
READY_TIMEOUT = 30.0
FAILED_START_LOG = Path(tempfile.gettempdir()) / "mkt-victorialogs-failed-start.log"


class VictoriaLogsUnavailable(ServerUnavailable):
    """VictoriaLogs cannot be built or started here; the message says why and what to do."""


TOOL = GoTool(f"VictoriaLogs {VERSION}", PACKAGE, VERSION, "victoria-logs", "victoria-logs", HOME_VARIABLE,
              VictoriaLogsUnavailable, LDFLAGS)


def installed() -> Path | None:
    """The binary when it is built, else None (nothing is built)."""
    return TOOL.installed()


def ensure_installed(quiet: bool = False) -> Path:
    """The victoria-logs binary, built with `go install` the first time; instant afterwards."""
    return TOOL.ensure_installed(quiet)


def command(binary: Path, data: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """How the platform and the throwaway server run it: quiet (its own log at WARN), data in `data`."""
    return [str(binary), f"-storageDataPath={data}", f"-httpListenAddr={host}:{port}", "-loggerLevel=WARN"]


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200 and response.read().strip() == b"OK"
    except OSError:
        return False


def query(url: str, logsql: str, limit: int = 1000, timeout: float = 10.0) -> list[dict]:
    """The lines matching a LogsQL query (`trace_id:ID`, `service:campaign AND error`...), as dicts."""
    body = urllib.parse.urlencode({"query": logsql, "limit": limit}).encode()
    request = urllib.request.Request(f"{url}/select/logsql/query", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class ThrowawayVictoriaLogs(LaunchedServer):
    folder_prefix = "mkt-victorialogs-"
    log_name = "victorialogs.log"

    def __init__(self) -> None:
        super().__init__()
        self.port: int | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("VictoriaLogs is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self.port}"

    @property
    def failed_start_log(self) -> Path:
        return FAILED_START_LOG

    def _prepare(self) -> list[str]:
        try:
            return [str(ensure_installed())]
        except VictoriaLogsUnavailable:
            raise
        except OSError as error:
            raise VictoriaLogsUnavailable(f"cannot build VictoriaLogs: {error}") from None

    def _launch(self, prefix: list[str], port: int) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command(Path(prefix[0]), self.folder / "data", port),
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _wait_until_ready(self, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise VictoriaLogsUnavailable(f"victoria-logs exited with code {self.process.returncode}:\n"
                                              f"{tail(self.log_path)}")
            if healthy(f"http://127.0.0.1:{port}", timeout=0.5):
                return
            time.sleep(0.05)
        raise VictoriaLogsUnavailable(f"victoria-logs not ready after {READY_TIMEOUT:.0f} s:\n{tail(self.log_path)}")

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        self.port = None if ports is None else ports[0]

    def query(self, logsql: str, limit: int = 1000) -> list[dict]:
        return query(self.url, logsql, limit)


def main(argv: list[str]) -> int:
    if argv == ["--install"]:
        try:
            ensure_installed()
        except VictoriaLogsUnavailable as error:
            print(f"victoria-logs: {error}", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m devstack.servers.victorialogs [--install]", file=sys.stderr)
        return 2

    def announce(server: ThrowawayVictoriaLogs) -> None:
        print(f"VictoriaLogs {VERSION} on {server.url} (query: {server.url}/select/logsql/query, "
              f"UI: {server.url}/select/vmui/); Ctrl-C stops it", flush=True)

    return run_in_foreground(lambda: ThrowawayVictoriaLogs().start(), f"VictoriaLogs {VERSION}", announce)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
