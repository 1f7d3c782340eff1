"""The integrations service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them). Declare new ones here."""

from __future__ import annotations

from svc_kit import migrations as relational
from svc_kit.clients import target_variable
from svc_kit.config import Variable, service_variables
from svc_kit.services import BY_NAME

SERVICE = BY_NAME["integrations"]

KEY_CACHE_SECONDS = Variable(SERVICE.env_prefix + "KEY_CACHE_SECONDS", "seconds", 5.0,
                             "how long the edge's API-key check keeps a key in memory; a key revoked through "
                             "this process is refused at once, other replicas see it within this time")

# --- Event collection (Segment-compatible) ---
COLLECT_DEDUP_HOURS = Variable(SERVICE.env_prefix + "COLLECT_DEDUP_HOURS", "integer", 24,
                               "how long a collected call's messageId is remembered per source: a call sent again "
                               "within this time is answered 200 and changes nothing", low=1, high=24 * 90)
COLLECT_VARIABLES = (COLLECT_DEDUP_HOURS, target_variable("audience"), target_variable("analytics"))

VARIABLES = service_variables(SERVICE) + relational.variables(SERVICE) + (KEY_CACHE_SECONDS,) + COLLECT_VARIABLES
