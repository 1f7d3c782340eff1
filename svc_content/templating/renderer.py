"""Rendering a template (a draft or a version) for recipients.

`CompiledTemplate` holds one template version compiled once (every field of
the content and of each variant, with and without link tracking, compiled on
first use); `render_batch` renders it for many recipients: the variant by
weight, template-level defaults for missing values, the links signed for the
recipient, one result per recipient (an error for one never stops the others)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from liquid.exceptions import LiquidError

from svc_kit.channels import Channel

from svc_content.domain.model import Content, InAppContent, PushContent, Variant
from svc_content.templating import sandbox
from svc_content.templating.compiled import LINKS_KEY, BoundField, CompiledField, add_tracking
from svc_content.templating.links import LinkFactory, RecipientLinks
from svc_content.templating.variants import VariantPicker

MAX_SUBJECT = 998


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str
    from_name: str
    from_address: str
    reply_to: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RenderedSms:
    body: str


@dataclass(frozen=True)
class RenderedPush:
    title: str
    body: str
    data: dict[str, str]
    image_url: str
    deep_link: str


@dataclass(frozen=True)
class RenderedInApp:
    title: str
    body: str
    image_url: str
    actions: tuple[tuple[str, str], ...]
    data: dict[str, str]


Rendered = RenderedEmail | RenderedSms | RenderedPush | RenderedInApp


@dataclass(frozen=True)
class Recipient:
    profile_id: str  # external id; "" when the render names no profile
    profile: dict  # the `profile` namespace (profile_namespace)
    segments: Sequence[str] = ()  # segment ids
    data: dict = field(default_factory=dict)
    message_id: str = ""


@dataclass
class RecipientResult:
    recipient: Recipient
    content: Rendered | None = None
    variant: str = ""
    error: str = ""  # why the recipient could not be rendered: "<field>: line N: ..."
    code: str = ""  # the gRPC status code name of the error
    warnings: list[str] = field(default_factory=list)


def profile_namespace(external_id: str, name: str = "", email: str = "", phone: str = "", locale: str = "",
                      time_zone: str = "", attributes: dict | None = None) -> dict:
    attributes = attributes or {}
    return {"external_id": external_id, "name": name, "email": email, "phone": phone, "locale": locale,
            "time_zone": time_zone, "first_name": attributes.get("first_name"),
            "last_name": attributes.get("last_name"), "attributes": attributes}


# -- one content, compiled -----------------------------------------------------------------------------


class CompiledContent:
    def __init__(self, content: Content, field_prefix: str, tracked: bool):
        self.kind = content.kind
        self.content = content
        self.tracked = tracked
        self.names: list[str] = []
        self.fields: list[CompiledField] = []
        self.link_count = 0
        for name, source in content.rendered_sources():
            if tracked and name == "html":
                source, self.link_count = add_tracking(source)
            self.names.append(f"{field_prefix}.{content.kind}.{name}")
            self.fields.append(CompiledField(source))

    def bind(self, batch_namespace: dict) -> BoundContent:
        return BoundContent(self, [f.bind(batch_namespace) for f in self.fields])


class BoundContent:
    __slots__ = ("compiled", "fields")

    def __init__(self, compiled: CompiledContent, fields: list[BoundField]):
        self.compiled = compiled
        self.fields = fields

    def render(self, namespace: dict, links: RecipientLinks | None) -> Rendered:
        values = []
        i = 0
        try:
            for bound in self.fields:
                values.append(bound.render(namespace))
                i += 1
        except LiquidError as error:
            raise FieldError(self.compiled.names[i],
                             sandbox.describe_render_error(error, self.compiled.fields[i].source)) from None
        return _ASSEMBLE[self.compiled.kind](self.compiled, values, links)


class FieldError(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _email(compiled: CompiledContent, values: list[str], links: RecipientLinks | None) -> RenderedEmail:
    subject = values[0]
    if len(subject) > MAX_SUBJECT:
        raise FieldError(compiled.names[0], f"the rendered subject has {len(subject):,} characters; "
                                            f"at most {MAX_SUBJECT}")
    headers = tuple(links.headers()) if links is not None and compiled.tracked else ()
    return RenderedEmail(subject, values[1], values[2], values[3], values[4], values[5], values[6], headers)


def _sms(compiled, values, links) -> RenderedSms:
    return RenderedSms(values[0])


def _push(compiled, values, links) -> RenderedPush:
    content: PushContent = compiled.content
    keys = sorted(content.data)
    return RenderedPush(values[0], values[1], dict(zip(keys, values[2:2 + len(keys)])),
                        values[2 + len(keys)], values[3 + len(keys)])


def _in_app(compiled, values, links) -> RenderedInApp:
    content: InAppContent = compiled.content
    n = len(content.actions)
    actions = tuple((values[3 + 2 * i], values[4 + 2 * i]) for i in range(n))
    keys = sorted(content.data)
    return RenderedInApp(values[0], values[1], values[2], actions, dict(zip(keys, values[3 + 2 * n:])))


_ASSEMBLE = {"email": _email, "sms": _sms, "push": _push, "in_app": _in_app}


# -- a template version, compiled ------------------------------------------------------------------------


def _parse_default(path: str) -> tuple[str, tuple[str, ...]]:
    root, *rest = path.split(".")
    return root, tuple(rest)


class CompiledTemplate:
    """One template version (or draft revision), compiled once and cached."""

    def __init__(self, channel: Channel, content: Content | None, variants: Sequence[Variant],
                 defaults: dict[str, str], variables: Sequence[str]):
        self.channel = channel
        self.contents: dict[str, tuple[Content | None, str]] = (
            {v.id: (v.content, f"template.variants[{i}].content") for i, v in enumerate(variants)}
            if variants else {"": (content, "template.content")})
        self.picker = VariantPicker([(v.id, v.weight) for v in variants]) if variants else None
        self.defaults = [(path, _parse_default(path), value) for path, value in sorted(defaults.items())]
        self.needs_unsubscribe = "message.unsubscribe_url" in variables
        self.needs_view = "message.view_in_browser_url" in variables
        self._compiled: dict[tuple[str, bool], CompiledContent] = {}

    def variant_ids(self) -> list[str]:
        return [k for k in self.contents if k]

    def compiled(self, variant: str, tracked: bool) -> CompiledContent:
        key = (variant, tracked and self.channel is Channel.EMAIL)
        found = self._compiled.get(key)
        if found is None:
            content, prefix = self.contents[variant]
            if content is None:
                raise FieldError(prefix, "the template has no content to render")
            found = self._compiled[key] = CompiledContent(content, prefix, key[1])
        return found


@dataclass(frozen=True)
class BatchContext:
    workspace: str
    seed: str  # variant assignment seed: the campaign's name, else the template's
    campaign: dict  # the `campaign` namespace: {"id": ..., "name": ...}
    tracking: bool
    links: LinkFactory | None  # None when no signing key is configured
    variant: str = ""  # render this variant for everyone (RenderTemplate's `variant`)
    warnings: tuple[str, ...] = ()  # said of every recipient


def _missing(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _with_default(namespace: dict, root: str, path: tuple[str, ...], value: str) -> bool:
    """Puts `value` at root.path when missing there, copying the dictionaries on
    the way (they may belong to the caller); True when it did."""
    container = namespace.get(root)
    chain = [container if isinstance(container, dict) else {}]
    for key in path[:-1]:
        nxt = chain[-1].get(key)
        chain.append(nxt if isinstance(nxt, dict) else {})
    if not _missing(chain[-1].get(path[-1])):
        return False
    new = value
    for key, holder in zip(reversed(path), reversed(chain)):
        new = {**holder, key: new}
    namespace[root] = new
    if root == "profile" and path[0] == "attributes" and len(path) == 2 and path[1] in ("first_name", "last_name"):
        namespace[root] = {**new, path[1]: value} if _missing(new.get(path[1])) else new
    return True


def render_batch(template: CompiledTemplate, recipients: Sequence[Recipient],
                 batch: BatchContext) -> list[RecipientResult]:
    campaign = dict(batch.campaign)
    batch_warnings: list[str] = list(batch.warnings)
    for path, (root, rest), value in template.defaults:
        if root == "campaign" and _with_default(holder := {"campaign": campaign}, root, rest, value):
            campaign = holder["campaign"]
            batch_warnings.append(f"{path}: missing, used the template default {value!r}")
    recipient_defaults = [d for d in template.defaults if d[1][0] != "campaign"]
    batch_namespace = {"campaign": campaign}
    bound: dict[str, BoundContent] = {}
    picker = template.picker
    tracked = batch.tracking and template.channel is Channel.EMAIL
    factory = batch.links
    wants_links = factory is not None and (tracked or template.needs_unsubscribe or template.needs_view)
    results = []
    for recipient in recipients:
        result = RecipientResult(recipient, warnings=list(batch_warnings))
        results.append(result)
        variant = batch.variant or (picker.pick(batch.seed, recipient.profile_id) if picker is not None else "")
        result.variant = variant
        try:
            content = bound.get(variant)
            if content is None:
                content = bound[variant] = template.compiled(variant, tracked).bind(batch_namespace)
            links = factory.for_recipient(recipient.profile_id, recipient.message_id) if wants_links else None
            message = {"id": recipient.message_id}
            if template.needs_unsubscribe:
                message["unsubscribe_url"] = links.unsubscribe_url if links is not None else ""
            if template.needs_view:
                message["view_in_browser_url"] = links.view_in_browser_url if links is not None else ""
            namespace = {"profile": recipient.profile, "campaign": campaign, "message": message,
                         "segments": recipient.segments, "data": recipient.data,
                         LINKS_KEY: links if tracked else None}
            if tracked and not recipient.message_id:
                result.warnings.append("context.message is empty: tracking links name no message ('-')")
            if links is None and (template.needs_unsubscribe or template.needs_view):
                result.warnings.append("message links are empty: MKT_LINK_SIGNING_KEY is not set")
            for path, (root, rest), value in recipient_defaults:
                if _with_default(namespace, root, rest, value):
                    result.warnings.append(f"{path}: missing, used the template default {value!r}")
            result.content = content.render(namespace, links if tracked else None)
        except FieldError as error:
            result.error = str(error)
            result.code = "INVALID_ARGUMENT"
    return results
