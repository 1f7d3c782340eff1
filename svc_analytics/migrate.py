"""Brings the analytics service's relational database (inbox, outbox, funnels) to the newest
schema with Alembic. The event store has its own versioned migrations (EventStore.migrate)."""

from __future__ import annotations

from pathlib import Path

from svc_kit.migrations import Migrations

MIGRATIONS = Migrations(Path(__file__).resolve().parent / "migrations")
alembic_config = MIGRATIONS.config
upgrade = MIGRATIONS.upgrade
