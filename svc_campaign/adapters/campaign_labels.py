"""A campaign's label read on its own (the launch's fault injection, for tests only: service_layer/faults.py)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from svc_campaign.adapters.tables import campaign_labels


class SqlCampaignLabels:
    def __init__(self, engine: Engine):
        self.engine = engine

    def label(self, workspace: str, campaign_id: str, key: str) -> str:
        c = campaign_labels.c
        with self.engine.connect() as connection:
            value = connection.execute(select(c.value).where(
                c.workspace == workspace, c.campaign_id == campaign_id, c.key == key)).scalar_one_or_none()
        return value or ""
