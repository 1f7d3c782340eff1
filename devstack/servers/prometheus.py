"""A real Prometheus (Debian's `prometheus` package, /usr/bin/prometheus) scraping a started platform.

- scrape_targets(platform): every scrape target of a devstack Platform, with the job names of
  docs/observability.md: `<service>` (its /metrics), `edge` (the edge Envoy's admin
  /stats/prometheus) and, with the local mesh, `sidecar-<service>` (each sidecar's admin port);
- PrometheusServer: writes a config (those targets, the scrape interval, `rule_files` for whatever
  deploy/prometheus/*.rules.yaml exist), starts the server, waits for `/-/ready`, and answers
  queries; wait_until_up() polls until every target is `up` (the first scrape comes ~6 s after the
  start, whatever the interval);
- prometheus_child(platform, ...): the same server as one of the platform's supervised children, for
  `make run` (MKT_PROMETHEUS, MKT_PROMETHEUS_PORT).

    python -m devstack.servers.prometheus --check   # says whether the binary is installed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from svc_kit.config import ConfigError
from svc_kit.services import SERVICES
from svc_kit.settings_spec import Variable

if TYPE_CHECKING:
    from devstack.servers.platform import Platform

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy" / "prometheus"
RULES_GLOB = "*.rules.yaml"
BINARY = "/usr/bin/prometheus"
INSTALL_HINT = "sudo apt-get install prometheus"
TEST_INTERVAL = "1s"
RUN_INTERVAL = "5s"

ENABLED = Variable("MKT_PROMETHEUS", "text", "on", "`make run` starts Prometheus when it is installed (off: never)")
PORT = Variable("MKT_PROMETHEUS_PORT", "port", 9090, "port of the Prometheus `make run` starts (127.0.0.1)")
VARIABLES = (ENABLED, PORT)
_ON, _OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


class PrometheusError(RuntimeError):
    pass


@dataclass(frozen=True)
class ScrapeTarget:
    job: str  # `<service>`, `edge`, `sidecar-<service>`
    address: str  # host:port
    path: str  # /metrics or /stats/prometheus


def scrape_targets(platform: Platform) -> list[ScrapeTarget]:
    """Every scrape target of a started devstack Platform: the services' metrics ports, the edge's
    admin port, and each sidecar's admin port when the local mesh is on."""
    targets = [ScrapeTarget(spec.name, f"127.0.0.1:{platform.settings[spec.name].metrics_port}", "/metrics")
               for spec in SERVICES]
    targets.append(ScrapeTarget("edge", f"127.0.0.1:{platform.edge.admin_port}", "/stats/prometheus"))
    if platform.mesh is not None:
        targets += [ScrapeTarget(f"sidecar-{name}", f"127.0.0.1:{sidecar.admin_port}", "/stats/prometheus")
                    for name, sidecar in platform.mesh.sidecars.items()]
    return targets


def rule_files(rules_dir: Path = RULES_DIR) -> list[Path]:
    """The generated rule files that exist (part of the repository once the SLO generator wrote them)."""
    return sorted(rules_dir.glob(RULES_GLOB)) if rules_dir.is_dir() else []


def render_config(targets: list[ScrapeTarget], interval: str, rules: list[Path]) -> dict:
    """A Prometheus config: one scrape job per target (its job name is what the rules and the
    dashboards group by), the global interval, and the rule files."""
    jobs = [{"job_name": t.job, "metrics_path": t.path, "scrape_interval": interval,
             "scrape_timeout": interval, "static_configs": [{"targets": [t.address]}]} for t in targets]
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(path) for path in rules], "scrape_configs": jobs}


def binary() -> str | None:
    """The prometheus program, or None when it is not installed."""
    if os.access(BINARY, os.X_OK):
        return BINARY
    return shutil.which("prometheus")


def settings(env: Mapping[str, str]) -> tuple[bool, int]:
    """(MKT_PROMETHEUS is on, MKT_PROMETHEUS_PORT); ConfigError for a value that is neither on nor off."""
    raw = (ENABLED.read(env) or "on").strip().lower()
    if raw not in _ON + _OFF:
        raise ConfigError(f"{ENABLED.name}={raw!r} must be on or off")
    return raw in _ON, PORT.read(env)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def argv(program: str, folder: Path, port: int) -> list[str]:
    return [program, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=2d", "--log.level=warn"]


def write_config(folder: Path, targets: list[ScrapeTarget], interval: str, rules: list[Path] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(render_config(targets, interval, rule_files() if rules is None else rules),
                                   sort_keys=False))
    return path


class Client:
    """Prometheus's HTTP API at `url`."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def get(self, path: str, timeout: float = 5.0, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=timeout) as response:
            return json.loads(response.read())

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def query(self, promql: str) -> list[dict]:
        """An instant query's result (a list of {metric, value})."""
        answer = self.get("/api/v1/query", query=promql)
        if answer.get("status") != "success":
            raise PrometheusError(f"{promql}: {answer}")
        return answer["data"]["result"]

    def targets(self) -> list[dict]:
        return self.get("/api/v1/targets", state="active")["data"]["activeTargets"]

    def rules(self) -> list[dict]:
        return self.get("/api/v1/rules")["data"]["groups"]

    def wait_ready(self, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if process is not None and process.poll() is not None:
                raise PrometheusError(f"prometheus exited with code {process.returncode} while starting")
            if time.monotonic() > deadline:
                raise PrometheusError(f"{self.url}/-/ready not ready after {timeout:.0f} s")
            time.sleep(0.1)

    def wait_until_up(self, jobs: list[str] | None = None, timeout: float = 60.0) -> list[dict]:
        """Polls until every target (of `jobs`, when given) has been scraped and is up; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            targets = [t for t in self.targets() if jobs is None or t["labels"].get("job") in jobs]
            seen = {t["labels"].get("job") for t in targets}
            if targets and all(t["health"] == "up" for t in targets) and (jobs is None or seen >= set(jobs)):
                return targets
            if time.monotonic() > deadline:
                down = [f"{t['labels'].get('job')} {t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}".strip()
                        for t in targets if t["health"] != "up"]
                missing = sorted(set(jobs or ()) - seen)
                raise PrometheusError(f"targets not up after {timeout:.0f} s: {down + missing}")
            time.sleep(0.5)


class PrometheusServer:
    """A throwaway Prometheus in `folder` on 127.0.0.1:`port` (tests, tools)."""

    def __init__(self, folder: Path, port: int, targets: list[ScrapeTarget], interval: str = TEST_INTERVAL,
                 rules: list[Path] | None = None, program: str | None = None):
        self.folder = folder
        self.port = port
        self.targets = targets
        self.interval = interval
        self.rules = rules
        self.program = program or binary()
        self.process: subprocess.Popen | None = None
        self.client = Client(self.url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if self.program is None:
            raise PrometheusError(f"prometheus is not installed ({INSTALL_HINT})")
        write_config(self.folder, self.targets, self.interval, self.rules)
        log = open(self.folder / "prometheus.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(argv(self.program, self.folder, self.port), stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._log = log
        try:
            self.client.wait_ready(timeout, self.process)
        except PrometheusError:
            tail = (self.folder / "prometheus.log").read_text(errors="replace").splitlines()[-5:]
            self.stop()
            raise PrometheusError(f"prometheus did not start: {' | '.join(tail)}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None


def main(argv_: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.servers.prometheus", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 (with the install hint) when not installed")
    args = parser.parse_args(argv_)
    program = binary()
    if program is None:
        print(f"prometheus is not installed: {INSTALL_HINT}", file=sys.stderr)
        return 1 if args.check else 0
    print(f"prometheus: {program}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["VARIABLES", "Client", "ConfigError", "PrometheusError", "PrometheusServer", "ScrapeTarget",
           "binary", "render_config", "rule_files", "scrape_targets", "settings", "write_config"]
