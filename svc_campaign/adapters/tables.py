"""The campaign service's relational schema (Alembic migrations create it)."""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, ForeignKeyConstraint, Index, Integer, MetaData, String, Table,
                        Text, false)

from svc_kit.db import UTCDateTime
from svc_kit.events.inbox import inbox_table
from svc_kit.events.outbox import Position, outbox_table

metadata = MetaData()

campaigns = Table(
    "campaigns",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("channels", JSON, nullable=False),
    Column("schedule", JSON),
    Column("budget", JSON),
    Column("target_segments", JSON, nullable=False),
    Column("contents", JSON, nullable=False),
    # Labels are read from this column; campaign_labels indexes them for filters.
    Column("labels", JSON, nullable=False),
    Column("ab_test", JSON),  # the A/B test's settings (0009)
    Column("version", Integer, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("state_time", UTCDateTime, nullable=False),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    # When the scheduler starts the campaign: schedule.start_time while SCHEDULED, else NULL.
    Column("due_time", UTCDateTime),
    # Runs started (one per occurrence of a recurring campaign) and the occurrence of the newest (0008).
    Column("runs", Integer, nullable=False, server_default="0"),
    Column("last_run_time", UTCDateTime),
    Index("ix_campaigns_workspace_created", "workspace", "create_time", "id"),
    Index("ix_campaigns_workspace_state", "workspace", "state"),
    Index("uq_campaigns_workspace_request", "workspace", "request_id", unique=True),
    Index("ix_campaigns_due", "due_time"),
)

campaign_labels = Table(
    "campaign_labels",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign_id", String(63), primary_key=True),
    Column("key", String(63), primary_key=True),
    Column("value", String(63), nullable=False),
    ForeignKeyConstraint(
        ["workspace", "campaign_id"], ["campaigns.workspace", "campaigns.id"], ondelete="CASCADE"
    ),
    Index("ix_campaign_labels_lookup", "workspace", "key", "value"),
)

# The event stream: the campaign's history, append-only. (workspace,
# campaign_id, version) is unique, so two writers of one version conflict.
campaign_events = Table(
    "campaign_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(26), nullable=False, unique=True),
    Column("workspace", String(63), nullable=False),
    Column("campaign_id", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_time", UTCDateTime, nullable=False),
    Column("producer", String(64), nullable=False),
    Column("traceparent", String(64)),
    Column("request_id", String(128)),
    Column("request_fingerprint", String(64)),
    Index("uq_campaign_events_version", "workspace", "campaign_id", "version", unique=True),
)

campaign_outbox = outbox_table(metadata, "campaign_outbox")

# The local copy of audience segments' membership, kept from `segment_updated`
# events (segment_cache_consumer.py); campaigns read their audience from it.
segment_cache_members = Table(
    "segment_cache_members",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("segment_id", String(63), primary_key=True),
    Column("profile_id", String(128), primary_key=True),
)

segment_cache_state = Table(
    "segment_cache_state",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("segment_id", String(63), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("event_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
)

campaign_inbox = inbox_table(metadata, "campaign_inbox")


# Launches of started campaigns (service_layer/launch.py): the plan and how far
# it has come, one row per run of a campaign (a recurring campaign has one per occurrence).
campaign_launches = Table(
    "campaign_launches",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign_id", String(63), primary_key=True),
    Column("run", Integer, primary_key=True),  # 1, 2, ...
    Column("occurrence_time", UTCDateTime),  # the occurrence the run is for (a manual start: its time)
    Column("state", String(16), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_time", UTCDateTime),
    Column("version", Integer, nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime),  # the schedule's end: no member is handed over after it
    # A hold, release or cancel of the campaign's messages the notify service has yet to make.
    Column("pending_action", String(8)),
    Column("cancelled_messages", Integer, nullable=False, server_default="0"),
    Column("handed_over_messages", Integer, nullable=False, server_default="0"),
    Column("messages_held", Boolean, nullable=False, server_default=false()),
    # The saga's step log: [{step, target, outcome, time, detail}], oldest first (None before 0006).
    Column("steps", JSON),
    Column("tracking_initialised", Boolean, nullable=False, server_default=false()),
    Column("failed_step", String(24)),  # the step that failed for good
    Column("failure_reason", Text, nullable=False, server_default=""),
    Column("compensations", JSON),  # the compensations still to make, in order
    # When the messages go out (domain/send_times.py SendOptions; None: as soon as allowed). Migration 0010.
    Column("send_options", JSON),
    # The A/B test: its settings at the start, phase, arms, decide time and decision (0009).
    Column("ab_test", JSON),
    # The trace context the launch was planned in (the campaign_started consumer's span): each step of
    # the saga runs as its child (entrypoints/launch_worker.py). Migration 0011.
    Column("traceparent", String(64)),
    Column("tracestate", String(512)),
    Index("ix_campaign_launches_due", "state", "next_attempt_time"),
)


# What notify's delivery events tell about a campaign's messages (adapters/delivery_tally.py):
# one row per message (final once a final event arrived: a bounce after a delivery stays final) ...
campaign_delivery_messages = Table(
    "campaign_delivery_messages",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("message_id", String(63), primary_key=True),
    Column("campaign_id", String(63), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("final", Boolean, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Index("ix_campaign_delivery_messages_campaign", "workspace", "campaign_id", "final"),
)

# ... the spend per campaign, channel and currency (message_sent's cost_micros) ...
campaign_channel_spend = Table(
    "campaign_channel_spend",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign_id", String(63), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("sent", Integer, nullable=False),
    Column("spent_micros", BigInteger, nullable=False),
)

# ... and why the service paused a campaign itself (BUDGET_EXHAUSTED), so it resumes it itself.
campaign_pause_reasons = Table(
    "campaign_pause_reasons",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("campaign_id", String(63), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("pause_time", UTCDateTime, nullable=False),
)


# ---- Journeys (issue 17; migration 0012): adapters/journey_store.py ----
# A journey and its draft; `published_version` is the version new entries follow.
journeys = Table(
    "journeys",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("id", String(63), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("draft", JSON, nullable=False),
    Column("published_version", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("create_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Index("ix_journeys_workspace_created", "workspace", "create_time", "id"),
)

# Each published version, frozen; the trigger's kind and key (event name or segment) to find it by.
journey_versions = Table(
    "journey_versions",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("journey_id", String(63), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("trigger_kind", String(20), nullable=False),
    Column("trigger_key", String(255), nullable=False),
    Column("publish_time", UTCDateTime, nullable=False),
    Index("ix_journey_versions_trigger", "workspace", "trigger_kind", "trigger_key"),
)

# One row per entry of a profile into a journey version, made by one trigger event (the unique key makes a
# redelivered trigger harmless); its position (step, waiting) and durable timer (due_time: the timer worker
# claims due rows, FOR UPDATE SKIP LOCKED on PostgreSQL).
journey_entries = Table(
    "journey_entries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace", String(63), nullable=False),
    Column("journey_id", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile", String(128), nullable=False),
    Column("trigger_event", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("step", String(63), nullable=False),
    Column("waiting", Boolean, nullable=False),
    Column("due_time", UTCDateTime),
    Column("seen", JSON, nullable=False),
    Column("enter_time", UTCDateTime, nullable=False),
    Column("update_time", UTCDateTime, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("uq_journey_entries_trigger", "workspace", "journey_id", "version", "profile", "trigger_event", unique=True),
    Index("ix_journey_entries_due", "due_time"),
    Index("ix_journey_entries_profile", "workspace", "profile", "journey_id"),
    Index("ix_journey_entries_journey", "workspace", "journey_id", "state", "step"),
)

# One row per journey and profile that ever tried to enter: locked (FOR UPDATE on PostgreSQL) while an entry is
# decided, so that two replicas consuming the same profile's events never both admit it against the re-entry rule.
journey_profiles = Table(
    "journey_profiles",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("journey_id", String(63), primary_key=True),
    Column("profile", String(128), primary_key=True),
)

# What happened to entries (and refused entries): the explanation and the per-step figures.
journey_trail = Table(
    "journey_trail",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("workspace", String(63), nullable=False),
    Column("journey_id", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("entry_id", String(32)),
    Column("profile", String(128), nullable=False),
    Column("time", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("step", String(63), nullable=False),
    Column("detail", String(500), nullable=False),
    Index("ix_journey_trail_profile", "workspace", "profile", "id"),
    Index("ix_journey_trail_step", "workspace", "journey_id", "kind", "step"),
    Index("ix_journey_trail_entry", "entry_id"),
)

# ---- Journeys' date attribute triggers (migration 0013) ----
# One timer per journey and profile: when the profile's date (its birthday...) next comes round at the trigger's
# minute in its zone. `handled_until`: the occurrence last fired (a refresh never brings it back); `seed_round`:
# the refresh that last saw the profile with a date (a later refresh drops the others).
journey_date_timers = Table(
    "journey_date_timers",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("journey_id", String(63), primary_key=True),
    Column("profile", String(128), primary_key=True),
    Column("due_time", UTCDateTime, nullable=False),
    Column("handled_until", UTCDateTime),
    Column("seed_round", String(32), nullable=False),
    Index("ix_journey_date_timers_due", "due_time"),
)

# When each date-triggered journey's timers were last refreshed from audience, and for which version.
journey_date_seeds = Table(
    "journey_date_seeds",
    metadata,
    Column("workspace", String(63), primary_key=True),
    Column("journey_id", String(63), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("seed_time", UTCDateTime, nullable=False),
)
