"""Fixtures of the SLO tests: promtool and prometheus from Debian's `prometheus` package (2.42; installed
by devstack/install.sh). Without them the tests are skipped, or fail under CI=true."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devstack.processes import free_port, stop_process, tail
from tests.conftest import _unavailable

INSTALL_HINT = "install Debian's prometheus package (apt-get install prometheus; devstack/install.sh test does)"


def _binary(name: str) -> Path:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
    if not found:
        _unavailable(name, f"no {name} on PATH: {INSTALL_HINT}")
    return Path(found)


@pytest.fixture(scope="session")
def promtool() -> Path:
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> Path:
    return _binary("prometheus")


@dataclass(frozen=True)
class LocalPrometheus:
    url: str
    config: Path


def start_prometheus(binary: Path, folder: Path, scrape_configs: list[dict], rule_files: list[Path],
                     interval: str = "1s") -> tuple[subprocess.Popen, LocalPrometheus]:
    """A throwaway Prometheus in `folder`, on a free port, ready (GET /-/ready) when this returns.
    (devstack/servers/prometheus.py starts the platform's; this one is the SLO tests' own, small one.)"""
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": scrape_configs,
    }, sort_keys=False))
    log = folder / "prometheus.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(binary), f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with code {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"prometheus not ready after 30 s:\n{tail(log)}")
        time.sleep(0.1)
    return process, LocalPrometheus(url, config)
