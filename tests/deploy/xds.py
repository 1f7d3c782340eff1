"""A minimal xDS (ADS) client for the istiod tests: it connects to istiod's plaintext gRPC port as a sidecar
would, asks for clusters and listeners, acknowledges what it gets, and keeps the stream open so that
istiod's debug endpoints can show the configuration it generated for this proxy (`/debug/config_dump?
proxyID=<pod>.<namespace>`, as JSON).

No Envoy protos are needed: the few messages of the discovery protocol are declared here with their field
numbers (envoy.service.discovery.v3.DiscoveryRequest/DiscoveryResponse, envoy.config.core.v3.Node), and so
are the few fields of a route configuration the tests read (names, domains, path or prefix matches,
timeouts, retry policies; field numbers from go-control-plane's route.pb.go and route_components.pb.go),
since istiod's config dump leaves routes out. Clusters and listeners are read through the config dump."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf import duration_pb2, struct_pb2, wrappers_pb2  # noqa: F401 - their descriptors, in the pool

METHOD = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"

_PACKAGE = "mkt.tests.xds"


def _field(name: str, number: int, kind: int, type_name: str = "", repeated: bool = False):
    label = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED if repeated else \
        descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    return descriptor_pb2.FieldDescriptorProto(name=name, number=number, type=kind, label=label,
                                               type_name=type_name or None)


def _classes():
    string, message = descriptor_pb2.FieldDescriptorProto.TYPE_STRING, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
    file = descriptor_pb2.FileDescriptorProto(
        name="mkt_tests_xds.proto", package=_PACKAGE, syntax="proto3",
        dependency=["google/protobuf/struct.proto", "google/protobuf/any.proto", "google/protobuf/duration.proto",
                    "google/protobuf/wrappers.proto"])
    file.message_type.add(name="Node", field=[
        _field("id", 1, string), _field("cluster", 2, string),
        _field("metadata", 3, message, ".google.protobuf.Struct")])
    file.message_type.add(name="DiscoveryRequest", field=[
        _field("version_info", 1, string), _field("node", 2, message, f".{_PACKAGE}.Node"),
        _field("resource_names", 3, string, repeated=True), _field("type_url", 4, string),
        _field("response_nonce", 5, string)])
    file.message_type.add(name="DiscoveryResponse", field=[
        _field("version_info", 1, string), _field("resources", 2, message, ".google.protobuf.Any", repeated=True),
        _field("type_url", 4, string), _field("nonce", 5, string)])
    # envoy.config.route.v3: only what the tests read (unknown fields are skipped when parsing)
    file.message_type.add(name="RetryPolicy", field=[
        _field("retry_on", 1, string), _field("num_retries", 2, message, ".google.protobuf.UInt32Value"),
        _field("per_try_timeout", 3, message, ".google.protobuf.Duration")])
    file.message_type.add(name="RouteAction", field=[
        _field("timeout", 8, message, ".google.protobuf.Duration"),
        _field("retry_policy", 9, message, f".{_PACKAGE}.RetryPolicy")])
    file.message_type.add(name="RouteMatch", field=[_field("prefix", 1, string), _field("path", 2, string)])
    file.message_type.add(name="Route", field=[
        _field("name", 14, string), _field("match", 1, message, f".{_PACKAGE}.RouteMatch"),
        _field("route", 2, message, f".{_PACKAGE}.RouteAction")])
    file.message_type.add(name="VirtualHost", field=[
        _field("name", 1, string), _field("domains", 2, string, repeated=True),
        _field("routes", 3, message, f".{_PACKAGE}.Route", repeated=True),
        _field("retry_policy", 16, message, f".{_PACKAGE}.RetryPolicy")])
    file.message_type.add(name="RouteConfiguration", field=[
        _field("name", 1, string), _field("virtual_hosts", 2, message, f".{_PACKAGE}.VirtualHost", repeated=True)])
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)
    return tuple(message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
                 for name in ("Node", "DiscoveryRequest", "DiscoveryResponse", "RouteConfiguration"))


Node, DiscoveryRequest, DiscoveryResponse, RouteConfiguration = _classes()


def route_configurations(resources: list[any_pb2.Any]) -> dict[str, dict]:
    """RDS resources as JSON (Envoy's field names: virtualHosts, routes, route.timeout, route.retryPolicy...),
    by name."""
    out = {}
    for resource in resources:
        config = RouteConfiguration.FromString(resource.value)
        out[config.name] = json_format.MessageToDict(config)
    return out


class SidecarStream:
    """An ADS stream as the sidecar of one pod: `with SidecarStream(address, node_id, metadata) as stream:`
    then `stream.wait_for(CLUSTER, LISTENER)`; istiod keeps the proxy connected until the block ends."""

    def __init__(self, address: str, node_id: str, metadata: dict, timeout: float = 30.0):
        self.address, self.node_id, self.timeout = address, node_id, timeout
        self.node = Node(id=node_id, cluster=metadata.get("WORKLOAD_NAME", ""))
        self.node.metadata.update(metadata)
        self.received: dict[str, list[any_pb2.Any]] = {}
        self._outbox: queue.Queue = queue.Queue()
        self._changed = threading.Condition()
        self._error: BaseException | None = None
        self._channel: grpc.Channel | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SidecarStream:
        self._channel = grpc.insecure_channel(self.address)
        call = self._channel.stream_stream(METHOD, request_serializer=DiscoveryRequest.SerializeToString,
                                           response_deserializer=DiscoveryResponse.FromString)
        responses = call(self._requests())
        self._thread = threading.Thread(target=self._read, args=(responses,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._outbox.put(None)
        if self._channel is not None:
            self._channel.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def request(self, type_url: str, names: tuple[str, ...] = ()) -> None:
        self._outbox.put(DiscoveryRequest(node=self.node, type_url=type_url, resource_names=list(names)))

    def wait_for(self, *type_urls: str) -> dict[str, list[any_pb2.Any]]:
        """Asks for each type (wildcard) and waits until istiod has answered each."""
        for type_url in type_urls:
            self.request(type_url)
        return self.wait_received(*type_urls)

    def wait_received(self, *type_urls: str) -> dict[str, list[any_pb2.Any]]:
        """Waits until istiod has sent resources of each type (asked for with `request`)."""
        deadline = time.monotonic() + self.timeout
        with self._changed:
            while not all(t in self.received for t in type_urls):
                if self._error is not None:
                    raise RuntimeError(f"the ADS stream to {self.address} failed: {self._error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"istiod sent no {[t for t in type_urls if t not in self.received]} "
                                       f"to {self.node_id} within {self.timeout:.0f} s")
                self._changed.wait(left)
        return {t: self.received[t] for t in type_urls}

    def _requests(self) -> Iterator:
        while True:
            message = self._outbox.get()
            if message is None:
                return
            yield message

    def _read(self, responses) -> None:
        try:
            for response in responses:
                # ACK, so istiod counts the push as delivered; no further requests for dependent types
                self._outbox.put(DiscoveryRequest(node=self.node, type_url=response.type_url,
                                                  version_info=response.version_info,
                                                  response_nonce=response.nonce))
                with self._changed:
                    self.received[response.type_url] = list(response.resources)
                    self._changed.notify_all()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                with self._changed:
                    self._error = error
                    self._changed.notify_all()
