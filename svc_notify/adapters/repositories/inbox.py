"""In-app inbox items in SQL; an expired item is no longer listed nor counted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, false, func, or_, select, update

from svc_notify.adapters import codec
from svc_notify.adapters.repositories.sql import SqlRepository, aware
from svc_notify.adapters.tables import inbox_items
from svc_notify.domain.inbox import InboxItem, InboxSummary
from svc_notify.service_layer.repositories import InboxFilter, InboxRepository

_i = inbox_items.c


class SqlInboxRepository(SqlRepository, InboxRepository):
    def add(self, items: list[InboxItem]) -> None:
        if not items:
            return
        statement = self.insert(inbox_items).on_conflict_do_nothing()
        self.connection.execute(statement, [{
            "workspace": i.workspace, "inbox": i.inbox, "id": i.id, "message_id": i.message_id,
            "content": codec.in_app_to_json(i.content), "campaign": i.campaign, "read": i.read,
            "create_time": i.create_time, "read_time": i.read_time, "expire_time": i.expire_time} for i in items])

    @staticmethod
    def _live(workspace: str, inbox: str, now: datetime) -> list:
        return [_i.workspace == workspace, _i.inbox == inbox,
                or_(_i.expire_time.is_(None), _i.expire_time > now)]

    def list(self, workspace: str, inbox: str, where: InboxFilter, before: str | None, limit: int,
             now: datetime) -> list[InboxItem]:
        conditions = self._live(workspace, inbox, now)
        if where.read is not None:
            conditions.append(_i.read == where.read)
        if where.campaign is not None:
            conditions.append(_i.campaign == where.campaign)
        if before:
            conditions.append(_i.id < before)
        query = select(inbox_items).where(*conditions).order_by(_i.id.desc()).limit(limit)
        return [_inbox_item(r) for r in self.connection.execute(query)]

    def summary(self, workspace: str, inbox: str, now: datetime) -> InboxSummary:
        unread = func.sum(case((_i.read == false(), 1), else_=0))
        last = func.max(func.coalesce(_i.read_time, _i.create_time))
        total, unread_count, latest = self.connection.execute(
            select(func.count(), unread, last).where(*self._live(workspace, inbox, now))).one()
        return InboxSummary(workspace, inbox, int(unread_count or 0), int(total or 0), aware(latest))

    def mark_read(self, workspace: str, inbox: str, item_ids: list[str] | None, now: datetime) -> int:
        statement = update(inbox_items).where(*self._live(workspace, inbox, now), _i.read == false())
        if item_ids is not None:
            statement = statement.where(_i.id.in_(item_ids))
        return self.connection.execute(statement.values(read=True, read_time=now)).rowcount

    def delete(self, workspace: str, inbox: str, item_id: str) -> bool:
        return self.connection.execute(delete(inbox_items).where(
            _i.workspace == workspace, _i.inbox == inbox, _i.id == item_id)).rowcount == 1


def _inbox_item(r) -> InboxItem:
    return InboxItem(r.workspace, r.inbox, r.id, r.message_id, codec.in_app_from_json(r.content), r.campaign, r.read,
                     r.create_time, r.read_time, r.expire_time)
