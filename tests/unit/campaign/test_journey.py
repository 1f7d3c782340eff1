"""The journey domain: validation on publish, re-entry, and the per-profile state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from svc_campaign.domain.journey import (ACTIVE, ARCHIVED, DRAFT, EXITED, GOAL, INSIDE, PAUSED, Condition,
                                         Definition, Journey, PastEntry, Reentry, Step, Trigger, advance, enter,
                                         on_event, refusal, send_key, validate_for_publish)
from svc_kit.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
T = "workspaces/acme/templates/cart"


def cart(wait=timedelta(minutes=30), **changes) -> Definition:
    """The abandoned cart: wait for purchase; if none, an email; wait; if still none, an SMS."""
    steps = (Step("wait1", "wait", duration=wait, event="purchase", on_event="done", on_timeout="email"),
             Step("email", "send", next="wait2", channel="EMAIL", template=T),
             Step("wait2", "wait", duration=wait, event="purchase", on_event="done", on_timeout="sms"),
             Step("sms", "send", next="done", channel="SMS", template="workspaces/acme/templates/sms"),
             Step("done", "exit"))
    values = dict(trigger=Trigger("event", "product_added_to_cart"), steps=steps, entry_step="wait1",
                  goal_event="purchase", reentry=Reentry("ALWAYS"))
    values.update(changes)
    return Definition(**values)


def fields(error: InvalidArgument) -> dict[str, str]:
    return {v.field: v.description for v in error.violations}


def test_the_abandoned_cart_is_valid_and_survives_its_stored_form():
    validate_for_publish(cart(), "acme")
    assert Definition.from_dict(cart().to_dict()) == cart()


def test_a_dead_end_names_the_step():
    steps = (Step("start", "send", channel="EMAIL", template=T), Step("done", "exit"))
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(steps=steps, entry_step="start"), "acme")
    assert "dead end" in fields(caught.value)["journey.definition.steps[0].next"]


def test_an_unbounded_wait_names_the_step():
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(wait=timedelta(0)), "acme")
    assert "step 'wait1'" in fields(caught.value)["journey.definition.steps[0].wait.duration"]
    with pytest.raises(InvalidArgument):
        validate_for_publish(cart(wait=timedelta(days=91)), "acme")


def test_another_workspaces_template_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(), "other")
    assert "steps[1].send.template" in " ".join(fields(caught.value))


def test_a_numeric_condition_on_text_is_refused():
    trigger = Trigger("event", "product_added_to_cart", (Condition("price", "GREATER_THAN", "cheap"),))
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(trigger=trigger), "acme")
    assert "journey.definition.trigger.event.conditions[0].value" in fields(caught.value)


def test_cycles_and_unreachable_steps_are_refused():
    steps = (Step("a", "wait", duration=timedelta(hours=1), next="b"),
             Step("b", "send", channel="EMAIL", template=T, next="a"), Step("c", "exit"))
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(steps=steps, entry_step="a"), "acme")
    found = fields(caught.value)
    assert "leads back" in found["journey.definition.steps[1]"]
    assert "cannot be reached" in found["journey.definition.steps[2]"]


def test_unknown_successors_are_refused_and_every_step_kind_runs():
    steps = (Step("a", "add_to_segment", segment="workspaces/acme/segments/s", next="nowhere"),)
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(cart(steps=steps, entry_step="a"), "acme")
    found = fields(caught.value)
    assert "names no step" in found["journey.definition.steps[0].next"]
    assert not [f for f in found if f.endswith(".add_to_segment")]  # run now: not refused for its kind


def test_conditions():
    assert Condition("sku", "EQUALS", "a").holds({"sku": "a"})
    assert not Condition("sku", "EQUALS", "a").holds({})
    assert Condition("sku", "NOT_EQUALS", "a").holds({"sku": "b"})
    assert Condition("price", "GREATER_THAN", "10").holds({"price": "10.5"})
    assert not Condition("price", "LESS_THAN", "10").holds({"price": "x"})
    assert Trigger("event", "e", (Condition("k", "EXISTS"),)).matches_event("e", {"k": ""})
    assert not Trigger("event", "e").matches_event("f", {})


def test_reentry_rules():
    old = [PastEntry(NOW - timedelta(days=2), EXITED)]
    assert refusal(Reentry("ONCE"), [], NOW) is None
    assert refusal(Reentry("ONCE"), old, NOW).startswith("reentry: once")
    assert refusal(Reentry("ALWAYS"), old, NOW) is None
    assert "already inside" in refusal(Reentry("ALWAYS"), [PastEntry(NOW, INSIDE)], NOW)
    assert refusal(Reentry("ONCE_PER_PERIOD", timedelta(days=1)), old, NOW) is None
    assert "once per" in refusal(Reentry("ONCE_PER_PERIOD", timedelta(days=3)), old, NOW)


def test_a_cart_without_purchase_gets_the_email_then_the_sms():
    d = cart()
    entry = enter("e1", "acme", "j", 1, d, "p1", NOW)
    first = advance(d, entry, NOW)
    assert first.sends == [] and first.entry.waiting and first.entry.due_time == NOW + timedelta(minutes=30)
    early = advance(d, first.entry, NOW + timedelta(minutes=1))
    assert early.sends == [] and early.entry == first.entry  # not due: nothing moves
    later = NOW + timedelta(minutes=30)
    second = advance(d, first.entry, later)
    assert [(s.step, s.channel) for s in second.sends] == [("email", "EMAIL")]
    assert second.sends[0].idempotency_key == send_key(entry, "email") == "journeys/j/entries/e1/steps/email"
    assert second.entry.step == "wait2" and second.entry.due_time == later + timedelta(minutes=30)
    third = advance(d, second.entry, later + timedelta(minutes=30))
    assert [s.channel for s in third.sends] == ["SMS"]
    assert third.entry.state == EXITED and third.entry.due_time is None
    assert [t.kind for t in third.trail] == ["step", "send_requested", "step", "exited"]


def test_a_purchase_is_the_goal_wherever_the_profile_is():
    d = cart()
    waiting = advance(d, enter("e1", "acme", "j", 1, d, "p1", NOW), NOW).entry
    done = on_event(d, waiting, "purchase", NOW)
    assert done.entry.state == GOAL and done.entry.due_time is None
    assert advance(d, done.entry, NOW + timedelta(days=1)).sends == []
    assert on_event(d, done.entry, "purchase", NOW) is None  # over: nothing changes


def test_an_awaited_event_takes_the_on_event_branch_and_branches_read_what_was_seen():
    steps = (Step("w", "wait", duration=timedelta(hours=1), event="opened", on_event="b", on_timeout="b"),
             Step("b", "branch", event_seen="clicked", on_true="x", on_false="s"),
             Step("s", "send", channel="EMAIL", template=T, next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="w", goal_event="")
    validate_for_publish(d, "acme")
    waiting = advance(d, enter("e", "acme", "j", 1, d, "p", NOW), NOW).entry
    assert on_event(d, waiting, "unrelated", NOW) is None
    clicked = on_event(d, waiting, "clicked", NOW).entry
    assert clicked.seen == ("clicked",) and clicked.waiting
    moved = on_event(d, clicked, "opened", NOW)
    assert moved.entry.step == "b" and moved.entry.due_time == NOW
    finished = advance(d, moved.entry, NOW)
    assert finished.sends == [] and finished.entry.state == EXITED  # clicked: on_true skips the send


def test_journey_lifecycle():
    j = Journey("acme", "j", "Cart", DRAFT, cart(), 0, 1, NOW, NOW)
    with pytest.raises(FailedPrecondition):
        j.change("pause", NOW)
    assert j.publish(NOW) == 1 and j.state == ACTIVE
    j.change("pause", NOW)
    assert j.state == PAUSED and not j.accepts_entries()
    assert j.publish(NOW) == 2 and j.state == PAUSED  # a new version does not resume
    j.change("resume", NOW)
    j.change("archive", NOW)
    assert j.state == ARCHIVED
    with pytest.raises(FailedPrecondition):
        j.publish(NOW)


def test_the_api_mapping_round_trips_every_step_kind():
    from marketing.campaign.v1 import journey_pb2
    from svc_campaign.entrypoints.journey_api import definition_from_proto, definition_to_proto

    d = cart(reentry=Reentry("ONCE_PER_PERIOD", timedelta(days=1)),
             trigger=Trigger("event", "product_added_to_cart", (Condition("price", "GREATER_THAN", "10"),)))
    steps = d.steps + (Step("b", "branch", event_seen="clicked", on_true="done", on_false="done"),
                       Step("a", "branch", if_attribute=Condition("tier", "EQUALS", "gold"), on_true="done",
                            on_false="done"),
                       Step("u", "update_attribute", attribute="tier", value="gold", next="done"),
                       Step("s", "add_to_segment", segment="workspaces/acme/segments/x", next="done"),
                       Step("h", "call_webhook", webhook="workspaces/acme/webhooks/w", next="done"))
    d = Definition(d.trigger, steps, d.entry_step, d.goal_event, d.reentry)
    proto = definition_to_proto(d)
    assert definition_from_proto(journey_pb2.JourneyDefinition.FromString(proto.SerializeToString())) == d
    assert proto.steps[6].branch.attribute.operator == journey_pb2.PropertyCondition.OPERATOR_EQUALS
    assert Definition.from_dict(d.to_dict()) == d
    segment = Definition(Trigger("segment_left", segment="workspaces/acme/segments/vip"), d.steps, "wait1")
    assert definition_from_proto(definition_to_proto(segment)).trigger == segment.trigger


def test_a_branch_on_segment_membership():
    steps = (Step("b", "branch", in_segment="workspaces/acme/segments/vip", on_true="s", on_false="x"),
             Step("s", "send", channel="EMAIL", template=T, next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="b", goal_event="")
    validate_for_publish(d, "acme")
    entry = enter("e", "acme", "j", 1, d, "p", NOW)
    assert [s.step for s in advance(d, entry, NOW, frozenset({"vip"})).sends] == ["s"]
    assert advance(d, entry, NOW, frozenset({"other"})).sends == []
    both = cart(steps=(Step("b", "branch", event_seen="e", in_segment="workspaces/acme/segments/vip",
                            on_true="x", on_false="x"), Step("x", "exit")), entry_step="b")
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(both, "acme")
    assert "exactly one" in fields(caught.value)["journey.definition.steps[0].branch"]
    with pytest.raises(InvalidArgument):
        validate_for_publish(cart(steps=steps, entry_step="b", goal_event=""), "other")


def test_a_wait_until_a_time_of_day_in_the_profiles_zone():
    from svc_campaign.domain.journey import next_time_of_day

    steps = (Step("w", "wait", until_time="09:30", next="s"), Step("s", "send", channel="EMAIL", template=T,
                                                                   next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="w", goal_event="")
    validate_for_publish(d, "acme")
    # NOW is 12:00 UTC = 13:00 in Paris: 09:30 Paris tomorrow is 08:30 UTC
    waiting = advance(d, enter("e", "acme", "j", 1, d, "p", NOW), NOW, zone="Europe/Paris").entry
    assert waiting.due_time == datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
    assert next_time_of_day(NOW, "12:30", "not/a-zone") == datetime(2026, 12, 5, 12, 30, tzinfo=UTC)
    assert next_time_of_day(NOW, "12:00", "UTC") == datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert next_time_of_day(NOW, "06:00", "America/New_York") == datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    bad = cart(steps=(Step("w", "wait", until_time="25:00", next="x"), Step("x", "exit")), entry_step="w")
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(bad, "acme")
    assert "journey.definition.steps[0].wait.until_time_of_day" in fields(caught.value)


def test_a_branch_on_a_profile_attribute():
    steps = (Step("b", "branch", if_attribute=Condition("lifetime_value", "GREATER_THAN", "100"), on_true="s",
                  on_false="x"),
             Step("s", "send", channel="EMAIL", template=T, next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="b", goal_event="")
    validate_for_publish(d, "acme")
    assert d.attribute_branches() and not cart().attribute_branches()
    entry = enter("e", "acme", "j", 1, d, "p", NOW)
    assert [s.step for s in advance(d, entry, NOW, attributes={"lifetime_value": "250"}).sends] == ["s"]
    assert advance(d, entry, NOW, attributes={"lifetime_value": "99.5"}).sends == []
    passed = advance(d, entry, NOW)  # a profile without the attribute: the condition does not hold
    assert passed.sends == [] and ("step", "b", "on_false") in [(t.kind, t.step, t.detail) for t in passed.trail]
    absent = cart(steps=(Step("b", "branch", if_attribute=Condition("tier", "NOT_EQUALS", "gold"), on_true="x",
                              on_false="x"), Step("x", "exit")), entry_step="b")
    assert advance(absent, enter("e", "acme", "j", 1, absent, "p", NOW), NOW).trail[0].detail == "on_true"


def test_a_bad_attribute_branch_names_the_step():
    def refused(*steps) -> dict[str, str]:
        with pytest.raises(InvalidArgument) as caught:
            validate_for_publish(cart(steps=steps + (Step("x", "exit"),), entry_step="b", goal_event=""), "acme")
        return fields(caught.value)

    found = refused(Step("b", "branch", if_attribute=Condition("ltv", "GREATER_THAN", "lots"), on_true="x",
                         on_false="x"))
    assert "step 'b'" in found["journey.definition.steps[0].branch.attribute.value"]
    found = refused(Step("b", "branch", if_attribute=Condition("", "SOMETIMES"), on_true="x", on_false="x"))
    assert {"journey.definition.steps[0].branch.attribute.property",
            "journey.definition.steps[0].branch.attribute.operator"} <= set(found)
    found = refused(Step("b", "branch", event_seen="opened", if_attribute=Condition("tier"), on_true="x",
                         on_false="x"))
    assert "exactly one of event_seen, in_segment and attribute" in found["journey.definition.steps[0].branch"]


def test_a_webhook_step_asks_once_per_entry_and_step_and_goes_on():
    steps = (Step("h", "call_webhook", webhook="workspaces/acme/webhooks/crm", next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="h", goal_event="")
    validate_for_publish(d, "acme")
    entry = enter("e1", "acme", "j", 1, d, "p", NOW)
    done = advance(d, entry, NOW)
    assert [(w.step, w.webhook, w.idempotency_key) for w in done.webhooks] == [
        ("h", "workspaces/acme/webhooks/crm", "journeys/j/entries/e1/steps/h")]
    assert done.webhooks == advance(d, entry, NOW).webhooks  # a repeated pass asks with the same key
    assert [t.kind for t in done.trail] == ["webhook_queued", "step", "exited"]
    for webhook in ("workspaces/other/webhooks/crm", "crm", ""):
        with pytest.raises(InvalidArgument) as caught:
            validate_for_publish(cart(steps=(Step("h", "call_webhook", webhook=webhook, next="x"),
                                             Step("x", "exit")), entry_step="h"), "acme")
        assert "step 'h'" in fields(caught.value)["journey.definition.steps[0].call_webhook.webhook"]


def test_static_segment_steps_add_and_remove_and_name_their_segment():
    steps = (Step("in", "add_to_segment", segment="workspaces/acme/segments/vip", next="out"),
             Step("out", "remove_from_segment", segment="workspaces/acme/segments/new", next="x"), Step("x", "exit"))
    d = cart(steps=steps, entry_step="in", goal_event="")
    validate_for_publish(d, "acme")
    done = advance(d, enter("e", "acme", "j", 1, d, "p", NOW), NOW)
    assert [(m.step, m.segment, m.add) for m in done.memberships] == [
        ("in", "workspaces/acme/segments/vip", True), ("out", "workspaces/acme/segments/new", False)]
    assert [t.kind for t in done.trail] == ["segment_add", "step", "segment_remove", "step", "exited"]
    bad = cart(steps=(Step("in", "add_to_segment", segment="workspaces/other/segments/vip", next="x"),
                      Step("x", "exit")), entry_step="in")
    with pytest.raises(InvalidArgument) as caught:
        validate_for_publish(bad, "acme")
    assert "step 'in'" in fields(caught.value)["journey.definition.steps[0].add_to_segment.segment"]


# ---- date attribute triggers

def test_date_attribute_triggers_validate_the_attribute_and_the_minute():
    from svc_campaign.domain.journey import Definition as D
    good = cart(trigger=Trigger("date_attribute", attribute="birthday", minute_of_day=540))
    validate_for_publish(good, "acme")
    for trigger, field in ((Trigger("date_attribute", attribute="Birth day", minute_of_day=0), "attribute"),
                           (Trigger("date_attribute", attribute="b" * 49, minute_of_day=0), "attribute"),
                           (Trigger("date_attribute", attribute="birthday", minute_of_day=1440), "minute_of_day"),
                           (Trigger("date_attribute", attribute="birthday", minute_of_day=-1), "minute_of_day")):
        with pytest.raises(InvalidArgument) as raised:
            validate_for_publish(cart(trigger=trigger), "acme")
        assert [v.field for v in raised.value.violations] == [f"journey.definition.trigger.date_attribute.{field}"]
    assert D.from_dict(good.to_dict()).trigger == good.trigger


def test_the_next_date_occurrence_in_the_profiles_zone():
    from svc_campaign.domain.journey import month_day, next_date_occurrence
    # this year's, not yet passed: 09:00 in Paris (UTC+1 in winter) on Dec 24
    assert next_date_occurrence("1990-12-24", 540, "Europe/Paris", NOW) == datetime(2026, 12, 24, 8, 0, tzinfo=UTC)
    # passed this year: next year's
    assert next_date_occurrence("1990-03-05", 0, "UTC", NOW) == datetime(2027, 3, 5, 0, 0, tzinfo=UTC)
    # today, its minute passed by a minute (12:00 UTC now): next year; a minute ahead: today
    assert next_date_occurrence("1980-12-05", 719, "", NOW) == datetime(2027, 12, 5, 11, 59, tzinfo=UTC)
    assert next_date_occurrence("1980-12-05", 721, "", NOW) == datetime(2026, 12, 5, 12, 1, tzinfo=UTC)
    # the profile's zone decides the date: in Tokyo (UTC+9) Dec 5 at 23:00 is 14:00 UTC
    assert next_date_occurrence("2001-12-05", 23 * 60, "Asia/Tokyo", NOW) == datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    # ... and in Auckland it is already Dec 6 (01:00): Dec 5 at 00:30 there was yesterday UTC: next year
    assert next_date_occurrence("2001-12-05", 30, "Pacific/Auckland", NOW) == \
        datetime(2027, 12, 4, 11, 30, tzinfo=UTC)
    # summer time: 09:00 in New York on Jul 4 is 13:00 UTC (EDT), in winter 14:00 UTC (EST)
    assert next_date_occurrence("1976-07-04", 540, "America/New_York", NOW) == datetime(2027, 7, 4, 13, 0, tzinfo=UTC)
    assert next_date_occurrence("1976-01-04", 540, "America/New_York", NOW) == datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    # a minute skipped by the spring change (02:30 on Mar 14, 2027 in New York) falls after it
    assert next_date_occurrence("1999-03-14", 150, "America/New_York", NOW) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    # Feb 29: on Feb 28 in other years, on Feb 29 in leap years
    assert next_date_occurrence("2000-02-29", 600, "UTC", NOW) == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert next_date_occurrence("2000-02-29", 600, "UTC", datetime(2027, 3, 1, tzinfo=UTC)) == \
        datetime(2028, 2, 29, 10, 0, tzinfo=UTC)
    # a timestamp counts by its date as written; an unknown zone is UTC; no date: None
    assert next_date_occurrence("1990-12-24T00:00:00Z", 0, "not/a-zone", NOW) == datetime(2026, 12, 24, tzinfo=UTC)
    assert next_date_occurrence("soon", 0, "UTC", NOW) is None
    assert next_date_occurrence("1990-02-30", 0, "UTC", NOW) is None
    assert month_day("") is None and month_day("1990-13-01") is None and month_day("2001-02-29") == (2, 29)


def test_a_due_date_occurrence_names_the_local_date_and_expires_after_a_day():
    from svc_campaign.domain.journey import date_trigger_event, due_date_occurrence
    assert due_date_occurrence("1980-12-05", 719, "UTC", NOW) == "2026-12-05"  # a minute ago
    assert due_date_occurrence("1980-12-05", 720, "UTC", NOW) == "2026-12-05"  # just now
    assert due_date_occurrence("1980-12-05", 721, "UTC", NOW) is None  # a minute ahead
    assert due_date_occurrence("1980-12-04", 721, "UTC", NOW) == "2026-12-04"  # 23h59 ago
    assert due_date_occurrence("1980-12-04", 720, "UTC", NOW) is None  # a day ago: too late
    # in Auckland it is Dec 6 01:00: the profile's Dec 6 at 00:30 was half an hour ago
    assert due_date_occurrence("1980-12-06", 30, "Pacific/Auckland", NOW) == "2026-12-06"
    # Feb 29 on Feb 28 of a common year, named by that date
    assert due_date_occurrence("2000-02-29", 0, "UTC", datetime(2027, 2, 28, 1, tzinfo=UTC)) == "2027-02-28"
    assert due_date_occurrence("nope", 0, "UTC", NOW) is None
    assert date_trigger_event("b" * 48, "2026-12-05") == f"date:{'b' * 48}:2026-12-05"
    assert len(date_trigger_event("b" * 48, "2026-12-05")) == 64
