"""Brings the integrations database to the newest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from svc_kit.migrations import Migrations

MIGRATIONS = Migrations(Path(__file__).resolve().parent / "migrations")
alembic_config = MIGRATIONS.config
upgrade = MIGRATIONS.upgrade
