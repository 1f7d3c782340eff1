"""The integrations service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them). Its API is designed, not built:
it reads the variables every service shares. Declare new ones here."""

from __future__ import annotations

from svc_kit.config import service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["integrations"]

VARIABLES = service_variables(SERVICE)
