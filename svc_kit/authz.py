"""Who is calling, and may they: the identity the edge passes in one header, the
roles, and the one permission table for every RPC of the platform.

The edge (Envoy) verifies a JWT (jwt_authn) or an API key (ext_authz, served by the
integrations service), strips any client-sent `x-mkt-identity` and sets it itself:
base64url (no padding) of a JSON object

    {"sub": "alice@example.com", "via": "jwt" | "key" | "public",
     "workspaces": {"demo": "admin", "acme": "viewer"}, ...}

(a JWT's own claims, forwarded as they are, carry `workspaces` the same way; `"*"`
as a workspace stands for every workspace, for development and test tokens). A call
that reaches a service WITHOUT the header comes from inside the mesh (another
service: the mesh policy lets only the edge send the header) and is trusted as
that service.

Pure Python: the server interceptor (svc_kit.interceptor) maps the errors."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from svc_kit.errors import NotFound, PermissionDenied

IDENTITY_HEADER = "x-mkt-identity"
# The principal the edge rate-limits by (`key:<key name>` or the JWT subject); set only by the edge.
PRINCIPAL_HEADER = "x-mkt-principal"
ANONYMOUS = "anonymous"
KEY_ISSUER = "mkt:api-key"
EDGE_ISSUER = "mkt:edge"
ALL_WORKSPACES = "*"

# Roles, weakest first; each has the levels of the ones before it.
ROLES = ("viewer", "editor", "admin")
LEVELS = ("read", "write", "admin")
_ROLE_LEVELS = {role: set(LEVELS[: i + 1]) for i, role in enumerate(ROLES)}
PUBLIC = "public"

# Method-name prefixes that only read; every other method writes, unless overridden below.
READ_PREFIXES = ("Get", "List", "BatchGet", "Count", "Check", "Stream", "Export", "Aggregate")

# Explicit levels by RPC (short name). PUBLIC: reachable without credentials through the
# edge (each also listed in the edge's PUBLIC routes, edge/envoy_config.py).
OVERRIDES: dict[str, str] = {
    # Public endpoints met in emails, provider webhooks and unsubscribe pages.
    "TrackClick": PUBLIC, "TrackOpen": PUBLIC, "ReceiveProviderCallback": PUBLIC,
    "Unsubscribe": PUBLIC, "GetUnsubscribePage": PUBLIC,
    # Images and files linked from emails are fetched by mail clients without credentials.
    "DownloadAsset": PUBLIC,
    # Computations that change nothing.
    "RenderTemplate": "read", "BatchRenderTemplate": "read", "RunFunnel": "read",
    "ExplainJourneyProfile": "read",  # campaign: why a profile did or did not get a journey's messages
    # Administration: providers and settings (notify), connections and webhooks
    # (integrations, they hold credentials and reach outside), API keys.
    "CreateProvider": "admin", "UpdateProvider": "admin", "DeleteProvider": "admin", "TestProvider": "admin",
    "UpdateNotifySettings": "admin",
    "CreateConnection": "admin", "UpdateConnection": "admin", "DeleteConnection": "admin",
    "TestConnection": "admin", "EnableConnection": "admin", "DisableConnection": "admin",
    "CreateWebhook": "admin", "UpdateWebhook": "admin", "DeleteWebhook": "admin", "PauseWebhook": "admin",
    "ResumeWebhook": "admin", "TestWebhook": "admin",
    "RotateWebhookSecret": "admin", "ReplayWebhookDelivery": "admin",
    "DeliverWebhookEvent": "admin",  # internal (the mesh lets only the campaign service call it)
    "CreateApiKey": "admin", "GetApiKey": "admin", "ListApiKeys": "admin", "RevokeApiKey": "admin",
    # The audit log (integrations) is read by admins only; nothing writes it through the API.
    "ListAuditEntries": "admin",
    # Sources of collected events (integrations): admins create and revoke write keys, viewers read.
    "CreateSource": "admin", "RevokeSource": "admin",
    # The Segment Tracking API: the edge checks no credential, the integrations service checks
    # the source's write key (HTTP Basic user name or the body's writeKey) and answers 401 itself.
    "SegmentTrack": PUBLIC, "SegmentIdentify": PUBLIC, "SegmentPage": PUBLIC, "SegmentScreen": PUBLIC,
    "SegmentGroup": PUBLIC, "SegmentAlias": PUBLIC, "SegmentBatch": PUBLIC,
}


def level_of(method: str) -> str:
    """read, write, admin or public for an RPC's short name."""
    if method in OVERRIDES:
        return OVERRIDES[method]
    return "read" if method.startswith(READ_PREFIXES) else "write"


def permission_of(service: str, method: str) -> str:
    """The permission a call needs, as named in errors: `campaign.write`, `notify.admin`."""
    parts = service.split(".")  # marketing.campaign.v1.CampaignService -> campaign
    short = parts[1] if len(parts) >= 3 else parts[0]
    return f"{short}.{level_of(method)}"


def role_allows(role: str, level: str) -> bool:
    return level == PUBLIC or level in _ROLE_LEVELS.get(role, ())


def weakest_role(level: str) -> str:
    return next(role for role in ROLES if level in _ROLE_LEVELS[role])


class MalformedIdentity(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    principal: str
    via: str
    workspaces: Mapping[str, str] = field(default_factory=dict)

    def role_in(self, workspace: str) -> str | None:
        return self.workspaces.get(workspace) or self.workspaces.get(ALL_WORKSPACES)

    def to_claims(self) -> dict:
        return {"sub": self.principal, "via": self.via, "workspaces": dict(self.workspaces)}


def encode_identity(identity: Identity, extra: Mapping | None = None) -> str:
    raw = json.dumps({**identity.to_claims(), **(extra or {})}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.lru_cache(maxsize=4096)
def decode_identity(value: str) -> Identity:
    """The header's value (base64url JSON, padding optional) as an Identity (a principal's calls
    repeat the same value: decoded once)."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise MalformedIdentity(f"identity header is not base64url JSON: {error}") from None
    if not isinstance(claims, dict):
        raise MalformedIdentity("identity header is not a JSON object")
    workspaces = claims.get("workspaces") or {}
    if not isinstance(workspaces, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in workspaces.items()):
        raise MalformedIdentity("identity header: workspaces must map workspace ids to role names")
    via = claims.get("via")
    if not isinstance(via, str):
        via = "key" if claims.get("iss") == KEY_ISSUER else "jwt"
    principal = claims.get("sub")
    return Identity(principal if isinstance(principal, str) and principal else ANONYMOUS, via,
                    {k: v for k, v in workspaces.items() if v in ROLES})


def workspace_of(name: str) -> str | None:
    """`workspaces/{w}/...` -> w."""
    if not name.startswith("workspaces/"):
        return None
    workspace = name.split("/", 2)[1]
    return workspace or None


def authorize(identity: Identity, service: str, method: str, workspaces: Iterable[str]) -> None:
    """Raises NotFound when the request names a workspace the principal has no role in
    (so names cannot be probed) and PermissionDenied when its role lacks the level."""
    level = level_of(method)
    if level == PUBLIC:
        return
    permission = permission_of(service, method)
    named = list(dict.fromkeys(workspaces))
    if not named:
        # Every resource lives in a workspace: a request naming none reaches nothing but its own
        # validation error. It is still refused to a principal whose roles all lack the level.
        if not any(role_allows(role, level) for role in identity.workspaces.values()):
            raise PermissionDenied(f"permission {permission} denied: {method} needs role {weakest_role(level)} "
                                   f"or higher, which {identity.principal} has in no workspace",
                                   metadata={"permission": permission})
        return
    for workspace in named:
        role = identity.role_in(workspace)
        if role is None:
            raise NotFound(f"workspaces/{workspace}")
        if not role_allows(role, level):
            raise PermissionDenied(
                f"permission {permission} denied: {method} needs role {weakest_role(level)} or higher; "
                f"{identity.principal} has role {role} in workspace {workspace}", metadata={"permission": permission, "role": role})

