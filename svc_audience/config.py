"""The audience service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them), checked at start."""

from __future__ import annotations

from svc_kit.bus import factory as bus
from svc_kit.config import ConfigError, Settings, service_variables
from svc_kit.services import BY_NAME
from svc_kit.settings_spec import Variable
from svc_kit.signing import SIGNING_KEYS

SERVICE = BY_NAME["audience"]
PREFIX = SERVICE.env_prefix

MONGO_PORT = Variable("MKT_MONGO_PORT", "port", 27027,
                      "port of the embedded MongoDB-wire server (nx-27017) that `make run` starts")
MONGODB_URL = Variable(PREFIX + "MONGODB_URL", "text", None, "mongodb:// URL of the audience database's server",
                       shown_default="mongodb://127.0.0.1:MKT_MONGO_PORT/")
DATABASE = Variable(PREFIX + "DATABASE", "text", "audience", "database name")
SEGMENT_REFRESH = Variable(PREFIX + "SEGMENT_REFRESH_SECONDS", "seconds", 900.0,
                           "how often segments with moving time windows (\"in the last 7 days\") are recomputed "
                           "in full")

VARIABLES = (service_variables(SERVICE) + (MONGODB_URL, MONGO_PORT, DATABASE, SEGMENT_REFRESH, *SIGNING_KEYS)
             + bus.VARIABLES)


def mongodb_url(settings: Settings) -> str:
    url = MONGODB_URL.read(settings.env)
    if url:
        if not url.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError(f"{MONGODB_URL.name}={url!r} must be a mongodb:// URL")
        return url
    return f"mongodb://127.0.0.1:{MONGO_PORT.read(settings.env)}/"
