"""The content service's model: templates (an editable draft plus immutable
published versions), their per-channel content and A/B variants, and assets.

Pure data and rules; the Liquid and MJML work lives in `svc_content.templating`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Union

from svc_kit.channels import Channel
from svc_kit.errors import Aborted


@dataclass(frozen=True)
class EmailContent:
    subject: str = ""
    preheader: str = ""
    html: str = ""  # HTML, or MJML source when `mjml`
    text: str = ""  # the plain-text part as written; empty: generated from the HTML
    mjml: bool = False
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    compiled_html: str = ""  # output: the HTML that is rendered (MJML compiled at save time)
    compiled_text: str = ""  # output: the plain text that is rendered

    channel = Channel.EMAIL
    kind = "email"

    def sources(self) -> list[tuple[str, str]]:
        """The Liquid fields as written, (field name, source)."""
        return [("subject", self.subject), ("preheader", self.preheader), ("html", self.html),
                ("text", self.text), ("from_name", self.from_name), ("from_address", self.from_address),
                ("reply_to", self.reply_to)]

    def rendered_sources(self) -> list[tuple[str, str]]:
        """The Liquid fields that are rendered for a recipient (compiled HTML and text)."""
        return [("subject", self.subject), ("preheader", self.preheader), ("html", self.compiled_html),
                ("text", self.compiled_text), ("from_name", self.from_name),
                ("from_address", self.from_address), ("reply_to", self.reply_to)]

    def editable(self) -> EmailContent:
        return replace(self, compiled_html="", compiled_text="")


@dataclass(frozen=True)
class SmsContent:
    body: str = ""

    channel = Channel.SMS
    kind = "sms"

    def sources(self) -> list[tuple[str, str]]:
        return [("body", self.body)]

    rendered_sources = sources

    def editable(self) -> SmsContent:
        return self


@dataclass(frozen=True)
class PushContent:
    title: str = ""
    body: str = ""
    data: dict[str, str] = field(default_factory=dict)
    image_url: str = ""
    deep_link: str = ""

    channel = Channel.PUSH
    kind = "push"

    def sources(self) -> list[tuple[str, str]]:
        return ([("title", self.title), ("body", self.body)]
                + [(f"data.{k}", v) for k, v in sorted(self.data.items())]
                + [("image_url", self.image_url), ("deep_link", self.deep_link)])

    rendered_sources = sources

    def editable(self) -> PushContent:
        return self


@dataclass(frozen=True)
class InAppAction:
    label: str = ""
    url: str = ""


@dataclass(frozen=True)
class InAppContent:
    title: str = ""
    body: str = ""
    image_url: str = ""
    actions: tuple[InAppAction, ...] = ()
    data: dict[str, str] = field(default_factory=dict)
    time_to_live_seconds: float | None = None

    channel = Channel.IN_APP
    kind = "in_app"

    def sources(self) -> list[tuple[str, str]]:
        out = [("title", self.title), ("body", self.body), ("image_url", self.image_url)]
        for i, action in enumerate(self.actions):
            out += [(f"actions[{i}].label", action.label), (f"actions[{i}].url", action.url)]
        return out + [(f"data.{k}", v) for k, v in sorted(self.data.items())]

    rendered_sources = sources

    def editable(self) -> InAppContent:
        return self


Content = Union[EmailContent, SmsContent, PushContent, InAppContent]
CONTENT_TYPES: dict[Channel, type] = {c.channel: c for c in (EmailContent, SmsContent, PushContent, InAppContent)}


@dataclass(frozen=True)
class Variant:
    id: str
    display_name: str = ""
    weight: int = 0
    content: Content | None = None


@dataclass(frozen=True)
class TemplateDraft:
    """What a caller writes: every editable field of a template."""

    display_name: str = ""
    description: str = ""
    content: Content | None = None
    variants: tuple[Variant, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    def published_part(self) -> dict:
        """What a version freezes (and what `unpublished_changes` compares)."""
        return {"content": _plain(self.content), "variants": [_plain(v) for v in self.variants],
                "defaults": dict(sorted(self.defaults.items()))}

    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.published_part(), sort_keys=True).encode()).hexdigest()


def _plain(value) -> object:
    return None if value is None else asdict(value)


@dataclass(frozen=True)
class Analysis:
    """What static analysis found in a checked draft or version."""

    variables: tuple[str, ...] = ()  # e.g. profile.email, profile.attributes.tier
    segments: tuple[str, ...] = ()  # segment ids that `segments contains "..."` tests


@dataclass
class Template:
    workspace: str
    id: str
    channel: Channel
    draft: TemplateDraft
    analysis: Analysis
    create_time: datetime
    update_time: datetime
    revision: int = 1  # moves on every change of the draft or its versions
    latest_version: int = 0  # 0: never published
    published_hash: str = ""  # content_hash() of the draft as last published

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/templates/{self.id}"

    @property
    def etag(self) -> str:
        return etag_of(self.workspace, self.id, self.revision)

    @property
    def unpublished_changes(self) -> bool:
        return self.draft.content_hash() != self.published_hash

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag!r} was read (it is now {self.etag!r}); "
                          "read it again and retry")

    def version_name(self, number: int) -> str:
        return f"{self.name}/versions/{number}"


@dataclass(frozen=True)
class TemplateVersion:
    workspace: str
    template_id: str
    number: int
    channel: Channel
    content: Content | None
    variants: tuple[Variant, ...]
    defaults: dict[str, str]
    change_note: str
    analysis: Analysis
    create_time: datetime

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/templates/{self.template_id}/versions/{self.number}"


def etag_of(*parts: object) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    content_type: str
    size_bytes: int
    sha256: str


@dataclass
class Asset:
    workspace: str
    id: str
    display_name: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    labels: dict[str, str]
    create_time: datetime
    update_time: datetime
    renditions: list[Rendition] = field(default_factory=list)
    revision: int = 1
    deleted: bool = False  # hidden, still served while a published version refers to it

    @property
    def name(self) -> str:
        return f"workspaces/{self.workspace}/assets/{self.id}"

    @property
    def etag(self) -> str:
        return etag_of(self.workspace, "assets", self.id, self.revision)

    def check_etag(self, etag: str) -> None:
        if etag and etag != self.etag:
            raise Aborted(f"{self.name} changed since etag {etag!r} was read (it is now {self.etag!r}); "
                          "read it again and retry")
