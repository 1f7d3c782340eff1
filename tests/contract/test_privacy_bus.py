"""The privacy.v1 family on both buses (embedded and a real Pulsar broker with its schema registry):
a profile_erasure_confirmed goes through with its counts, and the audience service's consumer turns
it into the confirmation it stores."""

from __future__ import annotations

from svc_kit.events import erasure
from tests.contract.test_bus import BusFactory, bus_factory, receive_n, topic  # noqa: F401 - fixtures

from tests.contract.privacy_helpers import NOW


def test_a_confirmation_travels_with_its_counts(bus_factory, topic):  # noqa: F811
    bus = bus_factory()
    producer = bus.producer(topic, erasure.PRIVACY_SCHEMA)
    reader = bus.consumer(topic, "audience", erasure.PRIVACY_SCHEMA)
    entry = erasure.confirmation_entry(erasure.Erasure("01erasure", "acme", "ann"), "notify",
                                       {"messages": 2, "inboxItems": 0}, NOW)
    producer.send(entry.key, dict(entry.record))
    [message] = receive_n(reader, 1)
    assert message.key == "01erasure"
    confirmation = erasure.confirmation_of(message.value)
    assert (confirmation.erasure_id, confirmation.workspace, confirmation.profile, confirmation.service) == (
        "01erasure", "acme", "workspaces/acme/profiles/ann", "notify")
    assert dict(confirmation.counts) == {"messages": 2, "inboxItems": 0} and confirmation.confirm_time == NOW
