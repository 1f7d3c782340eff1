"""What a connector is: the plugin contract between the integrations service and one outside
platform (an ad platform's audience, a CRM's contacts, a generic HTTP endpoint).

A connector describes itself (ConnectorSpec: what ListConnectors and GetConnector answer) and does
two things with a connection's parameters and credentials: check them (TestConnection), and push a
segment's changes to a destination audience or contact list (a sync run). It speaks the outside
platform's API; the service layer owns everything else (storage, encryption, scheduling, retries of
whole runs). Pure Python: connectors live in adapters/connectors/ and are found through the
registry the bootstrap builds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class ConnectionCheckFailed(Exception):
    """The outside platform refused the connection; `reason` is its own words (shown on the connection)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class DestinationUnavailable(Exception):
    """The outside platform cannot take the batch now (5xx, network, rate limit beyond the retry budget);
    the run may be retried as a whole later. `retry_after` is the platform's hint in seconds, if any."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class ParameterSpec:
    key: str
    display_name: str
    description: str = ""
    type: str = "string"  # string | int | bool | enum | url
    required: bool = False
    default_value: str = ""
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectorSpec:
    key: str  # the resource id: workspaces/{w}/connectors/{key}, e.g. "meta-custom-audiences"
    display_name: str
    description: str
    category: str  # webhook | crm | ad_platform | data_warehouse | ecommerce | storage
    auth_type: str  # none | api_key | basic | oauth2 | service_account
    parameters: tuple[ParameterSpec, ...] = ()
    credential_keys: tuple[str, ...] = ()
    capabilities: tuple[tuple[str, str], ...] = (("export", "segment_members"),)  # (direction, object)
    documentation_uri: str = ""
    version: str = "1"


@dataclass(frozen=True)
class Member:
    """One profile as a destination sees it. `email` lower-cased and trimmed, `phone` in E.164
    (`+` and digits) when the profile has them; connectors hash or map them as their platform says."""

    profile_id: str
    email: str | None = None
    phone: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowFailure:
    profile_id: str
    reason: str


@dataclass(frozen=True)
class PushResult:
    """What one push did: rows the platform took, and the rows it refused with its reason."""

    added: int = 0
    removed: int = 0
    failures: tuple[RowFailure, ...] = ()


class CredentialVault(Protocol):
    """A connection's decrypted credentials, for the length of one check or run. A connector whose
    token expired (or is about to) refreshes it and calls `replace`, which stores the new credentials
    encrypted before the connector goes on."""

    def current(self) -> Mapping[str, str]: ...

    def replace(self, credentials: Mapping[str, str]) -> None: ...


@dataclass(frozen=True)
class ConnectionContext:
    parameters: Mapping[str, str]
    credentials: CredentialVault


class Progress(Protocol):
    """Told after each batch the connector sends (rows done so far); answers True when the run was
    cancelled, and the connector then stops between batches."""

    def __call__(self, rows_done: int) -> bool: ...


class Connector(Protocol):
    spec: ConnectorSpec

    def check(self, context: ConnectionContext) -> None:
        """Prove the parameters and credentials work (a cheap authenticated call); raise
        ConnectionCheckFailed with the platform's reason when they do not."""

    def push_members(self, context: ConnectionContext, destination: str, adds: Sequence[Member],
                     removes: Sequence[Member], *, replace: bool, progress: Progress) -> PushResult:
        """Add `adds` to and remove `removes` from the destination audience or list named
        `destination` (the sync's remote_object). `replace=True` (a full sync) makes the destination
        hold exactly `adds`. Batches as the platform requires; raises DestinationUnavailable when the
        platform cannot take it now, ConnectionCheckFailed when the credentials are refused for good."""
