"""Integrations service: API keys (and the edge's key check); connectors to outside
platforms are designed in proto/marketing/integrations/v1 and answer UNIMPLEMENTED."""
from svc_kit.app import main

from svc_integrations.bootstrap import mount

main("integrations", mount)
