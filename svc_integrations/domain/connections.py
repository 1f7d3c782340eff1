"""A connection: a connector configured for a workspace, with its (encrypted, write-only)
credentials and the state its last check left. Pure: validation and state changes only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from svc_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument

from svc_integrations.domain.connectors import ConnectorSpec

PENDING, ACTIVE, ERROR, DISABLED = "PENDING", "ACTIVE", "ERROR", "DISABLED"
STATES = (PENDING, ACTIVE, ERROR, DISABLED)
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
MAX_PARAMETER = 2000
MAX_CREDENTIAL = 8000


@dataclass(frozen=True)
class Connection:
    workspace: str
    id: str
    display_name: str
    connector: str  # the connector's key
    parameters: Mapping[str, str]
    state: str
    create_time: datetime
    update_time: datetime
    version: int = 1
    has_credentials: bool = False
    state_message: str = ""
    check_time: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/connections/{self.id}"

    @property
    def connector_name(self) -> str:
        return f"workspaces/{self.workspace}/connectors/{self.connector}"

    @property
    def credentials_secret(self) -> str:
        """Where the credentials are kept: the connection's own encrypted secret."""
        return f"{self.name}/credentials" if self.has_credentials else ""

    @property
    def etag(self) -> str:
        return f"v{self.version}"

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag!r} (now {self.etag!r}); read it again")

    def checked(self, ok: bool, message: str, now: datetime) -> Connection:
        if self.state == DISABLED:
            raise FailedPrecondition(f"{self.name} is disabled; enable it first")
        return replace(self, state=ACTIVE if ok else ERROR, state_message="" if ok else message[:1000],
                       check_time=now, update_time=now, version=self.version + 1)

    def enabled(self, now: datetime) -> Connection:
        if self.state != DISABLED:
            return self
        return replace(self, state=PENDING, state_message="", update_time=now, version=self.version + 1)

    def disabled(self, now: datetime) -> Connection:
        if self.state == DISABLED:
            return self
        return replace(self, state=DISABLED, update_time=now, version=self.version + 1)

    def failed(self, message: str, now: datetime) -> Connection:
        """A sync found the credentials refused for good."""
        if self.state == DISABLED:
            return self
        return replace(self, state=ERROR, state_message=message[:1000], update_time=now, version=self.version + 1)


def validate_display_name(value: str, field_name: str = "display_name") -> list[FieldViolation]:
    if not value.strip() or len(value) > 200:
        return [FieldViolation(field_name, "must be 1 to 200 characters")]
    return []


def validate_labels(labels: Mapping[str, str], prefix: str) -> list[FieldViolation]:
    violations = []
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            violations.append(FieldViolation(f"{prefix}.labels[{key}]", "keys are 1-63 characters [a-z][a-z0-9_-]*"))
        elif len(value) > 63:
            violations.append(FieldViolation(f"{prefix}.labels[{key}]", "values are at most 63 characters"))
    return violations


def validate_parameters(spec: ConnectorSpec, parameters: Mapping[str, str], prefix: str) -> list[FieldViolation]:
    """The parameters against the connector's ParameterSpecs: known keys, required ones set,
    values of the declared type."""
    known = {p.key: p for p in spec.parameters}
    violations = []
    for key, value in parameters.items():
        where = f"{prefix}.parameters[{key}]"
        p = known.get(key)
        if p is None:
            violations.append(FieldViolation(where, f"the {spec.key} connector has no parameter {key!r} "
                                                    f"(it has: {', '.join(sorted(known)) or 'none'})"))
        elif len(value) > MAX_PARAMETER:
            violations.append(FieldViolation(where, f"at most {MAX_PARAMETER} characters"))
        elif p.type == "int" and not re.fullmatch(r"-?\d+", value):
            violations.append(FieldViolation(where, "must be a whole number"))
        elif p.type == "bool" and value not in ("true", "false"):
            violations.append(FieldViolation(where, "must be true or false"))
        elif p.type == "enum" and value not in p.allowed_values:
            violations.append(FieldViolation(where, f"must be one of {', '.join(p.allowed_values)}"))
        elif p.type == "url" and not re.match(r"https?://[^\s/]+", value):
            violations.append(FieldViolation(where, "must be an http:// or https:// URL"))
    for p in spec.parameters:
        if p.required and not parameters.get(p.key):
            violations.append(FieldViolation(f"{prefix}.parameters[{p.key}]", "is required"))
    return violations


def validate_credentials(spec: ConnectorSpec, credentials: Mapping[str, str], prefix: str) -> list[FieldViolation]:
    violations = []
    for key, value in credentials.items():
        if key not in spec.credential_keys:
            violations.append(FieldViolation(f"{prefix}.credentials[{key}]",
                                             f"the {spec.key} connector takes credentials "
                                             f"{', '.join(spec.credential_keys) or 'none'}"))
        elif len(value) > MAX_CREDENTIAL:
            violations.append(FieldViolation(f"{prefix}.credentials[{key}]", f"at most {MAX_CREDENTIAL} characters"))
    return violations


def raise_if(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgument(violations)


def parameter(spec: ConnectorSpec, parameters: Mapping[str, str], key: str) -> str:
    """A parameter's value, or its declared default."""
    if parameters.get(key):
        return parameters[key]
    return next((p.default_value for p in spec.parameters if p.key == key), "")
