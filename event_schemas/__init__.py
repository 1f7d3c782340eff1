"""Avro schemas of the platform's events, one file per event family and major
version. Each is registered with the broker's schema registry for its topic;
compatible evolution (optional fields with defaults) keeps the same file name."""

from __future__ import annotations

from pathlib import Path

from svc_kit.bus.schema import EventSchema

HERE = Path(__file__).resolve().parent


def load(family: str) -> EventSchema:
    """`load("campaign.v1")` -> the schema in campaign.v1.avsc."""
    return EventSchema.from_file(HERE / f"{family}.avsc")
