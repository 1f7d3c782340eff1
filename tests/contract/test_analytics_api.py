"""The analytics service's gRPC API in-process (the real bootstrap: SQLite inbox and outbox, the
embedded bus, the batching writer; an in-memory event store): bad input answers INVALID_ARGUMENT
with field violations naming `events[i]`, another workspace's report is NOT_FOUND, a report
carries the figures per variant and its CSV export; events from the bus are stored once however
often they are delivered; never an INTERNAL error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from google.type import money_pb2
from grpc_status import rpc_status

import event_schemas
from devstack.processes import free_port
from marketing.analytics.v1 import analytics_service_pb2 as pb
from marketing.analytics.v1 import analytics_service_pb2_grpc, event_pb2
from marketing.common.v1 import attribute_pb2, channel_pb2
from svc_analytics.bootstrap import mount
from svc_kit.bus.factory import make_bus
from svc_kit.config import load_settings
from svc_kit.server import ServiceServer
from svc_kit.services import BY_NAME
from tests.fakes_analytics import InMemoryEventStore

WS = "workspaces/acme"
NOTIFY_TOPIC = "persistent://public/default/marketing.notify.v1"


def stamp(value: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


class Running:
    def __init__(self, stub, store, env):
        self.stub, self.store, self.env = stub, store, env


@pytest.fixture
async def running(tmp_path):
    port = free_port()
    env = {"MKT_STATE_DIR": str(tmp_path), "MKT_ANALYTICS_GRPC_PORT": str(port),
           "MKT_ANALYTICS_METRICS_PORT": str(free_port()), "MKT_BUS_PATH": str(tmp_path / "bus.sqlite3"),
           "MKT_ANALYTICS_BATCH_DELAY_SECONDS": "0.05", "MKT_ANALYTICS_MACHINE_DELAY_SECONDS": "0"}
    settings = load_settings(BY_NAME["analytics"], env)
    store = InMemoryEventStore()
    server = ServiceServer(settings, mount(settings, store))
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Running(analytics_service_pb2_grpc.AnalyticsServiceStub(channel), store, env)
    await channel.close()
    await server.stop()


async def refused(call, code: grpc.StatusCode) -> tuple[str, list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code, error.value.details()
    assert "Traceback" not in (error.value.details() or "")
    status = rpc_status.from_call(error.value)
    fields = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return error.value.details(), fields


def event(event_id: str, type_: str = "page_viewed", profile: str = "p1", **fields) -> event_pb2.Event:
    fields.setdefault("event_time", stamp(datetime.now(UTC) - timedelta(minutes=5)))
    return event_pb2.Event(event_id=event_id, type=type_, profile=f"{WS}/profiles/{profile}" if profile else "",
                           **fields)


async def test_bad_events_are_refused_by_index_and_field_and_the_good_ones_kept(running):
    big = [attribute_pb2.Attribute(key="blob", string_value="x" * 33_000)]
    answer = await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[
        event("e0"), event("e1", type_=""), event("e2", profile="", properties=big),
        event_pb2.Event(event_id="e3", type="purchase", profile="workspaces/other/profiles/p1",
                        event_time=stamp(datetime.now(UTC))),
        event_pb2.Event(event_id="e4", type="purchase")]))
    assert answer.accepted == 1 and answer.duplicates == 0
    assert [(r.index, r.event_id, r.field) for r in answer.rejected] == [
        (1, "e1", "type"), (2, "e2", "properties"), (3, "e3", "profile"), (4, "e4", "event_time")]

    _, fields = await refused(running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[
        event("", type_="purchase"), event("x1", type_="Not A Type")])), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["events[0].event_id", "events[1].type"]
    _, fields = await refused(running.stub.IngestEvents(pb.IngestEventsRequest(parent="acme", events=[event("e9")])),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["parent"]
    _, fields = await refused(running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS)),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["events"]
    future = event("f1", event_time=stamp(datetime.now(UTC) + timedelta(hours=25)))
    _, fields = await refused(running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[future])),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["events[0].event_time"]


async def test_an_event_is_stored_once_and_read_back(running):
    purchase = event("buy-1", "purchase", value=money_pb2.Money(currency_code="EUR", units=12, nanos=500_000_000),
                     properties=[attribute_pb2.Attribute(key="sku", string_value="A1")],
                     channel=channel_pb2.CHANNEL_EMAIL)
    first = await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[purchase, purchase]))
    again = await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[purchase]))
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (1, 1, 0, 1)
    got = await running.stub.GetEvent(pb.GetEventRequest(name=f"{WS}/events/buy-1"))
    assert (got.name, got.type, got.profile) == (f"{WS}/events/buy-1", "purchase", f"{WS}/profiles/p1")
    assert (got.value.currency_code, got.value.units, got.value.nanos) == ("EUR", 12, 500_000_000)
    assert [(a.key, a.string_value) for a in got.properties] == [("sku", "A1")]
    assert got.source == "api" and got.HasField("receive_time")
    await refused(running.stub.GetEvent(pb.GetEventRequest(name="workspaces/other/events/buy-1")),
                  grpc.StatusCode.NOT_FOUND)
    await refused(running.stub.GetEvent(pb.GetEventRequest(name="buy-1")), grpc.StatusCode.INVALID_ARGUMENT)


def notify_envelope(event_id: str, event_type: str, message: str, profile: str, variant: str,
                    when: datetime, **payload) -> dict:
    info = {"message": f"{WS}/messages/{message}", "channel": "EMAIL", "recipient": f"{WS}/profiles/{profile}",
            "category": "MARKETING", "campaign": f"{WS}/campaigns/spring", "idempotency_key": message,
            "labels": {}, "variant": variant}
    names = {"message_sent": "marketing.notify.v1.MessageSent", "message_delivered": "marketing.notify.v1.MessageDelivered",
             "message_clicked": "marketing.notify.v1.MessageClicked"}
    return {"event_id": event_id, "event_type": event_type, "workspace": "acme", "aggregate_id": message,
            "aggregate_version": 1, "occurred_at": when, "producer": "svc_notify", "traceparent": None,
            "tracestate": None, "payload": (names[event_type], {"message": info, **payload})}


async def wait_for(condition, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_bus_events_are_stored_once_and_reported_per_variant_and_in_csv(running):
    bus = make_bus(running.env)
    producer = bus.producer(NOTIFY_TOPIC, event_schemas.load("notify.v1"))
    sent = datetime.now(UTC) - timedelta(hours=1)
    envelopes = []
    for i, variant in enumerate(["a", "a", "b"]):
        m = f"m{i}"
        envelopes += [
            notify_envelope(f"s{i}", "message_sent", m, f"p{i}", variant, sent, provider=f"{WS}/providers/relay",
                            cost_micros=1500, cost_currency="EUR"),
            notify_envelope(f"d{i}", "message_delivered", m, f"p{i}", variant, sent + timedelta(seconds=1)),
        ]
    envelopes.append(notify_envelope("c0", "message_clicked", "m0", "p0", "a", sent + timedelta(minutes=5),
                                     user_agent="Mozilla/5.0 (Macintosh) AppleWebKit/605 Version/17 Safari/605"))
    for _ in range(3):  # redelivered: stored once
        for envelope in envelopes:
            producer.send(envelope["aggregate_id"], envelope)
    await wait_for(lambda: len({e.event_id for e in running.store.rows}) == 7)
    purchase = event("buy-9", "purchase", profile="p0", value=money_pb2.Money(currency_code="EUR", units=30))
    assert (await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=[purchase]))).accepted == 1
    await asyncio.sleep(0.3)
    assert len(running.store.rows) == 8  # no duplicate row reached the store

    report = await running.stub.GetCampaignReport(pb.GetCampaignReportRequest(name=f"{WS}/campaigns/spring/report"))
    assert (report.totals.sent, report.totals.delivered, report.totals.clicked, report.totals.converted) == (3, 3, 1, 1)
    by_variant = {v.variant: v.metrics for v in report.variants}
    assert (by_variant["a"].delivered, by_variant["a"].clicked, by_variant["a"].converted) == (2, 1, 1)
    assert (by_variant["b"].delivered, by_variant["b"].clicked) == (1, 0)
    assert [(m.currency_code, m.units, m.nanos) for m in report.totals.spend] == [("EUR", 0, 4_500_000)]
    assert [(m.currency_code, m.units) for m in report.totals.revenue] == [("EUR", 30)]
    assert [p.provider for p in report.providers] == [f"{WS}/providers/relay"]
    assert report.goal_type == "purchase" and report.attribution_window.seconds == 5 * 86400
    assert [(c.variant, c.control, c.note.startswith("two-proportion z-test")) for c in report.comparisons] == [
        ("b", "a", True)]

    csv = await running.stub.ExportCampaignReport(pb.ExportCampaignReportRequest(
        name=f"{WS}/campaigns/spring/report"))
    assert csv.content_type.startswith("text/csv")
    lines = csv.data.decode().splitlines()
    assert lines[0].startswith("scope,channel,variant,provider,sent,delivered")
    assert lines[1].startswith("total,,,,3,3") and any(line.startswith("variant,EMAIL,a,,2,2") for line in lines)

    await refused(running.stub.GetCampaignReport(pb.GetCampaignReportRequest(
        name="workspaces/other/campaigns/spring/report")), grpc.StatusCode.NOT_FOUND)
    await refused(running.stub.ExportCampaignReport(pb.ExportCampaignReportRequest(
        name="workspaces/other/campaigns/spring/report")), grpc.StatusCode.NOT_FOUND)
    _, fields = await refused(running.stub.GetCampaignReport(pb.GetCampaignReportRequest(
        name=f"{WS}/campaigns/spring")), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["name"]
    producer.close()
    bus.close()


async def test_events_are_listed_newest_first_in_pages_and_aggregated(running):
    now = datetime.now(UTC)
    events = [event(f"v{i}", "page_viewed" if i < 3 else "purchase", profile="p1" if i % 2 == 0 else "p2",
                    event_time=stamp(now - timedelta(minutes=10 - i))) for i in range(4)]
    assert (await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=events))).accepted == 4
    first = await running.stub.ListEvents(pb.ListEventsRequest(parent=WS, page_size=1,
                                                               filter=f'profile = "{WS}/profiles/p1"'))
    second = await running.stub.ListEvents(pb.ListEventsRequest(parent=WS, page_size=1, page_token=first.next_page_token,
                                                                filter=f'profile = "{WS}/profiles/p1"'))
    assert [e.event_id for e in first.events] + [e.event_id for e in second.events] == ["v2", "v0"]
    assert second.next_page_token == ""
    _, fields = await refused(running.stub.ListEvents(pb.ListEventsRequest(parent=WS, filter="colour = red")),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["filter"]

    from google.type import interval_pb2
    window = interval_pb2.Interval(start_time=stamp(now - timedelta(hours=1)), end_time=stamp(now + timedelta(hours=1)))
    totals = await running.stub.AggregateEvents(pb.AggregateEventsRequest(
        parent=WS, interval=window, granularity=event_pb2.TIME_GRANULARITY_TOTAL,
        group_by=[event_pb2.EVENT_DIMENSION_EVENT_TYPE]))
    assert {(r.event_type, r.event_count, r.unique_profiles) for r in totals.rows} == {
        ("page_viewed", 3, 2), ("purchase", 1, 1)}
    _, fields = await refused(running.stub.AggregateEvents(pb.AggregateEventsRequest(
        parent=WS, interval=window, group_by=[event_pb2.EVENT_DIMENSION_UNSPECIFIED])),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["group_by[0]"]
    await refused(running.stub.AggregateEvents(pb.AggregateEventsRequest(parent=WS)), grpc.StatusCode.INVALID_ARGUMENT)


def audience_envelope(event_id: str, event_type: str, profile: str, **payload) -> dict:
    return {"event_id": event_id, "event_type": event_type, "workspace": "acme", "aggregate_id": profile,
            "aggregate_version": 0, "occurred_at": datetime.now(UTC), "producer": "svc_audience", "traceparent": None,
            "tracestate": None, "payload": ("marketing.audience.v1.ProfileErased",
                                            {"profile": f"{WS}/profiles/{profile}", **payload})}


async def test_an_unsubscribe_is_the_campaigns_on_the_last_message_and_an_erasure_erases(running):
    bus = make_bus(running.env)
    notify = bus.producer(NOTIFY_TOPIC, event_schemas.load("notify.v1"))
    audience = bus.producer("persistent://public/default/marketing.audience.v1", event_schemas.load("audience.v1"))
    sent = datetime.now(UTC) - timedelta(hours=2)
    notify.send("m7", notify_envelope("s7", "message_sent", "m7", "p7", "b", sent))
    await wait_for(lambda: any(e.event_id == "s7" for e in running.store.rows))
    for _ in range(2):  # redelivered: counted once
        audience.send("p7", audience_envelope("u7", "profile_unsubscribed", "p7", channel="EMAIL",
                                              campaign=f"{WS}/campaigns/spring"))
    await wait_for(lambda: any(e.event_id == "u7" for e in running.store.rows))
    [unsubscribed] = [e for e in running.store.rows if e.event_id == "u7"]
    assert (unsubscribed.type, unsubscribed.message, unsubscribed.variant, unsubscribed.campaign) == (
        "message_unsubscribed", "m7", "b", "spring")
    report = await running.stub.GetCampaignReport(pb.GetCampaignReportRequest(name=f"{WS}/campaigns/spring/report"))
    assert {v.variant: v.metrics.unsubscribed for v in report.variants} == {"b": 1}

    audience.send("p7", audience_envelope("x7", "profile_erased", "p7"))
    await wait_for(lambda: not any(e.profile == "p7" for e in running.store.rows))
    notify.close()
    audience.close()
    bus.close()


async def test_funnels_are_saved_and_run(running):
    from google.type import interval_pb2

    from marketing.analytics.v1 import funnel_pb2
    now = datetime.now(UTC)
    steps = [funnel_pb2.FunnelStep(event_type="page_viewed"), funnel_pb2.FunnelStep(event_type="purchase")]
    created = await running.stub.CreateFunnel(pb.CreateFunnelRequest(
        parent=WS, funnel_id="buyers", funnel=funnel_pb2.Funnel(display_name="Buyers", steps=steps)))
    assert created.name == f"{WS}/funnels/buyers" and created.etag
    _, fields = await refused(running.stub.CreateFunnel(pb.CreateFunnelRequest(
        parent=WS, funnel=funnel_pb2.Funnel(display_name="", steps=steps[:1]))), grpc.StatusCode.INVALID_ARGUMENT)
    assert "funnel.display_name" in fields
    events = [event("f1", "page_viewed", "p1", event_time=stamp(now - timedelta(minutes=9))),
              event("f2", "purchase", "p1", event_time=stamp(now - timedelta(minutes=8))),
              event("f3", "page_viewed", "p2", event_time=stamp(now - timedelta(minutes=7)))]
    await running.stub.IngestEvents(pb.IngestEventsRequest(parent=WS, events=events))
    run = await running.stub.RunFunnel(pb.RunFunnelRequest(name=created.name, interval=interval_pb2.Interval(
        start_time=stamp(now - timedelta(hours=1)), end_time=stamp(now))))
    assert [s.profiles for s in run.steps] == [2, 1]
    assert [f.name for f in (await running.stub.ListFunnels(pb.ListFunnelsRequest(parent=WS))).funnels] == [
        created.name]
    await running.stub.DeleteFunnel(pb.DeleteFunnelRequest(name=created.name, etag=created.etag))
    await refused(running.stub.GetFunnel(pb.GetFunnelRequest(name=created.name)), grpc.StatusCode.NOT_FOUND)


async def test_campaign_lifecycle_events_are_stored_campaign_failed_too(running):
    """The campaign service's own envelopes (its codec, the real schema): campaign_failed travels in the
    CampaignCancelled branch and is stored under its own type."""
    from svc_campaign.adapters import event_codec as campaign_codec
    from svc_campaign.domain.model import Campaign
    from tests.fakes import NOW, ready_fields

    bus = make_bus(running.env)
    producer = bus.producer(campaign_codec.TOPIC, event_schemas.load("campaign.v1"))
    broken = Campaign.create("acme", "broken", ready_fields("acme"), NOW)
    for minutes, action in enumerate(("schedule", "start", "fail"), start=1):
        broken.transition(action, NOW + timedelta(minutes=minutes))
    for event in broken.events:
        producer.send(event.campaign_id, campaign_codec.envelope(event))
    ids = {e.event_id for e in broken.events}
    await wait_for(lambda: ids <= {e.event_id for e in running.store.rows})
    stored = sorted((e for e in running.store.rows if e.event_id in ids), key=lambda e: e.event_time)
    assert [(e.type, e.source, e.campaign) for e in stored] == [
        ("campaign_created", "campaign", "broken"), ("campaign_scheduled", "campaign", "broken"),
        ("campaign_started", "campaign", "broken"), ("campaign_failed", "campaign", "broken")]
    producer.close()
    bus.close()
