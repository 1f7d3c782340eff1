"""The edge benchmark runs end to end and reports every path (a smoke run:
its numbers are printed, never asserted)."""

from __future__ import annotations

import re

import pytest

from bench import edge

pytestmark = pytest.mark.e2e


def test_edge_benchmark_reports_all_paths(capsys):
    assert edge.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for path in ("direct", "edge-grpc", "edge-rest"):
        assert re.search(rf"sequential\s+{path}\s+\d+", out), out
        assert re.search(rf"8 clients\s+{path}\s+\d+", out), out
    assert re.search(r"edge-rest\s+p50 \d+\.\d+ ms\s+p99 \d+\.\d+ ms\s+\(\d+ requests\)", out), out
    assert re.search(r"campaign service: \d+ GetCampaign per CPU-second", out), out


def test_edge_auth_benchmark_reports_every_path(capsys):
    from bench import edge_auth

    assert edge_auth.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for path in ("off", "key", "jwt"):
        assert f"\n{path} " in out
    assert "key adds" in out and "jwt adds" in out
    for path in ("off", "key", "jwt"):  # the edges' own time, from both access logs
        assert re.search(rf"  {path}\s+p50 \d+\.\d+ ms", out), out
