"""Segment-compatible collection: reading calls (limits, errors), clock-skew correction,
what each call becomes (profile changes, behaviour events), and the collector's
authentication and messageId deduplication over its ports."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from svc_integrations.domain import collect
from svc_integrations.domain.collect import (MAX_BATCH_BYTES, MAX_CALL_BYTES, basic_user, behaviour_event,
                                             corrected_time, decode, flatten, profile_change, read_calls, snake_key)
from svc_integrations.service_layer.collect import Collector
from svc_integrations.service_layer.sources import Sources
from svc_kit.errors import InvalidArgument, Unauthenticated

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def ids():
    counter = iter(range(1, 10_000))
    return lambda: f"generated-{next(counter)}"


def calls(kind: str, body: dict) -> list[collect.Call]:
    return read_calls(decode(kind, json.dumps(body).encode()), NOW, ids())


def violation(error: pytest.ExceptionInfo) -> str:
    return error.value.violations[0].field


def test_clock_skew_is_corrected_from_sent_at_as_segment_does():
    timestamp = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # the client's clock runs an hour ahead
    sent_at = timestamp + timedelta(seconds=30)
    assert corrected_time(timestamp, sent_at, NOW) == NOW - timedelta(seconds=30)
    assert corrected_time(timestamp, None, NOW) == timestamp
    assert corrected_time(None, sent_at, NOW) == NOW
    [call] = calls("batch", {"batch": [{"type": "track", "userId": "u", "event": "E",
                                        "timestamp": "2026-12-05T13:00:00Z"}],
                             "sentAt": "2026-12-05T13:00:30.000Z"})
    assert call.timestamp == NOW - timedelta(seconds=30)
    assert call.original_timestamp == timestamp
    [call] = calls("track", {"userId": "u", "event": "E", "timestamp": "2026-12-05T14:00:00+02:00"})
    assert call.timestamp == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_limits_and_malformed_calls_are_invalid_arguments():
    with pytest.raises(InvalidArgument) as error:
        decode("track", b"{" + b" " * MAX_CALL_BYTES + b"}")
    assert violation(error) == "body"
    decode("track", json.dumps({"userId": "u", "event": "E", "p": "x" * (MAX_CALL_BYTES - 100)}).encode())
    with pytest.raises(InvalidArgument):
        decode("batch", b" " * (MAX_BATCH_BYTES + 1))
    import gzip

    assert decode("track", gzip.compress(b'{"userId": "u", "event": "E"}')).calls[0][1]["event"] == "E"
    with pytest.raises(InvalidArgument):  # small on the wire, over the limit inflated
        decode("track", gzip.compress(json.dumps({"p": " " * MAX_CALL_BYTES}).encode()))
    with pytest.raises(InvalidArgument):
        decode("track", b"\x1f\x8bnot gzip")
    with pytest.raises(InvalidArgument) as error:
        decode("batch", json.dumps({"batch": [{"type": "track", "p": "x" * MAX_CALL_BYTES}]}).encode())
    assert violation(error) == "batch[0]"
    with pytest.raises(InvalidArgument) as error:
        decode("batch", json.dumps({"batch": [{"type": "purchase"}]}).encode())
    assert violation(error) == "batch[0].type"
    for body in (b"{nope", b"[]", b""):
        with pytest.raises(InvalidArgument):
            decode("track", body)
    cases = [("track", {"event": "E"}, "userId"), ("track", {"userId": "u"}, "event"),
             ("track", {"userId": "has space", "event": "E"}, "userId"),
             ("group", {"userId": "u"}, "groupId"), ("alias", {"previousId": "a"}, "userId"),
             ("alias", {"userId": "u"}, "previousId"),
             ("track", {"userId": "u", "event": "E", "timestamp": "yesterday"}, "timestamp"),
             ("track", {"userId": "u", "event": "E", "properties": [1]}, "properties")]
    for kind, body, field in cases:
        with pytest.raises(InvalidArgument) as error:
            calls(kind, body)
        assert violation(error) == field, (kind, body)
    with pytest.raises(InvalidArgument) as error:
        calls("batch", {"batch": [{"type": "track", "userId": "u", "event": "E"}, {"type": "identify"}]})
    assert violation(error) == "batch[1].userId"


def test_identify_maps_traits_to_attributes_and_channels():
    [call] = calls("identify", {"userId": "u1", "anonymousId": "a1", "traits": {
        "email": " ada@example.com ", "phone": "+44 (20) 7946-0958", "firstName": "Ada", "logins": 3,
        "vip": True, "score": 1.5, "tags": ["a", "b"], "address": {"city": "London", "zip": "N1"},
        "odd": [1, {"x": 2}], "nothing": None, "Created At": "2020-01-01"}})
    change = profile_change(call)
    assert change.profile == "u1" and change.email == "ada@example.com" and change.phone == "+442079460958"
    assert change.attributes == {"first_name": "Ada", "logins": 3, "vip": True, "score": 1.5, "tags": ("a", "b"),
                                 "address_city": "London", "address_zip": "N1", "odd": '[1,{"x":2}]',
                                 "created_at": "2020-01-01", "anonymous_id": "a1"}
    [call] = calls("identify", {"anonymousId": "a2", "traits": {"email": "not an email", "phone": "12"}})
    change = profile_change(call)
    assert change.profile == "a2" and change.email == "" and change.phone == ""
    assert change.attributes == {"email": "not an email", "phone": "12"}
    assert behaviour_event("s", call) is None


def test_group_and_alias_become_attributes_of_the_user_profile():
    [call] = calls("group", {"userId": "u1", "groupId": "acme", "traits": {"name": "Acme", "employees": 40}})
    assert profile_change(call).attributes == {"group_id": "acme", "group_name": "Acme", "group_employees": 40}
    [call] = calls("alias", {"userId": "u1", "previousId": "anon-1"})
    change = profile_change(call)
    assert change.profile == "u1" and change.attributes == {"previous_id": "anon-1"}


def test_track_page_and_screen_become_behaviour_events_with_properties_and_context():
    [call] = calls("track", {"userId": "u1", "anonymousId": "a1", "event": "Order Completed", "messageId": "m1",
                             "properties": {"revenue": 42.5, "orderId": "o-1"}, "context": {"ip": "203.0.113.9"}})
    event = behaviour_event("src1", call)
    assert event.type == "order_completed" and event.profile == "u1" and event.source == "segment:src1"
    assert event.event_id == collect.event_id("src1", "m1") != collect.event_id("src2", "m1")
    assert event.properties["revenue"] == 42.5 and event.properties["order_id"] == "o-1"
    assert event.properties["event"] == "Order Completed" and event.properties["anonymous_id"] == "a1"
    assert json.loads(event.properties["context"]) == {"ip": "203.0.113.9"}
    assert event.event_time == NOW and profile_change(call) is None
    [page, screen] = calls("batch", {"batch": [
        {"type": "page", "anonymousId": "a1", "name": "Pricing", "category": "Docs"},
        {"type": "screen", "userId": "u1", "name": "Home"}], "context": {"app": "x"}})
    page_event, screen_event = behaviour_event("s", page), behaviour_event("s", screen)
    assert (page_event.type, page_event.profile, page_event.properties["name"]) == ("page_viewed", "a1", "Pricing")
    assert page_event.properties["category"] == "Docs" and json.loads(page_event.properties["context"]) == {"app": "x"}
    assert screen_event.type == "screen_viewed" and page_event.event_id.startswith("seg:")


def test_keys_values_and_the_basic_user_name():
    assert [snake_key(k) for k in ("firstName", "Order Completed", "3d", "__", "URL path")] == \
        ["first_name", "order_completed", "n_3d", "", "url_path"]
    assert flatten({f"k{i}": i for i in range(300)}, limit=10) == {f"k{i}": i for i in range(10)}
    assert flatten({"big": 2**70, "nan": float("nan")}) == {"big": float(2**70)}
    assert basic_user("Basic " + base64.b64encode(b"wk_abc:").decode()) == "wk_abc"
    assert basic_user("Bearer wk_abc") == "" and basic_user("Basic !!!") == "" and basic_user("") == ""


class Store:
    """The ports' simplest implementations: dictionaries."""

    def __init__(self):
        self.sources = {}
        self.messages = {}

    # SourceStore
    def add(self, source):
        self.sources[source.id] = source

    def get(self, source_id):
        return self.sources.get(source_id)

    def revoke(self, source_id, now):
        self.sources[source_id] = self.sources[source_id].revoke(now)
        return self.sources[source_id]

    def touch(self, source_id, now):
        pass

    # SeenMessages
    def seen(self, source_id, message_ids):
        return {m for m in message_ids if (source_id, m) in self.messages}

    def remember(self, source_id, message_ids, now):
        for m in message_ids:
            self.messages.setdefault((source_id, m), now)

    def forget_before(self, cutoff):
        old = [k for k, v in self.messages.items() if v < cutoff]
        for k in old:
            del self.messages[k]
        return len(old)


class Sinks:
    def __init__(self, fail: bool = False):
        self.changes, self.events, self.fail = [], [], fail

    async def upsert(self, workspace, change):
        self.changes.append((workspace, change))

    async def ingest(self, workspace, events):
        if self.fail:
            raise collect_unavailable()
        self.events += [(workspace, e) for e in events]
        return 0


def collect_unavailable():
    from svc_kit.errors import Unavailable

    return Unavailable("analytics is down")


def collector(sinks: Sinks, store: Store | None = None):
    store = store or Store()
    sources = Sources(store, lambda: NOW)
    return Collector(sources, store, sinks, sinks, lambda: NOW, ids(), timedelta(hours=24)), sources, store


def auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_the_collector_authenticates_and_deduplicates_by_message_id():
    sinks = Sinks()
    service, sources, store = collector(sinks)
    source, key = sources.create("workspaces/acme", "")
    body = json.dumps({"batch": [
        {"type": "identify", "userId": "u1", "messageId": "m1", "traits": {"plan": "pro"}},
        {"type": "track", "userId": "u1", "messageId": "m2", "event": "Paid"},
        {"type": "track", "userId": "u1", "messageId": "m2", "event": "Paid"}]}).encode()
    outcome = asyncio.run(service.collect("batch", body, auth(key)))
    assert (outcome.calls, outcome.duplicates, outcome.profiles, outcome.events) == (3, 1, 1, 1)
    assert sinks.changes[0][0] == "acme" and sinks.events[0][1].type == "paid"
    again = asyncio.run(service.collect("batch", body, auth(key)))
    assert (again.duplicates, again.events) == (3, 0) and len(sinks.events) == 1
    # The body's writeKey works as the Basic user name does.
    asyncio.run(service.collect("track", json.dumps({"userId": "u", "event": "E", "writeKey": key}).encode(), ""))
    assert len(sinks.events) == 2
    for authorization, body_key in (("", ""), (auth("wk_nope"), ""), ("Bearer " + key, "")):
        with pytest.raises(Unauthenticated):
            asyncio.run(service.collect("track", json.dumps({"userId": "u", "event": "E", "writeKey": body_key})
                                        .encode(), authorization))
    sources.revoke(source.name)
    with pytest.raises(Unauthenticated, match="revoked"):
        asyncio.run(service.collect("track", json.dumps({"userId": "u", "event": "E"}).encode(), auth(key)))


def test_a_call_that_failed_downstream_is_not_remembered_so_its_retry_works():
    store = Store()
    failing = Sinks(fail=True)
    service, sources, _ = collector(failing, store)
    _, key = sources.create("workspaces/acme", "")
    body = json.dumps({"userId": "u", "event": "E", "messageId": "m9"}).encode()
    with pytest.raises(Exception, match="down"):
        asyncio.run(service.collect("track", body, auth(key)))
    working = Sinks()
    service, _, _ = collector(working, store)
    service.sources = sources
    assert asyncio.run(service.collect("track", body, auth(key))).events == 1


class Refusing(Sinks):
    async def upsert(self, workspace, change):
        if change.profile == "bad":
            raise InvalidArgument(collect.FieldViolation("profile bad: attributes[0]", "type changed"))
        await super().upsert(workspace, change)


def test_a_profile_change_audience_refuses_is_logged_and_the_rest_of_the_call_counts(caplog):
    sinks = Refusing()
    service, sources, _ = collector(sinks)
    _, key = sources.create("workspaces/acme", "")
    body = json.dumps({"batch": [{"type": "identify", "userId": "bad", "traits": {"plan": 1}},
                                 {"type": "identify", "userId": "good", "traits": {"plan": "pro"}},
                                 {"type": "track", "userId": "bad", "event": "Paid"}]}).encode()
    outcome = asyncio.run(service.collect("batch", body, auth(key)))
    assert outcome.events == 1 and [c.profile for _, c in sinks.changes] == ["good"]
    assert "refused the profile change of bad" in caplog.text
