"""The gRPC status, with google.rpc details, that each ServiceError stands for.

The one place where svc_kit.errors meets the transport: the server interceptor
calls `status_of` for every error a handler raises."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from svc_kit import errors

ERROR_DOMAIN = "marketing.platform"

# Most specific class first: the first isinstance match wins.
_CODES: list[tuple[type[errors.ServiceError], grpc.StatusCode, str]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
    (errors.MalformedRequest, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATE"),
    (errors.Aborted, grpc.StatusCode.ABORTED, "ETAG_MISMATCH"),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE"),
    (errors.Unimplemented, grpc.StatusCode.UNIMPLEMENTED, "NOT_IMPLEMENTED"),
]


def code_and_reason(error: errors.ServiceError) -> tuple[grpc.StatusCode, str]:
    for cls, code, reason in _CODES:
        if isinstance(error, cls):
            return code, reason
    return grpc.StatusCode.UNKNOWN, "UNSPECIFIED"


def status_of(error: errors.ServiceError) -> status_pb2.Status:
    code, reason = code_and_reason(error)
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    for detail in [info, *_details(error)]:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return status


def internal_status() -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the service log")


def _details(error: errors.ServiceError) -> list[Message]:
    """The details after ErrorInfo, by kind of error."""
    if isinstance(error, errors.InvalidArgument):
        return [error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ])]
    if isinstance(error, errors.NotFound):
        parts = error.resource_name.split("/")
        # collection/id pairs, or a singleton last (`.../campaigns/{id}/launch`)
        kind = (parts[-1] if len(parts) % 2 else parts[-2]) if len(parts) > 1 else ""
        return [error_details_pb2.ResourceInfo(resource_type=kind, resource_name=error.resource_name)]
    if isinstance(error, errors.FailedPrecondition) and error.violations:
        return [error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=error.violation_type, subject=v.field, description=v.description)
            for v in error.violations
        ])]
    return []
