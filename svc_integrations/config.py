"""The integrations service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them). Declare new ones here."""

from __future__ import annotations

from svc_kit import migrations as relational
from svc_kit.config import Variable, service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["integrations"]

KEY_CACHE_SECONDS = Variable(SERVICE.env_prefix + "KEY_CACHE_SECONDS", "seconds", 5.0,
                             "how long the edge's API-key check keeps a key in memory; a key revoked through "
                             "this process is refused at once, other replicas see it within this time")

VARIABLES = service_variables(SERVICE) + relational.variables(SERVICE) + (KEY_CACHE_SECONDS,)
