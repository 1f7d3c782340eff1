"""bench/events runs on both adapters and prints its ratio lines (a smoke run:
the numbers are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import events

pytestmark = pytest.mark.e2e


def test_events_benchmark_reports_both_adapters(capsys, monkeypatch, pulsar_server):
    monkeypatch.setenv("MKT_TEST_PULSAR_URL", pulsar_server.service_url)
    monkeypatch.setenv("MKT_TEST_PULSAR_ADMIN_URL", pulsar_server.admin_url)
    assert events.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for adapter in ("embedded", "pulsar"):
        assert re.search(rf"{adapter}\s+raw\s+[\d,]+ events/s\s+outbox\+inbox\s+[\d,]+ events/s\s+ratio \d+\.\d+",
                         out), out
    assert re.search(r"steady 1000/s for 1 s: 1000 events, end-to-end p50 [\d.]+ ms\s+p99 [\d.]+ ms", out), out
    assert "targets: ratio >= 0.5" in out
