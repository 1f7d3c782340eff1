"""The delivery channels every service speaks of: a plain domain enum.

Conversion to and from marketing.common.v1.Channel is in svc_kit.proto_enums."""

from __future__ import annotations

import enum


class Channel(enum.Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    IN_APP = "IN_APP"

    @staticmethod
    def known_names() -> str:
        """The names the API spells them with (in filters and messages): CHANNEL_EMAIL, ..."""
        return ", ".join(f"CHANNEL_{c.value}" for c in Channel)
