from __future__ import annotations

import pytest

from svc_kit.clients import service_target
from svc_kit.config import ConfigError


def test_a_service_is_found_on_its_port_or_its_target():
    assert service_target({}, "audience") == "127.0.0.1:50052"
    assert service_target({"MKT_AUDIENCE_GRPC_PORT": "6000"}, "audience") == "127.0.0.1:6000"
    assert service_target({"MKT_NOTIFY_TARGET": "notify.mkt.svc:50055"}, "notify") == "notify.mkt.svc:50055"


def test_a_bad_target_names_the_variable():
    with pytest.raises(ConfigError, match="MKT_NOTIFY_TARGET"):
        service_target({"MKT_NOTIFY_TARGET": "notify"}, "notify")
