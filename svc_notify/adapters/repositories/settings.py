"""A workspace's sending rules in SQL; the defaults (version 0) until first written."""

from __future__ import annotations

from sqlalchemy import select, update

from svc_kit.errors import Aborted

from svc_notify.adapters import codec
from svc_notify.adapters.repositories.sql import SqlRepository
from svc_notify.adapters.tables import settings
from svc_notify.domain.settings import NotifySettings
from svc_notify.service_layer.repositories import SettingsRepository


class SqlSettingsRepository(SqlRepository, SettingsRepository):
    def get(self, workspace: str) -> NotifySettings:
        row = self.connection.execute(select(settings).where(settings.c.workspace == workspace)).first()
        if row is None:
            return NotifySettings(workspace)
        return NotifySettings(workspace, codec.quiet_from_json(row.quiet_hours), codec.caps_from_json(row.frequency_caps),
                              row.default_time_zone, row.update_time, row.version)

    def save(self, rules: NotifySettings, expected_version: int) -> None:
        values = {"quiet_hours": codec.quiet_to_json(rules.quiet_hours),
                  "frequency_caps": codec.caps_to_json(rules.frequency_caps),
                  "default_time_zone": rules.default_time_zone, "update_time": rules.update_time,
                  "version": rules.version}
        if expected_version == 0:
            statement = (self.insert(settings).values({"workspace": rules.workspace, **values})
                         .on_conflict_do_nothing().returning(settings.c.workspace))
            written = self.connection.execute(statement).first() is not None
        else:
            written = self.connection.execute(
                update(settings).where(settings.c.workspace == rules.workspace,
                                       settings.c.version == expected_version).values(values)).rowcount == 1
        if not written:
            raise Aborted(f"{rules.name} were changed meanwhile; read them again and retry")
