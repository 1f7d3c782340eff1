"""The Tiltfile evaluates in both modes (devstack/tools/tilt_eval.py: real Starlark, Tilt's functions
recorded) and sets up every service in each."""

from __future__ import annotations

import pytest

from devstack.tools.tilt_eval import TILTFILE, TiltfileError, evaluate
from svc_kit.services import SERVICES


def _kwargs_of(value) -> dict:
    """A recorded call's answer (probe(...), helm(...)) as passed on to another call."""
    assert isinstance(value, dict) and "__tilt__" in value, value
    return value["kwargs"]


def test_local_mode_runs_every_service_and_the_edge_with_readiness_probes():
    evaluation = evaluate()  # the default mode
    names = [call.args[0] for call in evaluation.named("local_resource")]
    for spec in SERVICES:
        resource = evaluation.resource("local_resource", spec.name)
        assert resource.get("serve_cmd", "").endswith(f"-m {spec.package}")
        assert spec.package in resource["deps"]
        probe = _kwargs_of(resource["readiness_probe"])
        assert _kwargs_of(probe["tcp_socket"])["port"] == spec.grpc_port
        assert resource["labels"] == ["services"]
    edge = evaluation.resource("local_resource", "edge")
    assert "envoy" in edge["serve_cmd"]
    assert set(edge["resource_deps"]) >= {s.name for s in SERVICES} | {"healthz"}
    assert _kwargs_of(_kwargs_of(edge["readiness_probe"])["http_get"])["path"] == "/healthz"
    assert "mongo" in evaluation.resource("local_resource", "audience")["resource_deps"]
    assert not evaluation.named("k8s_yaml") and not evaluation.named("docker_build")
    assert len(names) == len(set(names)), "resource names are unique"


def test_local_mode_has_the_sidecar_hook():
    source = TILTFILE.read_text()
    assert "def local_sidecars(" in source and "def local_sidecar_resources(" in source


def test_k8s_mode_builds_every_service_and_installs_the_chart():
    evaluation = evaluate({"mode": "k8s"})
    assert evaluation.loads == ["ext://restart_process"]
    builds = {call.args[0]: call for call in evaluation.named("ext://restart_process:docker_build_with_restart")}
    for spec in SERVICES:
        build = builds[f"marketing-platform/{spec.name}"]
        assert build["target"] == "dev" and build["build_args"] == {"SERVICE": spec.name}
        assert build["entrypoint"] == ["python", "-m", spec.package]
        synced = [step["args"] for step in build["live_update"] if step["__tilt__"] == "sync"]
        assert [spec.package, f"/app/{spec.package}"] in synced and ["svc_kit", "/app/svc_kit"] in synced
        resource = evaluation.resource("k8s_resource", spec.name)
        assert f"{spec.grpc_port}:{spec.grpc_port}" in resource["port_forwards"]
        assert resource["labels"] == ["services"] and "resource_deps" in resource.kwargs
    assert evaluation.resource("docker_build", "marketing-platform/edge")["build_args"] == {"SERVICE": "edge"}
    (helm,) = evaluation.named("helm")
    assert helm.args[0] == "helm/marketing-platform"
    assert helm["values"] == ["helm/marketing-platform/values-dev.yaml"]
    (k8s_yaml,) = evaluation.named("k8s_yaml")
    assert k8s_yaml.args[0]["__tilt__"] == "helm"
    edge = evaluation.resource("k8s_resource", "edge")
    assert set(edge["resource_deps"]) == {s.name for s in SERVICES}
    assert not [c for c in evaluation.named("local_resource") if c.get("serve_cmd")], "nothing runs locally"


def test_an_unknown_mode_is_refused():
    with pytest.raises(TiltfileError, match="--mode must be local or k8s"):
        evaluate({"mode": "cloud"})
