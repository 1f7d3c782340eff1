"""Compiled segment rules select exactly the right profiles on both
MongoDB-wire servers: every rule's database result is checked against a
straightforward evaluation of the rule in this test (the oracle; the service
itself only ever runs the compiled query)."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from svc_kit.channels import Channel
from svc_kit.errors import InvalidArgument

from svc_audience.adapters.repository import MongoProfileRepository, ensure_indexes, to_document
from svc_audience.domain.behaviour import TrackedEvent, recorded
from svc_audience.adapters.segment_store import SegmentStore
from svc_audience.domain.model import Consent, ConsentStatus, DeviceToken, Profile, ProfileData
from svc_audience.domain.segments import compile_rule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PLANS = ["free", "pro", "team"]
TAGS = ["shoes", "sale", "outdoor", "kids"]
EVENTS = ["cart_abandoned", "purchase", "page:viewed"]


def synthetic_profiles(count: int, workspace: str) -> list[Profile]:
    rng = random.Random(7)
    profiles = []
    for i in range(count):
        attributes = {"ltv": round(rng.uniform(0, 500), 2), "visits": rng.randint(0, 40),
                      "vip": rng.random() < 0.2, "city": rng.choice(["Paris", "Lyon", "Lille", "Nantes"]),
                      "last_order": NOW - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))}
        if rng.random() < 0.7:
            attributes["plan"] = rng.choice(PLANS)
        if rng.random() < 0.6:
            attributes["tags"] = tuple(rng.sample(TAGS, rng.randint(1, 3)))
        consents = {}
        if rng.random() < 0.8:
            consents[Channel.EMAIL] = Consent(rng.choice([ConsentStatus.GRANTED, ConsentStatus.DENIED]), NOW)
        profile = Profile(workspace, f"p{i:04d}").merged(ProfileData(
            email=f"p{i}@example.com", locale=rng.choice(["fr-FR", "en-GB"]), attributes=attributes,
            consents=consents), (), NOW)
        for n in range(rng.choice([0, 0, 1, 2, 3, 5])):
            name = rng.choice(EVENTS)
            at = NOW - timedelta(days=rng.uniform(0, 20))
            profile = recorded(profile, TrackedEvent(f"{i}-{n}", workspace, profile.external_id, name,
                                                     int(at.timestamp() * 1000)), NOW) or profile
        profiles.append(profile)
    return profiles


def performed(p: Profile, name: str, days: int | None) -> int:
    entry = p.behaviour.get(name)
    if entry is None:
        return 0
    if days is None:
        return entry["count"]
    since = (NOW - timedelta(days=days)).timestamp() * 1000
    return sum(1 for t in entry["recent"] if t >= since)


def value_of(profile: Profile, name: str):
    return getattr(profile, name) if name in ("email", "phone", "locale", "time_zone") else \
        profile.attributes.get(name)


def oracle(rule: dict, p: Profile) -> bool:
    if "and" in rule:
        return all(oracle(r, p) for r in rule["and"])
    if "or" in rule:
        return any(oracle(r, p) for r in rule["or"])
    if "not" in rule:
        return not oracle(rule["not"], p)
    if "event" in rule:
        times = performed(p, rule["event"], rule.get("within_days"))
        least = rule.get("min_count", 0 if "max_count" in rule else 1)
        return least <= times and ("max_count" not in rule or times <= rule["max_count"])
    if "consent" in rule:
        consent = p.consents.get(Channel[rule["consent"].upper()])
        return consent is not None and consent.status.value == rule["status"].upper()
    v, op = value_of(p, rule["attribute"]), rule["op"]
    target = rule.get("value")
    return {
        "eq": lambda: v == target, "ne": lambda: v is not None and v != target,
        "gt": lambda: v is not None and v > target, "gte": lambda: v is not None and v >= target,
        "lt": lambda: v is not None and v < target, "lte": lambda: v is not None and v <= target,
        "between": lambda: v is not None and rule["values"][0] <= v <= rule["values"][1],
        "in": lambda: v in rule["values"], "not_in": lambda: v is not None and v not in rule["values"],
        "contains": lambda: isinstance(v, str) and target in v,
        "includes": lambda: isinstance(v, tuple) and target in v,
        "starts_with": lambda: isinstance(v, str) and v.startswith(target),
        "exists": lambda: v is not None, "not_exists": lambda: v is None,
        "within_last_days": lambda: v is not None and NOW - timedelta(days=target) <= v <= NOW,
    }[op]()


RULES = [
    {"attribute": "ltv", "op": "gt", "value": 250},
    {"attribute": "visits", "op": "between", "values": [5, 10]},
    {"attribute": "plan", "op": "in", "values": ["pro", "team"]},
    {"attribute": "plan", "op": "ne", "value": "free"},
    {"attribute": "plan", "op": "not_in", "values": ["free"]},
    {"attribute": "plan", "op": "not_exists"},
    {"attribute": "tags", "op": "includes", "value": "shoes"},
    {"attribute": "city", "op": "starts_with", "value": "L"},
    {"attribute": "email", "op": "contains", "value": "12"},
    {"attribute": "vip", "op": "eq", "value": True},
    {"attribute": "last_order", "op": "within_last_days", "value": 7},
    {"consent": "email", "status": "granted"},
    {"event": "cart_abandoned"},
    {"event": "cart_abandoned", "min_count": 2},
    {"event": "cart_abandoned", "min_count": 2, "within_days": 7},
    {"event": "page:viewed", "min_count": 1, "max_count": 1, "within_days": 10},
    {"event": "purchase", "max_count": 0, "within_days": 5},
    {"event": "purchase", "max_count": 1},
    {"and": [{"event": "cart_abandoned", "within_days": 14}, {"not": {"event": "purchase", "within_days": 14}},
             {"consent": "email", "status": "granted"}]},
    {"and": [{"attribute": "ltv", "op": "gte", "value": 100}, {"attribute": "locale", "op": "eq", "value": "fr-FR"},
             {"consent": "email", "status": "granted"}, {"attribute": "last_order", "op": "within_last_days",
                                                          "value": 30}]},
    {"or": [{"attribute": "vip", "op": "eq", "value": True}, {"not": {"attribute": "visits", "op": "lt",
                                                                       "value": 30}}]},
    {"not": {"or": [{"attribute": "tags", "op": "includes", "value": "sale"}, {"consent": "email",
                                                                                "status": "denied"}]}},
]


@pytest.fixture(scope="module", params=["nx", "ferretdb"])
def loaded(request):
    server = request.getfixturevalue(f"{request.param}_server")
    client = MongoClient(server.url, tz_aware=True)
    database = client[f"segments_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(database)
    repository = MongoProfileRepository(database)
    profiles = synthetic_profiles(400, "acme") + synthetic_profiles(50, "other")
    database["profiles"].insert_many([to_document(p) for p in profiles])
    yield repository, [p for p in profiles if p.workspace == "acme"]
    client.drop_database(database.name)
    client.close()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: re.sub(r"\W+", "_", str(r))[:60])
def test_the_compiled_query_selects_what_the_rule_means(loaded, rule):
    repository, profiles = loaded
    query = compile_rule(rule, "acme", NOW)
    found = sorted(d["external_id"] for d in repository.profiles.find(query, {"external_id": 1}))
    expected = sorted(p.external_id for p in profiles if oracle(rule, p))
    assert found == expected
    assert repository.profiles.count_documents(query) == len(expected)
    assert SegmentStore(repository.profiles.database).count(query) == len(expected)
    assert 0 < len(expected) < len(profiles), "the synthetic data should make every rule discriminate"


@pytest.mark.parametrize(("rule", "field", "why"), [
    ({"attribute": "ltv", "op": "gtx", "value": 1}, "segment.definition.op", "unknown operator"),
    ({"and": []}, "segment.definition.and", "non-empty list"),
    ({"and": [{"attribute": "ltv"}, {"consent": "fax", "status": "granted"}]}, "segment.definition.and[0].op",
     "unknown operator"),
    ({"attribute": "ltv", "op": "gt", "value": "high"}, "segment.definition.value", "compares numbers"),
    ({"attribute": "ltv", "op": "between", "values": [1]}, "segment.definition.values", "exactly two"),
    ({"attribute": "Bad-Key", "op": "exists"}, "segment.definition.attribute", "not an attribute key"),
    ({"event": "cart_abandoned", "at_least": 2}, "segment.definition", "unknown field 'at_least'"),
    ({"event": "cart abandoned"}, "segment.definition.event", "not an event name"),
    ({"event": "cart_abandoned", "min_count": 3, "max_count": 2}, "segment.definition.max_count",
     "at least min_count"),
    ({"event": "cart_abandoned", "min_count": 101, "within_days": 7}, "segment.definition.min_count", "up to 100"),
    ({"event": "cart_abandoned", "within_days": 0}, "segment.definition.within_days", "from 1"),
    ({"event": "cart_abandoned", "min_count": 0}, "segment.definition.min_count", "admits everyone"),
    ({"attribute": "d", "op": "gte", "value": {"timestamp": "yesterday"}}, "segment.definition.value", "ISO 8601"),
    ("not a rule", "segment.definition", "a rule is a JSON object"),
])
def test_invalid_rules_name_the_rule_and_the_reason(rule, field, why):
    with pytest.raises(InvalidArgument) as error:
        compile_rule(rule, "acme", NOW)
    first = error.value.violations[0]
    assert first.field == field and why in first.description


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidArgument) as error:
        compile_rule({"and": [{"attribute": "ltv", "op": "gtx", "value": 1},
                              {"consent": "fax", "status": "granted"}]}, "acme", NOW)
    assert [v.field for v in error.value.violations] == ["segment.definition.and[0].op",
                                                         "segment.definition.and[1].consent"]


def test_reachable_on_push_means_a_device_token_and_consent(loaded):
    repository, _ = loaded
    granted = {Channel.PUSH: Consent(ConsentStatus.GRANTED, NOW)}
    profiles = [
        Profile("push", "token-consent").merged(ProfileData(device_tokens=(DeviceToken("t1", "IOS"),),
                                                            consents=granted), (), NOW),
        Profile("push", "consent-only").merged(ProfileData(consents=granted), (), NOW),
        Profile("push", "token-only").merged(ProfileData(device_tokens=(DeviceToken("t2", "ANDROID"),)), (), NOW),
    ]
    repository.profiles.insert_many([to_document(p) for p in profiles])
    query = SegmentStore.members_query(compile_rule({"attribute": "locale", "op": "eq", "value": ""}, "push", NOW),
                                       Channel.PUSH)
    assert [d["external_id"] for d in repository.profiles.find(query)] == ["token-consent"]
