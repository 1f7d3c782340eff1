"""The campaign service's tally of notify's delivery events: applied inside the
consumer's inbox transaction (each event once), read by the upkeep pass
(service_layer/upkeep.py) that completes campaigns and pauses them on budget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.channels import Channel
from svc_kit.clock import utcnow

from svc_campaign.adapters.tables import (campaign_channel_spend, campaign_delivery_messages,
                                          campaign_pause_reasons, campaigns)
from svc_campaign.domain.delivery import SENT, Spend, Tally, finality

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _campaign_id(name: str) -> str:
    parts = name.split("/")
    return parts[3] if len(parts) == 4 and parts[2] == "campaigns" else ""


def apply_event(connection: Connection, event: Mapping[str, Any]) -> None:
    final = finality(event["event_type"])
    payload = event.get("payload") or {}
    info = payload.get("message") or {}
    campaign_id = _campaign_id(info.get("campaign") or "")
    if final is None or not campaign_id:
        return
    workspace, channel = event["workspace"], info.get("channel") or ""
    insert = _INSERT[connection.dialect.name]
    statement = insert(campaign_delivery_messages).values(
        workspace=workspace, message_id=event["aggregate_id"], campaign_id=campaign_id, channel=channel,
        final=final, update_time=utcnow())
    connection.execute(statement.on_conflict_do_update(
        index_elements=["workspace", "message_id"],
        set_={"final": or_(campaign_delivery_messages.c.final, statement.excluded.final),
              "update_time": statement.excluded.update_time}))
    if event["event_type"] == SENT:
        cost = int(payload.get("cost_micros") or 0)
        currency = (payload.get("cost_currency") or "") if cost else ""
        spend = insert(campaign_channel_spend).values(workspace=workspace, campaign_id=campaign_id,
                                                      channel=channel, currency=currency, sent=1, spent_micros=cost)
        c = campaign_channel_spend.c
        connection.execute(spend.on_conflict_do_update(
            index_elements=["workspace", "campaign_id", "channel", "currency"],
            set_={"sent": c.sent + 1, "spent_micros": c.spent_micros + spend.excluded.spent_micros}))


def tally(connection: Connection, workspace: str, campaign_id: str) -> Tally:
    m = campaign_delivery_messages.c
    known, final = connection.execute(select(func.count(), func.count().filter(m.final)).where(
        m.workspace == workspace, m.campaign_id == campaign_id)).one()
    s = campaign_channel_spend.c
    spend = tuple(Spend(Channel(r.channel), r.currency, r.sent, r.spent_micros)
                  for r in connection.execute(select(campaign_channel_spend).where(
                      s.workspace == workspace, s.campaign_id == campaign_id).order_by(s.channel, s.currency)))
    return Tally(known, final or 0, spend)


class SqlDeliveryTally:
    """The tally's reads and the pause reasons, inside a unit of work."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def tally(self, workspace: str, campaign_id: str) -> Tally:
        return tally(self.connection, workspace, campaign_id)

    def live_campaigns(self, after: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
        """(workspace, id) of RUNNING and PAUSED campaigns in every workspace, in that order, after `after`."""
        c = campaigns.c
        query = select(c.workspace, c.id).where(c.state.in_(("RUNNING", "PAUSED")))
        if after is not None:
            query = query.where(tuple_(c.workspace, c.id) > tuple_(*after))
        rows = self.connection.execute(query.order_by(c.workspace, c.id).limit(limit))
        return [(r.workspace, r.id) for r in rows]

    def pause_reason(self, workspace: str, campaign_id: str) -> tuple[str, datetime] | None:
        """The reason of the pause the service made itself, and that pause's time."""
        r = campaign_pause_reasons.c
        row = self.connection.execute(select(r.reason, r.pause_time).where(
            r.workspace == workspace, r.campaign_id == campaign_id)).first()
        return (row.reason, row.pause_time) if row else None

    def set_pause_reason(self, workspace: str, campaign_id: str, reason: str, now: datetime) -> None:
        self.clear_pause_reason(workspace, campaign_id)
        self.connection.execute(campaign_pause_reasons.insert().values(
            workspace=workspace, campaign_id=campaign_id, reason=reason, pause_time=now))

    def clear_pause_reason(self, workspace: str, campaign_id: str) -> None:
        r = campaign_pause_reasons.c
        self.connection.execute(delete(campaign_pause_reasons).where(
            r.workspace == workspace, r.campaign_id == campaign_id))
