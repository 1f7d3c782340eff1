"""The campaign service's copy of audience segments' membership: applied
from `segment_updated` / `segment_deleted` events inside the consumer's inbox
transaction, read to answer who a campaign reaches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.clock import utcnow

from svc_campaign.adapters.tables import segment_cache_members, segment_cache_state
from svc_campaign.service_layer.unit_of_work import CachedSegment

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
CURRENT, DELETED = "CURRENT", "DELETED"
BATCH = 500


def apply_event(connection: Connection, event: Mapping[str, Any]) -> None:
    workspace, segment_id = event["workspace"], event["aggregate_id"]
    insert = _INSERT[connection.dialect.name]
    members = segment_cache_members.c
    if event["event_type"] == "segment_deleted":
        connection.execute(delete(segment_cache_members).where(members.workspace == workspace,
                                                               members.segment_id == segment_id))
        state = DELETED
    elif event["event_type"] == "segment_updated":
        payload = event["payload"]
        added, removed = payload["added"], payload["removed"]
        for start in range(0, len(added), BATCH):
            rows = [{"workspace": workspace, "segment_id": segment_id, "profile_id": p}
                    for p in added[start:start + BATCH]]
            connection.execute(insert(segment_cache_members).on_conflict_do_nothing(), rows)
        for start in range(0, len(removed), BATCH):
            connection.execute(delete(segment_cache_members).where(
                members.workspace == workspace, members.segment_id == segment_id,
                members.profile_id.in_(removed[start:start + BATCH])))
        state = CURRENT
    else:
        return
    size = connection.execute(select(func.count()).where(members.workspace == workspace,
                                                         members.segment_id == segment_id)).scalar_one()
    row = {"workspace": workspace, "segment_id": segment_id, "state": state, "size": size,
           "event_time": event["occurred_at"], "update_time": utcnow()}
    statement = insert(segment_cache_state).values(row)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["workspace", "segment_id"],
        set_={k: statement.excluded[k] for k in ("state", "size", "event_time", "update_time")}))


def segments(connection: Connection, workspace: str, segment_ids: list[str]) -> list[CachedSegment]:
    """One entry per id asked, in that order."""
    state = segment_cache_state.c
    rows = connection.execute(select(segment_cache_state).where(
        state.workspace == workspace, state.segment_id.in_(segment_ids))).all() if segment_ids else []
    found = {r.segment_id: CachedSegment(r.segment_id, r.state, r.size, r.event_time, r.update_time) for r in rows}
    return [found.get(i) or CachedSegment(i, "UNKNOWN", 0, None, None) for i in segment_ids]


def _union(workspace: str, segment_ids: list[str]):
    members = segment_cache_members.c
    return select(members.profile_id).where(members.workspace == workspace,
                                            members.segment_id.in_(segment_ids)).distinct()


def audience_size(connection: Connection, workspace: str, segment_ids: list[str]) -> int:
    if not segment_ids:
        return 0
    return connection.execute(select(func.count()).select_from(_union(workspace, segment_ids).subquery())
                              ).scalar_one()


def audience_members(connection: Connection, workspace: str, segment_ids: list[str], after: str,
                     limit: int) -> list[str]:
    """Distinct profile ids across the segments, ascending, strictly after `after`."""
    if not segment_ids:
        return []
    members = segment_cache_members.c
    query = _union(workspace, segment_ids)
    if after:
        query = query.where(members.profile_id > after)
    return list(connection.execute(query.order_by(members.profile_id).limit(limit)).scalars())




class SqlSegmentCache:
    """The reads a unit of work offers on the copy."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def segments(self, workspace: str, segment_ids: list[str]) -> list[CachedSegment]:
        return segments(self.connection, workspace, segment_ids)

    def size(self, workspace: str, segment_ids: list[str]) -> int:
        return audience_size(self.connection, workspace, segment_ids)

    def members(self, workspace: str, segment_ids: list[str], after: str, limit: int) -> list[str]:
        return audience_members(self.connection, workspace, segment_ids, after, limit)
