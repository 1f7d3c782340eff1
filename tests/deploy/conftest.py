"""Fixtures of the deployment tests: the policy, Helm (built once by devstack/tools/helm.py) and the
chart rendered with each values file. Without Helm the chart's tests are skipped, or fail under
CI=true (tests/conftest.py's _unavailable)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.tools.helm import HelmUnavailable, ensure_installed
from mesh.policy import Policy, load
from tests.conftest import _unavailable
from tests.deploy.manifests import load_all

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "marketing-platform"
RELEASE, NAMESPACE = "marketing", "marketing"

# name -> helm arguments; each is rendered once per session.
PROFILES = {
    "default": [],
    "production": ["-f", str(CHART / "values-production.yaml")],
    "dev": ["-f", str(CHART / "values-dev.yaml")],
    "mesh-only": ["--set", "mesh.enabled=true"],
}


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load()


@pytest.fixture(scope="session")
def helm() -> Path:
    try:
        return ensure_installed(quiet=True)
    except HelmUnavailable as error:
        _unavailable("helm", str(error))


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, cwd=REPO, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def rendered(helm):
    """rendered(profile) -> the objects `helm template` makes with that profile's values."""
    cache: dict[str, list[dict]] = {}

    def render(profile: str) -> list[dict]:
        if profile not in cache:
            result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *PROFILES[profile])
            assert result.returncode == 0, f"helm template ({profile}) failed:\n{result.stderr}"
            cache[profile] = load_all(result.stdout)
        return cache[profile]

    return render


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
