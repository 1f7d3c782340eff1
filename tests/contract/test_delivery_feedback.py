"""The audience service's consumer of the notify service's delivery feedback:
message_bounced (hard) and message_complained events, published through the
embedded bus with notify's own codec, become suppression entries in the
suppression store (on the embedded nx-27017 server), once, however often
the events are delivered."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_kit.bus.embedded import EmbeddedBus
from svc_kit.channels import Channel
from svc_kit.clock import utcnow_ms

from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.suppression import Entry, Reason
from svc_audience.entrypoints.consumers import NOTIFY_TOPIC, DeliveryFeedbackConsumer, feedback_entry
from svc_audience.service_layer import suppressions as handlers
from svc_notify.adapters import event_codec
from svc_notify.domain import events
from svc_notify.domain.model import EmailContent, Message, SmsContent

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(nx_server):
    client = MongoClient(nx_server.url, tz_aware=True, socketTimeoutMS=60_000)
    database = client[f"feedback_{uuid.uuid4().hex[:10]}"]
    store = SuppressionStore(database)
    store.ensure_indexes()
    yield store
    client.drop_database(database.name)
    client.close()


def envelope(event_type: str, message: Message, **data) -> dict:
    record = event_codec.envelope(events.event(event_type, message, NOW, **data))
    return event_codec.SCHEMA.decode(event_codec.SCHEMA.encode(record))  # as a consumer reads it


def email_message(workspace="acme") -> Message:
    return Message(workspace, "m1", Channel.EMAIL, "u-1", "k", content=EmailContent(subject="s", text="t"),
                   campaign=f"workspaces/{workspace}/campaigns/spring")


def test_which_events_ask_for_which_entries():
    hard = envelope(events.BOUNCED, email_message(), bounce_type="HARD", address="Ann@Example.com",
                    detail="550 5.1.1")
    assert feedback_entry(hard) == Entry("email", "Ann@Example.com", Channel.EMAIL, Reason.BOUNCED,
                                         "550 5.1.1 (workspaces/acme/messages/m1)", "notify:bounce", "spring")
    assert feedback_entry(envelope(events.BOUNCED, email_message(), bounce_type="SOFT", address="a@b.c")) is None
    sms = Message("acme", "m2", Channel.SMS, "u-2", "k2", content=SmsContent("x"))
    complained = feedback_entry(envelope(events.COMPLAINED, sms, address="+33612345678"))
    assert (complained.subject_kind, complained.subject, complained.reason) == ("phone", "+33612345678",
                                                                               Reason.COMPLAINED)
    push = Message("acme", "m3", Channel.PUSH, "u-3", "k3", content=SmsContent("x"))
    assert feedback_entry(envelope(events.BOUNCED, push, bounce_type="HARD", address="2 of 2 devices")).subject == "u-3"
    assert feedback_entry(envelope(events.SENT, email_message())) is None


def test_feedback_becomes_one_suppression_through_the_bus(store, tmp_path):
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    try:
        consumer = DeliveryFeedbackConsumer(bus, store, utcnow_ms, lambda: uuid.uuid4().hex[:20])
        producer = bus.producer(NOTIFY_TOPIC, event_codec.SCHEMA)
        bounce = event_codec.envelope(events.event(events.BOUNCED, email_message(), NOW, bounce_type="HARD",
                                                   address="ann@example.com", detail="550 5.1.1 user unknown"))
        for _ in range(3):  # the bus redelivers; providers repeat callbacks
            producer.send("workspaces/acme/messages/m1", bounce)
        producer.send("workspaces/acme/messages/m1", event_codec.envelope(events.event(
            events.SENT, email_message(), NOW, attempt=1)))
        stop = threading.Event()
        runner = threading.Thread(target=consumer.run, args=(stop,))
        runner.start()
        deadline = utcnow_ms() + timedelta(seconds=20)
        while consumer.created < 1 and utcnow_ms() < deadline:
            stop.wait(0.1)
        stop.wait(1.0)
        stop.set()
        runner.join()
        producer.close()
        consumer.consumer.close()
    finally:
        bus.close()
    entry = store.find("acme", ("email", "ann@example.com", Channel.EMAIL))
    assert (entry.reason, entry.source, entry.campaign) == (Reason.BOUNCED, "notify:bounce", "spring")
    assert "550 5.1.1 user unknown" in entry.note and consumer.created == 1
    assert store.find("other", ("email", "ann@example.com", Channel.EMAIL)) is None


def test_a_complaint_strengthens_an_unsubscribe_and_leaves_other_entries(store):
    consumer = DeliveryFeedbackConsumer.__new__(DeliveryFeedbackConsumer)
    consumer.suppressions, consumer.clock, consumer.created = store, utcnow_ms, 0
    consumer.new_id = lambda: uuid.uuid4().hex[:20]
    handlers.create_suppression("acme", Entry("email", "bob@example.com", Channel.EMAIL, Reason.UNSUBSCRIBED),
                                store, utcnow_ms, consumer.new_id)
    handlers.create_suppression("acme", Entry("email", "cat@example.com", Channel.EMAIL, Reason.MANUAL, "kept"),
                                store, utcnow_ms, consumer.new_id)
    complaint = envelope(events.COMPLAINED, email_message(), address="bob@example.com", detail="abuse report")
    assert consumer.handle(complaint) is True
    assert consumer.handle(complaint) is False
    assert store.find("acme", ("email", "bob@example.com", Channel.EMAIL)).reason is Reason.COMPLAINED
    assert consumer.handle(envelope(events.BOUNCED, email_message(), bounce_type="HARD",
                                    address="cat@example.com")) is False
    assert store.find("acme", ("email", "cat@example.com", Channel.EMAIL)).note == "kept"
    # Without a usable address the profile itself is suppressed on the channel.
    assert consumer.handle(envelope(events.BOUNCED, email_message(), bounce_type="HARD", address="")) is True
    assert store.find("acme", ("profile", "u-1", Channel.EMAIL)).reason is Reason.BOUNCED
