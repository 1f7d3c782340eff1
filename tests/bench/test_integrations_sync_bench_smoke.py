"""bench/integrations_sync runs on a few thousand members against the local Meta-shaped server,
prints its figures, and both paths leave their audience holding exactly the members (a smoke run:
the rates are printed, never asserted)."""

from __future__ import annotations

import re

from bench import integrations_sync


def test_integrations_sync_benchmark_prints_rates_a_ratio_and_exact_audiences(capsys):
    assert integrations_sync.main(["--members", "12000", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "bench/integrations_sync: 12,000 members" in out, out
    assert re.search(r"raw httpx \+ hashlib \(floor\)\s+wall\s+\d+\.\d\d s\s+[\d,]+ rows/s", out), out
    assert re.search(r"MetaCustomAudiences\.push_members\(replace=True\)\s+wall\s+\d+\.\d\d s\s+[\d,]+ rows/s",
                     out), out
    assert re.search(r"ratio connector/raw: \d+\.\d\d", out), out
    assert "audiences: each holds exactly the 12,000 members after its replace; 2 batches per connector replace" \
        in out, out
