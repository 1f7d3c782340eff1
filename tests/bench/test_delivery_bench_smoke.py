"""bench/delivery runs end to end on a small count: its ratio and RSS lines
print, and every email and SMS arrives exactly once (the numbers themselves
are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import delivery

pytestmark = pytest.mark.e2e


def test_delivery_benchmark_reports_ratios_and_delivers_each_message_once(capsys):
    assert delivery.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"email\s+raw aiosmtplib\s+[\d,]+ messages/s\s+notify\s+[\d,]+ messages/s\s+ratio \d+\.\d\d "
                     r"\(target >= 0\.70: (met|NOT met)\)", out), out
    assert re.search(r"sms\s+raw httpx\s+[\d,]+ messages/s\s+notify\s+[\d,]+ messages/s\s+ratio \d+\.\d\d", out), out
    assert re.search(r"notify peak RSS [\d,]+ MiB \(target < 512 MiB: (met|NOT met)\)", out), out
    assert "exactly once: 300 of 300 emails and 300 of 300 SMS arrived; 0 duplicates, 0 missing, 0 refused" in out
