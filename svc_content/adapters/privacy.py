"""What content holds about a profile, for privacy requests: nothing stored. A render that names a
recipient reads the profile from audience for that one call and keeps neither the profile nor the
rendered body (the render cache holds compiled templates, keyed by template and revision, never a
recipient's data); templates, versions, assets and the copy of campaigns hold no profile data.

So erasure has nothing to delete and says so in its counts; the export's lists are empty. Both
still run, so an erasure request shows content's confirmation and an access request has its section."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from svc_kit.events.outbox import Outbox

from svc_content.adapters.tables import content_outbox
from svc_kit.events import erasure

OUTBOX = Outbox(content_outbox, erasure.SCHEMAS)


def erase_profile(connection: Connection, workspace: str, profile: str) -> dict[str, int]:
    return {"storedRenders": 0}


def export_profile(connection: Connection, workspace: str, profile: str) -> dict[str, Any]:
    return {"storedRenders": []}
