from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists, InvalidArgument, NotFound

from svc_analytics.domain.funnel import FunnelFields, FunnelStep
from svc_analytics.domain.model import CLICKED, StoredEvent
from svc_analytics.service_layer import funnels
from tests.fakes_analytics import FakeUnitOfWork, InMemoryEventStore

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STEPS = (FunnelStep(CLICKED, "Clicked"), FunnelStep("product_viewed"), FunnelStep("purchase", "Bought"))


def fields(**kw) -> FunnelFields:
    return FunnelFields(**({"display_name": "Click to purchase", "steps": STEPS, "labels": {"team": "growth"}} | kw))


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def uow():
    return FakeUnitOfWork()


@pytest.fixture
def clock():
    return Clock()


def create(uow, clock, funnel_id="checkout", **kw):
    return funnels.create_funnel("acme", kw.pop("data", fields()), uow, clock, funnel_id=funnel_id, **kw)


@pytest.mark.parametrize("data, field", [
    (fields(display_name=" "), "funnel.display_name"),
    (fields(steps=STEPS[:1]), "funnel.steps"),
    (fields(steps=STEPS * 4), "funnel.steps"),
    (fields(steps=(FunnelStep(""), FunnelStep("purchase"))), "funnel.steps[0].event_type"),
    (fields(steps=(FunnelStep("a"), FunnelStep("Purchase!"))), "funnel.steps[1].event_type"),
    (fields(steps=(FunnelStep("a"), FunnelStep("b", filter="channel = CHANNEL_SMS"))), "funnel.steps[1].filter"),
    (fields(conversion_window=timedelta(days=91)), "funnel.conversion_window"),
    (fields(conversion_window=timedelta(0)), "funnel.conversion_window"),
])
def test_invalid_funnels_are_refused_naming_the_field(uow, clock, data, field):
    with pytest.raises(InvalidArgument) as error:
        create(uow, clock, data=data)
    assert field in [v.field for v in error.value.violations]


def test_create_defaults_and_get(uow, clock):
    made = create(uow, clock)
    assert made.conversion_window == timedelta(days=7) and made.version == 1
    assert made.create_time == made.update_time == NOW + timedelta(seconds=1)
    assert funnels.get_funnel("acme", "checkout", uow) == made
    assert create(uow, clock, "long", data=fields(conversion_window=timedelta(days=90))).conversion_window == \
        timedelta(days=90)
    with pytest.raises(NotFound):
        funnels.get_funnel("globex", "checkout", uow)


def test_ids_are_generated_and_unique(uow, clock):
    generated = create(uow, clock, "")
    assert generated.id.startswith("funnel-")
    create(uow, clock)
    with pytest.raises(AlreadyExists):
        create(uow, clock)


def test_the_same_request_id_answers_with_the_first_funnel(uow, clock):
    first = create(uow, clock, "", request_id="r1")
    assert create(uow, clock, "", request_id="r1") == first
    with pytest.raises(InvalidArgument) as error:
        create(uow, clock, "", request_id="r1", data=fields(display_name="Other"))
    assert error.value.violations[0].field == "request_id"


def test_validate_only_stores_nothing(uow, clock):
    create(uow, clock, validate_only=True)
    with pytest.raises(NotFound):
        funnels.get_funnel("acme", "checkout", uow)


def test_list_pages_oldest_first_with_a_label_filter(uow, clock):
    for i in range(5):
        create(uow, clock, f"f{i}", data=fields(labels={"team": "growth" if i % 2 == 0 else "retention"}))
    page = funnels.list_funnels("acme", uow, page_size=2)
    assert [f.id for f in page.funnels] == ["f0", "f1"] and page.next_page_token
    page = funnels.list_funnels("acme", uow, page_size=2, page_token=page.next_page_token)
    assert [f.id for f in page.funnels] == ["f2", "f3"]
    page = funnels.list_funnels("acme", uow, page_size=2, page_token=page.next_page_token)
    assert [f.id for f in page.funnels] == ["f4"] and page.next_page_token == ""
    growth = funnels.list_funnels("acme", uow, filter_="labels.team = growth")
    assert [f.id for f in growth.funnels] == ["f0", "f2", "f4"]
    assert [f.id for f in funnels.list_funnels("acme", uow, filter_="labels.tier:*").funnels] == []
    token = funnels.list_funnels("acme", uow, page_size=1, filter_="labels.team = growth").next_page_token
    with pytest.raises(InvalidArgument):
        funnels.list_funnels("acme", uow, page_token=token)
    with pytest.raises(InvalidArgument):
        funnels.list_funnels("acme", uow, filter_="display_name = x")


def test_update_applies_the_mask_and_checks_the_etag(uow, clock):
    made = create(uow, clock)
    updated = funnels.update_funnel("acme", "checkout", FunnelFields(display_name="Renamed", description="ignored"),
                                    {"display_name"}, uow, clock, etag=made.etag)
    assert (updated.fields.display_name, updated.fields.description, updated.version) == ("Renamed", "", 2)
    assert updated.etag != made.etag and updated.update_time > made.update_time
    with pytest.raises(Aborted):
        funnels.update_funnel("acme", "checkout", FunnelFields(display_name="Again"), {"display_name"}, uow, clock,
                              etag=made.etag)
    everything = funnels.update_funnel("acme", "checkout", fields(display_name="All", labels={}), {"*"}, uow, clock)
    assert everything.fields.labels == {} and everything.version == 3
    unchanged = funnels.update_funnel("acme", "checkout", fields(display_name="All", labels={}), {"*"}, uow, clock)
    assert unchanged.version == 3
    assert funnels.get_funnel("acme", "checkout", uow).fields.display_name == "All"


def test_update_refuses_unknown_paths_and_invalid_results(uow, clock):
    create(uow, clock)
    for paths in (set(), {"create_time"}):
        with pytest.raises(InvalidArgument) as error:
            funnels.update_funnel("acme", "checkout", fields(), paths, uow, clock)
        assert error.value.violations[0].field == "update_mask"
    with pytest.raises(InvalidArgument) as error:
        funnels.update_funnel("acme", "checkout", FunnelFields(), {"steps"}, uow, clock)
    assert error.value.violations[0].field == "funnel.steps"
    with pytest.raises(NotFound):
        funnels.update_funnel("acme", "nope", fields(), {"*"}, uow, clock)


def test_delete_checks_the_etag(uow, clock):
    made = create(uow, clock)
    funnels.update_funnel("acme", "checkout", fields(display_name="Changed"), {"display_name"}, uow, clock)
    with pytest.raises(Aborted):
        funnels.delete_funnel("acme", "checkout", uow, etag=made.etag)
    funnels.delete_funnel("acme", "checkout", uow)
    with pytest.raises(NotFound):
        funnels.delete_funnel("acme", "checkout", uow)


def event(event_id, type_, hours, profile, **kw):
    at = NOW + timedelta(hours=hours)
    return StoredEvent("acme", event_id, type_, at, at, profile=profile, **kw)


def test_run_counts_profiles_per_step_in_order_within_the_window(uow, clock):
    create(uow, clock, data=fields(conversion_window=timedelta(days=2)))
    store = InMemoryEventStore()
    store.insert([
        # a: all three steps in order
        event("a1", CLICKED, 1, "a", campaign="spring", channel=Channel.EMAIL), event("a2", "product_viewed", 2, "a"),
        event("a3", "purchase", 3, "a"),
        # b: viewed before clicking, then clicked: only the first step
        event("b1", "product_viewed", 1, "b"), event("b2", CLICKED, 2, "b", campaign="spring"),
        # c: purchase after the window
        event("c1", CLICKED, 1, "c", campaign="summer"), event("c2", "product_viewed", 2, "c"),
        event("c3", "purchase", 60, "c"),
        # d: first step outside the interval
        event("d1", CLICKED, -30, "d", campaign="spring"), event("d2", "product_viewed", 2, "d"),
        # e: duplicate row counted once
        event("e1", CLICKED, 5, "e", campaign="spring"), event("e1", CLICKED, 5, "e", campaign="spring"),
    ])
    run = funnels.run_funnel("acme", "checkout", NOW, NOW + timedelta(days=1), uow, store, clock)
    assert [(s.index, s.display_name, s.profiles) for s in run.steps] == [
        (0, "Clicked", 4), (1, "product_viewed", 2), (2, "Bought", 1)]
    assert [s.conversion_rate for s in run.steps] == [1.0, 0.5, 0.25]
    assert [s.step_conversion_rate for s in run.steps] == [1.0, 0.5, 0.5]
    filtered = funnels.run_funnel("acme", "checkout", NOW, NOW + timedelta(days=1), uow, store, clock,
                                  filter_='campaign = "summer"')
    assert [s.profiles for s in filtered.steps] == [1, 0, 0]
    assert [s.step_conversion_rate for s in filtered.steps] == [1.0, 0.0, 0.0]


def test_run_refuses_a_bad_interval_or_filter(uow, clock):
    create(uow, clock)
    store = InMemoryEventStore()
    with pytest.raises(InvalidArgument):
        funnels.run_funnel("acme", "checkout", NOW, NOW, uow, store, clock)
    with pytest.raises(InvalidArgument):
        funnels.run_funnel("acme", "checkout", NOW, NOW + timedelta(days=1), uow, store, clock, filter_="type = x")
    with pytest.raises(NotFound):
        funnels.run_funnel("acme", "nope", NOW, NOW + timedelta(days=1), uow, store, clock)
