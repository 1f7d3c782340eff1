"""bench/journeys runs small (--quick): every figure prints and every timer and signup reached the notify
stand-in exactly once (speeds are printed, never asserted)."""

from __future__ import annotations

import re

from bench import journeys


def test_journeys_benchmark_prints_every_figure(capsys):
    assert journeys.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "setup: 500 profiles inside the cart journey, 300 timers due now" in out, out
    assert re.search(r"timers\s+300 fired in [\d.]+ s: [\d,]+ timers/s \(300 send requests to notify\)", out), out
    assert re.search(r"events\s+baseline \(inbox only\) [\d,]+ events/s\s+with evaluation [\d,]+ events/s\s+"
                     r"ratio \d+\.\d\d", out), out
    assert re.search(r"latency\s+trigger event -> notify send request over 30 signups: p50 \d+ ms\s+p99 \d+ ms", out), out
