"""svc_kit.grpc_status: the one mapping from svc_kit.errors to gRPC statuses."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from svc_kit import errors
from svc_kit.grpc_status import ERROR_DOMAIN, internal_status, status_of


def details(status) -> dict[str, object]:
    out = {}
    for packed in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.ResourceInfo,
                     error_details_pb2.PreconditionFailure):
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                out[kind.__name__] = message
    return out


@pytest.mark.parametrize("error, code, reason", [
    (errors.InvalidArgument(errors.FieldViolation("a", "b")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD"),
    (errors.MalformedRequest("undecodable"), grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"),
    (errors.NotFound("workspaces/w/campaigns/c"), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (errors.AlreadyExists("taken"), grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (errors.FailedPrecondition("not now"), grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATE"),
    (errors.Aborted("stale etag"), grpc.StatusCode.ABORTED, "ETAG_MISMATCH"),
    (errors.PermissionDenied("no"), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    (errors.ResourceExhausted("slow down"), grpc.StatusCode.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"),
    (errors.Unavailable("audience down"), grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE"),
    (errors.Unimplemented("later"), grpc.StatusCode.UNIMPLEMENTED, "NOT_IMPLEMENTED"),
])
def test_each_error_has_its_code_and_reason(error, code, reason):
    status = status_of(error)
    info = details(status)["ErrorInfo"]
    assert (status.code, status.message) == (code.value[0], error.message)
    assert (info.reason, info.domain) == (reason, ERROR_DOMAIN)


def test_metadata_travels_in_error_info():
    status = status_of(errors.FailedPrecondition("paused", metadata={"state": "PAUSED"}))
    assert dict(details(status)["ErrorInfo"].metadata) == {"state": "PAUSED"}


def test_field_violations_become_bad_request():
    status = status_of(errors.InvalidArgument([errors.FieldViolation("a", "required"),
                                               errors.FieldViolation("b", "too long")]))
    violations = details(status)["BadRequest"].field_violations
    assert [(v.field, v.description) for v in violations] == [("a", "required"), ("b", "too long")]
    assert status.message == "a: required (and 1 more)"


def test_not_found_names_the_resource_and_its_kind():
    for name, kind in [("workspaces/w/campaigns/c", "campaigns"), ("workspaces/w/campaigns/c/launch", "launch")]:
        info = details(status_of(errors.NotFound(name)))["ResourceInfo"]
        assert (info.resource_type, info.resource_name) == (kind, name)


def test_precondition_violations_only_when_given():
    assert "PreconditionFailure" not in details(status_of(errors.FailedPrecondition("no")))
    status = status_of(errors.FailedPrecondition("not ready", [errors.FieldViolation("contents", "missing")],
                                                 violation_type="LAUNCH_READINESS"))
    (violation,) = details(status)["PreconditionFailure"].violations
    assert (violation.type, violation.subject, violation.description) == ("LAUNCH_READINESS", "contents", "missing")


def test_internal_status_says_nothing_of_the_cause():
    status = internal_status()
    assert status.code == grpc.StatusCode.INTERNAL.value[0] and not status.details
