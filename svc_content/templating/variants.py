"""A/B variants: each recipient gets one, by weight, the same on every call and
in every process.

The point in [0, total weight) is BLAKE2b-64 of `<seed>\\n<profile id>` modulo
the total (the 64-bit hash makes the modulo bias negligible); the seed is the
campaign's name when the render is for a campaign, else the template's, so one
recipient keeps its variant across the versions of a template and a new
campaign draws a fresh split."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence


class VariantPicker:
    def __init__(self, weights: Sequence[tuple[str, int]]):
        self.ids: list[str] = []
        self.bounds: list[int] = []
        total = 0
        for variant_id, weight in weights:
            if weight > 0:
                total += weight
                self.ids.append(variant_id)
                self.bounds.append(total)
        self.total = total

    def pick(self, seed: str, recipient: str) -> str:
        if not self.total:
            return ""
        digest = hashlib.blake2b(f"{seed}\n{recipient}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") % self.total
        return self.ids[bisect.bisect_right(self.bounds, point)]
