"""A workspace's sending rules: quiet hours, frequency caps and the default
time zone, with their validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from svc_kit.errors import FieldViolation

from svc_notify.domain.model import EtagChecked, etag_of
from svc_notify.domain.pacing import FrequencyCap, QuietHours

MAX_RULES = 20
MAX_CAP_PERIOD = timedelta(days=366)


def zone_of(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class NotifySettings(EtagChecked):
    workspace: str
    quiet_hours: tuple[QuietHours, ...] = ()
    frequency_caps: tuple[FrequencyCap, ...] = ()
    default_time_zone: str = ""
    update_time: datetime | None = None
    version: int = 0  # 0: never written (the defaults)

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/notifySettings"

    @property
    def etag(self) -> str:
        return etag_of(self.workspace, "notifySettings", self.version)

    def zone_for(self, profile_zone: str) -> ZoneInfo:
        """The recipient's time zone: the profile's, else the workspace default, else UTC."""
        return zone_of(profile_zone) or zone_of(self.default_time_zone) or ZoneInfo("UTC")

    def violations(self, prefix: str = "notify_settings.") -> list[FieldViolation]:
        # At most MAX_RULES periods and caps, a cap's max_messages and period range are rules of
        # notify_settings.proto, enforced on every request by the server interceptor (svc_kit.validation).
        problems: list[FieldViolation] = []
        for i, q in enumerate(self.quiet_hours):
            if q.start == q.end:
                problems.append(FieldViolation(f"{prefix}quiet_hours[{i}].end_time",
                                               "must differ from start_time (a period spanning midnight ends "
                                               "before it starts)"))
            if any(not 1 <= d <= 7 for d in q.days):
                problems.append(FieldViolation(f"{prefix}quiet_hours[{i}].days", "MONDAY to SUNDAY"))
        if self.default_time_zone and zone_of(self.default_time_zone) is None:
            problems.append(FieldViolation(prefix + "default_time_zone",
                                           f"{self.default_time_zone!r} is not an IANA time zone such as "
                                           "Europe/Paris"))
        return problems

