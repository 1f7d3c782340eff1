"""The campaign's rules on one field alone, written in the protos and enforced on every request by the
server interceptor (svc_kit.validation): the violations name the fields as the API does."""

import pytest

from marketing.campaign.v1 import campaign_pb2, campaign_service_pb2
from svc_kit.validation import violations_of


def fields_of(**campaign) -> list[str]:
    request = campaign_service_pb2.CreateCampaignRequest(parent="workspaces/acme",
                                                         campaign=campaign_pb2.Campaign(**campaign))
    return [v.field for v in violations_of(request)]


def test_a_valid_campaign_breaks_no_rule():
    assert fields_of(display_name="x" * 200, description="y" * 5000, channels=[1, 2],
                     labels={f"k{i}": "v" * 63 for i in range(63)} | {"a" + "b" * 62: ""},
                     target_segments=[f"workspaces/acme/segments/s{i}" for i in range(50)]) == []


def test_display_name_and_description_have_a_maximum_length():
    assert fields_of(display_name="x" * 201, description="y" * 5001) == [
        "campaign.display_name", "campaign.description"]


def test_a_channel_may_be_listed_once_and_must_be_known():
    assert fields_of(channels=[1, 2, 1]) == ["campaign.channels"]
    assert fields_of(channels=[1, 99]) == ["campaign.channels[1]"]


def test_at_most_50_segments_and_contents():
    assert fields_of(target_segments=[f"workspaces/acme/segments/s{i}" for i in range(51)],
                     contents=[campaign_pb2.ContentRef(channel=1, template="t")] * 51) == [
        "campaign.target_segments", "campaign.contents"]


@pytest.mark.parametrize("labels", [
    {"Team": "growth"},           # upper case key
    {"1team": "growth"},          # key starts with a digit
    {"": "x"},                    # empty key
    {"k" * 64: "x"},              # key too long
    {"team": "has space"},        # bad value character
    {"team": "v" * 64},           # value too long
])
def test_label_format_is_checked(labels):
    (key,) = labels
    assert fields_of(labels=labels) == [f"campaign.labels[{key!r}]"]


def test_at_most_64_labels():
    assert fields_of(labels={f"k{i}": "v" for i in range(65)}) == ["campaign.labels"]


@pytest.mark.parametrize("share", [0, 100, -5, float("nan")])
def test_the_test_share_lies_strictly_between_0_and_100(share):
    assert fields_of(ab_test=campaign_pb2.AbTest(test_share_percent=share)) == [
        "campaign.ab_test.test_share_percent"]


def test_a_negative_throttle_is_refused():
    assert fields_of(schedule=campaign_pb2.Schedule(max_sends_per_hour=-1)) == [
        "campaign.schedule.max_sends_per_hour"]


def test_every_violation_is_reported_at_once():
    violations = violations_of(campaign_service_pb2.CreateCampaignRequest(campaign=campaign_pb2.Campaign(
        display_name="x" * 201, channels=[3, 3], labels={"Bad": "x"})))
    assert [v.field for v in violations] == ["campaign.display_name", "campaign.channels", "campaign.labels['Bad']"]
    assert violations[2].description.startswith("key ")
