"""What `mkt slo status` reads from the environment (documented by devstack.tools.configdoc)."""

from __future__ import annotations

from svc_kit.settings_spec import Variable

PROMETHEUS_URL = Variable("MKT_PROMETHEUS_URL", "url", "http://127.0.0.1:9090",
                          "the Prometheus `mkt slo status` reads the SLO rules' series from (make run starts one "
                          "there); --prometheus overrides it")
VARIABLES = (PROMETHEUS_URL,)
