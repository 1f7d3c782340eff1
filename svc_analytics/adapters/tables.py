"""The analytics service's relational tables (MKT_ANALYTICS_DATABASE_URL; SQLite in the state
folder by default): the inbox of its bus consumers and the outbox of `event_tracked`. Events
themselves live in the columnar store."""

from __future__ import annotations

from sqlalchemy import MetaData

from svc_kit.events.inbox import inbox_table
from svc_kit.events.outbox import outbox_table

metadata = MetaData()
analytics_inbox = inbox_table(metadata, "analytics_inbox")
analytics_outbox = outbox_table(metadata, "analytics_outbox")
