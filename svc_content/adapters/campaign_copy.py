"""The content service's copy of campaigns, kept from the campaign service's
events (topic marketing.campaign.v1, each applied once through the inbox):
name, state and the templates each campaign sends. Eventually consistent;
never a call to the campaign service on the read path."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

import event_schemas
from svc_kit.bus.port import Bus
from svc_kit.clock import utcnow
from svc_kit.events.inbox import InboxConsumer

from svc_content.adapters.tables import campaigns, content_inbox

CAMPAIGN_TOPIC = "persistent://public/default/marketing.campaign.v1"
SUBSCRIPTION = "svc_content-campaigns"
LIVE_STATES = ("SCHEDULED", "RUNNING", "PAUSED")
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_c = campaigns.c
log = logging.getLogger("svc_content.campaign_copy")


def _payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = event["payload"]
    return payload[1] if isinstance(payload, tuple) else payload


def apply_event(connection: Connection, event: Mapping[str, Any]) -> None:
    workspace, campaign_id, version = event["workspace"], event["aggregate_id"], event["aggregate_version"]
    keys = (_c.workspace == workspace, _c.campaign_id == campaign_id)
    kind = event["event_type"]
    if kind == "campaign_deleted":
        connection.execute(delete(campaigns).where(*keys))
        return
    row = connection.execute(select(campaigns).where(*keys)).first()
    if row is not None and row.version >= version:
        return  # already applied, or older than what the copy holds
    payload = _payload(event)
    values = {"version": version, "update_time": utcnow()}
    if kind in ("campaign_created", "campaign_updated"):
        fields = payload["fields"]
        values["display_name"] = fields.get("display_name", "")
        values["templates"] = [ref["template"] for ref in fields.get("contents", [])]
    if "to_state" in payload:
        values["state"] = payload["to_state"]
    elif kind == "campaign_created":
        values["state"] = "DRAFT"
    if row is None:
        values = {"workspace": workspace, "campaign_id": campaign_id, "display_name": "", "state": "DRAFT",
                  "templates": [], **values}
        statement = _INSERT[connection.dialect.name](campaigns).values(values)
        connection.execute(statement.on_conflict_do_update(index_elements=["workspace", "campaign_id"],
                                                           set_={k: statement.excluded[k] for k in values
                                                                 if k not in ("workspace", "campaign_id")}))
    else:
        connection.execute(campaigns.update().where(*keys).values(values))
    if "state" in values and (row is None or row.state != values["state"]):
        # In the consumer's span: the line carries the trace of the call that changed the campaign.
        log.info("campaign copy now %s", values["state"], extra={"workspace": workspace, "campaign": campaign_id,
                                                                  "event_type": kind})


def consumer(bus: Bus, engine: Engine) -> InboxConsumer:
    return InboxConsumer(bus, engine, content_inbox, CAMPAIGN_TOPIC, SUBSCRIPTION, event_schemas.load("campaign.v1"),
                         lambda connection, event, message: apply_event(connection, event))


def _refers(reference: str, template_name: str) -> bool:
    return reference == template_name or reference.startswith(template_name + "/versions/")


class LocalCampaigns:
    """Answers from the copy (small indexed reads, run inline)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    async def campaign(self, workspace: str, campaign_id: str) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_c.display_name).where(_c.workspace == workspace,
                                                                   _c.campaign_id == campaign_id)).first()
        return None if row is None else {"id": campaign_id, "name": row.display_name}

    async def referencing(self, workspace: str, template_name: str) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(_c.campaign_id, _c.templates).where(
                _c.workspace == workspace, _c.state.in_(LIVE_STATES)).order_by(_c.campaign_id))
            return [f"workspaces/{workspace}/campaigns/{row.campaign_id}" for row in rows
                    if any(_refers(t, template_name) for t in row.templates)]
