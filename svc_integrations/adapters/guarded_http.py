"""Outbound HTTP that only reaches public addresses (production mode of webhooks and connectors).

The client's network backend resolves the host itself, refuses a private, loopback, link-local or
metadata address (domain.webhooks.forbidden_address), and connects to the address it checked (TLS
still verifies the certificate against the host name), so DNS rebinding between a check and the
connect cannot reach an internal address. Redirects are never followed by the callers."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

from svc_integrations.domain.webhooks import forbidden_address


def _addresses(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)})


class SocketResolver:
    def resolve(self, host: str) -> list[str]:
        return _addresses(host)


def _public_addresses(host: str) -> list[str]:
    """The host's addresses, all public; else httpcore.ConnectError saying which one is not."""
    try:
        addresses = _addresses(host)
    except OSError as error:
        raise httpcore.ConnectError(f"{host} does not resolve: {error}") from None
    for address in addresses:
        reason = forbidden_address(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise httpcore.ConnectError(f"refused: {host} resolves to {address}, {reason}")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async network backend, connecting only to public addresses."""

    def __init__(self):
        from httpcore._backends.auto import AutoBackend

        self._inner = AutoBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.to_thread(_public_addresses, host)
        return await self._inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedSyncBackend(httpcore.NetworkBackend):
    """The same guard for synchronous clients (the connectors)."""

    def __init__(self):
        from httpcore._backends.sync import SyncBackend

        self._inner = SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        return self._inner.connect_tcp(_public_addresses(host)[0], port, timeout=timeout,
                                       local_address=local_address, socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound endpoints")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_async_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, its connection pool connecting through GuardedBackend."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=GuardedBackend())
    return transport


def guarded_transport(limits: httpx.Limits = httpx.Limits()) -> httpx.HTTPTransport:
    """The synchronous counterpart, for the connectors' clients."""
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=GuardedSyncBackend())
    return transport
