"""An in-memory profile repository with the same contract as the MongoDB one."""

from __future__ import annotations

import copy

from svc_kit.errors import Aborted, AlreadyExists

from svc_audience.service_layer.ports import ProfileRepository
from svc_audience.domain.model import Profile


class FakeProfileRepository(ProfileRepository):
    def __init__(self):
        self.rows: dict[tuple[str, str], Profile] = {}

    def get(self, workspace, external_id):
        found = self.rows.get((workspace, external_id))
        return copy.deepcopy(found) if found else None

    def add(self, profile):
        key = (profile.workspace, profile.external_id)
        if key in self.rows:
            raise AlreadyExists(f"workspaces/{profile.workspace}/profiles/{profile.external_id} already exists")
        self.rows[key] = copy.deepcopy(profile)

    def save(self, profile, expected_version):
        key = (profile.workspace, profile.external_id)
        current = self.rows.get(key)
        if (current.version if current else 0) != expected_version:
            raise Aborted("changed by another request")
        self.rows[key] = copy.deepcopy(profile)

    def remove(self, workspace, external_id):
        return self.rows.pop((workspace, external_id), None) is not None

    def list(self, workspace, after, limit):
        ids = sorted(i for w, i in self.rows if w == workspace and i > after)
        return [copy.deepcopy(self.rows[(workspace, i)]) for i in ids[:limit]]
