"""Errors a handler raises, and their gRPC status with google.rpc details.

Services raise these from any layer; the server interceptor turns them into a
status. Anything else becomes INTERNAL with a generic message, so no stack
trace or internal detail reaches a client."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "marketing.platform"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    reason: str = "UNSPECIFIED"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.metadata = metadata or {}

    def details(self) -> list:
        return [error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata)]

    def to_status(self) -> status_pb2.Status:
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        for detail in self.details():
            packed = any_pb2.Any()
            packed.Pack(detail)
            status.details.append(packed)
        return status


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_FIELD"

    def __init__(self, violations: list[FieldViolation] | FieldViolation):
        self.violations = violations if isinstance(violations, list) else [violations]
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        super().__init__(f"{first.field}: {first.description}{more}")

    def details(self) -> list:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in self.violations
            ]
        )
        return [*super().details(), bad_request]


class MalformedRequest(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "MALFORMED_REQUEST"


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"

    def __init__(self, resource_name: str, message: str | None = None):
        super().__init__(message or f"{resource_name} not found")
        self.resource_name = resource_name

    def details(self) -> list:
        parts = self.resource_name.split("/")
        # collection/id pairs, or a singleton last (`.../campaigns/{id}/launch`)
        kind = (parts[-1] if len(parts) % 2 else parts[-2]) if len(parts) > 1 else ""
        return [
            *super().details(),
            error_details_pb2.ResourceInfo(resource_type=kind, resource_name=self.resource_name),
        ]


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    """The resource's state does not allow the call. `violations` list what is missing."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "INVALID_STATE"

    def __init__(self, message: str, violations: list[FieldViolation] | None = None,
                 violation_type: str = "STATE", **kw):
        super().__init__(message, **kw)
        self.violations = violations or []
        self.violation_type = violation_type  # PreconditionFailure's type, e.g. LAUNCH_READINESS

    def details(self) -> list:
        extra = []
        if self.violations:
            extra.append(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=self.violation_type, subject=v.field, description=v.description
                        )
                        for v in self.violations
                    ]
                )
            )
        return [*super().details(), *extra]


class Aborted(ServiceError):
    """Optimistic concurrency: the etag sent is not the current one."""

    code = grpc.StatusCode.ABORTED
    reason = "ETAG_MISMATCH"


class Unimplemented(ServiceError):
    code = grpc.StatusCode.UNIMPLEMENTED
    reason = "NOT_IMPLEMENTED"


def internal_status() -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; see the service log")
