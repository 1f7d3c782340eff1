"""The variables a template may read: the namespace checked at save time.

    profile.email  profile.phone  profile.locale  profile.time_zone
    profile.external_id            the profile's id in the workspace (last segment of its name)
    profile.name                   its resource name, workspaces/{w}/profiles/{id}
    profile.first_name  profile.last_name    the attributes `first_name` / `last_name`
    profile.attributes.<key>       any custom attribute (text, number, true/false, time, list)
    campaign.id  campaign.name     the campaign rendered for (its id and display name)
    message.id                     the notify message rendered for
    message.unsubscribe_url        signed one-click unsubscribe link (the audience service's)
    message.view_in_browser_url    the message as a web page (served by the notify service)
    segments                       ids of the recipient's segments: {% if segments contains "vip" %}
    data.<anything>                free-form values passed with the render request

plus the template's own names (`assign`, `capture`, loop variables), which may
not reuse the roots above. Missing values render as empty text, or as the
template-level default for that path (`defaults`), or through Liquid's
`default` filter."""

from __future__ import annotations

import difflib
import re

PROFILE_FIELDS = ("email", "phone", "locale", "time_zone", "external_id", "name", "first_name", "last_name")
CAMPAIGN_FIELDS = ("id", "name")
MESSAGE_FIELDS = ("id", "unsubscribe_url", "view_in_browser_url")
ROOTS = ("profile", "campaign", "message", "segments", "data")
# Properties Liquid gives every value: `{{ profile.email.size }}`, `segments.first`.
SPECIAL = ("size", "first", "last")
# Batch-constant roots: the same for every recipient of one render call.
BATCH_ROOTS = frozenset({"campaign"})

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,62}")


def _suggest(text: str) -> str:
    """A known name close to an unknown one: profile.nme -> profile.name."""
    root, _, rest = text.partition(".")
    fields = {"profile": PROFILE_FIELDS + ("attributes",), "campaign": CAMPAIGN_FIELDS,
              "message": MESSAGE_FIELDS}.get(root)
    if fields is None:
        close = difflib.get_close_matches(root, ROOTS, n=1, cutoff=0.7)
        return f" (did you mean {close[0]}{'.' + rest if rest else ''}?)" if close else ""
    name = rest.split(".")[0]
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.7)
    return f" (did you mean {root}.{close[0]}?)" if close else ""


def check_variable(segments: list) -> str | None:
    """Why a variable path (Liquid's segments: str, int or a nested path list)
    is outside the namespace, or None when it is known."""
    root = segments[0]
    text = _text(segments)
    if root not in ROOTS:
        return f"unknown variable {text}{_suggest(text)}; known: profile.*, campaign.*, message.*, segments, data.*"
    if root == "data":
        return None
    if len(segments) == 1:
        return None
    second = segments[1]
    if not isinstance(second, str):
        return f"{text}: {root} is looked up by name, not by a computed key"
    if root == "segments":
        return None if second in SPECIAL else f"unknown variable {text}; `segments` is a list of segment ids"
    if root == "profile":
        if second == "attributes":
            if len(segments) > 2 and not isinstance(segments[2], (str, list)):
                return f"{text}: attributes are looked up by key"
            return None
        if second not in PROFILE_FIELDS:
            return f"unknown variable {text}{_suggest(text)}"
        return _tail(segments, 2, text)
    fields = CAMPAIGN_FIELDS if root == "campaign" else MESSAGE_FIELDS
    if second not in fields:
        return f"unknown variable {text}{_suggest(text)}"
    return _tail(segments, 2, text)


def _tail(segments: list, start: int, text: str) -> str | None:
    for segment in segments[start:]:
        if segment not in SPECIAL:
            return f"unknown variable {text}: {'.'.join(map(str, segments[:start]))} is a plain value"
    return None


def _text(segments: list) -> str:
    out = str(segments[0])
    for segment in segments[1:]:
        if isinstance(segment, list):
            out += f"[{_text(segment)}]"
        elif isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += f".{segment}"
    return out


def check_default_key(path: str) -> str | None:
    """Why `path` cannot carry a template-level default, or None."""
    parts = path.split(".")
    if not all(_KEY.fullmatch(p) for p in parts):
        return "must be a variable path such as profile.first_name or profile.attributes.city"
    if len(parts) < 2 and parts[0] != "segments":
        return "name a field, for example profile.first_name"
    if parts[0] == "message":
        return "message.* values are made by the service, not defaulted"
    if parts[0] == "segments":
        return "segments cannot be defaulted"
    if parts[0] == "profile" and len(parts) == 2 and parts[1] == "attributes":
        return "name one attribute: profile.attributes.<key>"
    if parts[0] == "profile" and parts[1:2] == ["attributes"] and len(parts) != 3:
        return "name one attribute: profile.attributes.<key>"
    return check_variable(parts)
