"""CheckReachability: whether a message of a category may go to each of up to
1,000 profiles on a channel now. Two queries whatever the number of profiles:
the profiles, then every suppression entry naming them or their addresses."""

from __future__ import annotations

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_audience.domain.suppression import Category, Reachability, reachability
from svc_audience.service_layer.profiles import Clock
from svc_audience.service_layer.ports import ProfileRepository, Suppressions

MAX_PROFILES = 1000


def check_reachability(workspace: str, channel: Channel, category: Category, external_ids: list[str],
                       repo: ProfileRepository, suppressions: Suppressions, clock: Clock) -> list[Reachability]:
    """One result per id asked, in the same order (an id asked twice is answered twice)."""
    if not 0 < len(external_ids) <= MAX_PROFILES:
        raise InvalidArgument(FieldViolation("profiles", f"give 1 to {MAX_PROFILES:,} profiles"))
    now = clock()
    profiles = repo.get_many(workspace, sorted(set(external_ids)))
    found = profiles.values()
    entries = suppressions.naming(workspace, channel, profiles.keys(), (p.email for p in found),
                                  (p.phone for p in found))
    return [reachability(external_id, profiles.get(external_id), channel, category, entries, now)
            for external_id in external_ids]
