"""Campaign events to and from records: the JSON payloads of the event stream
and the Avro envelope of the campaign topic (event_schemas/campaign.v1.avsc).
Both use the same record shapes; only timestamps differ (ISO strings in JSON,
datetimes for Avro's timestamp-micros)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from svc_campaign.adapters import codec
from svc_campaign.domain.events import CREATED, DELETED, FAILED, STARTED, UPDATED, CampaignEvent
from svc_campaign.domain.model import CampaignFields
from svc_campaign.adapters.codec import time_of_day_from_text, time_of_day_to_text
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, ContentRef, Money, Pacing, Schedule

NAMESPACE = "marketing.campaign.v1"
TOPIC = "persistent://public/default/marketing.campaign.v1"
PRODUCER = "svc_campaign"

TimeOut = Callable[[datetime | None], Any]

# Event types written in another type's union branch: campaign_failed has the shape of every state change
# (from_state, to_state) and travels as a CampaignCancelled record with to_state FAILED, so the schema did not
# change; readers tell the two apart by the envelope's event_type.
_BRANCH_OF = {FAILED: "campaign_cancelled"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _same(value: datetime | None) -> datetime | None:
    return value


def _time_in(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def fields_record(data: CampaignFields, time: TimeOut = _same) -> dict[str, Any]:
    schedule = None
    if data.schedule is not None:
        s = data.schedule
        schedule = {"start_time": time(s.start_time), "end_time": time(s.end_time), "time_zone": s.time_zone,
                    "send_local_time": time_of_day_to_text(s.send_local_time),
                    "max_sends_per_hour": s.max_sends_per_hour}
        if s.recurrence:  # absent otherwise, so the stored payloads of one-off campaigns keep their shape
            schedule["recurrence"] = s.recurrence
    budget = None
    if data.budget is not None:
        b = data.budget
        budget = {"currency": b.total.currency, "total": str(b.total.amount),
                  "allocations": [{"channel": a.channel.value, "currency": a.amount.currency,
                                   "amount": str(a.amount.amount)} for a in b.allocations],
                  "pacing": b.pacing.value}
    record = {
        "display_name": data.display_name,
        "description": data.description,
        "channels": [c.value for c in data.channels],
        "schedule": schedule,
        "budget": budget,
        "target_segments": list(data.target_segments),
        "contents": [{"channel": c.channel.value, "template": c.template} for c in data.contents],
        "labels": dict(data.labels),
    }
    if data.ab_test is not None:
        # In the stored stream (JSON) only: the Avro schema of campaign.v1 has no ab_test yet, and its
        # writer leaves out keys the schema does not name.
        record["ab_test"] = codec.ab_test_to_json(data.ab_test)
    return record


def fields_from_record(record: dict[str, Any]) -> CampaignFields:
    schedule = None
    if (s := record.get("schedule")) is not None:
        schedule = Schedule(_time_in(s.get("start_time")), _time_in(s.get("end_time")), s.get("time_zone", ""),
                            time_of_day_from_text(s.get("send_local_time")), s.get("max_sends_per_hour", 0),
                            s.get("recurrence") or "")
    budget = None
    if (b := record.get("budget")) is not None:
        budget = Budget(Money(b["currency"], Decimal(b["total"])),
                        tuple(ChannelAllocation(Channel(a["channel"]), Money(a["currency"], Decimal(a["amount"])))
                              for a in b.get("allocations", [])),
                        Pacing(b.get("pacing", Pacing.NONE.value)))
    return CampaignFields(
        display_name=record["display_name"],
        description=record.get("description", ""),
        channels=tuple(Channel(c) for c in record.get("channels", [])),
        schedule=schedule,
        budget=budget,
        target_segments=tuple(record.get("target_segments", [])),
        contents=tuple(ContentRef(Channel(c["channel"]), c["template"]) for c in record.get("contents", [])),
        labels=dict(record.get("labels", {})),
        ab_test=codec.ab_test_from_json(record.get("ab_test")),
    )


def payload_record(event: CampaignEvent, time: TimeOut = _iso) -> dict[str, Any]:
    if event.type == CREATED:
        return {"fields": fields_record(event.data["fields"], time)}
    if event.type == UPDATED:
        return {"changed_paths": list(event.data["paths"]), "fields": fields_record(event.data["fields"], time)}
    if event.type == DELETED:
        return {"last_state": event.data["last_state"]}
    record = {"from_state": event.data["from_state"], "to_state": event.data["to_state"]}
    if event.type == STARTED:
        record |= {"run": event.data.get("run"), "occurrence_time": time(event.data.get("occurrence_time"))}
    return record


def event_from_payload(event_id: str, event_type: str, workspace: str, campaign_id: str, version: int,
                       occurred_at: datetime, payload: dict[str, Any]) -> CampaignEvent:
    if event_type == CREATED:
        data = {"fields": fields_from_record(payload["fields"])}
    elif event_type == UPDATED:
        data = {"paths": list(payload["changed_paths"]), "fields": fields_from_record(payload["fields"])}
    else:
        data = dict(payload)
        if event_type == STARTED:  # from before recurring runs: neither (the model reads run 1 at its time)
            data["run"], data["occurrence_time"] = data.get("run"), _time_in(data.get("occurrence_time"))
    return CampaignEvent(event_id, event_type, workspace, campaign_id, version, occurred_at, data)


def record_name(event_type: str) -> str:
    """campaign_scheduled -> marketing.campaign.v1.CampaignScheduled (campaign_failed: ...CampaignCancelled)"""
    event_type = _BRANCH_OF.get(event_type, event_type)
    return f"{NAMESPACE}." + "".join(part.capitalize() for part in event_type.split("_"))


def envelope(event: CampaignEvent, traceparent: str | None = None, tracestate: str | None = None) -> dict:
    """The Avro record published for `event`; the payload names its union branch."""
    return {
        "event_id": event.event_id,
        "event_type": event.type,
        "workspace": event.workspace,
        "aggregate_id": event.campaign_id,
        "aggregate_version": event.version,
        "occurred_at": event.occurred_at,
        "producer": PRODUCER,
        "traceparent": traceparent,
        "tracestate": tracestate,
        "payload": (record_name(event.type), payload_record(event, _same)),
    }


def event_from_envelope(record: dict[str, Any]) -> CampaignEvent:
    payload = record["payload"]
    if isinstance(payload, tuple):
        payload = payload[1]
    return event_from_payload(record["event_id"], record["event_type"], record["workspace"],
                              record["aggregate_id"], record["aggregate_version"], record["occurred_at"], payload)
