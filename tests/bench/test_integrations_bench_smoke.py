"""bench/integrations runs a small round on the whole platform and prints its events/s
and ratio lines (a smoke run: the numbers are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import integrations

pytestmark = pytest.mark.e2e


def test_integrations_benchmark_reports_both_paths_and_the_ratio(capsys):
    assert integrations.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"segment /v1/batch via edge\s+[\d,]+ events/s", out), out
    assert re.search(r"direct IngestEvents \(gRPC\)\s+[\d,]+ events/s", out), out
    assert re.search(r"ratio segment/direct \d+\.\d+\s+\(target >= 0\.5: (met|MISSED)\)", out), out
