"""The integrations service's gRPC API: API keys and the audit log here; event collection
(sources_api.py, collect_api.py), webhooks (webhooks_api.py), connectors and connections
(connections_api.py) and syncs (syncs_api.py) in mixins."""

from __future__ import annotations

from concurrent.futures import Executor
from datetime import UTC

from google.protobuf import timestamp_pb2

from marketing.integrations.v1 import (api_key_pb2, audit_entry_pb2, integrations_service_pb2 as pb,
                                       integrations_service_pb2_grpc)
from svc_kit.executor import run_blocking
from svc_kit.pagination import fingerprint, timed_keyset_page

from svc_integrations.domain.api_keys import ApiKey
from svc_integrations.entrypoints.collect_api import CollectApi
from svc_integrations.entrypoints.sources_api import SourcesApi
from svc_integrations.entrypoints.webhooks_api import WebhooksApi
from svc_integrations.entrypoints.connections_api import ConnectionsApi
from svc_integrations.entrypoints.syncs_api import SyncsApi
from svc_integrations.service_layer.api_keys import ApiKeys
from svc_integrations.service_layer.audit_log import AuditEntry, AuditFilter, AuditLog

_ROLE_NAMES = {api_key_pb2.ApiKey.ROLE_VIEWER: "viewer", api_key_pb2.ApiKey.ROLE_EDITOR: "editor",
               api_key_pb2.ApiKey.ROLE_ADMIN: "admin"}
_ROLE_VALUES = {name: value for value, name in _ROLE_NAMES.items()}


def _timestamp(value) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def api_key_to_proto(key: ApiKey, plain: str = "") -> api_key_pb2.ApiKey:
    message = api_key_pb2.ApiKey(name=key.name, display_name=key.display_name, role=_ROLE_VALUES[key.role],
                                 key=plain, key_prefix=key.key_prefix, create_time=_timestamp(key.create_time))
    if key.revoke_time is not None:
        message.revoke_time.CopyFrom(_timestamp(key.revoke_time))
    if key.last_used_time is not None:
        message.last_used_time.CopyFrom(_timestamp(key.last_used_time))
    return message


def audit_entry_to_proto(entry: AuditEntry) -> audit_entry_pb2.AuditEntry:
    r = entry.record
    return audit_entry_pb2.AuditEntry(
        name=entry.name, principal=r.principal, via=r.via, action=r.action, resource=r.resource,
        time=_timestamp(r.time), source_address=r.source_address, status=r.status, etag_before=r.etag_before,
        etag_after=r.etag_after)


def _audit_filter(request: pb.ListAuditEntriesRequest) -> AuditFilter:
    return AuditFilter(
        principal=request.principal, action=request.action, resource_prefix=request.resource_prefix,
        start_time=request.start_time.ToDatetime(UTC) if request.HasField("start_time") else None,
        end_time=request.end_time.ToDatetime(UTC) if request.HasField("end_time") else None)


class IntegrationsServicer(SourcesApi, CollectApi, WebhooksApi, ConnectionsApi, SyncsApi,
                           integrations_service_pb2_grpc.IntegrationsServiceServicer):
    def __init__(self, keys: ApiKeys, executor: Executor | None, audit: AuditLog | None = None, *,
                 sources=None, collector=None, webhooks=None, webhook_sender=None, webhook_resolver=None,
                 webhook_mode: str = "development", connections=None, syncs=None, outbound: Executor | None = None):
        self.keys = keys
        self.executor = executor
        self.audit = audit
        self.sources = sources
        self.collector = collector
        self.webhooks = webhooks
        self.webhook_sender = webhook_sender
        self.webhook_resolver = webhook_resolver
        self.webhook_mode = webhook_mode
        self.connections, self.syncs, self.outbound = connections, syncs, outbound

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, context) -> api_key_pb2.ApiKey:
        role = _ROLE_NAMES.get(request.api_key.role, "")
        key, plain = await run_blocking(self.executor, self.keys.create, request.parent, role,
                                        request.api_key.display_name)
        return api_key_to_proto(key, plain)

    async def GetApiKey(self, request: pb.GetApiKeyRequest, context) -> api_key_pb2.ApiKey:
        return api_key_to_proto(await run_blocking(self.executor, self.keys.get, request.name))

    async def ListApiKeys(self, request: pb.ListApiKeysRequest, context) -> pb.ListApiKeysResponse:
        def page():
            return timed_keyset_page(lambda after, limit: self.keys.list(request.parent, after, limit),
                                     lambda key: (key.create_time, key.id), request.page_size, request.page_token,
                                     fingerprint("apiKeys", request.parent))

        keys, token = await run_blocking(self.executor, page)
        return pb.ListApiKeysResponse(api_keys=[api_key_to_proto(k) for k in keys], next_page_token=token)

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context) -> api_key_pb2.ApiKey:
        return api_key_to_proto(await run_blocking(self.executor, self.keys.revoke, request.name))

    async def ListAuditEntries(self, request: pb.ListAuditEntriesRequest, context) -> pb.ListAuditEntriesResponse:
        where = _audit_filter(request)

        def page():
            return timed_keyset_page(lambda after, limit: self.audit.list(request.parent, where, after, limit),
                                     lambda entry: (entry.record.time, entry.id), request.page_size,
                                     request.page_token, fingerprint("auditEntries", request.parent,
                                                                     *where.fingerprint()))

        entries, token = await run_blocking(self.executor, page)
        return pb.ListAuditEntriesResponse(audit_entries=[audit_entry_to_proto(e) for e in entries],
                                           next_page_token=token)
