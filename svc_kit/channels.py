"""The delivery channels every service speaks of (marketing.common.v1.Channel)."""

from __future__ import annotations

import enum

from marketing.common.v1 import channel_pb2


class Channel(enum.Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    IN_APP = "IN_APP"

    @classmethod
    def from_proto(cls, value: int) -> Channel | None:
        """None for CHANNEL_UNSPECIFIED and numbers this release does not know."""
        return _FROM_PROTO.get(value)

    def to_proto(self) -> int:
        return _TO_PROTO[self]

    @staticmethod
    def known_names() -> str:
        return ", ".join(channel_pb2.Channel.Name(value) for value in _FROM_PROTO)


_FROM_PROTO = {channel_pb2.Channel.Value(f"CHANNEL_{c.value}"): c for c in Channel}
_TO_PROTO = {c: v for v, c in _FROM_PROTO.items()}
