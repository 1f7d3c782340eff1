"""The label the launch's fault injection reads (for tests only: svc_campaign/service_layer/faults.py), on
SQLite and PostgreSQL: a campaign's label by key, "" when it has none or the campaign is unknown."""

from __future__ import annotations

from svc_campaign.adapters.campaign_labels import SqlCampaignLabels
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.domain.model import Campaign
from svc_campaign.service_layer.faults import LABEL
from tests.fakes import NOW, ready_fields


def test_a_campaigns_label_is_read_by_key(engine):
    with SqlUnitOfWork(engine) as uow:
        uow.campaigns.add(Campaign.create("acme", "c1", ready_fields(labels={LABEL: "init_tracking", "team": "a"}),
                                          NOW))
        uow.campaigns.add(Campaign.create("acme", "c2", ready_fields(labels={"team": "b"}), NOW))
        uow.commit()
    labels = SqlCampaignLabels(engine)
    assert labels.label("acme", "c1", LABEL) == "init_tracking"
    assert labels.label("acme", "c1", "team") == "a"
    assert labels.label("acme", "c2", LABEL) == ""
    assert labels.label("acme", "nope", LABEL) == "" and labels.label("other", "c1", LABEL) == ""
