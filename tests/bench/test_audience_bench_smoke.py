"""bench/audience runs end to end on a few thousand profiles: it prints every
ratio line and the summary, and the members the service counts equal those of
the hand-written raw query, of the raw-imported copy and of the generator's own
tally (a smoke run: speeds are printed, never asserted; a disagreement, or a
stream that differs from the raw cursor, makes it exit 1)."""

from __future__ import annotations

import re

import pytest

from bench import audience

pytestmark = pytest.mark.e2e


def test_audience_benchmark_reports_every_ratio_and_agrees_with_raw_pymongo(capsys):
    assert audience.main(["--profiles", "2000", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^import: service / raw insert_many = \d+\.\d\dx \(target <= 1\.5x\)$", out, re.M), out
    assert re.search(r"^segment count: service / raw query = \d+\.\d\dx \(target <= 1\.3x; stretch < 1 s: "
                     r"\d+\.\d+ s\)$", out, re.M), out
    for label in ("4-condition segment", "all profiles"):
        assert re.search(rf"^stream \({label}\): service / raw cursor = \d+\.\d\dx$", out, re.M), out
    assert "== bench/audience: 2,000 profiles on nx-27017, seed 7 ==" in out
    members = re.search(r"members: service ([\d,]+), raw query ([\d,]+), raw-imported copy ([\d,]+), "
                        r"generator ([\d,]+)", out)
    assert members and len(set(members.groups())) == 1 and int(members.group(1).replace(",", "")) > 50, out
    assert re.search(r"peak RSS while streaming 2,000 members: [\d,]+ MiB .*\(target < 1 GiB\)  (PASS|MISS)", out), out
    for verdict in ("import: service / raw insert_many", "segment count: service / raw query"):
        assert re.search(rf"{re.escape(verdict)} = \d+\.\d\dx \(target <= [\d.]+x\)  (PASS|MISS)$", out, re.M), out
    assert re.search(r"^checks +3/3 passed$", out, re.M), out
    assert re.search(r"^overall +(all targets met|some targets MISSED)$", out, re.M), out
