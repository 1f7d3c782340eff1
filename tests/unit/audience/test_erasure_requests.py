"""Erasure requests in the domain and the service layer (with an in-memory store): a request is
complete when its last service confirms, a repeated or unknown confirmation changes nothing,
pages run newest first; and the events a service consumes and publishes (svc_kit.events.erasure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.errors import NotFound
from svc_kit.events import erasure

from svc_audience.domain.erasure import SERVICES, ErasureRequest, ServiceConfirmation
from svc_audience.service_layer import erasures

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Store:
    def __init__(self):
        self.requests: dict[tuple[str, str], ErasureRequest] = {}
        self.saves = 0

    def create(self, request):
        self.requests.setdefault((request.workspace, request.erasure_id), request)

    def get(self, workspace, erasure_id):
        return self.requests.get((workspace, erasure_id))

    def list(self, workspace, before, limit):
        found = sorted((r for (w, _), r in self.requests.items() if w == workspace and (not before or
                                                                                      r.erasure_id < before)),
                       key=lambda r: r.erasure_id, reverse=True)
        return found[:limit]

    def save(self, request):
        self.saves += 1
        self.requests[(request.workspace, request.erasure_id)] = request


def test_complete_at_the_last_confirmation_and_a_repeat_changes_nothing():
    request = ErasureRequest("acme", "e1", "ann", NOW)
    for n, service in enumerate(SERVICES):
        assert not request.complete
        request = request.confirmed(ServiceConfirmation(service, NOW + timedelta(seconds=n), {"rows": n}))
    assert request.complete and request.complete_time == NOW + timedelta(seconds=len(SERVICES) - 1)
    again = request.confirmed(ServiceConfirmation("notify", NOW + timedelta(hours=1), {"rows": 9}))
    assert again is request
    assert request.confirmed(ServiceConfirmation("integrations", NOW, {})) is request  # not a service it waits for


def test_the_service_layer_records_confirmations_once_and_pages_newest_first():
    store = Store()
    for n in range(3):
        store.create(ErasureRequest("acme", f"e{n}", f"p{n}", NOW))
    store.create(ErasureRequest("other", "e9", "p9", NOW))
    erasures.record_confirmation("acme", "e1", "notify", {"messages": 1}, NOW, store)
    erasures.record_confirmation("acme", "e1", "notify", {"messages": 5}, NOW, store)
    assert store.saves == 1 and store.get("acme", "e1").confirmations["notify"].counts == {"messages": 1}
    assert erasures.record_confirmation("acme", "missing", "notify", {}, NOW, store) is None
    page, token = erasures.list_erasure_requests("acme", 2, "", store)
    rest, end = erasures.list_erasure_requests("acme", 2, token, store)
    assert [r.erasure_id for r in page + rest] == ["e2", "e1", "e0"] and end == ""
    with pytest.raises(NotFound):
        erasures.get_erasure_request("other", "e1", store)


def test_the_events_a_service_consumes_and_publishes():
    value = {"event_id": "01ev", "event_type": "profile_erased", "workspace": "acme", "aggregate_id": "ann",
             "payload": {"profile": "workspaces/acme/profiles/ann"}}
    found = erasure.erasure_of(value)
    assert found == erasure.Erasure("01ev", "acme", "ann") and found.profile_name == "workspaces/acme/profiles/ann"
    assert erasure.erasure_of({**value, "event_type": "profile_unsubscribed"}) is None
    # a payload naming another workspace's profile is not trusted: the envelope's key is used
    assert erasure.erasure_of({**value, "payload": {"profile": "workspaces/other/profiles/bob"}}).profile == "ann"
    entry = erasure.confirmation_entry(found, "campaign", {"segmentMemberships": 2}, NOW)
    assert entry.topic == erasure.PRIVACY_TOPIC and entry.key == "01ev"
    decoded = erasure.PRIVACY_SCHEMA.decode(erasure.PRIVACY_SCHEMA.encode(entry.record))
    confirmation = erasure.confirmation_of(decoded)
    assert (confirmation.service, dict(confirmation.counts), confirmation.workspace) == (
        "campaign", {"segmentMemberships": 2}, "acme")
