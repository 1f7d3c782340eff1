"""Template use cases: create, read, list, update (mask + etag), delete, publish,
versions, restore. Each runs in one unit of work; every draft is checked
(`templating.check`) before it is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime

from svc_kit import pagination
from svc_kit.channels import Channel
from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.idempotency import create_once, fingerprint, replayed

from svc_content.domain import codec, validation
from svc_content.domain.model import (CONTENT_TYPES, Template, TemplateDraft, TemplateVersion)
from svc_content.domain.queries import TemplateFilter
from svc_content.service_layer.unit_of_work import UnitOfWork
from svc_content.templating.check import check_draft

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def template_name(workspace: str, template_id: str) -> str:
    return f"workspaces/{workspace}/templates/{template_id}"


def load(uow: UnitOfWork, workspace: str, template_id: str) -> Template:
    template = uow.templates.get(workspace, template_id)
    if template is None:
        raise NotFound(template_name(workspace, template_id))
    return template


# -- create, read, list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTemplate:
    workspace: str
    channel: Channel | None
    draft: TemplateDraft
    template_id: str = ""
    request_id: str = ""
    validate_only: bool = False


def create_template(cmd: CreateTemplate, uow: UnitOfWork, clock: Clock, new_id: IdFactory) -> Template:
    # template_id's format: a rule of content_service.proto (svc_kit.validation).
    if cmd.channel is None:
        raise InvalidArgument(FieldViolation("template.channel", f"required: one of {Channel.known_names()}"))
    draft, analysis = check_draft(cmd.draft, cmd.channel)
    now = clock()
    return create_once(
        uow, cmd.request_id, fingerprint(cmd.template_id, cmd.channel.value, codec.body_to_json(
            draft.content, draft.variants, draft.defaults), draft.display_name, draft.description, draft.labels),
        find=lambda: uow.templates.find_by_request_id(cmd.workspace, cmd.request_id),
        build=lambda: Template(cmd.workspace, cmd.template_id or new_id(), cmd.channel, draft, analysis, now, now),
        name=lambda template: template.name,
        exists=lambda template: uow.templates.get(cmd.workspace, template.id) is not None,
        add=lambda template, request_id, fingerprint_: uow.templates.add(template, request_id, fingerprint_),
        validate_only=cmd.validate_only)


def get_template(workspace: str, template_id: str, uow: UnitOfWork) -> Template:
    with uow:
        return load(uow, workspace, template_id)


@dataclass(frozen=True)
class TemplatePage:
    templates: list[Template]
    next_page_token: str
    total_size: int


def list_templates(workspace: str, page_size: int, page_token: str, filter_text: str,
                   uow: UnitOfWork) -> TemplatePage:
    where = TemplateFilter.parse(filter_text)
    with uow:
        page, token = pagination.timed_keyset_page(
            lambda after, limit: uow.templates.list(workspace, where, after, limit),
            lambda t: (t.create_time, t.id), page_size, page_token,
            pagination.fingerprint(workspace, "templates", where.key()))
        total = uow.templates.count(workspace, where)
    return TemplatePage(page, token, total)


# -- update ---------------------------------------------------------------------------------------------

_TOP = ("display_name", "description", "content", "variants", "labels", "defaults")
_OUTPUT_ONLY = ("name", "latest_version", "unpublished_changes", "variables", "segments", "create_time",
                "update_time", "etag")
_COMPILED = ("compiled_html", "compiled_text")


@dataclass(frozen=True)
class UpdateTemplate:
    workspace: str
    template_id: str
    draft: TemplateDraft  # the values sent; only the masked fields are taken
    paths: tuple[str, ...]
    etag: str = ""
    validate_only: bool = False


def _apply_path(current: TemplateDraft, sent: TemplateDraft, path: str, channel: Channel) -> TemplateDraft:
    if path in _TOP:
        return replace(current, **{path: getattr(sent, path)})
    parts = path.split(".")
    if parts[0] == "labels" and len(parts) == 2:
        labels = dict(current.labels)
        if parts[1] in sent.labels:
            labels[parts[1]] = sent.labels[parts[1]]
        else:
            labels.pop(parts[1], None)
        return replace(current, labels=labels)
    if parts[0] == "content" and len(parts) in (2, 3):
        kind_type = CONTENT_TYPES[channel]
        if parts[1] != kind_type.kind:
            raise InvalidArgument(FieldViolation("update_mask", f"{path}: the template's channel is "
                                                                f"{channel.value}, its content is {kind_type.kind}"))
        if len(parts) == 2:
            return replace(current, content=sent.content)
        names = {f.name for f in fields(kind_type)} - set(_COMPILED)
        if parts[2] not in names:
            raise InvalidArgument(FieldViolation("update_mask", f"{path}: {kind_type.kind} content has no field "
                                                                f"{parts[2]!r}"))
        base = current.content if current.content is not None else kind_type()
        source = sent.content if sent.content is not None else kind_type()
        return replace(current, content=replace(base, **{parts[2]: getattr(source, parts[2])}))
    raise InvalidArgument(FieldViolation("update_mask", f"unknown field {path!r}; writable: "
                                                        + ", ".join(_TOP) + ", content.<channel>.<field>"))


def update_template(cmd: UpdateTemplate, uow: UnitOfWork, clock: Clock) -> Template:
    if not cmd.paths:
        raise InvalidArgument(FieldViolation("update_mask", "required: the fields to change, or `*`"))
    for path in cmd.paths:
        if path == "channel":
            raise InvalidArgument(FieldViolation("update_mask", "channel is fixed once the template is created"))
        if path in _OUTPUT_ONLY:
            raise InvalidArgument(FieldViolation("update_mask", f"{path} is output only"))
    with uow:
        template = load(uow, cmd.workspace, cmd.template_id)
        template.check_etag(cmd.etag)
        draft = template.draft
        for path in (_TOP if "*" in cmd.paths else cmd.paths):
            draft = _apply_path(draft, cmd.draft, path, template.channel)
        checked, analysis = check_draft(draft, template.channel)
        if cmd.validate_only:
            return replace(template, draft=checked, analysis=analysis)
        if checked == template.draft:
            return template
        expected = template.revision
        template.draft, template.analysis = checked, analysis
        template.revision += 1
        template.update_time = clock()
        uow.templates.save(template, expected)
        uow.commit()
        return template


def delete_template(workspace: str, template_id: str, etag: str, referencing: list[str], uow: UnitOfWork) -> None:
    """`referencing`: the scheduled or running campaigns that send it (asked of the campaign service)."""
    with uow:
        template = load(uow, workspace, template_id)
        if referencing:
            raise FailedPrecondition(
                f"{template.name} is sent by {len(referencing)} scheduled or running campaign(s): "
                + ", ".join(referencing[:5]),
                [FieldViolation(name, "references the template") for name in referencing[:20]], "IN_USE")
        template.check_etag(etag)
        uow.templates.remove(workspace, template_id, template.revision)
        uow.commit()


# -- versions -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishTemplate:
    workspace: str
    template_id: str
    etag: str = ""
    change_note: str = ""
    request_id: str = ""


def publish_template(cmd: PublishTemplate, uow: UnitOfWork, clock: Clock) -> TemplateVersion:
    # request_id and change_note lengths: rules of content_service.proto (svc_kit.validation).
    fingerprint_ = fingerprint(cmd.change_note)
    with uow:
        if cmd.request_id and (found := uow.templates.find_version_by_request_id(
                cmd.workspace, cmd.template_id, cmd.request_id)):
            return replayed(*found, fingerprint_, cmd.request_id, found[0].name)
        template = load(uow, cmd.workspace, cmd.template_id)
        template.check_etag(cmd.etag)
        draft = template.draft
        missing = []
        if draft.variants:
            for i, variant in enumerate(draft.variants):
                missing += validation.missing_for_publish(variant.content, f"template.variants[{i}].content")
        else:
            missing = validation.missing_for_publish(draft.content, "template.content")
        if missing:
            raise FailedPrecondition(f"{template.name} cannot be published yet: " + "; ".join(
                f"{v.field} {v.description}" for v in missing), missing, "PUBLISH_READINESS")
        if template.latest_version and not template.unpublished_changes:
            raise FailedPrecondition(f"{template.name} has no changes since version {template.latest_version}")
        version = TemplateVersion(cmd.workspace, cmd.template_id, template.latest_version + 1, template.channel,
                                  draft.content, draft.variants, dict(draft.defaults), cmd.change_note,
                                  template.analysis, clock())
        uow.templates.add_version(version, cmd.request_id, fingerprint_)
        expected = template.revision
        template.latest_version = version.number
        template.published_hash = draft.content_hash()
        template.revision += 1
        uow.templates.save(template, expected)
        uow.commit()
        return version


def get_version(workspace: str, template_id: str, number: int, uow: UnitOfWork) -> TemplateVersion:
    with uow:
        version = uow.templates.get_version(workspace, template_id, number)
        if version is None:
            raise NotFound(f"{template_name(workspace, template_id)}/versions/{number}")
        return version


@dataclass(frozen=True)
class VersionPage:
    versions: list[TemplateVersion]
    next_page_token: str


def list_versions(workspace: str, template_id: str, page_size: int, page_token: str,
                  uow: UnitOfWork) -> VersionPage:
    size = pagination.page_size(page_size)
    query_key = pagination.fingerprint(workspace, template_id, "versions")
    position = pagination.decode_token(page_token, query_key)
    before = None
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], int):
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        before = position[0]
    with uow:
        load(uow, workspace, template_id)
        rows = uow.templates.list_versions(workspace, template_id, before, size + 1)
    page = rows[:size]
    token = pagination.encode_token([page[-1].number], query_key) if len(rows) > size else ""
    return VersionPage(page, token)


def restore_version(workspace: str, template_id: str, number: int, etag: str, uow: UnitOfWork,
                    clock: Clock) -> Template:
    with uow:
        template = load(uow, workspace, template_id)
        template.check_etag(etag)
        version = uow.templates.get_version(workspace, template_id, number)
        if version is None:
            raise NotFound(f"{template.name}/versions/{number}")
        restored = replace(template.draft, content=version.content, variants=version.variants,
                           defaults=dict(version.defaults))
        checked, analysis = check_draft(restored, template.channel)
        if checked == template.draft:
            return template
        expected = template.revision
        template.draft, template.analysis = checked, analysis
        template.revision += 1
        template.update_time = clock()
        uow.templates.save(template, expected)
        uow.commit()
        return template


# -- what a render reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderSource:
    """A draft or version as the renderer needs it."""

    key: tuple  # cache key: (workspace, template id, "r<revision>" or "v<number>")
    template_name: str
    version_name: str  # "" for the draft
    channel: Channel
    content: object
    variants: tuple
    defaults: dict[str, str]
    variables: tuple[str, ...]
    segments: tuple[str, ...]


def render_source(workspace: str, template_id: str, version: int | None, uow: UnitOfWork) -> RenderSource:
    with uow:
        if version is None:
            template = load(uow, workspace, template_id)
            draft = template.draft
            return RenderSource((workspace, template_id, f"r{template.revision}"), template.name, "",
                                template.channel, draft.content, draft.variants, dict(draft.defaults),
                                template.analysis.variables, template.analysis.segments)
        found = uow.templates.get_version(workspace, template_id, version)
        if found is None:
            raise NotFound(f"{template_name(workspace, template_id)}/versions/{version}")
        return RenderSource((workspace, template_id, f"v{version}"), template_name(workspace, template_id),
                            found.name, found.channel, found.content, found.variants, dict(found.defaults),
                            found.analysis.variables, found.analysis.segments)

