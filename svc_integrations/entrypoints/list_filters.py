"""What the `filter` of each List request of the integrations service may name (AIP-160 terms
joined by AND, svc_kit.filtering), and the fetch that applies it under keyset pagination:

    ListConnectors        category = CATEGORY_CRM, auth_type = AUTH_TYPE_API_KEY
    ListConnections       state = STATE_ERROR, connector = hubspot-contacts, labels.team = growth
    ListSyncs             state = STATE_PAUSED, direction = SYNC_DIRECTION_EXPORT, segment = "workspaces/w/segments/s",
                          mode = MODE_FULL, labels.team = growth
    ListSyncRuns          state = STATE_FAILED, trigger = TRIGGER_MANUAL, create_time > "2026-12-01T00:00:00Z"
    ListWebhooks          state = STATE_FAILING, event_types = message.bounced, labels.team = growth
    ListWebhookDeliveries state = STATE_FAILED, event_type = message.opened, create_time > "..."
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from svc_kit.filtering import Field, matcher
from svc_kit.pagination import filtered

from svc_integrations.domain import connections, syncs, webhooks


@dataclass(frozen=True)
class Filterable:
    fields: Mapping[str, Field]
    labelled: bool = False  # labels.<key> may be named too


def _enum(get: Callable[[Any], Any], prefix: str, *values: str) -> Field:
    return Field(get, "enum", prefix, values)


CONNECTORS = Filterable({
    "category": _enum(lambda c: c.category.upper(), "CATEGORY_", "WEBHOOK", "CRM", "AD_PLATFORM", "DATA_WAREHOUSE",
                      "ECOMMERCE", "STORAGE"),
    "auth_type": _enum(lambda c: c.auth_type.upper(), "AUTH_TYPE_", "NONE", "API_KEY", "BASIC", "OAUTH2",
                       "SERVICE_ACCOUNT"),
})
CONNECTIONS = Filterable({
    "state": _enum(lambda c: c.state, "STATE_", connections.PENDING, connections.ACTIVE, connections.ERROR,
                   connections.DISABLED),
    "connector": Field(lambda c: (c.connector, c.connector_name)),
}, labelled=True)
SYNCS = Filterable({
    "state": _enum(lambda s: s.state, "STATE_", syncs.ACTIVE, syncs.PAUSED),
    "direction": _enum(lambda s: "EXPORT", "SYNC_DIRECTION_", "IMPORT", "EXPORT"),  # syncs only export today
    "mode": _enum(lambda s: s.mode, "MODE_", syncs.INCREMENTAL, syncs.FULL),
    "segment": Field(lambda s: s.segment),
}, labelled=True)
SYNC_RUNS = Filterable({
    "state": _enum(lambda r: r.state, "STATE_", syncs.QUEUED, syncs.RUNNING, syncs.SUCCEEDED, syncs.FAILED,
                   syncs.CANCELLED),
    "trigger": _enum(lambda r: r.trigger, "TRIGGER_", syncs.MANUAL, syncs.SCHEDULE),
    "create_time": Field(lambda r: r.create_time, "time"),
})
WEBHOOKS = Filterable({
    "state": _enum(lambda w: w.state, "STATE_", webhooks.ACTIVE, webhooks.PAUSED, webhooks.FAILING),
    "event_types": Field(lambda w: w.event_types),
}, labelled=True)
DELIVERIES = Filterable({
    "state": _enum(lambda d: d.state, "STATE_", webhooks.PENDING, webhooks.SUCCEEDED, webhooks.FAILED),
    "event_type": Field(lambda d: d.event_type),
    "create_time": Field(lambda d: d.create_time, "time"),
})


def filtered_fetch(text: str, what: Filterable, fetch: Callable[[Any, int], list],
                   key: Callable[[Any], Any]) -> Callable[[Any, int], list]:
    """`fetch(after, limit)` of the items the filter `text` keeps (all of them when it is empty)."""
    if not text.strip():
        return fetch
    labels = (lambda item: item.labels) if what.labelled else None
    return filtered(fetch, matcher(text, what.fields, labels), key)


def position(item: Any) -> tuple:
    """The (create_time, id) keyset position of a listed item."""
    return item.create_time, item.id
