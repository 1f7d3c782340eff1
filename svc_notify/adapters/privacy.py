"""What notify holds about a profile, for privacy requests: the messages sent to it (address,
rendered or given content, template data), their delivery attempts (address, provider response)
and its in-app inbox.

Erasure anonymises the messages and deliveries (the rows stay, so a campaign's counts of sent,
delivered, opened... do not change, but the recipient, address, content, template data, labels,
idempotency key and provider responses go) and deletes the inbox items. A message still waiting to
go out is cancelled. Everything is scoped to one workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, null, select, update

from svc_kit.events.erasure import json_record

from svc_notify.adapters.tables import deliveries, inbox_items, messages

_m, _d, _i = messages.c, deliveries.c, inbox_items.c
WAITING = ("QUEUED", "DEFERRED")
ERASED_REASON = "profile erased"


def _message_ids(connection: Connection, workspace: str, profile: str) -> list[str]:
    return list(connection.execute(select(_m.id).where(_m.workspace == workspace, _m.recipient == profile)
                                   .order_by(_m.id)).scalars())


def erase_profile(connection: Connection, workspace: str, profile: str) -> dict[str, int]:
    """Anonymises the profile's messages and deliveries and deletes its inbox; returns the counts.
    Idempotent: a second run finds nothing left to change."""
    if not profile:
        return {"messages": 0, "deliveries": 0, "inboxItems": 0}
    ids = _message_ids(connection, workspace, profile)
    delivered = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        delivered += connection.execute(update(deliveries).where(
            _d.workspace == workspace, _d.message_id.in_(chunk))
            .values(address="", provider_response="")).rowcount
        connection.execute(update(messages).where(
            _m.workspace == workspace, _m.id.in_(chunk), _m.state.in_(WAITING))
            .values(state="CANCELLED", state_reason=ERASED_REASON, due_time=None, lease=None))
        connection.execute(update(messages).where(_m.workspace == workspace, _m.id.in_(chunk)).values(
            recipient="", address="", content=null(), template=null(), labels={},
            idempotency_key="erased/" + _m.id, version=_m.version + 1))
    inbox = connection.execute(delete(inbox_items).where(
        _i.workspace == workspace, _i.inbox == profile)).rowcount
    return {"messages": len(ids), "deliveries": delivered, "inboxItems": inbox}


def export_profile(connection: Connection, workspace: str, profile: str) -> dict[str, Any]:
    """The profile's messages, their deliveries and its inbox items, as JSON lists."""
    ids = _message_ids(connection, workspace, profile) if profile else []
    found_messages, found_deliveries = [], []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found_messages += [json_record(r._mapping, ("lease", "due_time", "version")) for r in connection.execute(
            select(messages).where(_m.workspace == workspace, _m.id.in_(chunk)).order_by(_m.id))]
        found_deliveries += [json_record(r._mapping) for r in connection.execute(
            select(deliveries).where(_d.workspace == workspace, _d.message_id.in_(chunk)).order_by(_d.id))]
    items = [json_record(r._mapping) for r in connection.execute(
        select(inbox_items).where(_i.workspace == workspace, _i.inbox == profile).order_by(_i.id))] if profile else []
    return {"messages": found_messages, "deliveries": found_deliveries, "inboxItems": items}
