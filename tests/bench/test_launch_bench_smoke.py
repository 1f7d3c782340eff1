"""bench/launch runs end to end on a few hundred recipients: the campaign is
started by the scheduler, every line prints, and every recipient got exactly
one email (speeds and memory are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import launch

pytestmark = pytest.mark.e2e


def test_launch_benchmark_reports_every_figure_and_delivers_each_email_once(capsys):
    assert launch.main(["--recipients", "250", "--floor", "200", "--lead", "3"]) == 0
    out = capsys.readouterr().out
    assert "setup: imported 250 of 250 profiles (0 rejected)" in out, out
    assert re.search(r"setup: segment workspaces/bench-launch/segments/everyone counts 250 members", out), out
    assert re.search(r":schedule -> STATE_SCHEDULED\n", out), out
    assert re.search(r"launch: STATE_RUNNING by itself [+-]\d+\.\d s from the start time", out), out
    assert re.search(r"launch   wall \d+\.\d s from the start time to the last email in the sink", out), out
    assert re.search(r"launch\s+[\d,]+ messages/s\s+floor\s+[\d,]+ messages/s\s+ratio \d+\.\d\d", out), out
    rss = re.search(r"peak RSS \(VmHWM\) per platform child: (.*)", out).group(1)
    for child in ("campaign", "audience", "content", "notify", "analytics", "smtp-sink", "edge"):
        assert re.search(rf"\b{child} [\d,]+ MiB", rss), rss
    assert ("exactly once: 250 of 250 recipients got their email; 0 duplicates, 0 missing, 0 unexpected; "
            "floor 200 of 200\n") in out, out
