"""bench/instrumentation runs end to end in seconds (--quick): a real Jaeger receives the instrumented
service's spans, and it prints both rates and the ratio (speeds are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import instrumentation
from devstack.tools import jaeger as jaeger_tool
from tests.conftest import _unavailable


@pytest.mark.e2e
def test_instrumentation_benchmark_prints_both_rates_and_the_ratio(capsys):
    if jaeger_tool.installed() is None:
        _unavailable("Jaeger", "not built (python -m devstack.tools.jaeger --install)")
    assert instrumentation.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for mode in (r"on \(every call traced\)", "off", r"on, 10% of traces sampled"):
        assert re.search(rf"^instrumentation {mode}\s+[\d,]+ calls/s\s+[\d,]+ calls per CPU-second", out, re.M), out
    assert re.search(r"^ratio on/off: throughput \d+\.\d{3}, per CPU-second \d+\.\d{3}$", out, re.M), out
    assert re.search(r"^ratio on \(10% sampled\)/off: throughput \d+\.\d{3}, per CPU-second \d+\.\d{3}$", out,
                     re.M), out
    assert re.search(r"^traces of GetCampaign found in Jaeger: [1-9]\d*$", out, re.M), out
    assert re.search(r"^  target: throughput ratio >= 0\.9: \d+\.\d\d (PASS|MISS)$", out, re.M), out
