"""campaign's part of privacy requests, on SQLite and PostgreSQL (the module uses the campaign
`engine` of conftest), through a real bus and the inbox: profile_erased removes the profile from
the copy of every segment (sizes recounted), once per event, in its workspace only; the
confirmation is in the outbox; the export shows its segments and the campaigns targeting them,
then nothing."""

from __future__ import annotations

from svc_campaign.adapters import privacy
from svc_campaign.adapters.journey_store import SqlJourneys
from svc_campaign.service_layer import journeys
from tests.contract.test_campaign_journeys import T0, cart
from svc_campaign.adapters.segment_cache import apply_event, segments
from svc_campaign.adapters.tables import campaign_inbox
from tests.contract.privacy_helpers import confirmations, deliver, profile_erased
from svc_campaign.adapters.sql_unit_of_work import OUTBOX, SqlUnitOfWork
from svc_campaign.domain import commands
from svc_campaign.domain.model import CampaignFields
from svc_campaign.service_layer import handlers
from tests.contract.test_segment_cache import event
from tests.unit.campaign.test_handlers import Clock, Ids


def campaigns(engine, *targets: str) -> list[str]:
    """One campaign per segment named, ids from one sequence."""
    ids = Ids()
    return [handlers.create_campaign(commands.CreateCampaign("acme", CampaignFields(
        display_name="Spring", target_segments=(f"workspaces/acme/segments/{t}",))),
        SqlUnitOfWork(engine), Clock(), ids).id for t in targets]


def decoded(record: dict) -> dict:
    """The record as a consumer reads it from the bus (the payload union decoded to its record)."""
    return {**record, "payload": record["payload"][1]}


def export(engine, workspace, profile):
    with engine.connect() as connection:
        return privacy.export_profile(connection, workspace, profile)


def test_erasure_leaves_the_segment_copy_and_confirms(engine, tmp_path):
    with engine.begin() as connection:
        apply_event(connection, decoded(event("vip", added=["ann", "bob"])))
        apply_event(connection, decoded(event("big", added=["ann"])))
        apply_event(connection, decoded(event("vip", added=["ann"], workspace="other")))
    target, _ = campaigns(engine, "vip", "nobody-here")
    tx = SqlJourneys(engine)
    journeys.create_journey(tx, "acme", "cart", "Cart", cart(), T0, lambda: "x")
    journeys.publish_journey(tx, "acme", "cart", "", T0)
    with tx() as store:
        for workspace, who in (("acme", "ann"), ("acme", "bob"), ("other", "ann")):
            journeys.on_tracked(store, workspace, who, "product_added_to_cart", {}, f"ev-{workspace}-{who}", T0,
                                lambda w=workspace, p=who: f"{w}-{p}")
    with tx() as store:
        for who in ("ann", "bob"):
            store.put_date_timers("acme", "cart", [journeys.DateTimer(who, T0, None)], "r1")
    before = export(engine, "acme", "ann")
    assert before["journeyDateTimers"] == [{"journey": "workspaces/acme/journeys/cart", "dueTime": T0.isoformat()}]
    assert [(e["journey"], e["state"], e["step"]) for e in before["journeyEntries"]] == [
        ("workspaces/acme/journeys/cart", "ACTIVE", "wait1")]
    assert before["segmentMemberships"] == ["workspaces/acme/segments/big", "workspaces/acme/segments/vip"]
    assert [c["name"] for c in before["campaigns"]] == [f"workspaces/acme/campaigns/{target}"]

    erased = profile_erased("acme", "ann")
    assert deliver(engine, tmp_path, campaign_inbox, OUTBOX, "campaign", privacy.erase_profile,
                   [erased, erased]) == 1

    assert export(engine, "acme", "ann") == {"segmentMemberships": [], "campaigns": [], "journeyEntries": [],
                                             "journeyDateTimers": []}
    assert len(export(engine, "acme", "bob")["journeyDateTimers"]) == 1
    assert journeys.explain_profile(tx, "acme", "ann") == []
    assert len(export(engine, "acme", "bob")["journeyEntries"]) == 1
    assert export(engine, "acme", "bob")["segmentMemberships"] == ["workspaces/acme/segments/vip"]
    assert export(engine, "other", "ann")["segmentMemberships"] == ["workspaces/other/segments/vip"]
    with engine.connect() as connection:
        assert [s.size for s in segments(connection, "acme", ["vip", "big"])] == [1, 0]
    [confirmation] = confirmations(engine, OUTBOX)
    assert confirmation["payload"]["service"] == "campaign"
    assert confirmation["payload"]["counts"] == {"segmentMemberships": 2, "journeyEntries": 1}
    assert confirmation["aggregate_id"] == erased["event_id"]
