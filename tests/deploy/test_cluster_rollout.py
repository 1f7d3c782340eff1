"""The chart's Deployments under a real controller manager (the session's `kube` control plane).

The default profile is applied server-side into a namespace of its own (mkt-rollout). The deployment
and ReplicaSet controllers then do what they do in a cluster: each Deployment gets a ReplicaSet and
pods. No kubelet runs (and no scheduler), so the pods are never bound to a node: they stay Pending and
never become ready. A new image tag (a `helm upgrade --set image.tag=...`) rolls out as it would up to
the point where a new pod must become ready:

* the services' and the edge's RollingUpdate (maxSurge 1, maxUnavailable 0) adds a ReplicaSet of the
  new template at one pod and keeps the old one whole, since no new pod becomes available;
* the dev MongoDB-wire server's Recreate scales the old ReplicaSet to zero (an unbound pod is deleted at
  once) and then starts the new one."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import CHART, PROFILES, RELEASE, run_helm
from tests.deploy.manifests import load_all

NAMESPACE = "mkt-rollout"
FIELD_MANAGER = "mkt-tests"
PROFILE = "default"
NEW_TAG = "0.1.0-rollout"
TIMEOUT = 60.0


def render(helm, *extra: str) -> list[dict]:
    result = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *PROFILES[PROFILE], *extra)
    assert result.returncode == 0, result.stderr
    return load_all(result.stdout)


def owned_by(items: list[dict], owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [item for item in items
            if any(ref["uid"] == uid and ref.get("controller") for ref in item["metadata"].get("ownerReferences", []))]


def replica_sets(api, deployment: dict) -> list[dict]:
    return owned_by(api.items("apps/v1", "ReplicaSet", NAMESPACE), deployment)


def pods(api, replica_set: dict) -> list[dict]:
    return owned_by(api.items("v1", "Pod", NAMESPACE), replica_set)


def live(api, obj: dict) -> dict:
    return api.get(api.path(obj, NAMESPACE))


def observed(api, deployment: dict, replicas: int) -> dict | None:
    """The Deployment's status once the controller has seen its generation and counted its pods."""
    current = live(api, deployment)
    status = current.get("status", {})
    if status.get("observedGeneration") == current["metadata"]["generation"] and status.get("replicas") == replicas:
        return status
    return None


@pytest.fixture(scope="module")
def deployments(kube, helm) -> list[dict]:
    """The default profile applied; its Deployments as the server holds them."""
    api = kube.api
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, FIELD_MANAGER)
    objects = render(helm)
    outcome = api.apply_all(objects, FIELD_MANAGER)
    refused = {key: str(answer) for key, answer in outcome.items() if isinstance(answer, Exception)}
    assert refused == {}
    applied = [answer for answer in outcome.values() if answer["kind"] == "Deployment"]
    assert len(applied) >= 8, [d["metadata"]["name"] for d in applied]  # six services, the edge, the dev store
    return applied


def test_each_deployment_gets_a_replicaset_and_pending_pods(kube, deployments):
    api = kube.api
    for deployment in deployments:
        name, replicas = deployment["metadata"]["name"], deployment["spec"]["replicas"]

        def settled():
            sets = replica_sets(api, deployment)
            if len(sets) != 1 or sets[0].get("status", {}).get("replicas") != replicas:
                return None
            made = pods(api, sets[0])
            return (sets[0], made) if len(made) == replicas else None

        replica_set, made = api.wait_for(f"{name}: one ReplicaSet with {replicas} pods", settled, TIMEOUT)
        template = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert replica_set["spec"]["template"]["spec"]["containers"][0]["image"] == template
        assert replica_set["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        for pod in made:
            assert pod["status"]["phase"] == "Pending", pod["status"]
            assert not pod["spec"].get("nodeName"), "nothing schedules pods here, yet one was bound"
            assert pod["metadata"]["labels"]["pod-template-hash"] == \
                replica_set["metadata"]["labels"]["pod-template-hash"]
            # the ServiceAccount admission's default when the template names none (the dev store)
            assert pod["spec"]["serviceAccountName"] == \
                deployment["spec"]["template"]["spec"].get("serviceAccountName", "default")
        status = api.wait_for(f"{name}: its status counts the pods", lambda: observed(api, deployment, replicas),
                              TIMEOUT)
        assert status["replicas"] == replicas
        assert status.get("readyReplicas", 0) == 0 and status.get("availableReplicas", 0) == 0
        assert status["unavailableReplicas"] == replicas


def test_a_new_image_tag_rolls_out_as_a_new_replicaset(kube, helm, deployments):
    api = kube.api
    for deployment in deployments:  # the first rollout has settled before the second starts
        api.wait_for(f"{deployment['metadata']['name']}: first ReplicaSet",
                     lambda d=deployment: len(replica_sets(api, d)) == 1, TIMEOUT)
    outcome = api.apply_all(render(helm, "--set", f"image.tag={NEW_TAG}"), FIELD_MANAGER)
    updated = {answer["metadata"]["name"]: answer for answer in outcome.values()
               if not isinstance(answer, Exception) and answer["kind"] == "Deployment"}
    assert set(updated) == {d["metadata"]["name"] for d in deployments}

    for name, deployment in updated.items():
        old_image = next(d for d in deployments if d["metadata"]["name"] == name)[
            "spec"]["template"]["spec"]["containers"][0]["image"]
        new_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert new_image.endswith(f":{NEW_TAG}") and new_image != old_image
        assert deployment["metadata"]["generation"] == 2
        replicas, strategy = deployment["spec"]["replicas"], deployment["spec"]["strategy"]

        def rolled():
            sets = replica_sets(api, deployment)
            by_image = {s["spec"]["template"]["spec"]["containers"][0]["image"]: s for s in sets}
            if set(by_image) != {old_image, new_image}:
                return None
            live_deployment = live(api, deployment)
            if live_deployment.get("status", {}).get("observedGeneration") != 2:
                return None
            old, new = by_image[old_image], by_image[new_image]
            # RollingUpdate (maxSurge 1, maxUnavailable 0): one pod of the new template, the old ones all kept
            # (none is ready); Recreate: the old pods gone (unbound, deleted at once), the new ones made.
            expected = (replicas, 1) if strategy["type"] == "RollingUpdate" else (0, replicas)
            counts = (old["status"].get("replicas", 0), new["status"].get("replicas", 0))
            status = live_deployment["status"]
            updated = (status.get("updatedReplicas", 0), status.get("replicas", 0))
            if (old["spec"]["replicas"], new["spec"]["replicas"]) != expected or counts != expected \
                    or updated != (expected[1], sum(expected)):
                return None
            return old, new, live_deployment

        old, new, live_deployment = api.wait_for(f"{name}: the {strategy['type']} rollout's new ReplicaSet",
                                                 rolled, TIMEOUT)
        assert new["metadata"]["labels"]["pod-template-hash"] != old["metadata"]["labels"]["pod-template-hash"]
        assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        assert all(pod["status"]["phase"] == "Pending" for pod in pods(api, new))
        if strategy["type"] == "RollingUpdate":
            assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
            assert len(pods(api, old)) == replicas
        else:
            assert pods(api, old) == []
        assert live_deployment["status"].get("availableReplicas", 0) == 0
