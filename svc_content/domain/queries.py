"""List filters: `channel = CHANNEL_EMAIL AND unpublished_changes = true AND labels.team = growth`
for templates; `content_type = "image/png" AND sha256 = "..." AND labels.team:*` for assets."""

from __future__ import annotations

from dataclasses import dataclass, field

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.filtering import Term, parse_filter


def _error(message: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation("filter", message))


@dataclass(frozen=True)
class Labels:
    equal: tuple[tuple[str, str], ...] = ()
    not_equal: tuple[tuple[str, str], ...] = ()
    present: tuple[str, ...] = ()

    def key(self) -> list:
        return [sorted(self.equal), sorted(self.not_equal), sorted(self.present)]


def _label_term(term: Term, labels: dict[str, list]) -> bool:
    if not term.field.startswith("labels."):
        return False
    key = term.field.removeprefix("labels.")
    if term.op == "has":
        labels["present"].append(key)
    elif term.op == "=":
        labels["equal"].append((key, term.value))
    elif term.op == "!=":
        labels["not_equal"].append((key, term.value))
    return True


def _labels(found: dict[str, list]) -> Labels:
    return Labels(tuple(found["equal"]), tuple(found["not_equal"]), tuple(found["present"]))


@dataclass(frozen=True)
class TemplateFilter:
    channel: Channel | None = None
    unpublished_changes: bool | None = None
    labels: Labels = field(default_factory=Labels)

    @classmethod
    def parse(cls, text: str) -> TemplateFilter:
        channel, unpublished = None, None
        labels: dict[str, list] = {"equal": [], "not_equal": [], "present": []}
        for term in parse_filter(text):
            if _label_term(term, labels):
                continue
            if term.field == "channel" and term.op == "=":
                channel = Channel.__members__.get(term.value.removeprefix("CHANNEL_"))
                if channel is None or not term.value.startswith("CHANNEL_"):
                    raise _error(f"unknown channel {term.value!r}; one of {Channel.known_names()}")
            elif term.field == "unpublished_changes" and term.op == "=" and term.value in ("true", "false"):
                unpublished = term.value == "true"
            else:
                raise _error(f"unsupported term `{term.field} {term.op} {term.value}`: use channel = CHANNEL_..., "
                             "unpublished_changes = true|false, labels.<key> = <value>, labels.<key>:*")
        return cls(channel, unpublished, _labels(labels))

    def key(self) -> list:
        return [self.channel.value if self.channel else None, self.unpublished_changes, self.labels.key()]


@dataclass(frozen=True)
class AssetFilter:
    content_type: str | None = None
    sha256: str | None = None
    labels: Labels = field(default_factory=Labels)

    @classmethod
    def parse(cls, text: str) -> AssetFilter:
        content_type, sha256 = None, None
        labels: dict[str, list] = {"equal": [], "not_equal": [], "present": []}
        for term in parse_filter(text):
            if _label_term(term, labels):
                continue
            if term.field == "content_type" and term.op == "=":
                content_type = term.value
            elif term.field == "sha256" and term.op == "=":
                sha256 = term.value.lower()
            else:
                raise _error(f"unsupported term `{term.field} {term.op} {term.value}`: use content_type = \"...\", "
                             "sha256 = \"...\", labels.<key> = <value>, labels.<key>:*")
        return cls(content_type, sha256, _labels(labels))

    def key(self) -> list:
        return [self.content_type, self.sha256, self.labels.key()]
