"""The event schemas' additions for analytics (issue 12) stay FULL compatible with the versions
registered before them: the previous version is the current file without the added fields, and each
generation must read the other's data (what the topic registry checks on a producer's start)."""

from __future__ import annotations

import copy

import pytest

import event_schemas
from svc_kit.bus.compat import check
from svc_kit.bus.schema import EventSchema

ADDED = {  # schema -> (record name, field) pairs added by issue 12
    "notify.v1": [("MessageInfo", "variant"), ("MessageSent", "cost_micros"), ("MessageSent", "cost_currency")],
    "audience.v1": [("ProfileErased", "channel"), ("ProfileErased", "campaign")],
}


def _records(node):
    if isinstance(node, dict):
        if node.get("type") == "record":
            yield node
        for value in node.values():
            yield from _records(value)
    elif isinstance(node, list):
        for value in node:
            yield from _records(value)


def previous(name: str) -> EventSchema:
    definition = copy.deepcopy(dict(event_schemas.load(name).definition))
    for record_name, field_name in ADDED[name]:
        record = next(r for r in _records(definition) if r["name"] == record_name)
        assert any(f["name"] == field_name for f in record["fields"]), (record_name, field_name)
        record["fields"] = [f for f in record["fields"] if f["name"] != field_name]
    return EventSchema(definition)


@pytest.mark.parametrize("name", sorted(ADDED))
def test_the_additions_are_full_compatible(name):
    check(event_schemas.load(name), [previous(name)], "FULL")


def test_a_new_union_branch_would_not_have_been():
    """Why message_queued and profile_unsubscribed reuse an existing payload record."""
    definition = copy.deepcopy(dict(event_schemas.load("audience.v1").definition))
    definition["fields"][-1]["type"].append({"type": "record", "name": "ProfileUnsubscribed",
                                             "fields": [{"name": "profile", "type": "string"}]})
    with pytest.raises(Exception, match="matches no branch"):
        check(EventSchema(definition), [event_schemas.load("audience.v1")], "FULL")
