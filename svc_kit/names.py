"""Resource names of the form `workspaces/{workspace}/{collection}/{id}`."""

from __future__ import annotations

import re

from svc_kit.errors import FieldViolation, InvalidArgument

WORKSPACE_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
RESOURCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class ResourceNameError(ValueError):
    pass


def parse_parent(parent: str) -> str:
    """`workspaces/{workspace}` -> workspace id."""
    prefix, _, workspace = parent.partition("/")
    if prefix != "workspaces" or not WORKSPACE_ID.fullmatch(workspace):
        raise ResourceNameError(
            f"{parent!r} is not a workspace name `workspaces/{{workspace}}` with a workspace id of "
            "1-63 characters [a-z][a-z0-9-]*"
        )
    return workspace


def parse_name(name: str, collection: str) -> tuple[str, str]:
    """`workspaces/{workspace}/{collection}/{id}` -> (workspace, id)."""
    parts = name.split("/")
    if (
        len(parts) != 4
        or parts[0] != "workspaces"
        or parts[2] != collection
        or not WORKSPACE_ID.fullmatch(parts[1])
        or not RESOURCE_ID.fullmatch(parts[3])
    ):
        raise ResourceNameError(f"{name!r} is not a resource name `workspaces/{{workspace}}/{collection}/{{id}}`")
    return parts[1], parts[3]


def format_name(workspace: str, collection: str, resource_id: str) -> str:
    return f"workspaces/{workspace}/{collection}/{resource_id}"


def parent_field(value: str, field: str = "parent") -> str:
    """parse_parent for a request field: InvalidArgument naming `field` when malformed."""
    try:
        return parse_parent(value)
    except ResourceNameError as error:
        raise InvalidArgument(FieldViolation(field, str(error))) from None


def name_field(value: str, collection: str, field: str = "name") -> tuple[str, str]:
    """parse_name for a request field: InvalidArgument naming `field` when malformed."""
    try:
        return parse_name(value, collection)
    except ResourceNameError as error:
        raise InvalidArgument(FieldViolation(field, str(error))) from None
