"""Use cases of recipients: the in-app inbox, and opens and clicks from signed
tracking links (each published once per message and kind)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from svc_kit import pagination
from svc_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from svc_kit.filtering import parse_filter
from svc_kit.link_tracking import verify_engagement
from svc_kit.signing import Keyring, SignatureError

from svc_notify.domain import events
from svc_notify.domain.inbox import InboxItem, InboxSummary
from svc_notify.service_layer.ports import Clock
from svc_notify.service_layer.repositories import InboxFilter
from svc_notify.service_layer.unit_of_work import UnitOfWork

INBOX_PAGE_DEFAULT = 20
INBOX_PAGE_MAX = 100
MAX_MARK = 1000
OPEN, CLICK = "open", "click"
_FIRST_COLUMN = {OPEN: "first_open_time", CLICK: "first_click_time"}
_EVENT = {OPEN: events.OPENED, CLICK: events.CLICKED}
_KINDS_FOR = {OPEN: ("open", "view"), CLICK: ("click",)}  # token kinds each endpoint accepts


def _inbox_name(workspace: str, inbox: str) -> str:
    return f"workspaces/{workspace}/inboxes/{inbox}"


def get_inbox(workspace: str, inbox: str, uow: UnitOfWork, clock: Clock) -> InboxSummary:
    with uow:
        return uow.inbox.summary(workspace, inbox, clock())


def parse_inbox_filter(text: str) -> InboxFilter:
    read, campaign = None, None
    for term in parse_filter(text):
        if term.field == "read" and term.op == "=" and term.value in ("true", "false"):
            read = term.value == "true"
        elif term.field == "campaign" and term.op == "=":
            campaign = term.value
        else:
            raise InvalidArgument(FieldViolation("filter", f"unsupported term `{term.field} {term.op}`; use "
                                                           "read = true|false or campaign = \"...\""))
    return InboxFilter(read, campaign)


def list_inbox_items(workspace: str, inbox: str, filter_text: str, page_size: int, page_token: str,
                     uow: UnitOfWork, clock: Clock) -> tuple[list[InboxItem], str]:
    if page_size < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative"))
    size = min(page_size or INBOX_PAGE_DEFAULT, INBOX_PAGE_MAX)
    where = parse_inbox_filter(filter_text)
    query_key = pagination.fingerprint(workspace, inbox, "items", filter_text)
    position = pagination.decode_token(page_token, query_key)
    before = None
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], str):
            raise InvalidArgument(FieldViolation("page_token", "not a token this service issued"))
        before = position[0]
    with uow:
        rows = uow.inbox.list(workspace, inbox, where, before, size + 1, clock())
    page = rows[:size]
    return page, pagination.encode_token([page[-1].id], query_key) if len(rows) > size else ""


def mark_read(workspace: str, inbox: str, item_ids: list[str] | None, uow: UnitOfWork,
              clock: Clock) -> tuple[int, int]:
    # at most MAX_MARK items: a rule of notify_service.proto (svc_kit.validation)
    now = clock()
    with uow:
        marked = uow.inbox.mark_read(workspace, inbox, item_ids, now)
        uow.commit()
        return marked, uow.inbox.summary(workspace, inbox, now).unread_count


def delete_inbox_item(workspace: str, inbox: str, item_id: str, uow: UnitOfWork) -> None:
    with uow:
        if not uow.inbox.delete(workspace, inbox, item_id):
            raise NotFound(f"{_inbox_name(workspace, inbox)}/items/{item_id}")
        uow.commit()


# -- opens and clicks ----------------------------------------------------------------------------------


def check_link_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t "):
        raise InvalidArgument(FieldViolation("url", "an absolute http or https URL"))
    return url


def record_engagement(workspace: str, message_id: str, kind: str, token: str, key: Keyring | None, url: str,
                      user_agent: str, at: datetime, uow: UnitOfWork) -> str:
    """Checks the token and records the first open or click of the message,
    publishing message_opened or message_clicked once per message and kind.
    Returns the link's destination: for clicks, the URL signed into the token.

    The token is what the content service puts in tracking links
    (`svc_kit.link_tracking`): signed with the current or the previous link key
    and bound to the workspace, the message, the recipient and, for a click,
    the link's destination, so a link cannot be turned into a redirect
    elsewhere. `url`, when given (the `url` query parameter of a click link),
    must be that destination; the redirect never takes it from the query."""
    if key is None:
        raise FailedPrecondition("tracking links cannot be verified: MKT_LINK_SIGNING_KEY is not set on the "
                                 "notify service", violation_type="CONFIGURATION")
    try:
        claims = verify_engagement(key, token)
    except SignatureError as error:
        raise InvalidArgument(FieldViolation("token", str(error))) from None
    if claims.kind not in _KINDS_FOR[kind]:
        raise InvalidArgument(FieldViolation("token", f"is a {claims.kind} token, not one for {kind}s"))
    name = f"workspaces/{workspace}/messages/{message_id}"
    if claims.workspace != workspace or claims.message != message_id:
        raise InvalidArgument(FieldViolation("token", f"was not issued for {name}"))
    if kind == CLICK:
        if not claims.url:
            raise InvalidArgument(FieldViolation("token", "carries no destination"))
        if url and url != claims.url:
            raise InvalidArgument(FieldViolation("url", "is not the destination the link was signed for"))
        url = check_link_url(claims.url)
    with uow:
        message = uow.messages.get(workspace, message_id)
        if message is None:
            raise NotFound(name)
        if claims.profile != message.recipient:
            raise InvalidArgument(FieldViolation("token", f"was not issued for {name} and its recipient"))
        if uow.messages.record_first(workspace, message_id, _FIRST_COLUMN[kind], at):
            message.version += 1
            uow.record(events.event(_EVENT[kind], message, at, url=url, user_agent=user_agent[:512]))
            uow.commit()
    return url
