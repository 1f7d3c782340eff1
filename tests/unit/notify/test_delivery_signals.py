"""The dispatcher's delivery signals: the outcome of each settled message and its hand-off time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from svc_kit.channels import Channel

from svc_notify.domain.model import Message, State
from svc_notify.service_layer.dispatch.recording import Recorder, handoff_seconds
from svc_notify.service_layer.dispatch.work import Settled

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def message(state: State, channel=Channel.EMAIL, sent_after: float | None = None, send_time=None) -> Message:
    m = Message.accept("acme", "m1", channel, "p1", "k1", T0, send_time=send_time)
    m.state = state
    if sent_after is not None:
        m.sent_time = T0 + timedelta(seconds=sent_after)
    return m


def test_handoff_is_from_acceptance_or_the_requested_send_time():
    assert handoff_seconds(message(State.SENT, sent_after=2.5)) == 2.5
    assert handoff_seconds(message(State.SENT, sent_after=70, send_time=T0 + timedelta(seconds=60))) == 10
    assert handoff_seconds(message(State.DEFERRED)) is None
    assert handoff_seconds(message(State.FAILED, sent_after=3)) is None


def test_handoff_counts_from_the_end_of_a_hold_on_purpose_but_not_of_a_retry():
    quiet = message(State.QUEUED)
    quiet.state = State.SENDING
    quiet.defer(T0 + timedelta(hours=8), "quiet hours until 08:00", T0, planned=True)
    quiet.state, quiet.sent_time = State.SENT, T0 + timedelta(hours=8, seconds=3)
    assert handoff_seconds(quiet) == 3  # eight hours of quiet hours are not lateness

    retried = message(State.QUEUED)
    retried.state = State.SENDING
    retried.defer(T0 + timedelta(minutes=5), "transient provider error", T0)
    retried.state, retried.sent_time = State.SENT, T0 + timedelta(minutes=5, seconds=1)
    assert handoff_seconds(retried) == 301  # a provider's error is


class Signals:
    def __init__(self):
        self.seen = []

    def settled(self, channel, provider, outcome, handoff_seconds):
        self.seen.append((channel, provider, outcome, handoff_seconds))


class UnitOfWork:  # the recorder's writes are covered by tests/contract/test_notify_dispatch.py
    pass


def test_the_recorder_reports_what_it_recorded():
    signals = Signals()
    recorder = Recorder(lambda: UnitOfWork(), lambda: T0, signals)
    settled = [Settled(message(State.SENT, sent_after=1), provider="smtp"),
               Settled(message(State.DEFERRED, Channel.SMS), provider="twilio"),
               Settled(message(State.SUPPRESSED, Channel.PUSH)),
               Settled(message(State.DELIVERED, Channel.IN_APP, sent_after=0))]
    recorder._write = lambda token, batch: batch
    asyncio.run(recorder.record("token", list(settled)))
    assert signals.seen == [("email", "smtp", "sent", 1.0), ("sms", "twilio", "deferred", None),
                            ("push", "none", "suppressed", None), ("in_app", "inbox", "sent", 0.0)]
