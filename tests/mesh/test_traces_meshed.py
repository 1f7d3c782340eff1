"""With the local mesh, the edge and the sidecars trace too: a REST call through the meshed platform,
sent with a traceparent of the test's own, comes back from a real Jaeger as one trace holding the
edge's span, the campaign sidecar's (a child of the edge's, through mutual TLS) and the campaign
service's (a child of its sidecar's)."""

from __future__ import annotations

import io
import os
import secrets
import time

import pytest

from devstack.processes import free_block
from devstack.servers.platform import Platform, free_platform_ports
from edge.limits import HIGH_LIMITS
from mesh.local import BLOCK, PORT_BASE_VARIABLE
from svc_kit.services import SERVICES
from tests.e2e.conftest import Rest
from tests.e2e.test_traces import Trace, jaeger  # noqa: F401 - the Jaeger fixture

pytestmark = pytest.mark.e2e


def test_the_edge_the_sidecar_and_the_service_are_one_trace(tmp_path, jaeger):  # noqa: F811
    env: dict = free_platform_ports()
    edge_port = env["MKT_EDGE_PORT"]
    env[PORT_BASE_VARIABLE] = free_block(BLOCK * (len(SERVICES) + 1), avoid=env.values())
    env.update(HIGH_LIMITS)
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = jaeger.otlp_endpoint
    platform = Platform(tmp_path / "state", {**os.environ, **{k: str(v) for k, v in env.items()}},
                        out=io.StringIO(), mesh=True)
    platform.start()
    try:
        platform.wait_ready(timeout=120)
        rest = Rest(edge_port, platform.dev_token({"*": "admin"}, subject="tests"))
        trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
        response = rest.call("POST", "/v1/workspaces/mesh-traces/campaigns", {"displayName": "Traced"},
                             headers={"traceparent": f"00-{trace_id}-{caller}-01"})
        assert response.status == 200, response.body
        want = ("marketing-edge", "marketing-campaign-sidecar", "marketing-campaign")
        deadline, found = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            data = jaeger.trace(trace_id)
            if data is not None and set(want) <= (found := Trace(data)).services():
                break
            time.sleep(0.5)
        assert found is not None and set(want) <= found.services(), found and found.services()
        first = {service: next(i for i, s in found.spans.items() if found.service[i] == service) for service in want}
        sidecar_spans = [i for i in found.spans if found.service[i] == "marketing-campaign-sidecar"]
        service_span = next(i for i, s in found.spans.items() if found.service[i] == "marketing-campaign"
                            and s["operationName"].endswith("CreateCampaign"))
        assert found.parent(found.spans[first["marketing-edge"]]) == caller
        assert any(found.descends_from(i, first["marketing-edge"]) for i in sidecar_spans)
        assert any(s in found.chain(service_span) for s in sidecar_spans)
    finally:
        platform.stop()
