"""Webhook POSTs with httpx (async): no redirects followed (a redirect could lead to a private
address), the response body never read. In production mode the connection itself is guarded
(adapters/guarded_http.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx

from svc_integrations.adapters.guarded_http import SocketResolver, guarded_async_transport
from svc_integrations.domain.webhooks import PRODUCTION, Attempt

__all__ = ["HttpxSender", "SocketResolver"]

USER_AGENT = "marketing-platform-webhooks/1"


class HttpxSender:
    """One AsyncClient per event loop (the worker's, the gRPC server's for :test)."""

    def __init__(self, timeout: float = 10.0, max_connections: int = 500, mode: str = "development"):
        self.timeout = timeout
        self.max_connections = max_connections
        self.mode = mode
        self._clients: dict[int, httpx.AsyncClient] = {}

    def _transport(self, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
        if self.mode == PRODUCTION:
            return guarded_async_transport(limits)
        return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)

    def _client(self) -> httpx.AsyncClient:
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=50)
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False,
                transport=self._transport(limits), headers={"user-agent": USER_AGENT})
            self._clients[loop] = client
        return client

    async def send(self, uri: str, headers: Mapping[str, str], body: bytes) -> Attempt:
        started = time.perf_counter()
        try:
            async with self._client().stream("POST", uri, headers=dict(headers), content=body) as response:
                code = response.status_code
        except httpx.TimeoutException:
            return Attempt(0, _ms(started), f"timed out after {self.timeout:g}s")
        except httpx.HTTPError as error:
            return Attempt(0, _ms(started), f"{type(error).__name__}: {error}"[:500])
        latency = _ms(started)
        if 200 <= code < 300:
            return Attempt(code, latency)
        return Attempt(code, latency, f"HTTP {code}")

    async def aclose(self) -> None:
        loop = id(asyncio.get_running_loop())
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
