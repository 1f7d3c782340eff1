"""The Helm chart (helm/marketing-platform): lint, render with each values file, validate every
object against the Kubernetes and CRD schemas, and check what the platform needs of it."""

from __future__ import annotations

import pytest

from mesh import edge_kubernetes, istio
from mesh.render import stale_chart_files
from svc_kit.services import SERVICES
from tests.deploy.conftest import CHART, NAMESPACE, PROFILES, by_kind, run_helm
from tests.deploy.manifests import schema_errors

WORKLOADS = [s.name for s in SERVICES] + ["edge"]
MESH_KINDS = {"PeerAuthentication", "AuthorizationPolicy", "DestinationRule", "VirtualService", "Sidecar",
              "Gateway", "Telemetry"}


def test_generated_chart_files_are_current(policy):
    assert stale_chart_files(policy) == [], "run `.venv/bin/python -m mesh.render --chart` and commit the result"


@pytest.mark.parametrize("values", ["values.yaml", "values-production.yaml", "values-dev.yaml"])
def test_helm_lint(helm, values):
    result = run_helm(helm, "lint", "--strict", str(CHART), "-f", str(CHART / values))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_object_validates_against_its_schema(rendered, profile):
    objects = rendered(profile)
    assert objects
    assert schema_errors(objects) == []


@pytest.mark.parametrize("profile", list(PROFILES))
def test_deployments_are_hardened_probed_and_limited(rendered, profile):
    deployments = by_kind(rendered(profile), "Deployment")
    assert set(WORKLOADS) <= set(deployments)
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        strategy = spec["strategy"]
        if name == "mongo":  # the dev MongoDB: one data folder, one pod
            assert strategy["type"] == "Recreate"
        else:
            assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0, name
        pod = spec["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            assert container.get("readinessProbe") and container.get("livenessProbe"), f"{where}: probes"
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), f"{where}: limits"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), f"{where}: requests"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security["runAsNonRoot"] is True, where
            assert security["readOnlyRootFilesystem"] is (profile != "dev"), where


def test_services_have_grpc_probes_ports_and_identity(rendered, policy):
    objects = rendered("default")
    deployments, services = by_kind(objects, "Deployment"), by_kind(objects, "Service")
    accounts = by_kind(objects, "ServiceAccount")
    for spec in SERVICES:
        pod = deployments[spec.name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["command"] == ["python", "-m", spec.package]
        assert container["readinessProbe"]["grpc"] == {"port": spec.grpc_port, "service": spec.grpc_service}
        assert container["livenessProbe"]["grpc"] == {"port": spec.grpc_port}
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
            "grpc": spec.grpc_port, "http-metrics": spec.metrics_port}
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/var/lib/marketing", "/tmp"}
        assert pod["serviceAccountName"] == policy.service(spec.name).identity.service_account
        assert accounts[pod["serviceAccountName"]]["automountServiceAccountToken"] is False
        assert {p["name"]: p["port"] for p in services[spec.name]["spec"]["ports"]} == {
            "grpc": spec.grpc_port, "http-metrics": spec.metrics_port}
    edge = deployments["edge"]["spec"]["template"]["spec"]
    assert edge["serviceAccountName"] == policy.edge.identity.service_account
    assert [p["name"] for p in services["edge"]["spec"]["ports"]] == ["http2", "http-metrics"]


def test_config_and_secret_references(rendered):
    objects = rendered("production")
    config = by_kind(objects, "ConfigMap")["marketing-config"]["data"]
    assert config["MKT_BUS"] == "pulsar" and config["MKT_PULSAR_URL"].startswith("pulsar://")
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
    assert config["MKT_BIND_HOST"] == "0.0.0.0" and config["MKT_STATE_DIR"] == "/var/lib/marketing"
    deployments = by_kind(objects, "Deployment")

    def secret_env(name: str) -> dict[str, str]:
        env = deployments[name]["spec"]["template"]["spec"]["containers"][0]["env"]
        return {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in env if "valueFrom" in e}

    assert secret_env("campaign")["MKT_CAMPAIGN_DATABASE_URL"] == "campaign-database-url"
    assert secret_env("audience")["MKT_AUDIENCE_MONGODB_URL"] == "audience-mongodb-url"
    assert secret_env("analytics")["MKT_ANALYTICS_CLICKHOUSE_URL"] == "analytics-clickhouse-url"
    assert secret_env("integrations")["MKT_INTEGRATIONS_CREDENTIAL_KEYS"] == "integrations-credential-keys"
    for spec in SERVICES:
        assert secret_env(spec.name)["MKT_LINK_SIGNING_KEY"] == "link-signing-key"
    assert not by_kind(objects, "Secret"), "the chart never holds secrets"


def test_campaign_migrates_in_a_hook_job_not_on_start(rendered):
    objects = rendered("production")
    job = by_kind(objects, "Job")["campaign-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "mkt", "campaign", "migrate"]
    assert any(e["name"] == "MKT_CAMPAIGN_DATABASE_URL" for e in container["env"])
    env = by_kind(objects, "Deployment")["campaign"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "MKT_CAMPAIGN_MIGRATE_ON_START", "value": "false"} in env
    # Without the job (default values) the service migrates on start, as under `make run`.
    default_env = by_kind(rendered("default"), "Deployment")["campaign"]["spec"]["template"]["spec"]["containers"][0]
    assert not by_kind(rendered("default"), "Job")
    assert all(e["name"] != "MKT_CAMPAIGN_MIGRATE_ON_START" for e in default_env["env"])


def test_availability_objects(rendered):
    objects = rendered("production")
    hpas, pdbs = by_kind(objects, "HorizontalPodAutoscaler"), by_kind(objects, "PodDisruptionBudget")
    deployments = by_kind(objects, "Deployment")
    for name in WORKLOADS:
        assert hpas[name]["spec"]["scaleTargetRef"]["name"] == name
        assert hpas[name]["spec"]["minReplicas"] >= 2
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns the replica count"
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= \
            deployments[name]["spec"]["template"]["metadata"]["labels"].items()


def test_service_monitors_scrape_the_metrics_ports(rendered):
    objects = rendered("production")
    monitors, services = by_kind(objects, "ServiceMonitor"), by_kind(objects, "Service")
    assert set(monitors) == set(WORKLOADS)
    for name, monitor in monitors.items():
        assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
        assert monitor["spec"]["selector"]["matchLabels"].items() <= services[name]["metadata"]["labels"].items()
    assert not by_kind(rendered("default"), "ServiceMonitor")


def test_a_pod_monitor_scrapes_the_istio_sidecars_with_the_mesh(rendered):
    objects = rendered("production")
    [monitor] = by_kind(objects, "PodMonitor").values()
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http-envoy-prom", "/stats/prometheus")
    assert endpoint["relabelings"][0]["targetLabel"] == "job"
    assert endpoint["relabelings"][0]["replacement"] == "sidecar-$1"
    [expression] = monitor["spec"]["selector"]["matchExpressions"]
    pods = by_kind(objects, "Deployment")
    assert set(expression["values"]) == set(WORKLOADS)
    for name in WORKLOADS:
        labels = pods[name]["spec"]["template"]["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert labels[expression["key"]] == name
    for profile in ("default", "mesh-only"):  # no Prometheus Operator, or no sidecars
        assert not by_kind(rendered(profile), "PodMonitor")


def test_mesh_objects_only_with_the_toggle(rendered, policy):
    assert not [o for o in rendered("default") if o["kind"] in MESH_KINDS]
    for profile in ("production", "mesh-only"):
        objects = rendered(profile)
        for kind in ("DestinationRule", "VirtualService", "AuthorizationPolicy", "Sidecar"):
            assert set(WORKLOADS) <= set(by_kind(objects, kind)), f"{profile}: {kind}"
        mesh_objects = [o for o in objects if o["kind"] in MESH_KINDS]
        assert all(o["metadata"]["namespace"] == NAMESPACE for o in mesh_objects)
        # The same objects as the renderer makes, but for the ingress hosts the values may set.
        expected = {(o["kind"], o["metadata"]["name"]) for o in istio.render(policy, NAMESPACE)}
        assert {(o["kind"], o["metadata"]["name"]) for o in mesh_objects} == expected
        pods = [d["spec"]["template"]["metadata"]["labels"] for d in by_kind(objects, "Deployment").values()]
        for obj in mesh_objects:
            selector = (obj["spec"].get("selector") or {}).get("matchLabels") or \
                (obj["spec"].get("workloadSelector") or {}).get("labels")
            if selector and obj["kind"] != "Gateway":
                where = f"{obj['kind']}/{obj['metadata']['name']}"
                assert any(selector.items() <= labels.items() for labels in pods), where
        injected = [labels.get("sidecar.istio.io/inject") for labels in pods]
        assert injected.count("true") == len(WORKLOADS)


def test_production_ingress_hosts_and_tls(rendered, policy):
    objects = rendered("production")
    gateway = by_kind(objects, "Gateway")[istio.GATEWAY]
    assert [s["port"]["number"] for s in gateway["spec"]["servers"]] == [policy.ingress.port, 443]
    assert gateway["spec"]["servers"][1]["tls"] == {"mode": "SIMPLE", "credentialName": "marketing-api-tls"}
    assert by_kind(objects, "VirtualService")["edge"]["spec"]["hosts"] == ["api.marketing.example.com"]
    assert by_kind(rendered("mesh-only"), "VirtualService")["edge"]["spec"]["hosts"] == list(policy.ingress.hosts)


def test_authorization_policies_name_only_declared_callers(rendered, policy):
    """Each workload's AuthorizationPolicy allows exactly the policy's callers and methods, and
    anonymous callers only GET /metrics on the metrics port."""
    objects = rendered("production")
    policies = by_kind(objects, "AuthorizationPolicy")
    assert policies["deny-by-default"]["spec"] == {}
    for name in WORKLOADS:
        if name == "edge":
            grants, port = policy.edge.grants, edge_kubernetes.settings().port
            metrics_port = edge_kubernetes.EDGE_METRICS_PORT
        else:
            service = policy.service(name)
            grants, port, metrics_port = service.grants, service.spec.grpc_port, service.spec.metrics_port
        declared = {policy.principal(g.caller, NAMESPACE): set(g.methods) for g in grants}
        spec = policies[name]["spec"]
        assert spec["action"] == "ALLOW"
        seen = {}
        for rule in spec["rules"]:
            operation = rule["to"][0]["operation"]
            if "from" not in rule:
                assert operation["methods"] == ["GET"] and operation["paths"] == list(policy.metrics_paths), name
                assert operation["ports"] == [str(metrics_port)], name
                continue
            (principal,) = rule["from"][0]["source"]["principals"]
            assert principal in declared, f"{name}: {principal} is not a declared caller"
            assert set(operation["paths"]) == declared[principal], f"{name}: {principal}"
            assert operation["ports"] == [str(port)], name
            seen[principal] = True
        assert set(seen) == set(declared), f"{name}: callers missing from its AuthorizationPolicy"


def test_dev_values_run_the_images_tilt_builds(rendered):
    """values-dev.yaml (the Tiltfile's k8s mode): images named as Tilt builds them, and the image's
    entrypoint (Tilt's restart wrapper) instead of a command."""
    from devstack.tools.tilt_eval import evaluate

    evaluation = evaluate({"mode": "k8s"})
    built = {c.args[0] for c in evaluation.calls if c.name.endswith("docker_build_with_restart")}
    built |= {c.args[0] for c in evaluation.named("docker_build")}
    deployments = by_kind(rendered("dev"), "Deployment")
    for name in WORKLOADS:
        for container in deployments[name]["spec"]["template"]["spec"]["containers"]:
            assert container["image"].rsplit(":", 1)[0] in built, container["image"]
    for spec in SERVICES:
        assert "command" not in deployments[spec.name]["spec"]["template"]["spec"]["containers"][0]
    assert "mongo" in deployments


@pytest.mark.parametrize("profile", ["default", "production"])
def test_the_chart_never_turns_the_launch_fault_injection_on(rendered, profile):
    """MKT_CAMPAIGN_FAULT_INJECTION is for tests only (docs/services/campaign.md): no config map or container
    of the chart sets it."""
    objects = rendered(profile)
    config = by_kind(objects, "ConfigMap")["marketing-config"]["data"]
    assert "MKT_CAMPAIGN_FAULT_INJECTION" not in config
    for name, deployment in by_kind(objects, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert all(e["name"] != "MKT_CAMPAIGN_FAULT_INJECTION" for e in container.get("env", [])), name


def test_prometheus_rules_carry_the_generated_slo_rules(rendered):
    """One PrometheusRule per service with exactly the groups of deploy/prometheus/<service>.rules.yaml
    (both generated from slo/<service>.yaml); only with metrics.prometheusRule.enabled. The schema test
    above validates them against the Prometheus Operator's CRD."""
    import yaml

    from slo.generate import rule_file

    rules = by_kind(rendered("production"), "PrometheusRule")
    assert set(rules) == {f"slo-{s.name}" for s in SERVICES}
    for spec in SERVICES:
        rule = rules[f"slo-{spec.name}"]
        assert rule["metadata"]["namespace"] == NAMESPACE
        assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert rule["spec"] == yaml.safe_load(rule_file(spec.name).read_text()), spec.name
    assert not by_kind(rendered("default"), "PrometheusRule")
