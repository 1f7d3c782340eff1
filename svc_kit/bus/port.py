"""The bus port: publish; consume through a named subscription with acks,
negative acks with a redelivery delay, and a dead-letter topic.

Semantics every adapter keeps (tests/contract/test_bus.py):
- a subscription is shared: consumers on the same subscription split the
  messages, and messages with the same key go to one consumer at a time, in
  publish order (Pulsar's Key_Shared);
- at-least-once: a message stays owed to the subscription until acked; one
  received and neither acked nor nacked is redelivered when its consumer closes;
- nack: the message comes back after `redelivery_delay`, with its
  redelivery_count raised by one; after `max_redeliveries` redeliveries a further
  nack moves it to the dead-letter topic instead;
- a subscription's cursor is durable: a consumer that comes back later gets
  everything it has not acked, including what was published while it was away;
- values are Avro records checked against the topic's registered schema: a
  producer whose schema is not compatible with it is refused.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from svc_kit.bus.schema import EventSchema


class BusError(RuntimeError):
    pass


class IncompatibleSchema(BusError):
    """The topic's registry refused a producer's or consumer's schema."""


@dataclass(frozen=True)
class SubscriptionOptions:
    redelivery_delay: float = 1.0  # seconds before a nacked message comes back
    max_redeliveries: int = 5  # then the next nack sends it to the dead-letter topic
    dead_letter_topic: str | None = None  # default: "<topic>-<subscription>-DLQ"
    initial_position: str = "earliest"  # where a new subscription starts: "earliest" or "latest"

    def dead_letter_for(self, topic: str, subscription: str) -> str:
        return self.dead_letter_topic or f"{topic}-{subscription}-DLQ"


@dataclass(frozen=True)
class Message:
    topic: str
    message_id: str  # opaque, unique within the topic
    key: str
    value: dict[str, Any]  # the decoded Avro record
    properties: Mapping[str, str]
    redelivery_count: int
    publish_time: datetime
    handle: Any = field(default=None, compare=False, repr=False)  # adapter-private


@dataclass(frozen=True)
class OutgoingMessage:
    key: str
    value: Mapping[str, Any] | bytes  # a record, or bytes already Avro-encoded with the producer's schema
    properties: Mapping[str, str] = field(default_factory=dict)


class Producer(abc.ABC):
    @abc.abstractmethod
    def send(self, key: str, value: Mapping[str, Any] | bytes, properties: Mapping[str, str] | None = None) -> str:
        """Publishes durably (returns once the bus has it) and returns the message id.
        `value` is a record, or bytes already encoded with this producer's schema
        (the outbox stores events encoded, so the relay need not decode them)."""

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Publishes in order; returns once all are durable. Adapters may pipeline."""
        return [self.send(m.key, m.value, m.properties) for m in messages]

    @abc.abstractmethod
    def close(self) -> None: ...


class Consumer(abc.ABC):
    @abc.abstractmethod
    def receive(self, timeout: float) -> Message | None:
        """The next message owed to this consumer, or None after `timeout` seconds."""

    @abc.abstractmethod
    def ack(self, message: Message) -> None: ...

    @abc.abstractmethod
    def nack(self, message: Message) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class Bus(abc.ABC):
    @abc.abstractmethod
    def producer(self, topic: str, schema: EventSchema) -> Producer: ...

    @abc.abstractmethod
    def consumer(self, topic: str, subscription: str, schema: EventSchema,
                 options: SubscriptionOptions | None = None) -> Consumer: ...

    @abc.abstractmethod
    def close(self) -> None: ...
