"""The unit of work over SQLAlchemy: one connection and one transaction; at
commit the campaigns' new events go into the outbox (as Avro envelopes for the
campaign topic) in that transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from svc_kit.db import SqlTransaction

import event_schemas
from svc_kit.events import erasure
from svc_kit.events.audit import AUDIT_SCHEMA, AUDIT_TOPIC
from svc_kit.events.outbox import Outbox, OutboxEntry
from svc_kit.trace_context import current_trace_headers

from svc_campaign.adapters import event_codec
from svc_campaign.adapters.delivery_tally import SqlDeliveryTally
from svc_campaign.adapters.launch_repository import SqlLaunchRepository
from svc_campaign.adapters.repository import SqlCampaignRepository
from svc_campaign.adapters.segment_cache import SqlSegmentCache
from svc_campaign.adapters.tables import campaign_outbox
from svc_campaign.domain.events import CampaignEvent
from svc_campaign.service_layer.unit_of_work import UnitOfWork

# The campaign topic first (the unit of work's own); the audit records of the service's calls
# (svc_kit.events.audit) and the erasure confirmations share the outbox and its relay.
OUTBOX = Outbox(campaign_outbox, {event_codec.TOPIC: event_schemas.load("campaign.v1"), AUDIT_TOPIC: AUDIT_SCHEMA,
                                  **erasure.SCHEMAS})


class SqlUnitOfWork(SqlTransaction, UnitOfWork):
    """One connection and one transaction per unit of work (SQLAlchemy Core:
    the repository maps rows to the domain model itself)."""

    def __init__(self, engine: Engine, on_commit: Callable[[], None] | None = None, outbox: Outbox = OUTBOX):
        super().__init__(engine)
        self.on_commit = on_commit  # told when events were committed (wakes the outbox relay)
        self.outbox = outbox
        self.topic = next(iter(outbox.schemas))

    def open_repositories(self, connection) -> None:
        self.campaigns = SqlCampaignRepository(connection)
        self.audiences = SqlSegmentCache(connection)
        self.launches = SqlLaunchRepository(connection)
        self.deliveries = SqlDeliveryTally(connection)

    def commit(self) -> None:
        UnitOfWork.commit(self)  # collects the changed campaigns' events, then calls _commit

    def _commit(self, events: list[CampaignEvent]) -> None:
        if events:
            current = current_trace_headers()
            entries = []
            for e in events:
                # Outside any call (the scheduler starting a campaign at its time), the event is parented to
                # the trace of the call that last changed the campaign (the one that scheduled it), kept with
                # its events: the scheduled start and its launch belong to the schedule call's trace.
                trace_headers = current if current.get("traceparent") else \
                    self.campaigns.stored_trace_headers(e.workspace, e.campaign_id)
                entries.append(OutboxEntry(
                    event_id=e.event_id,
                    topic=self.topic,
                    key=e.campaign_id,
                    record=event_codec.envelope(e, trace_headers.get("traceparent"), trace_headers.get("tracestate")),
                    properties={**trace_headers, "event_type": e.type, "workspace": e.workspace},
                ))
            self.outbox.write(self.connection, entries)
        self.transaction.commit()
        if events and self.on_commit is not None:
            self.on_commit()
