"""The gRPC side of access requests, shared by every service's internal ExportProfileData: the
profile name a request carries, and the answer (marketing.common.v1.ProfileData, its records as a
JSON Struct)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2

from marketing.common.v1 import privacy_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.names import WORKSPACE_ID

PROFILE_ID = re.compile(r"[A-Za-z0-9._~@+-]{1,128}")


def profile_field(value: str, field: str = "name") -> tuple[str, str]:
    """`workspaces/{workspace}/profiles/{profile}` -> (workspace, external id); InvalidArgument naming
    `field` when malformed."""
    parts = value.split("/")
    if (len(parts) != 4 or parts[0] != "workspaces" or parts[2] != "profiles"
            or not WORKSPACE_ID.fullmatch(parts[1]) or not PROFILE_ID.fullmatch(parts[3])):
        raise InvalidArgument(FieldViolation(
            field, f"{value!r} is not a profile name `workspaces/{{workspace}}/profiles/{{profile}}`"))
    return parts[1], parts[3]


def profile_data(service: str, data: Mapping[str, Any]) -> privacy_pb2.ProfileData:
    struct = struct_pb2.Struct()
    json_format.ParseDict(dict(data), struct)
    return privacy_pb2.ProfileData(service=service, data=struct)


def profile_data_dict(message: privacy_pb2.ProfileData) -> dict[str, Any]:
    return json_format.MessageToDict(message.data)
