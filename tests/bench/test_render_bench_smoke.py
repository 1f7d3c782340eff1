"""bench/render runs on a few hundred recipients, prints its lines, and every
rendered email matches the raw python-liquid render where it should (a smoke
run: the rates are printed, never asserted)."""

from __future__ import annotations

import re

from bench import render


def test_render_benchmark_prints_rates_and_a_ratio_and_matches_the_raw_render(capsys):
    assert render.main(["--emails", "300", "--rounds", "1", "--batch", "100"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"bench/render: 300 personalised emails, \d+\.\d KB of HTML on average", out), out
    for path in ("raw python-liquid, the HTML part alone", "raw python-liquid (parse once", "service batch render, tracking off",
                 "service batch render, tracking on"):
        assert re.search(rf"{re.escape(path)}.*\s[\d,]+ emails/s", out), out
    assert re.search(r"ratio service/raw: tracking off \d+\.\d\d, tracking on \d+\.\d\d", out), out
    assert "outputs: 300/300 identical to the raw render with tracking off; 300/300 identical but for tracked " \
           "links, pixel and headers with tracking on; 0 errors" in out
