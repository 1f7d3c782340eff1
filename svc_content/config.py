"""The content service's configuration: every environment variable it reads
(VARIABLES; docs/configuration.md lists them), checked at start."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from svc_kit.bus import factory as bus
from svc_kit.clients import target_variable
from svc_kit.config import Settings, service_variables
from svc_kit import migrations as relational
from svc_kit.services import BY_NAME
from svc_kit.settings_spec import Variable
from svc_kit.signing import SIGNING_KEYS

from svc_content.templating.links import DEFAULT_BASE_URL

SERVICE = BY_NAME["content"]
PREFIX = SERVICE.env_prefix

BLOB_DIR = Variable(PREFIX + "BLOB_DIR", "path", None, "where asset bytes live",
                    shown_default="<state dir>/content-blobs")
PUBLIC_BASE_URL = Variable("MKT_PUBLIC_BASE_URL", "url", DEFAULT_BASE_URL,
                           "base of tracking and unsubscribe links in messages, and of asset URLs")

VARIABLES = (service_variables(SERVICE) + relational.variables(SERVICE)
             + (BLOB_DIR, PUBLIC_BASE_URL, *SIGNING_KEYS, target_variable("audience")) + bus.VARIABLES)


def public_base_url(env: Mapping[str, str]) -> str:
    return PUBLIC_BASE_URL.read(env).rstrip("/")


def blob_dir(settings: Settings) -> Path:
    return Path(BLOB_DIR.read(settings.env) or settings.state_dir / "content-blobs")
