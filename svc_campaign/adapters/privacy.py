"""What campaign holds about a profile, for privacy requests: its place in the service's copy of
audience segments (segment_cache_members, from `segment_updated`), and through it which campaigns
target it. Campaigns, their events and launches name segments and snapshots, never a profile (a
launch's frozen members live in audience's snapshots, which audience's own erasure clears).

Journeys hold the profile by id: its entries (position, events seen), its admission rows, its trail and its
date triggers' timers (when its date, e.g. a birthday, next comes round).

Erasure deletes the profile's rows from the segment copy (and recounts those segments' sizes) and its
journey entries, admission rows, trail (a journey's figures lose them) and date timers; the campaigns' counts
stay.
Everything is scoped to one workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from svc_kit.events.erasure import json_record

from svc_campaign.adapters.tables import (campaigns, journey_date_timers, journey_entries, journey_profiles,
                                          journey_trail, segment_cache_members, segment_cache_state)

_members, _state, _c = segment_cache_members.c, segment_cache_state.c, campaigns.c


def _segments_of(connection: Connection, workspace: str, profile: str) -> list[str]:
    return list(connection.execute(select(_members.segment_id).where(
        _members.workspace == workspace, _members.profile_id == profile).order_by(_members.segment_id)).scalars())


def erase_profile(connection: Connection, workspace: str, profile: str) -> dict[str, int]:
    """Removes the profile from the copy of every segment; idempotent."""
    segment_ids = _segments_of(connection, workspace, profile)
    removed = connection.execute(delete(segment_cache_members).where(
        _members.workspace == workspace, _members.profile_id == profile)).rowcount if segment_ids else 0
    for segment_id in segment_ids:
        size = connection.execute(select(func.count()).where(
            _members.workspace == workspace, _members.segment_id == segment_id)).scalar_one()
        connection.execute(update(segment_cache_state).where(
            _state.workspace == workspace, _state.segment_id == segment_id).values(size=size))
    journeys = connection.execute(delete(journey_entries).where(
        journey_entries.c.workspace == workspace, journey_entries.c.profile == profile)).rowcount
    for table in (journey_trail, journey_profiles, journey_date_timers):
        connection.execute(delete(table).where(table.c.workspace == workspace, table.c.profile == profile))
    return {"segmentMemberships": removed, "journeyEntries": journeys}


def _targets(campaign_row, segment_ids: set[str]) -> bool:
    return any(str(t).rsplit("/", 1)[-1] in segment_ids for t in (campaign_row.target_segments or []))


def export_profile(connection: Connection, workspace: str, profile: str) -> dict[str, Any]:
    """The segments (as campaign knows them) the profile is in and the campaigns targeting them."""
    segment_ids = _segments_of(connection, workspace, profile)
    wanted = set(segment_ids)
    targeting = []
    if wanted:
        for row in connection.execute(select(_c.id, _c.display_name, _c.state, _c.target_segments).where(
                _c.workspace == workspace).order_by(_c.id)):
            if _targets(row, wanted):
                targeting.append(json_record({"name": f"workspaces/{workspace}/campaigns/{row.id}",
                                              "display_name": row.display_name, "state": row.state}))
    e = journey_entries.c
    entries = [json_record({"journey": f"workspaces/{workspace}/journeys/{r.journey_id}", "version": r.version,
                            "state": r.state, "step": r.step, "enter_time": r.enter_time.isoformat()})
               for r in connection.execute(select(e.journey_id, e.version, e.state, e.step, e.enter_time).where(
                   e.workspace == workspace, e.profile == profile).order_by(e.enter_time, e.id))]
    d = journey_date_timers.c
    timers = [json_record({"journey": f"workspaces/{workspace}/journeys/{r.journey_id}",
                           "due_time": r.due_time.isoformat()})
              for r in connection.execute(select(d.journey_id, d.due_time).where(
                  d.workspace == workspace, d.profile == profile).order_by(d.journey_id))]
    return {"segmentMemberships": [f"workspaces/{workspace}/segments/{s}" for s in segment_ids],
            "campaigns": targeting, "journeyEntries": entries, "journeyDateTimers": timers}
