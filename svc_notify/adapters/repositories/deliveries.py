"""Delivery attempts in SQL."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from svc_notify.adapters.repositories.sql import SqlRepository, time_terms
from svc_notify.adapters.tables import deliveries
from svc_notify.domain.model import BounceType, Delivery, DeliveryState
from svc_notify.service_layer.repositories import DeliveryFilter, DeliveryRepository

_d = deliveries.c


class SqlDeliveryRepository(SqlRepository, DeliveryRepository):
    def add(self, items: list[Delivery]) -> None:
        if items:
            self.connection.execute(insert(deliveries), [_delivery_row(d) for d in items])

    def save(self, item: Delivery) -> None:
        row = _delivery_row(item)
        self.connection.execute(update(deliveries).where(_d.workspace == item.workspace, _d.id == item.id)
                                .values({k: v for k, v in row.items() if k not in ("workspace", "id")}))

    def latest(self, workspace: str, message_id: str) -> Delivery | None:
        row = self.connection.execute(select(deliveries).where(
            _d.workspace == workspace, _d.message_id == message_id).order_by(_d.id.desc()).limit(1)).first()
        return _delivery(row) if row else None

    def list(self, workspace: str, message_id: str | None, where: DeliveryFilter, before: str | None,
             limit: int) -> list[Delivery]:
        conditions = [_d.workspace == workspace]
        if message_id is not None:
            conditions.append(_d.message_id == message_id)
        if where.states is not None:
            conditions.append(_d.state.in_([s.value for s in where.states]))
        if where.provider is not None:
            conditions.append(_d.provider == where.provider)
        conditions += time_terms(_d.start_time, where.start_time)
        if before:
            conditions.append(_d.id < before)
        query = select(deliveries).where(*conditions).order_by(_d.id.desc()).limit(limit)
        return [_delivery(r) for r in self.connection.execute(query)]


def _delivery_row(d: Delivery) -> dict:
    return {"workspace": d.workspace, "id": d.id, "message_id": d.message_id, "attempt": d.attempt,
            "provider": d.provider, "state": d.state.value, "address": d.address,
            "provider_message_id": d.provider_message_id, "provider_response": d.provider_response,
            "bounce_type": d.bounce_type.value if d.bounce_type else None, "start_time": d.start_time,
            "end_time": d.end_time, "report_time": d.report_time}


def _delivery(r) -> Delivery:
    return Delivery(r.workspace, r.message_id, r.id, r.attempt, r.provider, DeliveryState(r.state), r.address,
                    r.provider_message_id, r.provider_response, BounceType(r.bounce_type) if r.bounce_type else None,
                    r.start_time, r.end_time, r.report_time)
