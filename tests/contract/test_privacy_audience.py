"""audience's erasure requests on each MongoDB-wire server: created pending for every service,
confirmed service by service (a repeat changes nothing; a confirmation of an unknown request is
dropped), complete at the last one; listed newest first, a page at a time, per workspace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_kit.errors import InvalidArgument

from svc_audience.adapters.erasure_store import ErasureStore
from svc_audience.domain.erasure import SERVICES, ErasureRequest
from svc_audience.service_layer import erasures

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["nx", "ferretdb"])
def store(request):
    server = request.getfixturevalue(f"{request.param}_server")
    client = MongoClient(server.url, tz_aware=True, socketTimeoutMS=60_000)
    database = client[f"contract_{uuid.uuid4().hex[:10]}"]
    store = ErasureStore(database)
    store.ensure_indexes()
    yield store
    client.drop_database(database.name)
    client.close()


def test_a_request_completes_when_every_service_confirmed(store):
    store.create(ErasureRequest("acme", "01era0001", "ann", NOW))
    store.create(ErasureRequest("acme", "01era0001", "ann", NOW + timedelta(hours=1)))  # a repeat: unchanged
    request = erasures.get_erasure_request("acme", "01era0001", store)
    assert request.confirmations == {} and not request.complete and request.create_time == NOW
    for n, service in enumerate(SERVICES):
        erasures.record_confirmation("acme", "01era0001", service, {"records": n}, NOW + timedelta(seconds=n), store)
        erasures.record_confirmation("acme", "01era0001", service, {"records": 99}, NOW + timedelta(hours=1), store)
        request = store.get("acme", "01era0001")
        assert request.complete == (service == SERVICES[-1])
    assert {s: dict(c.counts) for s, c in request.confirmations.items()} == {s: {"records": n}
                                                                            for n, s in enumerate(SERVICES)}
    assert request.confirmations["notify"].confirm_time == NOW + timedelta(seconds=1)
    assert request.complete_time == NOW + timedelta(seconds=len(SERVICES) - 1)
    assert erasures.record_confirmation("acme", "01unknown", "notify", {}, NOW, store) is None
    assert erasures.record_confirmation("other", "01era0001", "notify", {}, NOW, store) is None


def test_requests_list_newest_first_per_workspace(store):
    for n in range(5):
        store.create(ErasureRequest("acme", f"01era{n:04d}", f"p{n}", NOW + timedelta(seconds=n)))
    store.create(ErasureRequest("other", "01era9999", "p9", NOW))
    page, token = erasures.list_erasure_requests("acme", 2, "", store)
    seen = [r.erasure_id for r in page]
    while token:
        page, token = erasures.list_erasure_requests("acme", 2, token, store)
        seen += [r.erasure_id for r in page]
    assert seen == [f"01era{n:04d}" for n in reversed(range(5))]
    with pytest.raises(InvalidArgument):  # a token of another workspace's list
        erasures.list_erasure_requests("other", 2, erasures.list_erasure_requests("acme", 2, "", store)[1], store)
