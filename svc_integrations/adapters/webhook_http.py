"""Webhook POSTs with httpx (async): no redirects followed (a redirect could lead to a private
address), the response body never read, and the host's addresses resolved with the system resolver.
In production mode the connection itself is guarded: the client's network backend resolves the host,
refuses a private, loopback, link-local or metadata address, and connects to the address it checked
(TLS still verifies the certificate against the host name), so DNS rebinding between check and
connect cannot reach an internal address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from svc_integrations.domain.webhooks import PRODUCTION, Attempt, forbidden_address

USER_AGENT = "marketing-platform-webhooks/1"


def _addresses(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)})


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses."""

    def __init__(self):
        from httpcore._backends.auto import AutoBackend

        self._inner = AutoBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.to_thread(_addresses, host)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from None
        for address in addresses:
            reason = forbidden_address(ipaddress.ip_address(address.split("%")[0]))
            if reason:
                raise httpcore.ConnectError(f"refused: {host} resolves to {address}, {reason}")
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HttpxSender:
    """One AsyncClient per event loop (the worker's, the gRPC server's for :test)."""

    def __init__(self, timeout: float = 10.0, max_connections: int = 500, mode: str = "development"):
        self.timeout = timeout
        self.max_connections = max_connections
        self.mode = mode
        self._clients: dict[int, httpx.AsyncClient] = {}

    def _transport(self, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        if self.mode == PRODUCTION:  # the same pool, connecting through the guard
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry, network_backend=GuardedBackend())
        return transport

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


class SocketResolver:
    def resolve(self, host: str) -> list[str]:
        return _addresses(host)
