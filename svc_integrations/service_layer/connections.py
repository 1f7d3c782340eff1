"""Use cases of connectors and connections: the catalogue, create/get/list/update/delete,
TestConnection (the connector's check, its outcome kept on the connection), enable/disable,
the CredentialVault connectors use to read and refresh credentials, and key rotation.

Credentials go in through Create/Update, are encrypted before they reach the store, and come
out only decrypted into a vault for one check or run: never in an answer, a log line or an event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from svc_kit.errors import (Aborted, AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument,
                            NotFound)
from svc_kit.names import RESOURCE_ID, name_field, parent_field

from svc_integrations.domain import connections as domain
from svc_integrations.domain.connections import Connection
from svc_integrations.domain.connectors import (ConnectionCheckFailed, ConnectionContext, Connector, ConnectorSpec,
                                                DestinationUnavailable)

log = logging.getLogger("svc_integrations.connections")
KEEP = object()  # update(): leave the stored credentials as they are


class Registry(Protocol):
    def get(self, key: str) -> Connector | None: ...
    def all(self) -> list[Connector]: ...


class Cipher(Protocol):
    def encrypt(self, credentials: Mapping[str, str]) -> str: ...
    def decrypt(self, token: str) -> dict[str, str]: ...
    def current(self, token: str) -> bool: ...
    def rotate(self, token: str) -> str: ...


class ConnectionStore(Protocol):
    def add(self, connection: Connection, ciphertext: str | None, request_id: str) -> None: ...
    def get(self, workspace: str, connection_id: str) -> Connection | None: ...
    def by_request(self, workspace: str, request_id: str) -> Connection | None: ...
    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Connection]: ...
    def update(self, connection: Connection, expected_version: int, ciphertext=KEEP) -> bool: ...
    def delete(self, workspace: str, connection_id: str, expected_version: int) -> bool: ...
    def ciphertext(self, workspace: str, connection_id: str) -> str | None: ...
    def set_ciphertext(self, workspace: str, connection_id: str, ciphertext: str, now: datetime) -> None: ...
    def all_ciphertexts(self) -> Iterable[tuple[str, str, str]]: ...
    def cancel_runs(self, workspace: str, connection_id: str, now: datetime) -> int: ...


@dataclass(frozen=True)
class ConnectionInput:
    display_name: str = ""
    connector: str = ""  # workspaces/{w}/connectors/{key}
    parameters: Mapping[str, str] | None = None
    credentials: Mapping[str, str] | None = None
    credentials_secret: str = ""
    labels: Mapping[str, str] | None = None
    etag: str = ""


UPDATABLE = ("display_name", "parameters", "credentials", "labels")


class StoredVault:
    """CredentialVault over the store: `replace` encrypts and stores at once (a refreshed token
    survives the run that refreshed it)."""

    def __init__(self, store: ConnectionStore, cipher: Cipher, clock: Callable[[], datetime], workspace: str,
                 connection_id: str, credentials: Mapping[str, str]):
        self.store, self.cipher, self.clock = store, cipher, clock
        self.workspace, self.connection_id = workspace, connection_id
        self._credentials = dict(credentials)

    def current(self) -> Mapping[str, str]:
        return dict(self._credentials)

    def replace(self, credentials: Mapping[str, str]) -> None:
        self.store.set_ciphertext(self.workspace, self.connection_id, self.cipher.encrypt(credentials), self.clock())
        self._credentials = dict(credentials)


# (URL, field name) -> what is wrong with calling it; webhooks.destination_problems in production mode.
UrlCheck = Callable[[str, str], list[FieldViolation]]


class Connections:
    def __init__(self, store: ConnectionStore, registry: Registry, cipher: Cipher, clock: Callable[[], datetime],
                 ids: Callable[[], str], url_check: UrlCheck | None = None):
        self.store, self.registry, self.cipher, self.clock, self.ids = store, registry, cipher, clock, ids
        self.url_check = url_check

    def _parameter_problems(self, spec: ConnectorSpec, parameters: Mapping[str, str]) -> list[FieldViolation]:
        """The parameters against the connector's spec, then each URL against the destination rules."""
        violations = domain.validate_parameters(spec, parameters, "connection")
        if violations or self.url_check is None:
            return violations
        return [problem for p in spec.parameters if p.type == "url" and parameters.get(p.key)
                for problem in self.url_check(parameters[p.key], f"connection.parameters[{p.key}]")]

    # --- the catalogue -----------------------------------------------------------------------
    def connectors(self, parent: str) -> list[ConnectorSpec]:
        parent_field(parent)
        return sorted((c.spec for c in self.registry.all()), key=lambda spec: spec.key)

    def connector(self, name: str) -> ConnectorSpec:
        workspace, key = name_field(name, "connectors")
        found = self.registry.get(key)
        if found is None:
            raise NotFound(name)
        return found.spec

    def _connector_of(self, value: str, workspace: str, field_name: str) -> Connector:
        parts = value.split("/")
        if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "connectors":
            raise InvalidArgument(FieldViolation(field_name, "must be `workspaces/{workspace}/connectors/{key}`"))
        if parts[1] != workspace:
            raise InvalidArgument(FieldViolation(field_name, "must be a connector of the connection's workspace"))
        found = self.registry.get(parts[3])
        if found is None:
            known = ", ".join(sorted(c.spec.key for c in self.registry.all()))
            raise InvalidArgument(FieldViolation(field_name, f"no connector {parts[3]!r} (known: {known})"))
        return found

    # --- connections -------------------------------------------------------------------------
    def create(self, parent: str, given: ConnectionInput, connection_id: str = "", request_id: str = "",
               validate_only: bool = False) -> Connection:
        workspace = parent_field(parent)
        if request_id:
            earlier = self.store.by_request(workspace, request_id)
            if earlier is not None:
                return earlier
        violations = domain.validate_display_name(given.display_name, "connection.display_name")
        if connection_id and not RESOURCE_ID.fullmatch(connection_id):
            violations.append(FieldViolation("connection_id", "1-63 characters [a-z0-9][a-z0-9-]*"))
        if given.credentials_secret:
            violations.append(FieldViolation("connection.credentials_secret", "set `credentials` instead: this "
                                             "platform keeps them encrypted in the connection's own secret"))
        connector = self._connector_of(given.connector, workspace, "connection.connector") if given.connector \
            else None
        if connector is None:
            violations.append(FieldViolation("connection.connector", "is required"))
        else:
            violations += self._parameter_problems(connector.spec, given.parameters or {})
            violations += domain.validate_credentials(connector.spec, given.credentials or {}, "connection")
        violations += domain.validate_labels(given.labels or {}, "connection")
        domain.raise_if(violations)
        now = self.clock()
        connection = Connection(workspace=workspace, id=connection_id or self.ids(),
                                display_name=given.display_name, connector=connector.spec.key,
                                parameters=dict(given.parameters or {}), state=domain.PENDING, create_time=now,
                                update_time=now, has_credentials=bool(given.credentials),
                                labels=dict(given.labels or {}))
        ciphertext = self.cipher.encrypt(given.credentials) if given.credentials else None
        if validate_only:
            return connection
        if self.store.get(workspace, connection.id) is not None:
            raise AlreadyExists(f"{connection.name} already exists")
        self.store.add(connection, ciphertext, request_id)
        return connection

    def get(self, name: str) -> Connection:
        return self.get_field(name, "name")

    def get_field(self, name: str, field_name: str) -> Connection:
        workspace, connection_id = name_field(name, "connections", field_name)
        found = self.store.get(workspace, connection_id)
        if found is None:
            raise NotFound(name)
        return found

    def list(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[Connection]:
        return self.store.list(parent_field(parent), after, limit)

    def update(self, name: str, given: ConnectionInput, paths: list[str], validate_only: bool = False) -> Connection:
        current = self.get_field(name, "connection.name")
        current.check_etag(given.etag)
        if not paths:
            raise InvalidArgument(FieldViolation("update_mask", f"name the fields to change: {', '.join(UPDATABLE)}"))
        unknown = [p for p in paths if p not in UPDATABLE]
        if unknown:
            raise InvalidArgument([FieldViolation("update_mask", f"{p!r} cannot be changed (changeable: "
                                                                 f"{', '.join(UPDATABLE)})") for p in unknown])
        spec = self._spec(current)
        violations = []
        changes: dict = {}
        ciphertext = KEEP
        if "display_name" in paths:
            violations += domain.validate_display_name(given.display_name, "connection.display_name")
            changes["display_name"] = given.display_name
        if "parameters" in paths:
            violations += self._parameter_problems(spec, given.parameters or {})
            changes["parameters"] = dict(given.parameters or {})
        if "labels" in paths:
            violations += domain.validate_labels(given.labels or {}, "connection")
            changes["labels"] = dict(given.labels or {})
        if "credentials" in paths:
            violations += domain.validate_credentials(spec, given.credentials or {}, "connection")
            ciphertext = self.cipher.encrypt(given.credentials) if given.credentials else None
            changes["has_credentials"] = bool(given.credentials)
            # New parameters or credentials need a new check.
        if ("credentials" in paths or "parameters" in paths) and current.state != domain.DISABLED:
            changes["state"], changes["state_message"] = domain.PENDING, ""
        domain.raise_if(violations)
        updated = replace(current, **changes, update_time=self.clock(), version=current.version + 1)
        if validate_only:
            return updated
        if not self.store.update(updated, current.version, ciphertext):
            raise Aborted(f"{name} changed meanwhile; read it again")
        return updated

    def delete(self, name: str, etag: str = "") -> None:
        current = self.get(name)
        current.check_etag(etag)
        if not self.store.delete(current.workspace, current.id, current.version):
            raise Aborted(f"{name} changed meanwhile; read it again")

    def _spec(self, connection: Connection) -> ConnectorSpec:
        found = self.registry.get(connection.connector)
        if found is None:
            raise FailedPrecondition(f"{connection.name}'s connector {connection.connector!r} is not installed")
        return found.spec

    def context(self, connection: Connection) -> tuple[Connector, ConnectionContext]:
        """The connector and its context (decrypted credentials in a vault) for one check or run.
        A credential under an older key is re-encrypted with the current one on the way (lazy rotation)."""
        connector = self.registry.get(connection.connector)
        if connector is None:
            raise FailedPrecondition(f"{connection.name}'s connector {connection.connector!r} is not installed")
        ciphertext = self.store.ciphertext(connection.workspace, connection.id)
        credentials = {}
        if ciphertext:
            credentials = self.cipher.decrypt(ciphertext)
            if not self.cipher.current(ciphertext):
                self.store.set_ciphertext(connection.workspace, connection.id, self.cipher.rotate(ciphertext),
                                          self.clock())
        vault = StoredVault(self.store, self.cipher, self.clock, connection.workspace, connection.id, credentials)
        return connector, ConnectionContext(parameters=dict(connection.parameters), credentials=vault)

    def test(self, name: str, etag: str = "") -> Connection:
        current = self.get(name)
        current.check_etag(etag)
        if current.state == domain.DISABLED:
            raise FailedPrecondition(f"{name} is disabled; enable it first")
        connector, context = self.context(current)
        try:
            connector.check(context)
            ok, message = True, ""
        except ConnectionCheckFailed as error:
            ok, message = False, error.reason
        except DestinationUnavailable as error:
            ok, message = False, f"the platform did not answer: {error.reason}"
        log.info("connection checked", extra={"connection": name, "ok": ok})
        return self._save(self.get(name).checked(ok, message, self.clock()))

    def enable(self, name: str, etag: str = "") -> Connection:
        """DISABLED -> PENDING, then checked as by TestConnection."""
        current = self.get(name)
        current.check_etag(etag)
        self._save(current.enabled(self.clock()), current)
        return self.test(name)

    def disable(self, name: str, etag: str = "") -> Connection:
        """Any state -> DISABLED; its syncs' queued and running runs are cancelled."""
        current = self.get(name)
        current.check_etag(etag)
        disabled = self._save(current.disabled(self.clock()), current)
        self.store.cancel_runs(current.workspace, current.id, self.clock())
        return disabled

    def mark_failed(self, connection: Connection, message: str) -> None:
        latest = self.store.get(connection.workspace, connection.id)
        if latest is not None:
            self._save(latest.failed(message, self.clock()), latest)

    def _save(self, updated: Connection, current: Connection | None = None) -> Connection:
        before = current.version if current is not None else updated.version - 1
        if updated.version != before and not self.store.update(updated, before):
            raise Aborted(f"{updated.name} changed meanwhile; try again")
        return updated

    def rotate_keys(self) -> tuple[int, int]:
        """Re-encrypts every stored credential with the current key: (rotated, already current)."""
        rotated = current = 0
        for workspace, connection_id, ciphertext in list(self.store.all_ciphertexts()):
            if self.cipher.current(ciphertext):
                current += 1
                continue
            self.store.set_ciphertext(workspace, connection_id, self.cipher.rotate(ciphertext), self.clock())
            rotated += 1
        return rotated, current
