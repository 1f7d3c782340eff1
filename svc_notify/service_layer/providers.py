"""Use cases of providers: create with an idempotency key, read, list, update
with an update mask and etag, delete, and try one out (connect, or send a test
message) with senders of its own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from svc_kit import pagination
from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound
from svc_kit.filtering import parse_filter
from svc_kit.idempotency import create_once, fingerprint

from svc_notify.domain.model import EmailContent
from svc_notify.domain.providers import KIND_NAME, FcmConfig, Provider, SmtpConfig, TwilioConfig
from svc_notify.service_layer.ports import Clock, ConfigurationError, OutgoingEmail, Outcome, Senders
from svc_notify.service_layer.repositories import ProviderFilter
from svc_notify.service_layer.unit_of_work import UnitOfWork

PROVIDER_PATHS = frozenset({"display_name", "smtp", "twilio", "fcm", "priority", "rate_limit",
                            "domain_rate_limits", "disabled", "unit_cost"})


def _name(workspace: str, provider_id: str) -> str:
    return f"workspaces/{workspace}/providers/{provider_id}"


def _checked(provider: Provider) -> Provider:
    problems = provider.violations()
    if problems:
        raise InvalidArgument(problems)
    return provider


def _fingerprint(provider: Provider, provider_id: str) -> str:
    return fingerprint(provider_id, provider.display_name, provider.channel.value if provider.channel else None,
                       provider.kind, dataclasses.asdict(provider.config) if provider.config else None,
                       provider.priority, dataclasses.asdict(provider.rate_limit) if provider.rate_limit else None,
                       [dataclasses.asdict(d) for d in provider.domain_rate_limits], provider.disabled,
                       dataclasses.asdict(provider.unit_cost) if provider.unit_cost else None)


def create_provider(draft: Provider, provider_id: str, request_id: str, validate_only: bool, uow: UnitOfWork,
                    clock: Clock, new_id: Callable[[], str]) -> Provider:
    # provider_id's format: a rule of notify_service.proto (svc_kit.validation).
    now = clock()
    provider = _checked(dataclasses.replace(draft, id=provider_id or f"p{new_id()}", create_time=now,
                                            update_time=now, version=1))
    return create_once(uow, request_id, _fingerprint(draft, provider_id),
                       find=lambda: uow.providers.find_by_request(draft.workspace, request_id),
                       build=lambda: provider, name=lambda p: p.name,
                       exists=lambda p: uow.providers.get(p.workspace, p.id) is not None,
                       add=lambda p, *key: uow.providers.add(p, *key), validate_only=validate_only)


def get_provider(workspace: str, provider_id: str, uow: UnitOfWork) -> Provider:
    with uow:
        provider = uow.providers.get(workspace, provider_id)
    if provider is None:
        raise NotFound(_name(workspace, provider_id))
    return provider


def parse_provider_filter(text: str) -> ProviderFilter:
    channel, disabled = None, None
    for term in parse_filter(text):
        if term.field == "channel" and term.op == "=":
            value = term.value.removeprefix("CHANNEL_")
            if value not in {c.value for c in Channel}:
                raise InvalidArgument(FieldViolation("filter", f"channel is one of {Channel.known_names()}"))
            channel = Channel(value)
        elif term.field == "disabled" and term.op == "=" and term.value in ("true", "false"):
            disabled = term.value == "true"
        else:
            raise InvalidArgument(FieldViolation("filter", f"unsupported term `{term.field} {term.op}`; use "
                                                           "channel = CHANNEL_EMAIL or disabled = true|false"))
    return ProviderFilter(channel, disabled)


def list_providers(workspace: str, filter_text: str, page_size: int, page_token: str,
                   uow: UnitOfWork) -> tuple[list[Provider], str]:
    size = pagination.page_size(page_size)
    where = parse_provider_filter(filter_text)
    query_key = pagination.fingerprint(workspace, "providers", filter_text)
    position = pagination.decode_token(page_token, query_key)
    after = None
    if position is not None:
        if len(position) != 3 or not isinstance(position[1], int):
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        after = (str(position[0]), position[1], str(position[2]))
    with uow:
        rows = uow.providers.list(workspace, where, after, size + 1)
    page = rows[:size]
    token = ""
    if len(rows) > size:
        last = page[-1]
        token = pagination.encode_token([last.channel.value, last.priority, last.id], query_key)
    return page, token


def update_provider(change: Provider, paths: list[str], validate_only: bool, etag: str, uow: UnitOfWork,
                    clock: Clock) -> Provider:
    wanted = set(paths)
    if wanted == {"*"}:
        wanted = set(PROVIDER_PATHS) - {"smtp", "twilio", "fcm"} | ({change.kind} if change.config else set())
    unknown = sorted(wanted - PROVIDER_PATHS - {"channel"})
    if not wanted or unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"name fields among {', '.join(sorted(PROVIDER_PATHS))}"
                                             + (f"; cannot change: {', '.join(unknown)}" if unknown else "")))
    with uow:
        current = uow.providers.get(change.workspace, change.id)
        if current is None:
            raise NotFound(_name(change.workspace, change.id))
        current.check_etag(etag)
        if "channel" in wanted and change.channel is not current.channel:
            raise InvalidArgument(FieldViolation("provider.channel", "is immutable; create another provider"))
        updates: dict = {}
        for path in wanted - {"channel"}:
            if path in KIND_NAME.values():
                if change.kind != path:
                    raise InvalidArgument(FieldViolation(f"provider.{path}", f"the mask names {path} but the "
                                                                             "provider given has no such config"))
                updates["config"] = change.config
            else:
                updates[path] = getattr(change, path)
        updated = _checked(dataclasses.replace(current, **updates, update_time=clock(), version=current.version + 1))
        if validate_only:
            return updated
        uow.providers.save(updated, current.version)
        uow.commit()
    return updated


def delete_provider(workspace: str, provider_id: str, etag: str, uow: UnitOfWork) -> None:
    with uow:
        current = uow.providers.get(workspace, provider_id)
        if current is None:
            raise NotFound(_name(workspace, provider_id))
        current.check_etag(etag)
        if not uow.providers.remove(workspace, provider_id, current.version if etag else None):
            raise NotFound(_name(workspace, provider_id))
        uow.commit()


async def try_provider(provider: Provider, etag: str, address: str, senders: Callable[[], Senders], clock: Clock,
                       new_id: Callable[[], str]) -> Outcome:
    """Connects and authenticates (no address), or sends a test message to `address`, with
    senders of its own (closed afterwards); a provider that cannot be built is "not usable"."""
    provider.check_etag(etag)
    registry = senders()
    try:
        try:
            sender = registry.sender(provider)
        except ConfigurationError as error:
            return Outcome.transient(f"not usable: {error}")
        config = provider.config
        if not address:
            return await sender.check()
        if isinstance(config, SmtpConfig):
            content = EmailContent(subject="Test message from the marketing platform",
                                   text=f"This is a test of provider {provider.name}.")
            return await sender.send_email(OutgoingEmail.of(content, provider, address, new_id(), provider.workspace,
                                                            clock()))
        if isinstance(config, TwilioConfig):
            return await sender.send(address, f"Test message from {provider.display_name}", f"test/{new_id()}")
        if isinstance(config, FcmConfig):
            return await sender.send(address, "Test", f"Test message from {provider.display_name}", {}, "",
                                     f"test/{new_id()}")
        raise NotFound(provider.name)  # pragma: no cover
    finally:
        await registry.close()
