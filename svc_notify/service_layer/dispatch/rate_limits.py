"""Providers' rate limits: token buckets per provider and per (provider,
recipient domain), in this process. A send waits briefly for a token and is
deferred when the wait would be long."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from svc_notify.domain.pacing import TokenBucket
from svc_notify.domain.providers import Provider


class RateLimits:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self.buckets: dict[tuple, TokenBucket] = {}

    def _buckets(self, provider: Provider, domain: str) -> list[tuple[tuple, TokenBucket]]:
        found = []
        now = self.monotonic()
        key = (provider.workspace, provider.id, provider.version)
        if provider.rate_limit is not None and provider.rate_limit.limited:
            limit = provider.rate_limit
            bucket = self.buckets.get(key) or self.buckets.setdefault(
                key, TokenBucket(limit.messages_per_second, limit.bucket_size, now))
            found.append((key, bucket))
        for item in provider.domain_rate_limits:
            if item.domain == domain:
                domain_key = (*key, domain)
                bucket = self.buckets.get(domain_key) or self.buckets.setdefault(
                    domain_key, TokenBucket(item.rate_limit.messages_per_second, item.rate_limit.bucket_size, now))
                found.append((domain_key, bucket))
        return found

    def take(self, provider: Provider, domain: str) -> tuple[float, tuple | None]:
        """(0, None) when a token was taken from every bucket that applies; else the
        longest wait and the bucket's key (nothing is taken then)."""
        buckets = self._buckets(provider, domain)
        if not buckets:
            return 0.0, None
        now = self.monotonic()
        waits = [(b.wait(now), key) for key, b in buckets]
        longest = max(waits, key=lambda w: w[0])
        if longest[0] > 0:
            return longest
        for _, bucket in buckets:
            bucket.take(now)
        return 0.0, None

    def rate_of(self, key: tuple) -> float:
        return self.buckets[key].rate

    async def wait_turn(self, provider: Provider, domain: str, hold_for: float, rng: Callable[[], float],
                        stop: Callable[[], Awaitable[str]] | None = None) -> tuple[float, str] | None:
        """None once a token is taken (after waiting at most `hold_for` seconds);
        else how long to defer the message (spread over the refill) and why.
        `stop` (asked before each wait) gives a reason to stop waiting at once, or ""."""
        while True:
            wait, bucket = self.take(provider, domain)
            if wait == 0:
                return None
            if wait > hold_for:
                spread = rng() / max(self.rate_of(bucket), 0.001)
                what = f"the rate limit of {provider.name}" + (f" for {domain}" if len(bucket) == 4 else "")
                return wait + spread, f"{what}; next token in {wait:.1f} s"
            if stop is not None and (why := await stop()):
                return 0.0, why
            await asyncio.sleep(wait)
