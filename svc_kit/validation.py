"""The API's field rules, written in the protos as `(buf.validate.field)` annotations, enforced on every
request by protovalidate. The server interceptor calls `check_request` once per decoded request, for
every service, so the servicers and the domain receive only requests that satisfy them; a request that
breaks any rule answers INVALID_ARGUMENT with one field violation per broken rule, named by its path in
the API (`campaign.display_name`, `campaign.labels['Key']`, `requests[2].profile`) like the violations
the services raise themselves.

Rules that need more than one field, or the state of a resource, stay in the services' domains."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

import protovalidate
from buf.validate import validate_pb2
from svc_kit.errors import FieldViolation, InvalidArgument

_validator = protovalidate.Validator()
# Whether a message type, or any message it holds, carries a rule: a request without any (GetCampaign)
# skips the validator's call altogether.
_has_rules: dict[str, bool] = {}


def has_rules(descriptor: Descriptor, _seen: frozenset[str] = frozenset()) -> bool:
    known = _has_rules.get(descriptor.full_name)
    if known is not None:
        return known
    if descriptor.full_name in _seen:  # a recursive message: its rules are found on the way in
        return False
    seen = _seen | {descriptor.full_name}
    found = descriptor.GetOptions().HasExtension(validate_pb2.message) or any(
        o.GetOptions().HasExtension(validate_pb2.oneof) for o in descriptor.oneofs)
    for f in descriptor.fields:
        if found:
            break
        found = f.GetOptions().HasExtension(validate_pb2.field) or (
            f.type == FieldDescriptor.TYPE_MESSAGE and has_rules(f.message_type, seen))
    if found or not _seen:  # a negative answer inside a cycle is not final
        _has_rules[descriptor.full_name] = found
    return found


def _path(elements) -> str:
    parts: list[str] = []
    for element in elements:
        parts.append(("." if parts else "") + element.field_name)
        subscript = element.subscript
        if subscript is not None:
            parts.append(f"[{subscript.value!r}]" if isinstance(subscript.value, str) else f"[{subscript.value}]")
    return "".join(parts)


def _description(violation) -> str:
    message = violation.message or violation.rule_id
    return f"key {message}" if violation.for_key else message


def violations_of(message: Message) -> list[FieldViolation]:
    """Every rule of the message's annotations that it breaks, as field violations."""
    return [FieldViolation(_path(v.proto.field.elements) or "request", _description(v.proto))
            for v in _validator.collect_violations(message)]


def check_request(message: Message) -> None:
    """Raises InvalidArgument with every broken rule, or returns."""
    if not has_rules(message.DESCRIPTOR):
        return
    violations = violations_of(message)
    if violations:
        raise InvalidArgument(violations)
