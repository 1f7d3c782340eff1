"""Suppression list use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import FieldViolation, InvalidArgument, NotFound

from svc_audience.adapters.suppression_store import SuppressionStore
from svc_audience.domain.model import EMAIL, EXTERNAL_ID, PHONE, normalise_email
from svc_audience.domain.suppression import Reason, Suppression
from svc_audience.service_layer.profiles import Clock


def create_suppression(workspace: str, subject_kind: str, subject: str, channel,
                       reason: Reason | None, note: str, source: str, expire_time: datetime | None,
                       store: SuppressionStore, clock: Clock, new_id: Callable[[], str]) -> Suppression:
    problems = []
    if subject_kind == "email":
        subject = normalise_email(subject)
        if not EMAIL.fullmatch(subject):
            problems.append(FieldViolation("suppression.email", f"{subject!r} is not an email address"))
    elif subject_kind == "phone" and not PHONE.fullmatch(subject):
        problems.append(FieldViolation("suppression.phone", f"{subject!r} is not an E.164 number"))
    elif subject_kind == "profile" and not EXTERNAL_ID.fullmatch(subject):
        problems.append(FieldViolation("suppression.profile", "not a profile of this workspace"))
    elif subject_kind not in ("email", "phone", "profile"):
        problems.append(FieldViolation("suppression", "set one of email, phone or profile"))
    if reason is None:
        problems.append(FieldViolation("suppression.reason", "required: UNSUBSCRIBED, BOUNCED, COMPLAINED or "
                                                             "MANUAL"))
    if len(note) > 1000:
        problems.append(FieldViolation("suppression.note", "at most 1,000 characters"))
    if problems:
        raise InvalidArgument(problems)
    suppression = Suppression(workspace, new_id(), subject_kind, subject, channel, reason, note,
                              source, "", expire_time, clock())
    store.add(suppression)
    return suppression


def get_suppression(workspace: str, suppression_id: str, store: SuppressionStore) -> Suppression:
    found = store.get(workspace, suppression_id)
    if found is None:
        raise NotFound(f"workspaces/{workspace}/suppressions/{suppression_id}")
    return found


def list_suppressions(workspace: str, page_size: int, page_token: str,
                      store: SuppressionStore) -> tuple[list[Suppression], str]:
    return pagination.keyset_page(lambda after, limit: store.list(workspace, after, limit),
                                  lambda s: s.suppression_id, page_size, page_token, workspace, "suppressions")


def delete_suppression(workspace: str, suppression_id: str, store: SuppressionStore) -> None:
    if not store.remove(workspace, suppression_id):
        raise NotFound(f"workspaces/{workspace}/suppressions/{suppression_id}")
