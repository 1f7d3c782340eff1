"""Fixtures of the deployment tests: the policy, Helm (built once by devstack/tools/helm.py), the
chart rendered with each values file, and one Kubernetes control plane for the session (`kube`:
etcd, kube-apiserver and kube-controller-manager built once by devstack/tools/controlplanes.py, with
the Istio and Prometheus Operator CRDs installed; test_cluster_istiod.py starts istiod on it). Without
Helm or the control plane their tests are skipped, or fail under CI=true (tests/conftest.py's
_unavailable)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from devstack.tools.helm import HelmUnavailable, ensure_installed
from mesh.policy import Policy, load
from tests.conftest import _say, _unavailable
from tests.deploy.manifests import ISTIO_CRDS, PROMETHEUS_OPERATOR_CRDS, load_all

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


def crd_documents() -> list[dict]:
    """The Istio and Prometheus Operator CRDs of ../shared/schemas (read there, never copied)."""
    files = [ISTIO_CRDS, *sorted(PROMETHEUS_OPERATOR_CRDS.glob("monitoring.coreos.com_*.yaml"))]
    documents = [doc for path in files for doc in load_all(path.read_text())]
    return [doc for doc in documents if doc.get("kind") == "CustomResourceDefinition"]


def install_crds(api) -> None:
    """Applies the CRDs server-side and waits until each is Established (its kinds served)."""
    crds = crd_documents()
    for crd in crds:
        api.apply(crd)
    api.wait_established([crd["metadata"]["name"] for crd in crds])


@pytest.fixture(scope="package")
def kube(request):
    """One throwaway control plane for the deployment tests (stopped after them: idle, it still costs
    CPU that the later suites need), with the controller manager (ReplicaSets, pods that
    stay Pending: there is no kubelet) and the CRDs installed."""
    from devstack.servers.kube import KubeUnavailable, ThrowawayKube

    if not ISTIO_CRDS.is_file():
        _unavailable("the Kubernetes control plane", f"the Istio CRDs are missing: {ISTIO_CRDS}")
    server = ThrowawayKube(controller_manager=True, setup=install_crds)
    began = time.monotonic()
    try:
        server.start()
    except KubeUnavailable as error:
        _unavailable("the Kubernetes control plane", str(error))
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in server.timings.items())
    _say(request, f"Kubernetes control plane started in {time.monotonic() - began:.1f} s with the CRDs installed "
                  f"({timings}): {server.url}")
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """The local sidecars against istiod (test_cluster_istiod.py): every fact that differs, and why."""
    from tests.deploy import mesh_compare

    if mesh_compare.COMPARED:
        terminalreporter.section("local sidecars (mesh/envoy.py) against istiod")
        facts = ", ".join(f"{w} {n}" for w, n in mesh_compare.COMPARED_FACTS.items())
        terminalreporter.write_line(f"facts compared: {facts}; the ones that differ:")
        for line in mesh_compare.table(mesh_compare.COMPARED, reasons=False).splitlines():
            terminalreporter.write_line(line)

