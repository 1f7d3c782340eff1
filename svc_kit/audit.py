"""The audit record of one write or admin call: who (principal, via), what (action,
resource), when, from where (the source address the edge passes), how it ended
(status) and the resource's etag before (the request's) and after (the response's).

The server interceptor (svc_kit.interceptor) builds one for every RPC whose level in
the role table (svc_kit.authz) is write or admin, and hands it to the server's audit
sink. Pure Python: requests and responses are read through `ListFields`/attributes
only (protobuf messages or anything shaped like them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from svc_kit.authz import READ_PREFIXES, Identity, level_of, workspace_of

AUDITED_LEVELS = ("write", "admin")


@dataclass(frozen=True)
class AuditRecord:
    workspace: str
    principal: str
    via: str
    action: str          # `marketing.campaign.v1.CampaignService/UpdateCampaign`
    resource: str        # `workspaces/acme/campaigns/c1` (or the parent when nothing else is known)
    time: datetime
    source_address: str
    status: str          # `OK`, `PERMISSION_DENIED`, ...
    etag_before: str = ""
    etag_after: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def is_audited(method: str) -> bool:
    """Writes and admin actions; admin-only reads (ListApiKeys, ListAuditEntries) change nothing."""
    return level_of(method) in AUDITED_LEVELS and not method.startswith(READ_PREFIXES)


def _string(message, field: str) -> str:
    value = getattr(message, field, "") if message is not None else ""
    return value if isinstance(value, str) else ""


def _nested_names(message) -> Iterable[str]:
    """`name` of the message fields one level down (`campaign.name` in an UpdateCampaignRequest)."""
    if message is None or not hasattr(message, "ListFields"):
        return
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE and not descriptor.is_repeated:
            name = _string(value, "name")
            if name:
                yield name


def resource_of(request, response) -> str:
    """The resource the call acted on: the response's `name` (a created resource's id is
    known only there), else the request's `name`, a nested message's `name`, or `parent`."""
    for candidate in (_string(response, "name"), _string(request, "name"), *_nested_names(request),
                      *_nested_names(response), _string(request, "parent")):
        if candidate.startswith("workspaces/"):
            return candidate
    return ""


def etag_of(message) -> str:
    """A message's `etag`, or that of its one nested resource (`campaign.etag`)."""
    etag = _string(message, "etag")
    if etag or message is None or not hasattr(message, "ListFields"):
        return etag
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_MESSAGE and not descriptor.is_repeated:
            if nested := _string(value, "etag"):
                return nested
    return ""


CLIENT_ADDRESS_HEADER = "x-mkt-client-address"


def source_address(metadata: Iterable[tuple[str, object]], peer: str) -> str:
    """The client's address: `x-mkt-client-address`, which the edge always sets (overwriting
    any sent by the client), else the gRPC peer (`ipv4:127.0.0.1:5123` -> `127.0.0.1`)."""
    for key, value in metadata or ():
        if key == CLIENT_ADDRESS_HEADER:
            text = (value if isinstance(value, str) else value.decode(errors="replace")).strip()
            if text:
                return text
    peer = peer or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]").replace("%5B", "").replace("%5D", "")
    return peer


def build_record(*, service: str, method: str, identity: Identity | None, request, response,
                 status: str, time: datetime, metadata: Iterable[tuple[str, object]] = (),
                 peer: str = "") -> AuditRecord | None:
    """The audit record of one call, or None when the call is not audited: a read, a public call,
    a call naming no workspace, or a call from inside the mesh (no identity: another service acting
    for a call already recorded, such as a launch handing its messages to notify)."""
    if not is_audited(method) or identity is None:
        return None
    resource = resource_of(request, response)
    workspace = workspace_of(resource) if resource else None
    if workspace is None:
        return None
    return AuditRecord(
        workspace=workspace, principal=identity.principal, via=identity.via, action=f"{service}/{method}", resource=resource,
        time=time, source_address=source_address(metadata, peer), status=status,
        etag_before=etag_of(request), etag_after=etag_of(response) if status == "OK" else "")
