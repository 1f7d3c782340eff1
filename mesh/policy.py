"""Reads and checks mesh/policy.yaml, the one description of the mesh.

    from mesh.policy import load
    policy = load()                       # mesh/policy.yaml; PolicyError names the field of a mistake
    policy.service("audience").grants     # who may call which of its methods
    policy.callees("notify")              # the services notify calls

The model is neutral: durations in milliseconds, identities as (trust domain,
namespace, service account), methods as full gRPC paths. mesh/istio.py renders
it to Istio objects; the local Envoy sidecars render the same model to Envoy
RBAC and cluster settings (see mesh/README.md).

    python -m mesh.policy [FILE]          # checks a policy file, prints a summary
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from svc_kit.services import SERVICES, ServiceSpec

POLICY_FILE = Path(__file__).resolve().parent / "policy.yaml"
DESCRIPTOR_SET = Path(__file__).resolve().parent.parent / "marketing" / "api_descriptor.pb"

# Retry conditions the mesh understands; each is an Envoy/Istio retry_on word
# (gRPC status names and HTTP-level conditions alike).
RETRY_CONDITIONS = ("unavailable", "reset", "connect-failure", "refused-stream", "cancelled",
                    "deadline-exceeded", "resource-exhausted", "internal", "gateway-error", "5xx")
_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")  # a Kubernetes DNS label


class PolicyError(ValueError):
    """A mistake in the policy file; the message starts with the file and the field."""


# -- the model ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    ms: int

    @property
    def seconds(self) -> float:
        return self.ms / 1000

    def go(self) -> str:
        """Go duration syntax, as Istio takes it: "250ms", "5s", "2m"."""
        if self.ms % 60_000 == 0 and self.ms >= 60_000:
            return f"{self.ms // 60_000}m"
        if self.ms % 1000 == 0:
            return f"{self.ms // 1000}s"
        return f"{self.ms}ms"

    def proto(self) -> str:
        """google.protobuf.Duration in JSON, as Envoy takes it: "0.250s", "5s"."""
        whole, rest = divmod(self.ms, 1000)
        return f"{whole}s" if rest == 0 else f"{whole}.{rest:03d}s"


@dataclass(frozen=True)
class Retries:
    attempts: int  # retries after the first try; 0 = none
    per_try_timeout: Duration
    on: tuple[str, ...]
    max_outstanding: int  # retries in flight to all of the callee's endpoints at once (the budget)

    @property
    def retry_on(self) -> str:
        return ",".join(self.on)


@dataclass(frozen=True)
class ConnectionPool:
    max_connections: int
    connect_timeout: Duration
    max_requests: int
    max_pending_requests: int
    idle_timeout: Duration


@dataclass(frozen=True)
class OutlierDetection:
    consecutive_gateway_errors: int
    consecutive_5xx_errors: int
    interval: Duration
    base_ejection_time: Duration
    max_ejection_percent: int


@dataclass(frozen=True)
class Route:
    """Methods with their own deadline and retries; () = every other method."""

    methods: tuple[str, ...]
    timeout: Duration
    retries: Retries


@dataclass(frozen=True)
class Identity:
    name: str
    service_account: str | None  # in the policy's namespace
    fixed_principal: str | None = None  # a workload elsewhere (Istio's ingress gateway)

    def principal(self, trust_domain: str, namespace: str) -> str:
        """Istio's form: cluster.local/ns/<namespace>/sa/<service account>."""
        return self.fixed_principal or f"{trust_domain}/ns/{namespace}/sa/{self.service_account}"

    def spiffe_id(self, trust_domain: str, namespace: str) -> str:
        """The URI SAN in the workload's certificate: spiffe://cluster.local/ns/.../sa/..."""
        return "spiffe://" + self.principal(trust_domain, namespace)


@dataclass(frozen=True)
class Grant:
    caller: str  # an identity's name
    methods: tuple[str, ...]  # full gRPC paths or HTTP paths; a trailing * matches a prefix
    excluded: tuple[str, ...] = ()  # full gRPC paths a wildcard above does not cover for this caller

    def allows(self, path: str) -> bool:
        if path in self.excluded:
            return False
        return any(path == m or (m.endswith("*") and path.startswith(m[:-1])) for m in self.methods)


@dataclass(frozen=True)
class Service:
    spec: ServiceSpec
    identity: Identity
    grants: tuple[Grant, ...]
    routes: tuple[Route, ...]  # specific routes first; the last has methods == () (the default)
    connection_pool: ConnectionPool
    outlier_detection: OutlierDetection

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def grpc_service(self) -> str:
        return self.spec.grpc_service

    @property
    def default_route(self) -> Route:
        return self.routes[-1]

    def host(self, namespace: str, cluster_domain: str = "cluster.local") -> str:
        return f"{self.name}.{namespace}.svc.{cluster_domain}"


@dataclass(frozen=True)
class Edge:
    identity: Identity
    grants: tuple[Grant, ...]
    route: Route
    connection_pool: ConnectionPool
    outlier_detection: OutlierDetection


@dataclass(frozen=True)
class Ingress:
    gateway_selector: Mapping[str, str]
    hosts: tuple[str, ...]
    port: int


@dataclass(frozen=True)
class Policy:
    namespace: str
    trust_domain: str
    cluster_domain: str
    identities: Mapping[str, Identity]  # every caller and callee by name
    services: tuple[Service, ...]  # in the order of svc_kit.services.SERVICES
    edge: Edge
    ingress: Ingress
    metrics_paths: tuple[str, ...]
    trace_sampling_percent: float
    source: Path = field(default=POLICY_FILE, compare=False)
    # The header carrying the verified identity, and the one client that may send it (the edge).
    identity_header: str | None = None
    identity_sender: str | None = None

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def principal(self, identity: str, namespace: str | None = None) -> str:
        return self.identities[identity].principal(self.trust_domain, namespace or self.namespace)

    def callees(self, caller: str) -> tuple[Service, ...]:
        """The services `caller` may call (some of) the methods of."""
        return tuple(s for s in self.services if any(g.caller == caller for g in s.grants))

    def callers(self) -> tuple[str, ...]:
        return tuple(sorted({g.caller for s in self.services for g in s.grants} |
                            {g.caller for g in self.edge.grants}))


# -- reading ------------------------------------------------------------------------------------------


class _Reader:
    """Walks the YAML tree, keeping the path for error messages."""

    def __init__(self, source: Path):
        self.source = source

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source.name}: {where}: {message}" if where else f"{self.source.name}: {message}")

    def mapping(self, value, where: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, not {_kind(value)}")
        allowed = set(required) | set(optional)
        if allowed:
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise self.fail(_join(where, unknown[0]), f"unknown key; expected one of {', '.join(sorted(allowed))}")
            missing = [key for key in required if key not in value]
            if missing:
                raise self.fail(where, f"missing required key {missing[0]!r}")
        return value

    def sequence(self, value, where: str, non_empty: bool = True) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list, not {_kind(value)}")
        if non_empty and not value:
            raise self.fail(where, "must not be empty")
        return value

    def string(self, value, where: str, pattern: re.Pattern | None = None, what: str = "") -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"must be a non-empty string, not {_kind(value)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(where, f"{value!r} is not {what or 'valid'}")
        return value

    def integer(self, value, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a whole number, not {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(where, f"{value} must lie between {low} and {high}")
        return value

    def duration(self, value, where: str, low_ms: int = 1, high_ms: int = 3_600_000) -> Duration:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match:
            raise self.fail(where, f"{value!r} is not a duration such as 250ms, 5s, 2m or 1h")
        ms = int(match.group(1)) * _UNITS_MS[match.group(2)]
        if not low_ms <= ms <= high_ms:
            raise self.fail(where, f"{value} must lie between {Duration(low_ms).go()} and {Duration(high_ms).go()}")
        return Duration(ms)


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__


def _join(where: str, key) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def _merge(base: dict, override: dict | None) -> dict:
    if not override:
        return dict(base)
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged


@lru_cache(maxsize=4)
def grpc_methods(descriptor_set: Path = DESCRIPTOR_SET) -> dict[str, frozenset[str]]:
    """Every gRPC service a platform service serves, with its methods: the APIs in the descriptor
    set, plus the health and reflection services svc_kit/server.py adds to each."""
    from google.protobuf import descriptor_pb2
    from grpc_health.v1 import health_pb2
    from grpc_reflection.v1alpha import reflection_pb2

    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    except OSError as error:
        raise PolicyError(f"cannot read the descriptor set {descriptor_set} (make proto writes it): {error}") from None
    services: dict[str, frozenset[str]] = {}
    for file in files.file:
        for service in file.service:
            name = f"{file.package}.{service.name}" if file.package else service.name
            services[name] = frozenset(m.name for m in service.method)
    for module in (health_pb2, reflection_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            services[service.full_name] = frozenset(m.name for m in service.methods)
    # Envoy's external authorization, served by the integrations service for the edge's key check.
    services[EXT_AUTHZ_SERVICE] = frozenset({"Check"})
    return services


EXT_AUTHZ_SERVICE = "envoy.service.auth.v3.Authorization"
STANDARD_SERVICES = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", EXT_AUTHZ_SERVICE)

_TRAFFIC_KEYS = ("timeout", "retries", "connection_pool", "outlier_detection")


def load(path: Path | str = POLICY_FILE, descriptor_set: Path = DESCRIPTOR_SET) -> Policy:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyError(f"cannot read {path}: {error}") from None
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise PolicyError(f"{path.name}: not valid YAML: {error}") from None
    return parse(document, path, descriptor_set)


def parse(document, source: Path = POLICY_FILE, descriptor_set: Path = DESCRIPTOR_SET) -> Policy:
    r = _Reader(source)
    top = r.mapping(document, "", required=("version", "namespace", "defaults", "clients", "services", "edge",
                                            "ingress", "metrics", "telemetry"),
                    optional=("trust_domain", "cluster_domain", "standard_methods", "identity_header"))
    if top["version"] != 1:
        raise r.fail("version", f"{top['version']!r} is not a version this loader reads (1)")
    namespace = r.string(top["namespace"], "namespace", _NAME, "a Kubernetes namespace name")
    trust_domain = r.string(top.get("trust_domain", "cluster.local"), "trust_domain",
                            re.compile(r"^[a-z0-9.-]+$"), "a trust domain")
    cluster_domain = r.string(top.get("cluster_domain", "cluster.local"), "cluster_domain",
                              re.compile(r"^[a-z0-9.-]+$"), "a cluster domain")
    methods_by_service = grpc_methods(descriptor_set)

    # Aliases such as `health` for lists of standard methods.
    aliases: dict[str, tuple[str, ...]] = {}
    for name, methods in r.mapping(top.get("standard_methods") or {}, "standard_methods").items():
        where = f"standard_methods.{name}"
        r.string(name, where, _NAME, "an alias name")
        checked = []
        for index, method in enumerate(r.sequence(methods, where)):
            checked.append(_grpc_method(r, method, _join(where, index), methods_by_service, STANDARD_SERVICES))
        aliases[name] = tuple(checked)

    defaults = r.mapping(top["defaults"], "defaults", required=_TRAFFIC_KEYS)
    # Checked on their own first, so that a mistake there is named as the defaults' own.
    r.duration(defaults["timeout"], "defaults.timeout")
    _retries(r, defaults["retries"], "defaults.retries")
    _pool(r, defaults["connection_pool"], "defaults.connection_pool")
    _outliers(r, defaults["outlier_detection"], "defaults.outlier_detection")

    identities: dict[str, Identity] = {}
    for name, block in r.mapping(top["clients"], "clients").items():
        where = f"clients.{name}"
        r.string(name, where, _NAME, "a client name (lower case, digits and dashes)")
        block = r.mapping(block, where, optional=("service_account", "principal"))
        if ("service_account" in block) == ("principal" in block):
            raise r.fail(where, "give either service_account (a workload in the namespace) or principal")
        if "principal" in block:
            principal = r.string(block["principal"], where + ".principal",
                                 re.compile(r"^[a-z0-9.-]+/ns/[a-z0-9-]+/sa/[a-z0-9.-]+$"),
                                 "a principal such as cluster.local/ns/<namespace>/sa/<service account>")
            identities[name] = Identity(name, None, principal)
        else:
            identities[name] = Identity(name, r.string(block["service_account"], where + ".service_account", _NAME,
                                                       "a service account name"))

    services_block = r.mapping(top["services"], "services")
    known = [spec.name for spec in SERVICES]
    for name in services_block:
        if name not in known:
            raise r.fail(f"services.{name}", f"no such service; svc_kit/services.py has {', '.join(known)}")
    for name in known:
        if name not in services_block:
            raise r.fail("services", f"{name!r} is missing: every service in svc_kit/services.py needs a block")
        if name in identities:
            raise r.fail(f"clients.{name}", "a client may not have the name of a service")
    raw_services = {}
    for spec in SERVICES:
        where = f"services.{spec.name}"
        block = r.mapping(services_block[spec.name], where, required=("service_account", "callers"),
                          optional=(*_TRAFFIC_KEYS, "routes"))
        identities[spec.name] = Identity(spec.name, r.string(block["service_account"], where + ".service_account",
                                                             _NAME, "a service account name"))
        raw_services[spec.name] = block
    accounts: dict[str, str] = {}
    for identity in identities.values():
        if identity.service_account:
            if identity.service_account in accounts:
                raise r.fail("", f"service account {identity.service_account!r} is given to both "
                                 f"{accounts[identity.service_account]} and {identity.name}: each workload has its own")
            accounts[identity.service_account] = identity.name

    services = []
    for spec in SERVICES:
        where = f"services.{spec.name}"
        block = raw_services[spec.name]
        own = (spec.grpc_service,)
        grants = _grants(r, block["callers"], where + ".callers", identities, spec.name,
                         lambda method, at, own=own: _grpc_method(r, method, at, methods_by_service,
                                                                  own + STANDARD_SERVICES, own), aliases)
        traffic = _merge(defaults, {k: block[k] for k in _TRAFFIC_KEYS if k in block})
        default_route = Route((), r.duration(traffic["timeout"], where + ".timeout"),
                              _retries(r, traffic["retries"], where + ".retries"))
        routes = []
        seen: dict[str, int] = {}
        for index, route in enumerate(r.sequence(block.get("routes") or [], where + ".routes", non_empty=False)):
            at = f"{where}.routes[{index}]"
            route = r.mapping(route, at, required=("methods",), optional=("timeout", "retries"))
            methods = []
            for m_index, method in enumerate(r.sequence(route["methods"], at + ".methods")):
                m_at = f"{at}.methods[{m_index}]"
                method = _grpc_method(r, method, m_at, methods_by_service, own, own, wildcard=False)
                if method in seen:
                    raise r.fail(m_at, f"{method} already has a route (routes[{seen[method]}])")
                seen[method] = index
                methods.append(method)
            retries = _merge(traffic["retries"], route.get("retries"))
            routes.append(Route(tuple(methods), r.duration(route.get("timeout", traffic["timeout"]), at + ".timeout"),
                                _retries(r, retries, at + ".retries")))
        for route_index, route in enumerate([*routes, default_route]):
            if route.retries.attempts and route.retries.per_try_timeout.ms > route.timeout.ms:
                at = f"{where}.routes[{route_index}]" if route.methods else where
                raise r.fail(at + ".retries.per_try_timeout",
                             f"{route.retries.per_try_timeout.go()} is longer than the timeout {route.timeout.go()}")
        services.append(Service(
            spec=spec, identity=identities[spec.name], grants=grants, routes=(*routes, default_route),
            connection_pool=_pool(r, traffic["connection_pool"], where + ".connection_pool"),
            outlier_detection=_outliers(r, traffic["outlier_detection"], where + ".outlier_detection")))

    edge_block = r.mapping(top["edge"], "edge", required=("callers",), optional=_TRAFFIC_KEYS)
    if "edge" not in identities:
        raise r.fail("clients", "the edge needs an identity: clients.edge.service_account")
    edge_traffic = _merge(defaults, {k: edge_block[k] for k in _TRAFFIC_KEYS if k in edge_block})
    edge = Edge(
        identity=identities["edge"],
        grants=_grants(r, edge_block["callers"], "edge.callers", identities, "edge",
                       lambda method, at: _http_path(r, method, at), {}),
        route=Route((), r.duration(edge_traffic["timeout"], "edge.timeout"),
                    _retries(r, edge_traffic["retries"], "edge.retries")),
        connection_pool=_pool(r, edge_traffic["connection_pool"], "edge.connection_pool"),
        outlier_detection=_outliers(r, edge_traffic["outlier_detection"], "edge.outlier_detection"))

    ingress_block = r.mapping(top["ingress"], "ingress", required=("gateway_selector", "hosts", "port"))
    selector = r.mapping(ingress_block["gateway_selector"], "ingress.gateway_selector")
    if not selector:
        raise r.fail("ingress.gateway_selector", "must name at least one label")
    for key, value in selector.items():
        r.string(value, f"ingress.gateway_selector.{key}")
    hosts = tuple(r.string(h, f"ingress.hosts[{i}]", re.compile(r"^(\*|(\*\.)?[a-z0-9.-]+)$"), "a host name")
                  for i, h in enumerate(r.sequence(ingress_block["hosts"], "ingress.hosts")))
    ingress = Ingress(dict(selector), hosts, r.integer(ingress_block["port"], "ingress.port", 1, 65535))

    metrics = r.mapping(top["metrics"], "metrics", required=("paths",))
    metrics_paths = tuple(_http_path(r, p, f"metrics.paths[{i}]")
                          for i, p in enumerate(r.sequence(metrics["paths"], "metrics.paths")))
    telemetry = r.mapping(top["telemetry"], "telemetry", required=("trace_sampling_percent",))
    sampling = telemetry["trace_sampling_percent"]
    if isinstance(sampling, bool) or not isinstance(sampling, (int, float)) or not 0 <= sampling <= 100:
        raise r.fail("telemetry.trace_sampling_percent", f"{sampling!r} must be a number from 0 to 100")

    header_name = header_sender = None
    if "identity_header" in top:
        block = r.mapping(top["identity_header"], "identity_header", required=("name", "only_from"))
        header_name = r.string(block["name"], "identity_header.name", re.compile(r"^[a-z0-9-]+$"),
                               "a lower-case HTTP header name")
        header_sender = r.string(block["only_from"], "identity_header.only_from", _NAME, "a client name")
        if header_sender not in identities:
            raise r.fail("identity_header.only_from", f"{header_sender!r} is not one of the clients")

    return Policy(namespace=namespace, trust_domain=trust_domain, cluster_domain=cluster_domain,
                  identities=identities, services=tuple(services), edge=edge, ingress=ingress,
                  metrics_paths=metrics_paths, trace_sampling_percent=float(sampling), source=source,
                  identity_header=header_name, identity_sender=header_sender)


def _grants(r: _Reader, block, where: str, identities: Mapping[str, Identity], callee: str, check,
            aliases: Mapping[str, tuple[str, ...]]) -> tuple[Grant, ...]:
    grants = []
    for caller, methods in r.mapping(block, where).items():
        at = f"{where}.{caller}"
        if caller not in identities:
            raise r.fail(at, f"unknown caller; callers are the services and clients: {', '.join(sorted(identities))}")
        if caller == callee:
            raise r.fail(at, "a workload does not call itself through the mesh")
        # A list of methods, or {methods: [...], except: [...]}: a wildcard minus some of its methods.
        excepted: list = []
        listed_at = at
        if isinstance(methods, dict):
            entry = r.mapping(methods, at, required=("methods",), optional=("except",))
            methods, excepted = entry["methods"], r.sequence(entry.get("except", []), at + ".except")
            listed_at = at + ".methods"
        checked: list[str] = []
        for index, method in enumerate(r.sequence(methods, listed_at)):
            for one in aliases.get(method, (method,)) if isinstance(method, str) else (method,):
                one = check(one, f"{listed_at}[{index}]")
                if one in checked:
                    raise r.fail(f"{listed_at}[{index}]", f"{one} is listed twice")
                checked.append(one)
        excluded: list[str] = []
        for index, method in enumerate(excepted):
            e_at = f"{at}.except[{index}]"
            one = check(method, e_at)
            if one.endswith("*"):
                raise r.fail(e_at, f"{one}: name the methods to except, not a wildcard")
            if not Grant(caller, tuple(checked)).allows(one) or one in checked:
                raise r.fail(e_at, f"{one} is not covered by a wildcard in {listed_at}: nothing to except")
            excluded.append(one)
        grants.append(Grant(caller, tuple(checked), tuple(excluded)))
    if not grants:
        raise r.fail(where, "no callers: nothing could reach this workload")
    return tuple(grants)


def _grpc_method(r: _Reader, method, where: str, methods_by_service: Mapping[str, frozenset[str]],
                 allowed_services: tuple[str, ...], wildcard_services: tuple[str, ...] = (),
                 wildcard: bool = True) -> str:
    text = r.string(method, where)
    match = re.match(r"^/([A-Za-z_][\w.]*)/(\*|[A-Za-z_]\w*)$", text)
    if not match:
        raise r.fail(where, f"{text!r} is not a full gRPC method name such as "
                            f"/marketing.campaign.v1.CampaignService/GetCampaign (or .../* for every method)")
    service, name = match.groups()
    if service not in allowed_services:
        raise r.fail(where, f"{text}: {service} is not served here (one of {', '.join(allowed_services)})")
    if name == "*":
        if not wildcard or service not in wildcard_services:
            raise r.fail(where, f"{text}: a wildcard is not allowed here; name the methods")
        return text
    if name not in methods_by_service.get(service, ()):
        raise r.fail(where, f"{text}: {service} has no method {name!r} (see its .proto)")
    return text


def _http_path(r: _Reader, path, where: str) -> str:
    text = r.string(path, where)
    if not re.match(r"^/[^*\s]*\*?$", text):
        raise r.fail(where, f"{text!r} is not an HTTP path (/exact, or /prefix* ending in one *)")
    return text


def _retries(r: _Reader, block, where: str) -> Retries:
    block = r.mapping(block, where, optional=("attempts", "per_try_timeout", "retry_on", "max_outstanding"))
    for key in ("attempts", "per_try_timeout", "retry_on", "max_outstanding"):
        if key not in block:
            raise r.fail(where, f"missing required key {key!r}")
    on = []
    for index, condition in enumerate(r.sequence(block["retry_on"], where + ".retry_on")):
        if condition not in RETRY_CONDITIONS:
            raise r.fail(f"{where}.retry_on[{index}]", f"{condition!r} is not one of {', '.join(RETRY_CONDITIONS)}")
        on.append(condition)
    return Retries(attempts=r.integer(block["attempts"], where + ".attempts", 0, 10),
                   per_try_timeout=r.duration(block["per_try_timeout"], where + ".per_try_timeout"),
                   on=tuple(on), max_outstanding=r.integer(block["max_outstanding"], where + ".max_outstanding",
                                                           1, 100_000))


def _pool(r: _Reader, block, where: str) -> ConnectionPool:
    keys = ("max_connections", "connect_timeout", "max_requests", "max_pending_requests", "idle_timeout")
    block = r.mapping(block, where, required=keys)
    return ConnectionPool(
        max_connections=r.integer(block["max_connections"], where + ".max_connections", 1, 100_000),
        connect_timeout=r.duration(block["connect_timeout"], where + ".connect_timeout", 1, 60_000),
        max_requests=r.integer(block["max_requests"], where + ".max_requests", 1, 1_000_000),
        max_pending_requests=r.integer(block["max_pending_requests"], where + ".max_pending_requests", 1, 1_000_000),
        idle_timeout=r.duration(block["idle_timeout"], where + ".idle_timeout"))


def _outliers(r: _Reader, block, where: str) -> OutlierDetection:
    keys = ("consecutive_gateway_errors", "consecutive_5xx_errors", "interval", "base_ejection_time",
            "max_ejection_percent")
    block = r.mapping(block, where, required=keys)
    return OutlierDetection(
        consecutive_gateway_errors=r.integer(block["consecutive_gateway_errors"],
                                             where + ".consecutive_gateway_errors", 1, 1000),
        consecutive_5xx_errors=r.integer(block["consecutive_5xx_errors"], where + ".consecutive_5xx_errors", 1, 1000),
        interval=r.duration(block["interval"], where + ".interval"),
        base_ejection_time=r.duration(block["base_ejection_time"], where + ".base_ejection_time"),
        max_ejection_percent=r.integer(block["max_ejection_percent"], where + ".max_ejection_percent", 0, 100))


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else POLICY_FILE
    try:
        policy = load(path)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{path}: {len(policy.services)} services, namespace {policy.namespace}")
    for service in policy.services:
        callers = ", ".join(f"{g.caller} ({len(g.methods)})" for g in service.grants)
        print(f"  {service.name:<13} sa/{service.identity.service_account:<13} called by {callers}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
