"""`make demo` against the running platform: profiles to inboxes and an
unsubscribe, through the REST edge only."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from devstack.servers import smtp_sink
from devstack.tools import demo

pytestmark = [pytest.mark.e2e, pytest.mark.embedded_only(
    "the demos run against `make run`, whose bus is the embedded one; every step they take is on both buses "
    "in the campaign, audience and journeys suites (CI time)")]


def test_the_demo_delivers_personal_emails_and_an_unsubscribe_suppresses(running):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert demo.main(["--edge", f"http://127.0.0.1:{running.edge_port}", "--workspace", "demo-e2e",
                          "--smtp-store", str(running.platform.state_dir / smtp_sink.STORE_NAME),
                          "--timeout", "90", "--lead", "3", "--read-time", "0", "--callback-secret",
                          running.platform.env[smtp_sink.CALLBACK_SECRET_VARIABLE], "--token", running.rest.token]) == 0
    text = out.getvalue()
    assert ":schedule -> STATE_SCHEDULED (no :start)" in text
    assert re.search(r"STATE_RUNNING by itself, \d+\.\d s after :schedule", text), text
    assert "launch STATE_COMPLETED: 12 of 12 handed to notify" in text
    assert "12 emails in the local SMTP sink" in text  # ltv >= 100: all but ken and tim
    assert "variants seen: a, b" in text
    assert "To: ada@example.com" in text and "Ada" in text
    assert ":click?token=" in text
    assert "302 Location: https://shop.example.com/spring?who=" in text  # the click is recorded, then redirected
    assert "reachable on email now? False (REASON_SUPPRESSED)" in text
    assert "accepted 1, duplicates 0" in text  # the buyer's purchase, ingested through the analytics API
    table = text[text.index("== the campaign's report"):]
    assert "variant  sent  delivered  opened  clicked  unsubscribed  converted" in table
    total = next(line.split() for line in table.splitlines() if line.strip().startswith("total"))
    assert total[1:] == ["12", "12", "5", "1", "1", "1"]


def test_the_journey_demo_runs_the_abandoned_cart(running):
    from devstack.tools import demo_journey

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert demo_journey.main(["--edge", f"http://127.0.0.1:{running.edge_port}", "--workspace", "journey-e2e",
                                  "--wait", "3", "--timeout", "60", "--token", running.rest.token]) == 0
    text = out.getvalue()
    assert ":publish -> STATE_ACTIVE, version 1" in text
    for line in ("ada    email 0  sms 0", "grace  email 1  sms 0", "alan   email 1  sms 1"):
        assert line in text, text
    assert "entered 3, goal reached 2, exited 1" in text, text
    assert "ada    GOAL" in text and "alan   EXITED" in text
