"""What notify tells analytics: a provider's unit cost (validated, mapped to and from
google.type.Money), `message_queued` and the cost and variant of `message_sent`, in the
notify topic's schema (event_schemas/notify.v1.avsc)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.type import money_pb2

from marketing.notify.v1 import provider_pb2
from svc_kit.channels import Channel
from svc_notify.adapters import event_codec
from svc_notify.domain import events
from svc_notify.domain.model import EmailContent, Message, TemplateSource
from svc_notify.domain.providers import Provider, SmtpConfig, UnitCost
from svc_notify.entrypoints.mapping import provider_from_proto, provider_to_proto

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def provider(**fields) -> Provider:
    return Provider("acme", "p", "Relay", Channel.EMAIL, SmtpConfig("smtp.example.com", 587,
                                                                    from_address="news@example.com"), **fields)


def test_a_unit_cost_is_validated_and_round_trips_through_money():
    assert provider(unit_cost=UnitCost(1500, "EUR")).violations() == []
    assert {v.field for v in provider(unit_cost=UnitCost(-1, "eur")).violations()} == {
        "provider.unit_cost", "provider.unit_cost.currency_code"}
    message = provider_to_proto(provider(unit_cost=UnitCost(2_001_500, "EUR")))
    assert (message.unit_cost.currency_code, message.unit_cost.units, message.unit_cost.nanos) == ("EUR", 2, 1_500_000)
    back = provider_from_proto("acme", "p", message)
    assert back.unit_cost == UnitCost(2_001_500, "EUR")
    free = provider_pb2.Provider(display_name="x")
    assert provider_from_proto("acme", "p", free).unit_cost is None
    assert not provider_to_proto(provider()).HasField("unit_cost")
    cheap = provider_pb2.Provider(unit_cost=money_pb2.Money(currency_code="USD", nanos=350_000))
    assert provider_from_proto("acme", "p", cheap).unit_cost == UnitCost(350, "USD")


def message(**fields) -> Message:
    fields.setdefault("content", EmailContent(subject="Hi"))
    return Message.accept("acme", "m1", Channel.EMAIL, "u-1", "k-1", NOW,
                          campaign="workspaces/acme/campaigns/spring", **fields)


def test_message_queued_travels_as_a_message_sent_record_with_the_forced_variant():
    queued = events.event(events.QUEUED, message(content=None, template=TemplateSource(
        "workspaces/acme/templates/t", "b")), NOW)
    envelope = event_codec.envelope(queued)
    assert envelope["payload"][0] == "marketing.notify.v1.MessageSent"
    decoded = event_codec.SCHEMA.decode(event_codec.SCHEMA.encode(envelope))
    assert decoded["event_type"] == "message_queued"
    assert decoded["payload"]["message"]["variant"] == "b"
    assert decoded["payload"]["message"]["campaign"] == "workspaces/acme/campaigns/spring"
    assert (decoded["payload"]["cost_micros"], decoded["payload"]["provider"]) == (0, "")


def test_message_sent_carries_its_cost_and_variant():
    m = message()
    m.variant = "a"
    sent = events.event(events.SENT, m, NOW, provider="workspaces/acme/providers/p", attempt=1, variant="a",
                        cost_micros=1500, cost_currency="EUR")
    decoded = event_codec.SCHEMA.decode(event_codec.SCHEMA.encode(event_codec.envelope(sent)))
    payload = decoded["payload"]
    assert (payload["cost_micros"], payload["cost_currency"], payload["variant"]) == (1500, "EUR", "a")
    assert payload["message"]["variant"] == "a"
