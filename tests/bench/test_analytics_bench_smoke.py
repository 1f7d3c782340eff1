"""bench/analytics runs end to end in a few seconds (12,000 events through the analytics service,
40,000 generated for the reports on the ClickHouse server and on chdb): it prints every figure and
the summary, and the service stored exactly what was published, per event type the same counts as
the raw inserts (a disagreement makes it exit 1 and print CHECK FAILED; speeds are printed, never
asserted)."""

from __future__ import annotations

import re

import pytest

from bench import analytics


@pytest.mark.e2e
@pytest.mark.clickhouse
def test_analytics_benchmark_prints_every_figure_and_the_service_counts_equal_raw(capsys, monkeypatch,
                                                                                 clickhouse_server):
    monkeypatch.setenv("MKT_TEST_CLICKHOUSE_URL", clickhouse_server.url)
    monkeypatch.delenv("MKT_TEST_PULSAR_URL", raising=False)
    assert analytics.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "CHECK FAILED" not in out, out
    assert re.search(r"^ingest \(embedded bus\)  raw clickhouse-driver [\d,]+ events/s  service [\d,]+ events/s  "
                     r"ratio \d+\.\d\d  \(service CPU [\d.]+ s for 12,000 events; counts equal: yes\)$", out, re.M), out
    assert re.search(r"^analytics service peak RSS [\d,]+ MiB$", out, re.M), out
    for engine in ("ClickHouse server", "chdb"):
        assert re.search(rf"^report \({engine}\)  40,000 events across 20 campaigns \(generated in \d+ s; "
                         r"campaign_hourly in \d+ parts\)  GetCampaignReport p50 [\d.]+ ms  p95 [\d.]+ ms$",
                         out, re.M), out
        assert re.search(rf"^report \({engine}, after OPTIMIZE FINAL: \d+ parts, \d+ s\)  "
                         r"GetCampaignReport p50 [\d.]+ ms  p95 [\d.]+ ms$", out, re.M), out
    assert re.search(r"^  targets: ingest ratio >= 0\.6: \d+\.\d\d (PASS|MISS)$", out, re.M), out
    assert re.search(r"^  targets: report p95 on the ClickHouse server <= 100 ms: [\d.]+ ms (PASS|MISS) "
                     r"\(chdb [\d.]+ ms, no target\)$", out, re.M), out
    assert re.search(r"^  targets: service peak RSS <= 500 MiB: [\d,]+ MiB (PASS|MISS)$", out, re.M), out


def test_a_count_that_differs_from_the_published_or_the_raw_one_is_reported():
    published = {"message_sent": 2, "message_opened": 1}
    assert analytics.compare_counts(published, 3, dict(published), 3, dict(published)) == []
    assert analytics.compare_counts(published, 4, dict(published), 3, dict(published))  # a duplicate row
    assert analytics.compare_counts(published, 3, {"message_sent": 2}, 3, {"message_sent": 2})  # a lost event
    assert analytics.compare_counts(published, 3, dict(published), 3, {"message_sent": 3})  # raw differs
