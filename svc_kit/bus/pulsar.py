"""The bus port on Apache Pulsar (pulsar-client).

- Subscriptions are Key_Shared: consumers of one subscription split the keys,
  and each key's messages arrive in order. Producers do not batch: a default
  batch would carry several keys to one consumer, and key-based batching of
  many keys measured slower here than no batching with pipelined sends
  (bench/events).
- Schemas live in Pulsar's own registry: producers and consumers attach the
  Avro definition, and the namespace's compatibility strategy (set through the
  admin REST API) decides what evolution the broker accepts.
- Values are decoded here, with the schema version that wrote each message
  (fetched from the registry once and cached), into the reader's schema: the
  Python client would otherwise decode everything with the reader's schema.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pulsar
from pulsar.schema import AvroSchema

from svc_kit.bus.port import (Bus, BusError, Consumer, IncompatibleSchema, Message, OutgoingMessage, Producer,
                              SubscriptionOptions)
from svc_kit.bus.schema import EventSchema

log = logging.getLogger("svc_kit.bus.pulsar")
DEFAULT_NAMESPACE = "public/default"
PIPELINE = 5000  # messages a producer may have in flight


def _full_topic(topic: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The topic in `namespace`: a short name goes there, and so does a full name in the default
    namespace (the services name their topics persistent://public/default/...: the bus's namespace,
    MKT_PULSAR_NAMESPACE, decides where they live). A full name in another namespace stays as it is."""
    if "://" not in topic:
        return f"persistent://{namespace}/{topic}"
    scheme, path = topic.split("://", 1)
    if namespace != DEFAULT_NAMESPACE and path.startswith(f"{DEFAULT_NAMESPACE}/"):
        return f"{scheme}://{namespace}/{path[len(DEFAULT_NAMESPACE) + 1:]}"
    return topic


def _schema_path(topic: str) -> str:
    """persistent://tenant/ns/name -> tenant/ns/name (the admin API's schema path)."""
    return _full_topic(topic).split("://", 1)[1]


class _Registry:
    """Reads writer schemas from Pulsar's registry by version, with a cache."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url.rstrip("/")
        self._cache: dict[tuple[str, int], EventSchema] = {}
        self._lock = threading.Lock()

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.admin_url}{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise BusError(f"Pulsar admin {method} {path}: HTTP {error.code} {error.read()[:300]!r}") from None
        except OSError as error:
            raise BusError(f"Pulsar admin {self.admin_url} is out of reach: {error}") from None
        return json.loads(payload) if payload else None

    def ensure_namespace(self, namespace: str) -> None:
        """Creates `namespace` (tenant/name, the tenant existing) unless it is there already."""
        try:
            self._request("PUT", f"/admin/v2/namespaces/{namespace}")
        except BusError as error:
            if "HTTP 409" not in str(error):  # 409: it exists
                raise

    def set_compatibility(self, namespace: str, strategy: str) -> None:
        self._request("PUT", f"/admin/v2/namespaces/{namespace}/schemaCompatibilityStrategy", strategy)

    def writer(self, topic: str, version: int) -> EventSchema:
        key = (topic, version)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        info = self._request("GET", f"/admin/v2/schemas/{_schema_path(topic)}/schema/{version}")
        schema = EventSchema(json.loads(info["data"]))
        with self._lock:
            self._cache[key] = schema
        return schema


def _version_number(raw: Any) -> int | None:
    """The client reports a message's schema version as 8 big-endian bytes (or text)."""
    if raw is None or raw == "" or raw == b"":
        return None
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    return int.from_bytes(raw, "big", signed=True)


class _AvroSchema(AvroSchema):
    """Pulsar's Avro schema that also takes values already encoded with it."""

    def encode(self, obj):
        return obj if isinstance(obj, bytes) else super().encode(obj)


def _value(value: Mapping[str, Any] | bytes):
    return value if isinstance(value, bytes) else dict(value)


def _refused(error: Exception) -> bool:
    return isinstance(error, pulsar.IncompatibleSchema) or "IncompatibleSchema" in str(error)


class PulsarProducer(Producer):
    def __init__(self, producer: pulsar.Producer):
        self._producer = producer

    def send(self, key: str, value: Mapping[str, Any] | bytes, properties: Mapping[str, str] | None = None) -> str:
        message_id = self._producer.send(_value(value), partition_key=key, properties=dict(properties or {}))
        return str(message_id)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        results: list[Any] = [None] * len(messages)
        done = threading.Semaphore(0)

        def callback(index: int):
            def on_sent(result, message_id):
                results[index] = (result, message_id)
                done.release()
            return on_sent

        for index, m in enumerate(messages):
            self._producer.send_async(_value(m.value), callback(index), partition_key=m.key,
                                      properties=dict(m.properties))
        self._producer.flush()
        for _ in messages:
            done.acquire()
        failed = [r for r in results if r[0] != pulsar.Result.Ok]
        if failed:
            raise BusError(f"{len(failed)} of {len(messages)} messages were not published: {failed[0][0]}")
        return [str(message_id) for _, message_id in results]

    def close(self) -> None:
        self._producer.close()


class PulsarConsumer(Consumer):
    def __init__(self, consumer: pulsar.Consumer, topic: str, schema: EventSchema, registry: _Registry):
        self._consumer = consumer
        self.topic = topic
        self.schema = schema
        self.registry = registry

    def receive(self, timeout: float) -> Message | None:
        try:
            msg = self._consumer.receive(timeout_millis=max(int(timeout * 1000), 0))
        except pulsar.Timeout:
            return None
        version = _version_number(msg.schema_version())
        writer = self.registry.writer(self.topic, version) if version is not None else self.schema
        try:
            value = self.schema.decode(msg.data(), writer=writer)
        except Exception:  # noqa: BLE001 - a poison message is dead-lettered, not fatal
            log.exception("cannot decode message %s on %s; nacking it", msg.message_id(), self.topic)
            self._consumer.negative_acknowledge(msg)
            return self.receive(0.001)
        return Message(
            topic=self.topic,
            message_id=str(msg.message_id()),
            key=msg.partition_key(),
            value=value,
            properties=dict(msg.properties()),
            redelivery_count=msg.redelivery_count(),
            publish_time=datetime.fromtimestamp(msg.publish_timestamp() / 1000, UTC),
            handle=msg,
        )

    def ack(self, message: Message) -> None:
        self._consumer.acknowledge(message.handle)

    def nack(self, message: Message) -> None:
        self._consumer.negative_acknowledge(message.handle)

    def close(self) -> None:
        self._consumer.close()


class PulsarBus(Bus):
    def __init__(self, service_url: str, admin_url: str, compatibility: str = "FULL",
                 namespace: str = DEFAULT_NAMESPACE):
        self.namespace = namespace
        self.registry = _Registry(admin_url)
        if namespace != DEFAULT_NAMESPACE:
            self.registry.ensure_namespace(namespace)
        self.registry.set_compatibility(namespace, compatibility)
        self.client = pulsar.Client(service_url, operation_timeout_seconds=15,
                                    logger=logging.getLogger("pulsar.client"))

    def producer(self, topic: str, schema: EventSchema) -> Producer:
        try:
            producer = self.client.create_producer(
                _full_topic(topic, self.namespace),
                schema=_AvroSchema(None, schema_definition=dict(schema.definition)),
                batching_enabled=False,
                max_pending_messages=PIPELINE,
                block_if_queue_full=True,
            )
        except Exception as error:
            if _refused(error):
                raise IncompatibleSchema(f"{topic}: the broker refused schema {schema.name}: {error}") from None
            raise
        return PulsarProducer(producer)

    def consumer(self, topic: str, subscription: str, schema: EventSchema,
                 options: SubscriptionOptions | None = None) -> Consumer:
        options = options or SubscriptionOptions()
        full = _full_topic(topic, self.namespace)
        try:
            consumer = self.client.subscribe(
                full,
                subscription,
                consumer_type=pulsar.ConsumerType.KeyShared,
                schema=AvroSchema(None, schema_definition=dict(schema.definition)),
                negative_ack_redelivery_delay_ms=int(options.redelivery_delay * 1000),
                initial_position=(pulsar.InitialPosition.Latest if options.initial_position == "latest"
                                  else pulsar.InitialPosition.Earliest),
                dead_letter_policy=pulsar.ConsumerDeadLetterPolicy(
                    max_redeliver_count=options.max_redeliveries,
                    dead_letter_topic=_full_topic(options.dead_letter_for(topic, subscription), self.namespace),
                ),
            )
        except Exception as error:
            if _refused(error):
                raise IncompatibleSchema(f"{topic}: the broker refused schema {schema.name}: {error}") from None
            raise
        return PulsarConsumer(consumer, full, schema, self.registry)

    def close(self) -> None:
        self.client.close()
