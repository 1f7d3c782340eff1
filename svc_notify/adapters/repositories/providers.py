"""A workspace's providers in SQL, with the request id and fingerprint of the create
that made each (for create-once replays)."""

from __future__ import annotations

from sqlalchemy import and_, delete, false, or_, select, update

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_notify.adapters import codec
from svc_notify.adapters.repositories.sql import SqlRepository
from svc_notify.adapters.tables import providers
from svc_notify.domain.providers import Provider
from svc_notify.service_layer.repositories import ProviderFilter, ProviderRepository

_p = providers.c


class SqlProviderRepository(SqlRepository, ProviderRepository):
    def add(self, provider: Provider, request_id: str = "", fingerprint: str = "") -> None:
        row = _provider_row(provider) | {"workspace": provider.workspace, "id": provider.id,
                                         "create_time": provider.create_time, "request_id": request_id or None,
                                         "request_fingerprint": fingerprint or None}
        statement = self.insert(providers).values(row).on_conflict_do_nothing().returning(_p.id)
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{provider.name} already exists")

    def get(self, workspace: str, provider_id: str) -> Provider | None:
        row = self.connection.execute(select(providers).where(_p.workspace == workspace, _p.id == provider_id)).first()
        return _provider(row) if row else None

    def find_by_request(self, workspace: str, request_id: str) -> tuple[Provider, str] | None:
        row = self.connection.execute(select(providers).where(_p.workspace == workspace,
                                                              _p.request_id == request_id)).first()
        return (_provider(row), row.request_fingerprint or "") if row else None

    def list(self, workspace: str, where: ProviderFilter, after: tuple[str, int, str] | None,
             limit: int) -> list[Provider]:
        conditions = [_p.workspace == workspace]
        if where.channel is not None:
            conditions.append(_p.channel == where.channel.value)
        if where.disabled is not None:
            conditions.append(_p.disabled == where.disabled)
        if after is not None:
            channel, priority, last = after
            conditions.append(or_(_p.channel > channel,
                                  and_(_p.channel == channel, _p.priority > priority),
                                  and_(_p.channel == channel, _p.priority == priority, _p.id > last)))
        query = select(providers).where(*conditions).order_by(_p.channel, _p.priority, _p.id).limit(limit)
        return [_provider(r) for r in self.connection.execute(query)]

    def enabled(self, workspace: str) -> list[Provider]:
        query = (select(providers).where(_p.workspace == workspace, _p.disabled == false())
                 .order_by(_p.channel, _p.priority, _p.id))
        return [_provider(r) for r in self.connection.execute(query)]

    def save(self, provider: Provider, expected_version: int) -> None:
        result = self.connection.execute(
            update(providers).where(_p.workspace == provider.workspace, _p.id == provider.id,
                                    _p.version == expected_version).values(_provider_row(provider)))
        if result.rowcount != 1:
            raise Aborted(f"{provider.name} was changed meanwhile; read it again and retry")

    def remove(self, workspace: str, provider_id: str, expected_version: int | None) -> bool:
        statement = delete(providers).where(_p.workspace == workspace, _p.id == provider_id)
        if expected_version is not None:
            statement = statement.where(_p.version == expected_version)
        return self.connection.execute(statement).rowcount == 1


def _provider_row(p: Provider) -> dict:
    return {"display_name": p.display_name, "channel": p.channel.value, "kind": p.kind,
            "config": codec.config_to_json(p.config), "priority": p.priority,
            "rate_limit": codec.rate_to_json(p.rate_limit),
            "domain_rate_limits": codec.domain_limits_to_json(p.domain_rate_limits), "disabled": p.disabled,
            "unit_cost": codec.unit_cost_to_json(p.unit_cost), "update_time": p.update_time, "version": p.version}


def _provider(r) -> Provider:
    return Provider(r.workspace, r.id, r.display_name, Channel(r.channel), codec.config_from_json(r.kind, r.config),
                    r.priority, codec.rate_from_json(r.rate_limit), codec.domain_limits_from_json(r.domain_rate_limits),
                    r.disabled, r.create_time, r.update_time, r.version, codec.unit_cost_from_json(r.unit_cost))
