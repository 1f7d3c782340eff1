"""The edge's rate-limit buckets and CORS settings (edge/limits.py, edge/settings.py)."""

from __future__ import annotations

import pytest

from edge.limits import bucket
from edge.settings import load_edge_settings
from svc_kit.config import ConfigError


@pytest.mark.parametrize("per_minute, burst, expected, retry_after", [
    (1200, 200, {"max_tokens": 200, "tokens_per_fill": 20, "fill_interval": "1.000s"}, 1),
    (1, 4, {"max_tokens": 4, "tokens_per_fill": 1, "fill_interval": "60.000s"}, 60),
    (40, 1, {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "1.500s"}, 2),
    (6000, 10, {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "1.000s"}, 1),
])
def test_a_bucket_refills_the_rate_per_minute_and_retry_after_is_the_wait_for_a_token(
        per_minute, burst, expected, retry_after):
    assert bucket(per_minute, burst) == (expected, retry_after)


def test_cors_origins_are_read_comma_separated_and_checked():
    settings = load_edge_settings({"MKT_EDGE_CORS_ORIGINS": " https://dash.example.com/, http://localhost:3000"})
    assert settings.cors_origins == ("https://dash.example.com", "http://localhost:3000")
    assert load_edge_settings({}).cors_origins == ()
    with pytest.raises(ConfigError, match="MKT_EDGE_CORS_ORIGINS"):
        load_edge_settings({"MKT_EDGE_CORS_ORIGINS": "dash.example.com"})


def test_rate_limit_settings_are_checked():
    assert load_edge_settings({}).rate_limit_per_minute == 1200
    with pytest.raises(ConfigError, match="MKT_EDGE_RATE_LIMIT_PER_MINUTE"):
        load_edge_settings({"MKT_EDGE_RATE_LIMIT_PER_MINUTE": "lots"})


def test_a_limit_of_zero_renders_no_rate_limit_filter():
    from edge import envoy_config
    from edge.limits import RATE_LIMIT_FILTER

    def filters(env):
        config = envoy_config.render(load_edge_settings({"MKT_STATE_DIR": "/tmp/unused", **env}))
        manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        return [f["name"] for f in manager["http_filters"]]

    assert RATE_LIMIT_FILTER in filters({})
    assert RATE_LIMIT_FILTER not in filters({"MKT_EDGE_RATE_LIMIT_PER_MINUTE": "0"})
