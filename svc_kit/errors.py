"""Errors a handler raises: plain exceptions, free of any transport.

Services raise these from any layer. Their gRPC status codes and google.rpc
details are chosen in one place on the entrypoint side (svc_kit.grpc_status,
used by the server interceptor); anything else becomes INTERNAL with a generic
message, so no stack trace or internal detail reaches a client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    def __init__(self, message: str, *, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.metadata = metadata or {}


class InvalidArgument(ServiceError):
    """The request failed validation; `violations` say which fields and why."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation):
        self.violations = violations if isinstance(violations, list) else [violations]
        first = self.violations[0]
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        super().__init__(f"{first.field}: {first.description}{more}")


class MalformedRequest(ServiceError):
    """The request could not be decoded."""


class NotFound(ServiceError):
    def __init__(self, resource_name: str, message: str | None = None):
        super().__init__(message or f"{resource_name} not found")
        self.resource_name = resource_name


class AlreadyExists(ServiceError):
    pass


class FailedPrecondition(ServiceError):
    """The resource's state does not allow the call. `violations` list what is missing."""

    def __init__(self, message: str, violations: list[FieldViolation] | None = None,
                 violation_type: str = "STATE", **kw):
        super().__init__(message, **kw)
        self.violations = violations or []
        self.violation_type = violation_type  # e.g. LAUNCH_READINESS


class Aborted(ServiceError):
    """Optimistic concurrency: the etag sent is not the current one."""


class PermissionDenied(ServiceError):
    pass


class ResourceExhausted(ServiceError):
    """A quota or rate limit refuses the call for now."""


class Unavailable(ServiceError):
    """A service or store this one depends on did not answer."""


class Unimplemented(ServiceError):
    pass


class Unauthenticated(ServiceError):
    """The call carries no valid credential of the kind it needs (a Segment write key)."""
