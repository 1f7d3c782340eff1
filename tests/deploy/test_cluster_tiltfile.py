"""The Tiltfile's Kubernetes mode (`tilt up -- --mode=k8s`) against the session's API server, as far as
that goes without Tilt and a container runtime (helm/README.md, "The Tiltfile against the API server").

The Tiltfile is evaluated (devstack/tools/tilt_eval.py: real Starlark, Tilt's functions recorded); each
k8s_yaml(helm(...)) it declares is rendered as Tilt would (`helm template` with the same release name,
namespace and values files) and applied server-side into the namespace it names. Then what Tilt would
check at `tilt up`: every object accepted; each k8s_resource names a workload that exists on the server
(Tilt assigns a Deployment to the resource of its name, and refuses a k8s_resource naming none); each
image a docker_build makes is the image of a workload's container, so Tilt would put its build there
(matched by name, the tag ignored); each resource_deps entry names a resource of the Tiltfile. The
controller manager makes each workload's pods, which stay Pending (no kubelet)."""

from __future__ import annotations

import pytest

from devstack.tools.tilt_eval import evaluate
from tests.deploy.conftest import REPO, run_helm
from tests.deploy.manifests import load_all

FIELD_MANAGER = "mkt-tilt"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod"}
TIMEOUT = 60.0


def _helm_arguments(call) -> tuple[str, list[str]]:
    """Tilt's helm(chart, name=, namespace=, values=, set=) as `helm template` arguments; (namespace, args)."""
    known = {"name", "namespace", "values", "set"}
    assert set(call.kwargs) <= known, f"helm() arguments this test does not translate: {set(call.kwargs) - known}"
    chart = call.args[0]
    namespace = call.get("namespace") or "default"
    args = ["template", call.get("name") or "chart", str(REPO / chart), "--namespace", namespace]
    for values in call.get("values") or []:
        args += ["-f", str(REPO / values)]
    for setting in call.get("set") or []:
        args += ["--set", setting]
    return namespace, args


def _image_name(image: str) -> str:
    """registry/name:tag -> registry/name (Tilt matches a docker_build's ref by name, not by tag)."""
    last = image.rsplit("/", 1)
    if ":" in last[-1]:
        image = image[: image.rfind(":")]
    return image.split("@", 1)[0]


@pytest.fixture(scope="module")
def tilt_k8s(kube, helm):
    """(evaluation, [(namespace, objects, outcome)]): the k8s mode's objects applied to the API server."""
    evaluation = evaluate({"mode": "k8s"})
    applied = []
    for k8s_yaml in evaluation.named("k8s_yaml"):
        (source,) = k8s_yaml.args
        assert isinstance(source, dict) and source.get("__tilt__") == "helm", \
            f"k8s_yaml of something other than helm(...): {source}"
        helm_call = next(c for c in evaluation.named("helm") if c.kwargs == source["kwargs"])
        namespace, args = _helm_arguments(helm_call)
        result = run_helm(helm, *args)
        assert result.returncode == 0, result.stderr
        objects = load_all(result.stdout)
        # Tilt applies into an existing namespace (it does not create the one helm() names).
        kube.api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, FIELD_MANAGER)
        applied.append((namespace, objects, kube.api.apply_all(objects, FIELD_MANAGER, namespace=namespace)))
    return evaluation, applied


def test_every_object_the_tiltfile_declares_is_accepted(tilt_k8s):
    evaluation, applied = tilt_k8s
    assert applied, "the k8s mode declares no Kubernetes objects"
    for namespace, objects, outcome in applied:
        assert len(outcome) == len(objects) > 20
        refused = {key: str(answer) for key, answer in outcome.items() if isinstance(answer, Exception)}
        assert refused == {}, f"refused in {namespace}"
        for obj in objects:  # the server's answer: the object stored, in the namespace helm() names
            answer = outcome[f"{obj['kind']}/{obj['metadata']['name']}"]
            assert answer["metadata"]["uid"] and answer["metadata"].get("namespace", namespace) == namespace


def test_each_k8s_resource_is_a_workload_on_the_server_with_its_pods(kube, tilt_k8s):
    evaluation, applied = tilt_k8s
    workloads = {}
    for namespace, objects, _ in applied:
        for obj in objects:
            if obj["kind"] in WORKLOAD_KINDS:
                workloads[obj["metadata"]["name"]] = (namespace, obj)
    names = [call.args[0] if call.args else call["workload"] for call in evaluation.named("k8s_resource")]
    assert len(names) == len(set(names)) and len(names) >= 8
    missing = sorted(set(names) - set(workloads))
    assert missing == [], f"k8s_resource names no workload (Tilt: 'no Kubernetes resource named ...'): {missing}"
    for name in names:
        namespace, obj = workloads[name]
        held = kube.api.get(kube.api.path(obj, namespace))
        assert held["kind"] == obj["kind"] and held["metadata"]["name"] == name
        if obj["kind"] == "Deployment":  # its pods made by the controller manager, Pending
            selector = obj["spec"]["selector"]["matchLabels"]
            pods = kube.api.wait_for(f"a pod of {name}", lambda: [
                pod for pod in kube.api.items("v1", "Pod", namespace)
                if all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())], TIMEOUT)
            assert {pod["status"].get("phase") for pod in pods} == {"Pending"}


def test_each_docker_build_image_is_deployed_and_each_dependency_is_a_resource(tilt_k8s):
    evaluation, applied = tilt_k8s
    images = {_image_name(container["image"])
              for _, objects, _ in applied for obj in objects if obj["kind"] in WORKLOAD_KINDS
              for container in [*obj["spec"]["template"]["spec"].get("initContainers", []),
                                *obj["spec"]["template"]["spec"]["containers"]]}
    refs = [call.args[0] for name in ("docker_build", "ext://restart_process:docker_build_with_restart")
            for call in evaluation.named(name)]
    assert len(refs) == 7
    unused = sorted(ref for ref in refs if ref not in images)
    assert unused == [], f"images Tilt would build but no workload runs (Tilt warns: 'Image not used'): {unused}"
    resources = {call.args[0] for name in ("k8s_resource", "local_resource") for call in evaluation.named(name)}
    for call in evaluation.named("k8s_resource"):
        assert set(call.get("resource_deps") or []) <= resources, call.args[0]
