"""Use cases of outbound webhooks: subscriptions (create with a generated or given secret shown
once, get, list, update, delete, pause, resume, rotate the secret), the delivery log (get, list,
replay), :test, and one event queued for a named webhook (DeliverWebhookEvent, a journey's call_webhook
step). The delivery worker (webhook_delivery.py) sends the queued deliveries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from svc_kit.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.names import name_field, parent_field

from svc_integrations.domain import webhooks as domain
from svc_integrations.domain.webhooks import Attempt, Delivery, Webhook


class WebhookStore(Protocol):
    def add(self, hook: Webhook) -> bool: ...
    def get(self, workspace: str, webhook_id: str) -> Webhook | None: ...
    def by_request(self, workspace: str, request_id: str) -> Webhook | None: ...
    def list(self, workspace: str, after: tuple[datetime, str] | None, limit: int) -> list[Webhook]: ...
    def save(self, hook: Webhook, expected_version: int) -> bool: ...
    def delete(self, workspace: str, webhook_id: str) -> None: ...
    def add_delivery(self, delivery: Delivery) -> None: ...
    def enqueue(self, delivery: Delivery) -> Delivery:
        """Adds the delivery unless one for the same (webhook, event) is there; returns the one stored."""
    def get_delivery(self, workspace: str, webhook_id: str, delivery_id: str) -> Delivery | None: ...
    def list_deliveries(self, workspace: str, webhook_id: str, after: tuple[datetime, str] | None,
                        limit: int) -> list[Delivery]: ...
    def replay(self, delivery: Delivery) -> bool: ...
    def due_webhooks(self, now: datetime, limit: int) -> list[tuple[str, str]]: ...
    def claim(self, workspace: str, webhook_id: str, now: datetime, owner: str, lease_until: datetime,
              limit: int) -> list[Delivery]: ...
    def finish(self, delivery: Delivery, owner: str) -> bool: ...
    def note_success(self, workspace: str, webhook_id: str, now: datetime) -> None: ...
    def note_failure(self, workspace: str, webhook_id: str) -> None: ...
    def disable(self, workspace: str, webhook_id: str, reason: str, now: datetime) -> int: ...
    def expire_paused(self, before: datetime) -> int: ...
    def prune(self, before: datetime) -> int: ...


class Resolver(Protocol):
    def resolve(self, host: str) -> list[str]:
        """The host's addresses; OSError when it does not resolve."""


class Sender(Protocol):
    async def send(self, uri: str, headers: Mapping[str, str], body: bytes) -> Attempt: ...


@dataclass(frozen=True)
class WebhookChange:
    """A webhook's writable fields as sent; `paths` says which an update changes (empty: all)."""

    display_name: str = ""
    uri: str = ""
    event_types: tuple[str, ...] = ()
    signing_secret: str = ""
    headers: Mapping[str, str] | None = None
    labels: Mapping[str, str] | None = None


UPDATABLE = ("display_name", "uri", "event_types", "headers", "labels")


def destination_problems(uri: str, mode: str, resolver: Resolver, field_name: str) -> list[FieldViolation]:
    """The URL's own rules and, in production mode, where its host resolves to (checked again
    before every call, so a name that later resolves to a private address is not called)."""
    problems = domain.check_uri(uri, mode, field_name)
    if not problems and mode == domain.PRODUCTION:
        host = urlsplit(uri).hostname or ""
        try:
            addresses = resolver.resolve(host)
        except OSError as error:
            problems = [FieldViolation(field_name, f"{host} does not resolve: {error}")]
        else:
            problems = domain.check_resolved(host, addresses, mode, field_name)
    return problems


def check_destination(uri: str, mode: str, resolver: Resolver, field_name: str = "webhook.uri") -> None:
    problems = destination_problems(uri, mode, resolver, field_name)
    if problems:
        raise InvalidArgument(problems)


class Webhooks:
    def __init__(self, store: WebhookStore, resolver: Resolver, clock: Callable[[], datetime],
                 new_id: Callable[[], str], mode: str = domain.DEVELOPMENT,
                 secret_overlap: timedelta = timedelta(hours=24)):
        self.store = store
        self.resolver = resolver
        self.clock = clock
        self.new_id = new_id
        self.mode = mode
        self.secret_overlap = secret_overlap

    # --- subscriptions ---

    def create(self, parent: str, change: WebhookChange, webhook_id: str = "", request_id: str = "",
               validate_only: bool = False) -> Webhook:
        """The new webhook, with its secret (the only answer that carries it)."""
        workspace = parent_field(parent)
        if request_id:
            earlier = self.store.by_request(workspace, request_id)
            if earlier is not None:
                return earlier
        domain.check_webhook(change.display_name, change.uri, change.event_types, change.headers or {},
                             change.labels or {}, self.mode, webhook_id)
        if change.signing_secret:
            problems = domain.check_secret(change.signing_secret)
            if problems:
                raise InvalidArgument(problems)
        check_destination(change.uri, self.mode, self.resolver)
        now = self.clock()
        hook = Webhook(workspace=workspace, id=webhook_id or self.new_id(), display_name=change.display_name,
                       uri=change.uri, event_types=tuple(change.event_types), headers=dict(change.headers or {}),
                       labels=dict(change.labels or {}), create_time=now, update_time=now,
                       secret=change.signing_secret or domain.new_secret(), request_id=request_id)
        if validate_only:
            return hook
        if not self.store.add(hook):
            raise AlreadyExists(f"{hook.name} already exists")
        return hook

    def get(self, name: str) -> Webhook:
        workspace, webhook_id = name_field(name, "webhooks")
        hook = self.store.get(workspace, webhook_id)
        if hook is None:
            raise NotFound(name)
        return hook

    def list(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[Webhook]:
        return self.store.list(parent_field(parent), after, limit)

    def update(self, name: str, change: WebhookChange, paths: Sequence[str], etag: str) -> Webhook:
        hook = self.get(name)
        hook.check_etag(etag)
        paths = list(UPDATABLE) if not paths or list(paths) == ["*"] else list(paths)
        unknown = [p for p in paths if p not in UPDATABLE]
        if unknown:
            raise InvalidArgument([FieldViolation("update_mask", f"{p!r} cannot be updated; one of "
                                                  f"{', '.join(UPDATABLE)} (the secret: RotateWebhookSecret)")
                                   for p in unknown])
        values = {}
        if "display_name" in paths:
            values["display_name"] = change.display_name
        if "uri" in paths:
            values["uri"] = change.uri
        if "event_types" in paths:
            values["event_types"] = tuple(change.event_types)
        if "headers" in paths:
            values["headers"] = dict(change.headers or {})
        if "labels" in paths:
            values["labels"] = dict(change.labels or {})
        changed = hook.changed(self.clock(), **values)
        domain.check_webhook(changed.display_name, changed.uri, changed.event_types, changed.headers,
                             changed.labels, self.mode)
        if "uri" in paths:
            check_destination(changed.uri, self.mode, self.resolver)
        return self._save(hook, changed)

    def _save(self, before: Webhook, after: Webhook) -> Webhook:
        if after is before:
            return before
        if not self.store.save(after, before.version):
            from svc_kit.errors import Aborted

            raise Aborted(f"{before.name} changed meanwhile; read it again")
        return after

    def delete(self, name: str, etag: str = "") -> None:
        hook = self.get(name)
        hook.check_etag(etag)
        self.store.delete(hook.workspace, hook.id)

    def pause(self, name: str, etag: str = "") -> Webhook:
        hook = self.get(name)
        hook.check_etag(etag)
        return self._save(hook, hook.pause(self.clock()))

    def resume(self, name: str, etag: str = "") -> Webhook:
        hook = self.get(name)
        hook.check_etag(etag)
        return self._save(hook, hook.resume(self.clock()))

    def rotate_secret(self, name: str, secret: str = "", etag: str = "",
                      overlap: timedelta | None = None) -> Webhook:
        """A new secret (returned once); the previous one keeps signing alongside it for the overlap."""
        hook = self.get(name)
        hook.check_etag(etag)
        if secret:
            problems = domain.check_secret(secret, "signing_secret")
            if problems:
                raise InvalidArgument(problems)
        return self._save(hook, hook.rotate(secret or domain.new_secret(), self.clock(),
                                            self.secret_overlap if overlap is None else overlap))

    # --- the delivery log ---

    def _delivery_name(self, name: str) -> tuple[Webhook, str]:
        workspace, webhook_id, delivery_id = domain.check_parent_name(name)
        hook = self.get(f"workspaces/{workspace}/webhooks/{webhook_id}")
        return hook, delivery_id

    def get_delivery(self, name: str) -> Delivery:
        hook, delivery_id = self._delivery_name(name)
        delivery = self.store.get_delivery(hook.workspace, hook.id, delivery_id)
        if delivery is None:
            raise NotFound(name)
        return delivery

    def list_deliveries(self, parent: str, after: tuple[datetime, str] | None, limit: int) -> list[Delivery]:
        workspace, webhook_id = name_field(parent, "webhooks", "parent")
        hook = self.store.get(workspace, webhook_id)
        if hook is None:
            raise NotFound(parent)
        return self.store.list_deliveries(hook.workspace, hook.id, after, limit)

    def replay(self, name: str) -> Delivery:
        """The delivery queued again now, with the same webhook-id and body."""
        delivery = self.get_delivery(name)
        again = domain.replayed(delivery, self.clock())
        if not self.store.replay(again):
            raise FailedPrecondition(f"{name} is already pending")
        return again

    # --- :test ---

    def test_delivery(self, name: str) -> tuple[Webhook, Delivery]:
        """A `webhook.ping` delivery for the webhook, not yet stored."""
        hook = self.get(name)
        now = self.clock()
        delivery_id = self.new_id()
        body = domain.payload(domain.PING, now, {"webhook": hook.name, "workspace": f"workspaces/{hook.workspace}"})
        return hook, Delivery(workspace=hook.workspace, webhook_id=hook.id, id=delivery_id,
                              event_id=delivery_id, event_type=domain.PING, body=body, create_time=now)

    def record_test(self, delivery: Delivery, attempt: Attempt) -> Delivery:
        """The test's outcome in the delivery log (final either way: a test is not retried)."""
        done = domain.after_attempt(delivery, attempt, self.clock(), ())
        if attempt.ok:
            done = replace(done, state=domain.SUCCEEDED)
        else:
            done = replace(done, state=domain.FAILED, error=attempt.error or f"HTTP {attempt.response_code}")
        self.store.add_delivery(done)
        return done

    # --- one event for one named webhook (a journey's call_webhook step) ---

    def deliver_event(self, name: str, event_type: str, data: Mapping[str, Any], idempotency_key: str,
                      validate_only: bool = False) -> Delivery:
        """Queues `event_type` with `data` for the webhook named (its event_types do not filter: the caller
        chose it) into the delivery pipeline. The same key again answers the first delivery. A FAILING
        webhook refuses (FailedPrecondition: a caller records the skip); a PAUSED one keeps the delivery
        until resumed."""
        workspace, webhook_id = name_field(name, "webhooks", "webhook")
        hook = self.store.get(workspace, webhook_id)
        if hook is None:
            raise NotFound(name)
        if hook.state == domain.FAILING:
            raise FailedPrecondition(f"{name} is disabled (FAILING): {hook.state_message or 'deliveries failed'}; "
                                     f"resume it first", metadata={"state": hook.state})
        now = self.clock()
        delivery = Delivery(workspace=hook.workspace, webhook_id=hook.id, id=self.new_id(),
                            event_id=domain.keyed_event_id(idempotency_key), event_type=event_type,
                            body=domain.payload(event_type, now, {"workspace": f"workspaces/{hook.workspace}",
                                                                  **dict(data)}),
                            create_time=now, next_attempt_time=now)
        if validate_only:
            return delivery
        return self.store.enqueue(delivery)
