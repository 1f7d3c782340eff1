"""Avro schemas of event families, and the record codec both adapters share."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import fastavro
from fastavro.types import Schema


@dataclass(frozen=True)
class EventSchema:
    """One Avro record schema (the JSON definition, as kept in the repo)."""

    definition: Mapping[str, Any] = field(hash=False)

    @classmethod
    def from_file(cls, path: Path) -> EventSchema:
        return cls(json.loads(path.read_text()))

    @property
    def name(self) -> str:
        namespace = self.definition.get("namespace")
        return f"{namespace}.{self.definition['name']}" if namespace else self.definition["name"]

    @cached_property
    def parsed(self) -> Schema:
        return fastavro.parse_schema(dict(self.definition))

    @cached_property
    def canonical(self) -> str:
        """Parsing Canonical Form: equal for schemas that mean the same."""
        return fastavro.schema.to_parsing_canonical_form(self.parsed)

    @cached_property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical.encode()).hexdigest()[:16]

    def encode(self, record: Mapping[str, Any]) -> bytes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, self.parsed, dict(record))
        return buffer.getvalue()

    def decode(self, data: bytes, writer: EventSchema | None = None) -> dict[str, Any]:
        """Decodes data written with `writer` (default: this schema) as this schema reads it."""
        writer_schema = (writer or self).parsed
        return fastavro.schemaless_reader(io.BytesIO(data), writer_schema, self.parsed)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventSchema) and other.canonical == self.canonical
