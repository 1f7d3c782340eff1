"""Fixtures of the SLO tests: promtool and prometheus from Debian's `prometheus` package (2.42; installed
by devstack/install.sh). Without them the tests are skipped, or fail under CI=true."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
