"""Profile documents to a float32 feature matrix of bounded width.

An Observation is the compact part of one profile document a model looks at:
numeric attributes (yes/no as 0/1, instants as days ago), behaviour counts,
yes/no flags (has email, phone, device; consent granted or denied per
channel), and text (text attributes, list items, locale, time zone, email
domain, phone prefix, device platform) hashed into TEXT_BUCKETS columns.
The schema keeps the most common numeric keys; each attribute gives a value
column (NaN when missing) and a presence column."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from svc_kit.channels import Channel

TEXT_BUCKETS = 64
MAX_ATTRIBUTE_KEYS = 100
MAX_EVENT_KEYS = 50
MAX_COUNTED_KEYS = 10_000
CHANNELS = tuple(c.value for c in Channel)
FLAGS = ("has_email", "has_phone", "has_device", *(f"consent_granted_{c.lower()}" for c in CHANNELS),
         *(f"consent_denied_{c.lower()}" for c in CHANNELS))
DAY_MS = 86_400_000


@dataclass(frozen=True)
class FeatureSelection:
    """Which feature names a model may use: those in `only` when given, else
    all but `excluded`."""

    only: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    def allows(self, name: str) -> bool:
        return name in self.only if self.only else name not in self.excluded


@dataclass(slots=True)
class Observation:
    numbers: dict[str, float]  # "a:<attribute>" or "e:<event>" -> value
    buckets: list[int]  # hashed text tokens
    flags: int  # bit i set: FLAGS[i] holds


def _bucket(token: str) -> int:
    return zlib.crc32(token.lower().encode()) % TEXT_BUCKETS


def _number(value: Any, now_ms: int) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return (now_ms - value.timestamp() * 1000) / DAY_MS
    return None


def observe(doc: dict[str, Any], selection: FeatureSelection, now_ms: int) -> Observation:
    numbers: dict[str, float] = {}
    tokens: list[str] = []
    flags = 0
    if selection.allows("email") and doc.get("email"):
        flags |= 1
        tokens.append("email_domain=" + str(doc["email"]).rpartition("@")[2])
    if selection.allows("phone") and doc.get("phone"):
        flags |= 2
        tokens.append("phone_prefix=" + str(doc["phone"])[:3])
    devices = doc.get("device_tokens") or []
    if selection.allows("device_tokens") and devices:
        flags |= 4
        tokens.extend("platform=" + str(d.get("platform", "")) for d in devices if isinstance(d, dict))
    for name in ("locale", "time_zone"):
        if selection.allows(name) and doc.get(name):
            tokens.append(f"{name}={doc[name]}")
    consents = doc.get("consents") or {}
    for i, channel in enumerate(CHANNELS):
        if not selection.allows(f"consents.{channel.lower()}"):
            continue
        status = (consents.get(channel) or {}).get("status")
        if status == "GRANTED":
            flags |= 1 << (3 + i)
        elif status == "DENIED":
            flags |= 1 << (3 + len(CHANNELS) + i)
    for key, value in (doc.get("attributes") or {}).items():
        if not selection.allows(key):
            continue
        if isinstance(value, list):
            tokens.extend(f"{key}={item}" for item in value)
        elif isinstance(value, str):
            tokens.append(f"{key}={value}")
        elif (number := _number(value, now_ms)) is not None:
            numbers["a:" + key] = number
    for name, entry in (doc.get("behaviour") or {}).items():
        if selection.allows(name) and isinstance(entry, dict):
            numbers["e:" + name] = float(entry.get("count") or 0)
    return Observation(numbers, [_bucket(t) for t in tokens], flags)


@dataclass(frozen=True)
class FeatureSchema:
    attributes: tuple[str, ...]  # numeric keys "a:<attribute>", two columns each
    events: tuple[str, ...]  # "e:<event>", one column each

    @property
    def width(self) -> int:
        return 2 * len(self.attributes) + len(self.events) + len(FLAGS) + TEXT_BUCKETS

    def matrix(self, observations: Sequence[Observation]) -> np.ndarray:
        n, a, e = len(observations), len(self.attributes), len(self.events)
        out = np.zeros((n, self.width), dtype=np.float32)
        out[:, :a] = np.nan
        attribute_column = {k: i for i, k in enumerate(self.attributes)}
        event_column = {k: 2 * a + i for i, k in enumerate(self.events)}
        flag_bits = np.array([1 << i for i in range(len(FLAGS))], dtype=np.int64)
        text_start = 2 * a + e + len(FLAGS)
        flags = np.fromiter((o.flags for o in observations), dtype=np.int64, count=n)
        out[:, 2 * a + e:text_start] = (flags[:, None] & flag_bits) != 0
        for row, observation in enumerate(observations):
            for key, value in observation.numbers.items():
                if (column := attribute_column.get(key)) is not None:
                    out[row, column] = value
                    out[row, a + column] = 1.0
                elif (column := event_column.get(key)) is not None:
                    out[row, column] = value
            for bucket in observation.buckets:
                out[row, text_start + bucket] += 1.0
        return out


class SchemaBuilder:
    """Counts how many profiles hold each numeric key; keeps the commonest."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, observation: Observation) -> None:
        for key in observation.numbers:
            if key in self.counts or len(self.counts) < MAX_COUNTED_KEYS:
                self.counts[key] += 1

    def build(self) -> FeatureSchema:
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        attributes = tuple(k for k, _ in ranked if k.startswith("a:"))[:MAX_ATTRIBUTE_KEYS]
        events = tuple(k for k, _ in ranked if k.startswith("e:"))[:MAX_EVENT_KEYS]
        return FeatureSchema(attributes, events)
