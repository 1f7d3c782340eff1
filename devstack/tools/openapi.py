"""Generates the REST API's OpenAPI 3 document from the descriptor set (`marketing/api_descriptor.pb`).

    python -m devstack.tools.openapi            # writes edge/openapi.json
    python -m devstack.tools.openapi --check    # exit 1 when edge/openapi.json is stale

`make proto` (devstack/tools/protogen.py) runs it after regenerating the descriptor set, and
`protogen --check` (part of `make test`) fails when the committed document is stale. The edge serves
the document at `/openapi.json` and a Swagger UI page at `/docs` (edge/healthz.py).

What it describes is what Envoy's gRPC-JSON transcoder does with the `google.api.http` bindings:

- paths: a variable bound to a resource pattern, `{name=workspaces/*/campaigns/*}`, spans several path
  segments; it becomes one path parameter per `*` (`/v1/workspaces/{workspace}/campaigns/{campaign}`),
  each documented as part of `name`;
- query parameters: every field of the request that is neither in the path nor in the body, nested
  message fields dotted (`?window.startTime=...`), repeated ones repeated (`?channels=A&channels=B`);
- bodies: `body: "*"` is the request message without its path fields, `body: "field"` that field;
- proto3 JSON: lowerCamelCase names, int64 as strings, enums as their names, well-known types as their
  JSON forms, maps as objects, oneofs documented, field behaviours (REQUIRED -> required, OUTPUT_ONLY ->
  readOnly, INPUT_ONLY -> writeOnly);
- errors: `{code, message, details}` (google.rpc.Status) as the default response;
- streams: a server stream comes back as one JSON array, a client stream is sent as one JSON array;
- google.api.HttpBody: the raw body with the content types listed in HTTP_BODY_RESPONSES.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

from google.api import annotations_pb2, field_behavior_pb2, http_pb2  # noqa: F401 - register extensions
from google.protobuf import descriptor_pb2

from devstack.tools.paths import DESCRIPTOR_SET, REPO

OPENAPI_DOCUMENT = REPO / "edge" / "openapi.json"
SCHEMA_REF = "#/components/schemas/"
# svc_kit/names.py WORKSPACE_ID: every workspace id (other ids differ by resource; each service checks its own).
WORKSPACE_PATTERN = "^[a-z][a-z0-9-]{0,62}$"
ERROR_SCHEMA = "Error"

# Methods answering google.api.HttpBody: what they send instead of JSON. A new one must be listed here.
# The Segment Tracking API calls (integrations) answer as Segment does.
_SEGMENT_OK = {"200": {"description": "Accepted: `{\"success\": true}`.",
                       "content": {"application/json": {"schema": {"type": "object", "properties": {
                           "success": {"type": "boolean"}}}}}}}

HTTP_BODY_RESPONSES: dict[str, dict] = {
    "marketing.integrations.v1.IntegrationsService.SegmentTrack": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentIdentify": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentPage": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentScreen": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentGroup": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentAlias": _SEGMENT_OK,
    "marketing.integrations.v1.IntegrationsService.SegmentBatch": _SEGMENT_OK,
    "marketing.analytics.v1.AnalyticsService.ExportCampaignReport": {
        "200": {"description": "The report as CSV.",
                "content": {"text/csv": {"schema": {"type": "string"}}}}},
    "marketing.content.v1.ContentService.DownloadAsset": {
        "200": {"description": "The asset's bytes (or the rendition's), with its media type.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}},
    "marketing.notify.v1.NotifyService.TrackOpen": {
        "200": {"description": "A transparent 1x1 GIF.",
                "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}}}},
    "marketing.notify.v1.NotifyService.TrackClick": {
        "302": {"description": "Redirect to the link's destination.",
                "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}}},
    "marketing.audience.v1.AudienceService.GetUnsubscribePage": {
        "200": {"description": "The unsubscribe page.",
                "content": {"text/html": {"schema": {"type": "string"}}}}},
}

_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}
_SCALARS = {
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: {"type": "number", "format": "double"},
    descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT: {"type": "number", "format": "float"},
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: _INT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT64: _INT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED64: _INT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: _UINT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED64: _UINT64,
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: {"type": "integer", "format": "int32"},
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT32: {"type": "integer", "format": "int32"},
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0,
                                                      "maximum": 4294967295},
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0,
                                                       "maximum": 4294967295},
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: {"type": "boolean"},
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: {"type": "string"},
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: {"type": "string", "format": "byte",
                                                     "description": "base64"},
}

# Well-known types in their proto3 JSON form (inline, no component).
_DURATION = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
             "description": "A duration in seconds with an `s` suffix, e.g. `3.5s`."}
_WELL_KNOWN: dict[str, dict] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time",
                                   "description": "RFC 3339 time, e.g. `2026-05-01T09:00:00Z`."},
    ".google.protobuf.Duration": _DURATION,
    ".google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated lowerCamelCase field paths, "
                                   "e.g. `displayName,description`."},
    ".google.protobuf.Empty": {"type": "object", "description": "Empty."},
    ".google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    ".google.protobuf.Value": {"description": "Any JSON value."},
    ".google.protobuf.ListValue": {"type": "array", "items": {}},
    ".google.protobuf.Any": {"type": "object", "required": ["@type"], "additionalProperties": True,
                             "properties": {"@type": {"type": "string"}}},
    ".google.protobuf.StringValue": {"type": "string", "nullable": True},
    ".google.protobuf.BytesValue": {"type": "string", "format": "byte", "nullable": True},
    ".google.protobuf.BoolValue": {"type": "boolean", "nullable": True},
    ".google.protobuf.DoubleValue": {"type": "number", "format": "double", "nullable": True},
    ".google.protobuf.FloatValue": {"type": "number", "format": "float", "nullable": True},
    ".google.protobuf.Int32Value": {"type": "integer", "format": "int32", "nullable": True},
    ".google.protobuf.UInt32Value": {"type": "integer", "format": "int64", "minimum": 0, "nullable": True},
    ".google.protobuf.Int64Value": {**_INT64, "nullable": True},
    ".google.protobuf.UInt64Value": {**_UINT64, "nullable": True},
}
# Well-known types that can be a query parameter (a single text value).
_QUERY_WELL_KNOWN = {".google.protobuf.Timestamp", ".google.protobuf.Duration", ".google.protobuf.FieldMask",
                     *(n for n in _WELL_KNOWN if n.endswith("Value") and n != ".google.protobuf.Value")}
HTTP_BODY = ".google.api.HttpBody"

REQUIRED = field_behavior_pb2.REQUIRED
OUTPUT_ONLY = field_behavior_pb2.OUTPUT_ONLY
INPUT_ONLY = field_behavior_pb2.INPUT_ONLY
IMMUTABLE = field_behavior_pb2.IMMUTABLE
_LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_TYPE_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
_TYPE_ENUM = descriptor_pb2.FieldDescriptorProto.TYPE_ENUM

_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")


def _clean(comment: str) -> str:
    return textwrap.dedent(comment).strip()


def _json_name(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.json_name:
        return field.json_name
    head, *rest = field.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _singular(collection: str) -> str:
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    if collection.endswith(("sses", "xes")):
        return collection[:-2]
    if collection.endswith("s"):
        return collection[:-1]
    return collection


class _Descriptors:
    """The messages, enums and comments of a descriptor set, by full name (with the leading dot)."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet):
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.comments: dict[tuple[str, tuple[int, ...]], str] = {}
        self.paths: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.files = list(files.file)
        for file in self.files:
            for location in file.source_code_info.location:
                text = location.leading_comments or location.trailing_comments
                if text:
                    self.comments[(file.name, tuple(location.path))] = _clean(text)
            prefix = f".{file.package}" if file.package else ""
            for i, message in enumerate(file.message_type):
                self._message(file.name, prefix, message, (4, i))
            for i, enum in enumerate(file.enum_type):
                self._enum(file.name, prefix, enum, (5, i))

    def _message(self, file: str, prefix: str, message, path) -> None:
        name = f"{prefix}.{message.name}"
        self.messages[name] = message
        self.paths[name] = (file, path)
        for i, nested in enumerate(message.nested_type):
            self._message(file, name, nested, (*path, 3, i))
        for i, enum in enumerate(message.enum_type):
            self._enum(file, name, enum, (*path, 4, i))

    def _enum(self, file: str, prefix: str, enum, path) -> None:
        name = f"{prefix}.{enum.name}"
        self.enums[name] = enum
        self.paths[name] = (file, path)

    def comment(self, type_name: str, *suffix: int) -> str:
        file, path = self.paths[type_name]
        return self.comments.get((file, (*path, *suffix)), "")


def _behaviors(field: descriptor_pb2.FieldDescriptorProto) -> set[int]:
    return set(field.options.Extensions[field_behavior_pb2.field_behavior])


class Generator:
    def __init__(self, files: descriptor_pb2.FileDescriptorSet):
        self.d = _Descriptors(files)
        self.schemas: dict[str, dict] = {}

    # ---- schemas -------------------------------------------------------------------------------

    def ref(self, type_name: str) -> dict:
        """The schema of a message or enum type: a well-known type inline, anything else a $ref."""
        if type_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[type_name])
        key = type_name.lstrip(".")
        if key not in self.schemas:
            self.schemas[key] = {}  # placeholder against recursion
            self.schemas[key] = (self._enum_schema(type_name) if type_name in self.d.enums
                                 else self._message_schema(type_name))
        return {"$ref": SCHEMA_REF + key}

    def _enum_schema(self, type_name: str) -> dict:
        enum = self.d.enums[type_name]
        lines = [self.d.comment(type_name)] if self.d.comment(type_name) else []
        for i, value in enumerate(enum.value):
            text = self.d.comment(type_name, 2, i)
            lines.append(f"- `{value.name}`" + (f": {text}" if text else ""))
        return {"type": "string", "enum": [v.name for v in enum.value], "description": "\n".join(lines)}

    def _map_entry(self, field) -> descriptor_pb2.DescriptorProto | None:
        if field.type != _TYPE_MESSAGE or field.label != _LABEL_REPEATED:
            return None
        entry = self.d.messages.get(field.type_name)
        return entry if entry is not None and entry.options.map_entry else None

    def field_schema(self, field, description: str = "") -> dict:
        entry = self._map_entry(field)
        if entry is not None:
            schema = {"type": "object", "additionalProperties": self._single(entry.field[1])}
        elif field.label == _LABEL_REPEATED:
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
        behaviors = _behaviors(field)
        notes = []
        if OUTPUT_ONLY in behaviors:
            schema["readOnly"] = True
            notes.append("Output only.")
        if INPUT_ONLY in behaviors:
            schema["writeOnly"] = True
            notes.append("Input only.")
        if IMMUTABLE in behaviors:
            notes.append("Immutable: set on create, never changed.")
        text = "\n\n".join(t for t in (description, " ".join(notes)) if t)
        if text:
            if "$ref" in schema:  # OpenAPI 3.0 ignores the siblings of a $ref: wrap it
                schema = {"allOf": [{"$ref": schema["$ref"]}], **{k: v for k, v in schema.items() if k != "$ref"}}
            schema["description"] = "\n\n".join(t for t in (text, schema.get("description")) if t)
        return schema

    def _single(self, field) -> dict:
        if field.type in (_TYPE_MESSAGE, _TYPE_ENUM):
            if field.type_name == HTTP_BODY:
                return {"type": "string", "format": "binary"}
            return self.ref(field.type_name)
        return dict(_SCALARS[field.type])

    def _message_schema(self, type_name: str, skip: frozenset[str] = frozenset()) -> dict:
        message = self.d.messages[type_name]
        schema: dict = {"type": "object"}
        comment = self.d.comment(type_name)
        properties: dict = {}
        required: list[str] = []
        oneofs: dict[int, list[str]] = {}
        for i, field in enumerate(message.field):
            if field.name in skip:
                continue
            name = _json_name(field)
            description = self.d.comment(type_name, 2, i)
            if field.HasField("oneof_index") and not field.proto3_optional:
                oneofs.setdefault(field.oneof_index, []).append(name)
                group = message.oneof_decl[field.oneof_index].name
                description = (description + f"\n\nPart of oneof `{group}`: set at most one of its fields.").strip()
            properties[name] = self.field_schema(field, description)
            if REQUIRED in _behaviors(field):
                required.append(name)
        notes = [comment] if comment else []
        for index, names in oneofs.items():
            notes.append(f"Oneof `{message.oneof_decl[index].name}`: at most one of "
                         + ", ".join(f"`{n}`" for n in names) + ".")
        if notes:
            schema["description"] = "\n\n".join(notes)
        if oneofs:
            schema["x-oneofs"] = {message.oneof_decl[i].name: names for i, names in oneofs.items()}
        schema["properties"] = properties
        if required:
            schema["required"] = required
        return schema

    # ---- paths ---------------------------------------------------------------------------------

    def _field_path(self, type_name: str, dotted: str) -> descriptor_pb2.FieldDescriptorProto:
        message = self.d.messages[type_name]
        head, _, rest = dotted.partition(".")
        field = next((f for f in message.field if f.name == head), None)
        if field is None:
            raise SystemExit(f"{type_name} has no field {head!r} (http rule)")
        return self._field_path(field.type_name, rest) if rest else field

    def _path(self, template: str, request: str, method: str):
        """`/v1/{name=workspaces/*/campaigns/*}:schedule` -> the OpenAPI path, its parameters, and the
        request fields the path binds."""
        parameters, bound, used = [], [], set()
        out, position = [], 0
        for match in _VARIABLE.finditer(template):
            out.append(template[position:match.start()])
            position = match.end()
            variable, pattern = match.group(1), match.group(2) or "*"
            bound.append(variable)
            self._field_path(request, variable)  # fails on a rule naming no field
            json_var = ".".join(_json_name(self._field_path(request, ".".join(variable.split(".")[:i + 1])))
                                for i in range(len(variable.split("."))))
            description = self.d.comment(request, *self._field_index(request, variable.split(".")[0])) \
                if "." not in variable else ""
            segments = pattern.split("/")
            pieces = []
            for k, segment in enumerate(segments):
                if segment in ("*", "**"):
                    base = _singular(segments[k - 1]) if k > 0 else variable.split(".")[-1]
                    base = re.sub(r"_(.)", lambda m: m.group(1).upper(), base)
                    param, n = base, 2
                    while param in used:
                        param, n = f"{base}{n}", n + 1
                    used.add(param)
                    pieces.append(f"{{{param}}}")
                    text = (f"Segment of `{json_var}` = `{{shown}}`." if len(segments) > 1
                            else f"`{json_var}`.")
                    if segment == "**":
                        text += " May span several segments (slashes kept)."
                    if description and len(segments) == 1:
                        text += "\n\n" + description
                    is_workspace = k > 0 and segments[k - 1] == "workspaces"
                    schema = ({"type": "string", "pattern": WORKSPACE_PATTERN} if is_workspace
                              else {"type": "string", "minLength": 1})
                    parameters.append({"name": param, "in": "path", "required": True,
                                       "description": text, "schema": schema})
                else:
                    pieces.append(segment)
            out.append("/".join(pieces))
            for parameter in parameters:
                parameter["description"] = parameter["description"].replace("{shown}", "/".join(pieces))
        out.append(template[position:])
        path = "".join(out)
        if len({p["name"] for p in parameters}) != len(parameters):
            raise SystemExit(f"{method}: duplicate path parameters in {template}")
        return path, parameters, bound

    def _field_index(self, type_name: str, name: str) -> tuple[int, int]:
        message = self.d.messages[type_name]
        return 2, next(i for i, f in enumerate(message.field) if f.name == name)

    def _query(self, type_name: str, proto_prefix: str, json_prefix: str, exclude: set[str],
               seen: tuple[str, ...]) -> list[dict]:
        """Query parameters for the fields of `type_name`, nested message fields dotted."""
        message = self.d.messages[type_name]
        params = []
        for i, field in enumerate(message.field):
            proto_path = proto_prefix + field.name
            if proto_path in exclude or self._map_entry(field) is not None or field.type_name == HTTP_BODY:
                continue
            json_path = json_prefix + _json_name(field)
            description = self.d.comment(type_name, 2, i)
            if field.type == _TYPE_MESSAGE and field.type_name not in _QUERY_WELL_KNOWN:
                if (field.label != _LABEL_REPEATED and field.type_name not in seen and len(seen) < 4
                        and field.type_name not in _WELL_KNOWN):
                    params += self._query(field.type_name, proto_path + ".", json_path + ".", exclude,
                                          (*seen, field.type_name))
                continue
            schema = self.field_schema(field)
            if schema.get("readOnly"):
                continue
            param = {"name": json_path, "in": "query", "schema": schema}
            if description:
                param["description"] = description
            if REQUIRED in _behaviors(field) and not proto_prefix:
                param["required"] = True
            if field.label == _LABEL_REPEATED:
                param["style"], param["explode"] = "form", True
            params.append(param)
        return params

    def _operation(self, service: descriptor_pb2.ServiceDescriptorProto, s_index: int, package: str,
                   m_index: int, method, rule, file: descriptor_pb2.FileDescriptorProto, binding: int):
        kind = rule.WhichOneof("pattern")
        template = getattr(rule, kind) if kind != "custom" else rule.custom.path
        verb = kind if kind != "custom" else rule.custom.kind.lower()
        full = f"{package}.{service.name}.{method.name}"
        request = method.input_type
        path, parameters, bound = self._path(template, request, full)
        comment = self.d.comments.get((file.name, (6, s_index, 2, m_index)), "")
        operation: dict = {
            "operationId": f"{service.name}_{method.name}" + (f"_{binding + 1}" if binding else ""),
            "tags": [service.name],
            "summary": comment.split("\n\n")[0].replace("\n", " ").split(". ")[0].rstrip(".") or method.name,
            "x-grpc-method": f"/{package}.{service.name}/{method.name}",
        }
        description = comment
        body = rule.body
        exclude = set(bound)
        if body and body != "*":
            exclude.add(body)
        if body != "*":
            parameters += self._query(request, "", "", exclude, (request,))
        if parameters:
            operation["parameters"] = parameters
        if body:
            if body == "*":
                skip = frozenset(b.split(".")[0] for b in bound)
                schema = self._message_schema(request, skip)
            else:
                field = self._field_path(request, body)
                schema = self.field_schema(field)
            if method.client_streaming:
                schema = {"type": "array", "items": schema,
                          "description": "A client stream: one JSON array of the requests."}
                description += "\n\nClient stream: through the REST edge the body is one JSON array of requests."
            if body != "*" and self._field_path(request, body).type_name == HTTP_BODY:
                content = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
            else:
                content = {"application/json": {"schema": schema}}
            required = body == "*" or REQUIRED in _behaviors(self._field_path(request, body))
            operation["requestBody"] = {"required": required, "content": content}
        if method.output_type == HTTP_BODY:
            if full not in HTTP_BODY_RESPONSES:
                raise SystemExit(f"{full} answers google.api.HttpBody: list its content type in "
                                 "HTTP_BODY_RESPONSES (devstack/tools/openapi.py)")
            responses = json.loads(json.dumps(HTTP_BODY_RESPONSES[full]))
        else:
            schema = self.ref(method.output_type)
            if method.server_streaming:
                schema = {"type": "array", "items": schema}
                description += ("\n\nServer stream: through the REST edge the messages come back as one JSON "
                                "array once the stream ends.")
            responses = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
        responses["default"] = {"description": "An error: the gRPC status code, a message and google.rpc "
                                               "details.",
                                "content": {"application/json": {"schema": {"$ref": SCHEMA_REF + ERROR_SCHEMA}}}}
        operation["responses"] = responses
        if description.strip():
            operation["description"] = description.strip()
        return path, verb, operation

    def document(self, services: list[str]) -> dict:
        paths: dict[str, dict] = {}
        tags = []
        for file in self.d.files:
            for s_index, service in enumerate(file.service):
                if f"{file.package}.{service.name}" not in services:
                    continue
                tags.append({"name": service.name,
                             "description": self.d.comments.get((file.name, (6, s_index)), "")})
                for m_index, method in enumerate(service.method):
                    rule = method.options.Extensions[annotations_pb2.http]
                    if not rule.WhichOneof("pattern"):
                        continue
                    for binding, r in enumerate([rule, *rule.additional_bindings]):
                        path, verb, operation = self._operation(service, s_index, file.package, m_index,
                                                                method, r, file, binding)
                        if verb in paths.setdefault(path, {}):
                            raise SystemExit(f"two operations on {verb.upper()} {path}")
                        paths[path][verb] = operation
        self.ref(".google.protobuf.Any")
        self.schemas[ERROR_SCHEMA] = {
            "type": "object",
            "description": "The error body of every failed call: google.rpc.Status in proto3 JSON. The edge's "
                           "own replies (unknown path, malformed JSON, body too large) have the same shape, "
                           "with `status` naming the code.",
            "properties": {
                "code": {"type": "integer", "format": "int32", "description": "The google.rpc.Code, e.g. 3 "
                         "(INVALID_ARGUMENT), 5 (NOT_FOUND)."},
                "message": {"type": "string"},
                "status": {"type": "string", "description": "The code's name (edge replies only)."},
                "details": {"type": "array", "items": _WELL_KNOWN[".google.protobuf.Any"],
                            "description": "google.rpc details: ErrorInfo, BadRequest (field violations), "
                                           "ResourceInfo, PreconditionFailure..."},
            },
            "required": ["code", "message"],
        }
        return {
            "openapi": "3.0.3",
            "info": {
                "title": "Marketing platform REST API",
                "version": "v1",
                "description": "The REST/JSON API of the marketing platform, served by the Envoy edge, which "
                               "transcodes it to the services' gRPC APIs. Generated from proto/ by `make proto` "
                               "(devstack/tools/openapi.py); do not edit. See docs/api.md.",
            },
            "servers": [{"url": "/"}],
            "tags": tags,
            "paths": paths,
            "components": {"schemas": dict(sorted(self.schemas.items()))},
        }


def generate(descriptor_set: Path = DESCRIPTOR_SET) -> dict:
    from svc_kit.services import SERVICES

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    return Generator(files).document([spec.grpc_service for spec in SERVICES])


def render(descriptor_set: Path = DESCRIPTOR_SET) -> str:
    return json.dumps(generate(descriptor_set), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {OPENAPI_DOCUMENT.name} is stale")
    parser.add_argument("--descriptor-set", type=Path, default=DESCRIPTOR_SET)
    parser.add_argument("--output", type=Path, default=OPENAPI_DOCUMENT)
    args = parser.parse_args(argv)
    text = render(args.descriptor_set)
    if args.check:
        if not args.output.exists() or args.output.read_text(encoding="utf-8") != text:
            print(f"{args.output} is stale; run `make proto` and commit", file=sys.stderr)
            return 1
        print(f"{args.output.name} is fresh")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
