"""The local Envoy sidecars (mesh/envoy.py, as `make run` and `tilt up` start them) against what istiod
generates for the same workload from the chart's Istio objects: both reduced to the same facts, so that
what is only representational (cluster and listener names, stat prefixes, SNI, ports, namespaces,
certificates by file or by SDS) drops out and what either side enforces remains.

Facts, per workload (a service or the edge), each a short string:

  reach                   the services it can call on their gRPC ports (a cluster for each)
  reach.other-ports       other ports of those services it has a cluster for
  <callee>.mtls           the caller presents a certificate and speaks TLS to the callee
  <callee>.peer-identity  the SPIFFE identities the caller accepts from the callee ("any of the mesh CA")
  <callee>.connect_timeout, .limits, .outlier, .idle_timeout, .lb_policy
  <callee>.route[<match>] timeout and retries (retry_on/num_retries/per_try_timeout) of each route, by its
                          match: "path:/pkg.Service/Method" or "default" (the catch-all)
  inbound.mtls            the service port: STRICT (only TLS with a client certificate) or plaintext
  inbound.metrics         the metrics port
  callers.<identity>      who may call the service port and which paths: allowed minus excluded
  callers.*identity-header  the DENY rule for the identity header from anyone but its sender
"""

from __future__ import annotations

import re
from pathlib import Path

from mesh.istio import EDGE
from mesh.policy import Policy

SPIFFE = re.compile(r"^spiffe://(?P<principal>.+)$")


def identity_names(policy: Policy, namespace: str) -> dict[str, str]:
    """spiffe://<principal> (in `namespace`) -> the policy's identity name."""
    return {"spiffe://" + identity.principal(policy.trust_domain, namespace): name
            for name, identity in policy.identities.items()}


def _walk(node, key: str):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _camel(node):
    """snake_case keys (the local configs) as Envoy's JSON names (the config dump): one spelling to read."""
    if isinstance(node, dict):
        return {re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), k) if not k.startswith("@") else k: _camel(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


# -- pieces read the same way on both sides --------------------------------------------------------------------


def _cluster_facts(cluster: dict) -> dict[str, str]:
    thresholds = (cluster.get("circuitBreakers", {}).get("thresholds") or [{}])[0]
    outliers = cluster.get("outlierDetection", {})
    options = cluster.get("typedExtensionProtocolOptions", {}).get(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {})
    socket = cluster.get("transportSocket", {})
    context = socket.get("typedConfig", {}).get("commonTlsContext", {})
    return {
        "mtls": str(socket.get("name") == "envoy.transport_sockets.tls"
                    and bool(context.get("tlsCertificateSdsSecretConfigs") or context.get("tlsCertificates"))),
        "connect_timeout": str(cluster.get("connectTimeout")),
        "limits": " ".join(f"{key}={thresholds.get(key)}" for key in
                           ("maxConnections", "maxPendingRequests", "maxRequests", "maxRetries")),
        "outlier": " ".join(f"{key}={outliers.get(key)}" for key in
                            ("consecutiveGatewayFailure", "enforcingConsecutiveGatewayFailure", "consecutive5xx",
                             "enforcingConsecutive5xx", "interval", "baseEjectionTime", "maxEjectionPercent")),
        "idle_timeout": str(options.get("commonHttpProtocolOptions", {}).get("idleTimeout")),
        "lb_policy": str(cluster.get("lbPolicy", "ROUND_ROBIN")),
    }


def _peer_identities(cluster: dict, names: dict[str, str]) -> str:
    matchers = [entry["matcher"] for group in _walk(cluster, "matchTypedSubjectAltNames") for entry in group]
    matchers += [entry for group in _walk(cluster, "matchSubjectAltNames") for entry in group]
    sans = sorted({matcher.get("exact", str(matcher)) for matcher in matchers})
    return ",".join(names.get(san, san) for san in sans) or "any of the mesh CA"


def _route_facts(routes: list[dict]) -> dict[str, str]:
    """route[<match>] -> 'timeout=... retries=N on=... per_try=...' (the first route of each match: Envoy's)."""
    out: dict[str, str] = {}
    for route in routes:
        match = route.get("match", {})
        if "path" in match:
            key = f"path:{match['path']}"
        elif "prefix" in match:
            key = "default"  # the callee's catch-all: "/" (a sidecar, istiod) or the service's prefix (the edge)
        else:
            continue  # the edge's transcoded REST routes (regex): not the mesh's
        if f"route[{key}]" in out:
            continue
        action = route.get("route", {})
        retry = action.get("retryPolicy", {})
        attempts = retry.get("numRetries", 0)
        text = f"timeout={action.get('timeout', '15s')} retries={attempts}"
        if attempts:
            text += f" on={retry.get('retryOn')} per_try={retry.get('perTryTimeout')}"
        out[f"route[{key}]"] = text
    return out


def _permission_paths(node, negated: bool = False, into: dict | None = None) -> dict[str, set[str]]:
    """The url paths an RBAC permission names: {"allow": {...}, "except": {...}} ('exact:/x', 'prefix:/x/')."""
    into = into if into is not None else {"allow": set(), "except": set(), "ports": set()}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "notRule":
                _permission_paths(value, not negated, into)
            elif key == "urlPath":
                path = value["path"]
                kind = "exact" if "exact" in path else "prefix"
                into["except" if negated else "allow"].add(f"{kind}:{path[kind]}")
            elif key == "destinationPort":
                into["ports"].add(value)
            else:
                _permission_paths(value, negated, into)
    elif isinstance(node, list):
        for item in node:
            _permission_paths(item, negated, into)
    return into


def _rbac_facts(filters: list[dict], names: dict[str, str], metrics_port: int | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for rbac in (f for f in filters if f.get("name", "").startswith("envoy.filters.http.rbac")):
        rules = rbac.get("typedConfig", {}).get("rules", {})
        action = rules.get("action", "ALLOW")
        for policy in rules.get("policies", {}).values():
            paths = _permission_paths(policy.get("permissions", []))
            if metrics_port is not None and paths["ports"] == {metrics_port}:
                continue  # the metrics port's own rule: see inbound.metrics
            principals = policy.get("principals", [])
            headers = sorted(h["name"] for h in _walk(principals, "header")) + \
                sorted(h["name"] for h in _walk(policy.get("permissions", []), "header"))
            if action == "DENY":
                exempt = sorted(names.get(p["exact"], p["exact"]) for p in _walk(principals, "principalName"))
                out["callers.*identity-header"] = f"DENY {','.join(headers)} unless from {','.join(exempt)}"
                continue
            ids = sorted(names.get(p["exact"], p["exact"]) for p in _walk(principals, "principalName"))
            if not ids:
                continue  # deny-by-default (Istio's empty AuthorizationPolicy): no principal
            text = " ".join(sorted(paths["allow"]))
            if paths["except"]:
                text += " except " + " ".join(sorted(paths["except"]))
            for name in ids:
                out[f"callers.{name}"] = text
    return out


# -- the local side --------------------------------------------------------------------------------------------


def local_facts(policy: Policy, workload: str, state: Path) -> dict[str, str]:
    """Facts of the local sidecar of `workload` (or of the local edge), rendered by mesh/local.py's LocalMesh
    into `state` (no certificates needed: the configs name their files)."""
    from edge.settings import load_edge_settings
    from mesh.local import LocalMesh

    mesh = LocalMesh(state, {})
    names = identity_names(policy, policy.namespace)
    if workload == EDGE:
        config = _camel(mesh.edge_config(load_edge_settings({"MKT_STATE_DIR": str(state)})))
        clusters = {c["name"]: c for c in config["staticResources"]["clusters"]}
        callee_clusters = {s.name: clusters.get(s.name) for s in policy.services}
        manager = config["staticResources"]["listeners"][0]["filterChains"][0]["filters"][0]["typedConfig"]
        routes = manager["routeConfig"]["virtualHosts"][0]["routes"]
        routes_of = {s.name: [r for r in routes if r.get("route", {}).get("cluster") == s.name]
                     for s in policy.services}
        facts = {"inbound.mtls": "plaintext (the public entry point)", "inbound.metrics": "plaintext (Envoy admin)"}
    else:
        config = _camel(mesh.sidecar_config(workload))
        clusters = {c["name"]: c for c in config["staticResources"]["clusters"]}
        listeners = {l["name"]: l for l in config["staticResources"]["listeners"]}
        callee_clusters = {c.name: clusters.get(f"outbound_{c.name}") for c in policy.callees(workload)}
        routes_of = {}
        for callee in policy.callees(workload):
            listener = listeners[f"outbound_{callee.name}"]
            manager = listener["filterChains"][0]["filters"][0]["typedConfig"]
            routes_of[callee.name] = manager["routeConfig"]["virtualHosts"][0]["routes"]
        inbound = listeners["inbound"]
        chains = inbound["filterChains"]
        strict = all(c.get("transportSocket", {}).get("typedConfig", {}).get("requireClientCertificate")
                     for c in chains)
        facts = {"inbound.mtls": "STRICT" if strict else "plaintext allowed",
                 "inbound.metrics": "plaintext (the service's own port, not through the sidecar)"}
        for chain in chains:
            manager = chain["filters"][-1]["typedConfig"]
            facts |= _rbac_facts(manager.get("httpFilters", []), names, None)
    reachable = sorted(name for name, cluster in callee_clusters.items() if cluster is not None)
    facts |= {"reach": ",".join(reachable), "reach.other-ports": ""}
    for name in reachable:
        cluster = callee_clusters[name]
        facts |= {f"{name}.{k}": v for k, v in _cluster_facts(cluster).items()}
        facts[f"{name}.peer-identity"] = _peer_identities(cluster, names)
        facts |= {f"{name}.{k}": v for k, v in _route_facts(routes_of.get(name, [])).items()}
    return facts


# -- istiod's side ---------------------------------------------------------------------------------------------


def istiod_facts(policy: Policy, workload: str, dump: dict, namespace: str, port: int,
                 metrics_port: int) -> dict[str, str]:
    """Facts of what istiod generated for a sidecar of `workload` in `namespace` (test_cluster_istiod's dump)."""
    names = identity_names(policy, namespace)
    by_host = {s.host(namespace): s for s in policy.services}
    reachable, other_ports, facts = [], [], {}
    for name, cluster in dump["clusters"].items():
        if not name.startswith("outbound|"):
            continue
        cluster_port, _, host = name.split("|")[1:]
        service = by_host.get(host)
        if service is None:
            continue
        if int(cluster_port) != service.spec.grpc_port:
            other_ports.append(f"{service.name}:{cluster_port}")
            continue
        reachable.append(service.name)
        facts |= {f"{service.name}.{k}": v for k, v in _cluster_facts(cluster).items()}
        facts[f"{service.name}.peer-identity"] = _peer_identities(cluster, names)
        config = dump["routes"].get(str(service.spec.grpc_port), {})
        hosts = [vh for vh in config.get("virtualHosts", []) if vh.get("name") == f"{host}:{service.spec.grpc_port}"]
        routes = hosts[0].get("routes", []) if hosts else []
        facts |= {f"{service.name}.{k}": v for k, v in _route_facts(
            [{**r, "match": r.get("match") or {"prefix": "/"}} for r in routes]).items()}
    facts |= {"reach": ",".join(sorted(reachable)), "reach.other-ports": ",".join(sorted(other_ports))}

    inbound = dump["listeners"].get("virtualInbound", {})
    chains = [c for c in inbound.get("filterChains", [])
              if c.get("filterChainMatch", {}).get("destinationPort") == port]
    strict = bool(chains) and all(
        c["filterChainMatch"].get("transportProtocol") == "tls"
        and c.get("transportSocket", {}).get("typedConfig", {}).get("requireClientCertificate") for c in chains)
    facts["inbound.mtls"] = "STRICT" if strict else "plaintext allowed"
    metrics = [c for c in inbound.get("filterChains", [])
               if c.get("filterChainMatch", {}).get("destinationPort") == metrics_port]
    protocols = sorted({c["filterChainMatch"].get("transportProtocol", "any") for c in metrics})
    facts["inbound.metrics"] = "PERMISSIVE (" + ",".join(protocols) + ")" if len(protocols) > 1 else \
        ",".join(protocols)
    for chain in chains:
        filters = [f for group in _walk(chain, "httpFilters") for f in group]
        facts |= _rbac_facts(filters, names, metrics_port)
    return facts


# -- the comparison --------------------------------------------------------------------------------------------

# The facts asserted equal on both sides: what the policy is about.
POLICY_FACTS = ("reach", "*.mtls", "inbound.mtls", "callers.*")


def compare(workload: str, local: dict[str, str], istiod: dict[str, str],
            allowed: dict[tuple[str, str], str]) -> list[tuple[str, str, str, str, str]]:
    """Rows (fact, local, istiod, verdict, reason) for every fact that differs; verdict 'explained' when
    (workload pattern, fact pattern) is in `allowed` (patterns with *) and the fact is not a policy fact (the
    edge's inbound side excepted: only Kubernetes has an ingress gateway in front of it), else 'DIFFERENT'."""
    rows = []
    for fact in sorted(set(local) | set(istiod)):
        mine, theirs = _value(local, fact), _value(istiod, fact)
        if mine == theirs:
            continue
        reason = next((why for (w, f), why in allowed.items() if _matches(workload, w) and _matches(fact, f)), "")
        policy_fact = any(_matches(fact, p) for p in POLICY_FACTS)
        verdict = "explained" if reason and not (policy_fact and workload != EDGE) else "DIFFERENT"
        rows.append((fact, mine, theirs, verdict, reason))
    return rows


def _matches(text: str, pattern: str) -> bool:
    """`pattern` with * for any text (and nothing else special: facts have brackets)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), text) is not None


def _value(facts: dict[str, str], fact: str) -> str:
    """A fact, or for a method's route that one side has not got, that side's default route of the callee
    (where the method's calls go there: the same timeout and retries)."""
    if fact in facts:
        return facts[fact]
    match = re.fullmatch(r"(?P<callee>[^.]+)\.route\[path:.+\]", fact)
    if match and f"{match['callee']}.route[default]" in facts:
        return facts[f"{match['callee']}.route[default]"]
    return "(none)"


def table(rows_by_workload: dict[str, list[tuple[str, str, str, str, str]]], reasons: bool = True) -> str:
    """The differences as a table; without `reasons`, each reason is numbered and listed once below."""
    lines = [f"{'workload':<13} {'fact':<52} {'local sidecar':<44} {'istiod':<44} verdict"]
    numbered: dict[str, int] = {}
    for workload, rows in rows_by_workload.items():
        if not rows:
            lines.append(f"{workload:<13} {'(every fact agrees)':<52}")
        for fact, mine, theirs, verdict, reason in rows:
            why = (f": {reason}" if reasons else f" ({numbered.setdefault(reason, len(numbered) + 1)})") \
                if reason else ""
            lines.append(f"{workload:<13} {fact:<52} {mine[:44]:<44} {theirs[:44]:<44} {verdict}{why}")
    lines += [f"({number}) {reason}" for reason, number in numbered.items()]
    return "\n".join(lines)


# Filled by the comparison test, printed in the run's summary by tests/deploy/conftest.py.
COMPARED: dict[str, list[tuple[str, str, str, str, str]]] = {}
COMPARED_FACTS: dict[str, int] = {}
