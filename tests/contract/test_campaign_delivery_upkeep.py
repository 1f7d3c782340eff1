"""The delivery tally and the upkeep on the campaign database (SQLite and
PostgreSQL): notify's events are counted once each through the inbox; a
running campaign whose messages are all final completes by itself and publishes
campaign_completed; a channel whose spend reaches its allocation pauses the
campaign with reason BUDGET_EXHAUSTED, and raising the budget resumes it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from svc_kit.bus.port import Message

from svc_campaign.adapters.launch_repository import SqlLaunchRepository
from svc_campaign.adapters.sql_unit_of_work import SqlUnitOfWork
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.domain import commands
from svc_campaign.domain.launch import Launch, LaunchState, Step, StepOutcome, Target, TargetState
from svc_campaign.domain.values import Budget, Channel, ChannelAllocation, Money, Schedule, State
from svc_campaign.entrypoints.delivery_consumer import delivery_consumer
from svc_campaign.service_layer import handlers, scheduler, upkeep
from tests.fakes import NOW, ready_fields
from tests.unit.campaign.test_handlers import Ids

START = NOW + timedelta(hours=2)


class At:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class StubConsumer:
    def __init__(self):
        self.acked, self.nacked = [], []

    def ack(self, message):
        self.acked.append(message)

    def nack(self, message):
        self.nacked.append(message)


class StubBus:
    def consumer(self, topic, subscription, schema, options=None):
        return StubConsumer()


def running(engine: Engine, budget: Budget | None = None, end=None) -> str:
    fields = ready_fields(start=START, schedule=Schedule(START, end, "Europe/Paris"),
                          channels=(Channel.EMAIL,), contents=ready_fields().contents[:1], budget=budget)
    created = handlers.create_campaign(commands.CreateCampaign("acme", fields), SqlUnitOfWork(engine), At(NOW), Ids())
    handlers.change_state(commands.ChangeState("acme", created.id, "schedule", ""), SqlUnitOfWork(engine), At(NOW))
    scheduler.run_pass(lambda: SqlUnitOfWork(engine), At(START))
    return created.id


def launched(engine: Engine, campaign_id: str, messages: int) -> None:
    target = Target("workspaces/acme/segments/vip", Channel.EMAIL, "workspaces/acme/templates/t",
                    snapshot="workspaces/acme/snapshots/s", total=messages, sent=messages, state=TargetState.DONE)
    with engine.begin() as connection:
        SqlLaunchRepository(connection).add(Launch("acme", campaign_id, [target], LaunchState.COMPLETED,
                                                   start_time=START, update_time=START))


def event(event_type: str, campaign_id: str, message: str, event_id: str = "", **payload) -> Message:
    info = {"message": f"workspaces/acme/messages/{message}", "channel": "EMAIL",
            "recipient": "workspaces/acme/profiles/p", "category": "MARKETING",
            "campaign": f"workspaces/acme/campaigns/{campaign_id}", "idempotency_key": "", "labels": {},
            "variant": ""}
    value = {"event_id": event_id or f"{event_type}-{message}", "event_type": event_type, "workspace": "acme",
             "aggregate_id": message, "aggregate_version": 1, "occurred_at": START, "producer": "svc_notify",
             "traceparent": None, "tracestate": None, "payload": {"message": info, **payload}}
    return Message("notify", value["event_id"], message, value, {}, 0, datetime.now(UTC))


def state(engine: Engine, campaign_id: str) -> State:
    return handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine)).state


def outbox_types(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [r.properties["event_type"] for r in connection.execute(select(campaign_outbox).order_by(campaign_outbox.c.position))]


def test_each_event_counts_once_and_a_bounce_after_delivery_stays_one_final_message(engine):
    campaign_id = running(engine)
    consumer = delivery_consumer(StubBus(), engine)
    sent = event("message_sent", campaign_id, "m1", cost_micros=2500, cost_currency="EUR")
    for message in (event("message_queued", campaign_id, "m1"), sent, sent,
                    event("message_queued", campaign_id, "m2"), event("message_delivered", campaign_id, "m1"),
                    event("message_bounced", campaign_id, "m1"), event("message_opened", campaign_id, "m1")):
        consumer.handle(message)
    assert consumer.processed == 6 and consumer.duplicates == 1
    with SqlUnitOfWork(engine) as uow:
        tally = uow.deliveries.tally("acme", campaign_id)
        assert uow.deliveries.live_campaigns(None, 10) == [("acme", campaign_id)]
        assert uow.deliveries.live_campaigns(("acme", campaign_id[:-1]), 10) == [("acme", campaign_id)]
        assert uow.deliveries.live_campaigns(("acme", campaign_id), 10) == []
    assert (tally.known, tally.final) == (2, 1)
    [spend] = tally.spend
    assert (spend.channel, spend.currency, spend.sent, spend.money.amount) == (Channel.EMAIL, "EUR", 1,
                                                                                Decimal("0.0025"))


def test_a_campaign_completes_once_every_message_is_final(engine):
    campaign_id = running(engine)
    launched(engine, campaign_id, 2)
    consumer = delivery_consumer(StubBus(), engine)
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    for message in ("m1", "m2"):
        consumer.handle(event("message_queued", campaign_id, message))
    consumer.handle(event("message_delivered", campaign_id, "m1"))
    assert upkeep.run_pass(uow, At(START)).completed == []
    consumer.handle(event("message_cancelled", campaign_id, "m2", reason="cancelled"))
    assert upkeep.run_pass(uow, At(START)).completed == [campaign_id]
    assert state(engine, campaign_id) is State.COMPLETED
    assert upkeep.run_pass(uow, At(START)).completed == []
    assert outbox_types(engine).count("campaign_completed") == 1


def test_a_campaign_with_an_end_time_completes_once_its_window_is_over(engine):
    end = START + timedelta(hours=1)
    campaign_id = running(engine, end=end)
    launched(engine, campaign_id, 1)
    consumer = delivery_consumer(StubBus(), engine)
    consumer.handle(event("message_delivered", campaign_id, "m1"))
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    assert upkeep.run_pass(uow, At(START)).completed == []
    assert upkeep.run_pass(uow, At(end)).completed == [campaign_id]


def test_an_exhausted_allocation_pauses_and_a_raised_budget_resumes(engine):
    budget = Budget(Money("EUR", Decimal("10")), (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("0.01"))),))
    campaign_id = running(engine, budget=budget)
    consumer = delivery_consumer(StubBus(), engine)
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    for message in ("m1", "m2"):
        consumer.handle(event("message_sent", campaign_id, message, cost_micros=4000, cost_currency="EUR"))
    assert upkeep.run_pass(uow, At(START)).paused == []
    consumer.handle(event("message_sent", campaign_id, "m3", cost_micros=4000, cost_currency="EUR"))
    assert upkeep.run_pass(uow, At(START)).paused == [campaign_id]
    assert state(engine, campaign_id) is State.PAUSED
    assert upkeep.get_delivery("acme", campaign_id, SqlUnitOfWork(engine)).pause_reason == "BUDGET_EXHAUSTED"
    assert upkeep.run_pass(uow, At(START)) == upkeep.Outcome()

    raised = replace(budget, allocations=(ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("5"))),))
    campaign = handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine))
    handlers.update_campaign(commands.UpdateCampaign("acme", campaign_id, replace(campaign.fields, budget=raised),
                                                     frozenset({"budget"}), ""), SqlUnitOfWork(engine), At(START))
    assert upkeep.run_pass(uow, At(START)).resumed == [campaign_id]
    assert state(engine, campaign_id) is State.RUNNING
    assert upkeep.get_delivery("acme", campaign_id, SqlUnitOfWork(engine)).pause_reason == ""
    assert outbox_types(engine)[-3:] == ["campaign_paused", "campaign_updated", "campaign_resumed"]


def test_a_manual_pause_is_not_resumed_by_the_upkeep(engine):
    budget = Budget(Money("EUR", Decimal("10")), (ChannelAllocation(Channel.EMAIL, Money("EUR", Decimal("0.01"))),))
    campaign_id = running(engine, budget=budget)
    consumer = delivery_consumer(StubBus(), engine)
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    consumer.handle(event("message_sent", campaign_id, "m1", cost_micros=10000, cost_currency="EUR"))
    assert upkeep.run_pass(uow, At(START)).paused == [campaign_id]
    raised = replace(budget, allocations=())
    campaign = handlers.get_campaign("acme", campaign_id, SqlUnitOfWork(engine))
    handlers.update_campaign(commands.UpdateCampaign("acme", campaign_id, replace(campaign.fields, budget=raised),
                                                     frozenset({"budget"}), ""), SqlUnitOfWork(engine), At(START))
    later = START + timedelta(minutes=1)
    handlers.change_state(commands.ChangeState("acme", campaign_id, "resume", ""), SqlUnitOfWork(engine), At(later))
    handlers.change_state(commands.ChangeState("acme", campaign_id, "pause", ""), SqlUnitOfWork(engine),
                          At(later + timedelta(minutes=1)))
    assert upkeep.run_pass(uow, At(later + timedelta(minutes=2))) == upkeep.Outcome()
    assert state(engine, campaign_id) is State.PAUSED


def test_a_campaign_whose_launch_failed_for_good_fails_once_compensated(engine):
    campaign_id = running(engine)
    launch = Launch.plan("acme", campaign_id, ("workspaces/acme/segments/vip",),
                         {Channel.EMAIL: "workspaces/acme/templates/t"}, START)
    launch.snapshot_taken(0, "workspaces/acme/segments/vip/snapshots/s", 3, START)
    launch.step_failed(Step.PREFLIGHT_RENDER, 0, "INVALID_ARGUMENT: the template does not render", START)
    assert launch.compensations == [Step.RELEASE_SNAPSHOT]  # still to make
    with engine.begin() as connection:
        SqlLaunchRepository(connection).add(launch)
    uow = lambda: SqlUnitOfWork(engine)  # noqa: E731
    assert upkeep.run_pass(uow, At(START)) == upkeep.Outcome()  # still compensating
    with engine.begin() as connection:
        repository = SqlLaunchRepository(connection)
        stored = repository.get("acme", campaign_id)
        assert stored.state is LaunchState.COMPENSATING
        stored.compensated(Step.RELEASE_SNAPSHOT, StepOutcome.DONE, START)
        repository.save(stored)
    assert upkeep.run_pass(uow, At(START)).failed == [campaign_id]
    assert state(engine, campaign_id) is State.FAILED
    assert outbox_types(engine)[-1] == "campaign_failed"
    assert upkeep.run_pass(uow, At(START)) == upkeep.Outcome()
    with SqlUnitOfWork(engine) as unit:
        assert ("acme", campaign_id) not in unit.deliveries.live_campaigns(None, 100)
