"""Resource names of the notify API parsed into their ids; a malformed one is
an INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import name_field as resource
from svc_kit.names import parent_field as parent

from svc_notify.domain.validation import EXTERNAL_ID


__all__ = ["deliveries_parent", "inbox", "inbox_item", "parent", "resource", "settings"]


def inbox(value: str, field: str = "name") -> tuple[str, str]:
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "inboxes" or not EXTERNAL_ID.fullmatch(parts[3]):
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/inboxes/{{profile}}`"))
    return parent("/".join(parts[:2]), field), parts[3]


def inbox_item(value: str, field: str = "name") -> tuple[str, str, str]:
    inbox_name, slash, item = value.rpartition("/items/")
    if not slash or not item or "/" in item:
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/inboxes/{{profile}}"
                                                    "/items/{item}`"))
    workspace, profile = inbox(inbox_name, field)
    return workspace, profile, item


def settings(value: str, field: str = "name") -> str:
    workspace, slash, rest = value.rpartition("/")
    if not slash or rest != "notifySettings":
        raise InvalidArgument(FieldViolation(field, f"{value!r} is not `workspaces/{{workspace}}/notifySettings`"))
    return parent(workspace, field)


def deliveries_parent(value: str) -> tuple[str, str | None]:
    """A message's deliveries (workspace, message id), or every message's: `.../messages/-` (workspace, None)."""
    if value.endswith("/messages/-"):
        return parent(value.removesuffix("/messages/-")), None
    return resource(value, "messages", "parent")
