"""A local server shaped like HubSpot's CRM API for contacts and static lists: the test double of
the HubSpot contacts connector (tests/contract/test_connector_hubspot.py).

    POST /oauth/v1/token                              grant_type=refresh_token (form): {"access_token",
                                                      "refresh_token", "expires_in": 1800, "token_type"}
    GET  /crm/v3/objects/contacts?limit=              a page of contacts
    POST /crm/v3/objects/contacts/batch/upsert        {"inputs": [{"idProperty": "email", "id", "properties"}]}
    POST /crm/v3/objects/contacts/batch/read          {"idProperty": "email", "inputs": [{"id"}], "properties"}
    PUT  /crm/v3/lists/{listId}/memberships/add       [recordId, ...] -> {"recordIdsAdded", "recordIdsMissing"}
    PUT  /crm/v3/lists/{listId}/memberships/remove    [recordId, ...] -> {"recordIdsRemoved", "recordIdsMissing"}
    GET  /crm/v3/lists/{listId}/memberships?limit=&after=   {"results": [{"recordId"}], "paging": {"next": {"after"}}}

Batches take at most 100 inputs (more: 400 VALIDATION_ERROR). A row whose email is not an email
address, or that the test `refuse()`d, is an error in a 207 multi-status answer
({"status": "COMPLETE", "results", "numErrors", "errors": [{"category", "message", "context":
{"ids": [...]}}]}); a batch read names unknown emails as OBJECT_NOT_FOUND the same way. Calls need
`Authorization: Bearer` with a private-app token or a live OAuth token: an expired OAuth token
answers 401 EXPIRED_AUTHENTICATION, an unknown one 401 INVALID_AUTHENTICATION. `throttle(n,
retry_after)` makes the next n calls answer 429 RATE_LIMIT (with Retry-After when given). Only a
MANUAL (static) list's memberships can be changed."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from devstack.platforms._http import PlatformServer, Request, Response

MAX_INPUTS = 100
OAUTH_TOKEN_S = 1800
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class ContactList:
    id: str
    processing_type: str = "MANUAL"
    members: set[str] = field(default_factory=set)


class HubSpotServer(PlatformServer):
    def __init__(self, client_id: str = "hubspot-client", client_secret: str = "hubspot-secret",
                 now: Callable[[], float] = time.time, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret, self.now = client_id, client_secret, now
        self.tokens: dict[str, float | None] = {}  # token -> expiry; None: a private-app token
        self.refresh_tokens: set[str] = set()
        self.contacts: dict[str, dict[str, str]] = {}  # record id -> properties
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, ContactList] = {}
        self.refused: set[str] = set()
        self._throttle: list[float | None] = []
        self._next_id = 1000
        self.route("POST", r"/oauth/v1/token", self._token)
        self.route("GET", r"/crm/v3/objects/contacts", self._page)
        self.route("POST", r"/crm/v3/objects/contacts/batch/upsert", self._upsert)
        self.route("POST", r"/crm/v3/objects/contacts/batch/read", self._read)
        self.route("PUT", r"/crm/v3/lists/(\d+)/memberships/(add|remove)", self._membership)
        self.route("GET", r"/crm/v3/lists/(\d+)/memberships", self._memberships)

    # -- set-up and inspection (tests) -------------------------------------------------------------

    def private_app_token(self) -> str:
        token = "pat-na1-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = None
        return token

    def oauth_grant(self) -> tuple[str, str]:
        """(access token, refresh token) as an OAuth install gives them."""
        access, refresh = "CO" + secrets.token_urlsafe(24), secrets.token_hex(16)
        with self.lock:
            self.tokens[access] = self.now() + OAUTH_TOKEN_S
            self.refresh_tokens.add(refresh)
        return access, refresh

    def expire(self, token: str) -> None:
        with self.lock:
            self.tokens[token] = self.now() - 60

    def add_list(self, list_id: str, processing_type: str = "MANUAL") -> None:
        with self.lock:
            self.lists[list_id] = ContactList(list_id, processing_type)

    def list_emails(self, list_id: str) -> set[str]:
        with self.lock:
            return {self.contacts[i]["email"] for i in self.lists[list_id].members}

    def refuse(self, *emails: str) -> None:
        with self.lock:
            self.refused.update(e.lower() for e in emails)

    def throttle(self, calls: int, retry_after: float | None = 1.0) -> None:
        with self.lock:
            self._throttle.extend([retry_after] * calls)

    # -- the API -----------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, category: str, message: str, **extra: object) -> Response:
        return Response(status, {"status": "error", "message": message, "correlationId": secrets.token_hex(8),
                                 "category": category, **extra})

    def _token(self, request: Request) -> Response:
        form = request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id",
                                  "correlationId": secrets.token_hex(8)})
        with self.lock:
            known = form.get("refresh_token") in self.refresh_tokens
        if form.get("grant_type") != "refresh_token" or not known:
            return Response(400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token",
                                  "correlationId": secrets.token_hex(8)})
        access = "CO" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access] = self.now() + OAUTH_TOKEN_S
        return Response(200, {"token_type": "bearer", "refresh_token": form["refresh_token"],
                              "access_token": access, "expires_in": OAUTH_TOKEN_S})

    def _authorise(self, request: Request) -> Response | None:
        token = request.bearer()
        with self.lock:
            if self._throttle:
                retry_after = self._throttle.pop(0)
                headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
                return Response(429, {"status": "error", "message": "You have reached your secondly limit.",
                                      "errorType": "RATE_LIMIT", "correlationId": secrets.token_hex(8),
                                      "policyName": "SECONDLY", "groupName": "publicapi:private-app"}, headers)
            known, expiry = token in self.tokens, self.tokens.get(token)
        if not known:
            return self._error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API "
                               "supports OAuth 2.0 authentication and you can find more details at "
                               "https://developers.hubspot.com/docs/methods/auth/oauth-overview")
        if expiry is not None and expiry <= self.now():
            minutes = max(int((self.now() - expiry) // 60), 1)
            return self._error(401, "EXPIRED_AUTHENTICATION",
                               f"The OAuth token used to make this call expired {minutes} minute(s) ago.")
        return None

    def _page(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        limit = min(int(request.query.get("limit", "10") or 10), 100)
        with self.lock:
            ids = sorted(self.contacts, key=int)[:limit]
            results = [{"id": i, "properties": dict(self.contacts[i]), "archived": False} for i in ids]
        return Response(200, {"results": results})

    def _inputs(self, request: Request) -> list | Response:
        body = request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            return self._error(400, "VALIDATION_ERROR", "Invalid input JSON: inputs is required")
        if len(inputs) > MAX_INPUTS:
            return self._error(400, "VALIDATION_ERROR", f"Batch input must have at most {MAX_INPUTS} inputs, "
                               f"got {len(inputs)}")
        return inputs

    @staticmethod
    def _stamp() -> str:
        return datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def _answer(self, started: str, results: list, errors: list) -> Response:
        body = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": self._stamp()}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
            return Response(207, body)
        return Response(200, body)

    def _upsert(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        started = self._stamp()
        inputs = self._inputs(request)
        if isinstance(inputs, Response):
            return inputs
        results, errors = [], []
        for entry in inputs:
            entry = entry if isinstance(entry, dict) else {}
            email = str(entry.get("id", "")).strip().lower()
            if entry.get("idProperty") != "email":
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message":
                               "idProperty must be a unique property: email", "context": {"ids": [email]}})
                continue
            if not EMAIL.fullmatch(email) or email in self.refused:
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message":
                               f'Property values were not valid: [{{"isValid":false,"message":"Email address '
                               f'{email} is invalid","error":"INVALID_EMAIL","name":"email"}}]',
                               "context": {"ids": [email]}})
                continue
            properties = {k: str(v) for k, v in (entry.get("properties") or {}).items()}
            with self.lock:
                record = self.by_email.get(email)
                new = record is None
                if new:
                    record = str(self._next_id)
                    self._next_id += 1
                    self.by_email[email] = record
                    self.contacts[record] = {}
                self.contacts[record].update(properties, email=email)
                results.append({"id": record, "properties": dict(self.contacts[record]), "new": new,
                                "createdAt": started, "updatedAt": started, "archived": False})
        return self._answer(started, results, errors)

    def _read(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        started = self._stamp()
        inputs = self._inputs(request)
        if isinstance(inputs, Response):
            return inputs
        results, missing = [], []
        with self.lock:
            for entry in inputs:
                email = str((entry or {}).get("id", "")).strip().lower()
                record = self.by_email.get(email)
                if record is None:
                    missing.append(email)
                else:
                    results.append({"id": record, "properties": {"email": email}, "archived": False})
        errors = [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some CONTACT "
                   "objects, they may be deleted or not exist.", "context": {"ids": missing}}] if missing else []
        return self._answer(started, results, errors)

    def _find(self, list_id: str) -> ContactList | Response:
        with self.lock:
            found = self.lists.get(list_id)
        if found is None:
            return self._error(404, "OBJECT_NOT_FOUND", f"List with id {list_id} does not exist.")
        return found

    def _membership(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        found = self._find(request.match.group(1))
        if isinstance(found, Response):
            return found
        if found.processing_type != "MANUAL":
            return self._error(400, "VALIDATION_ERROR", f"List {found.id} is {found.processing_type}: only a "
                               "MANUAL list's memberships can be changed.")
        ids = request.json()
        if not isinstance(ids, list):
            return self._error(400, "VALIDATION_ERROR", "The body must be a JSON array of record ids.")
        ids = [str(i) for i in ids]
        with self.lock:
            present = [i for i in ids if i in self.contacts]
            missing = [i for i in ids if i not in self.contacts]
            if request.match.group(2) == "add":
                found.members.update(present)
                return Response(200, {"recordIdsAdded": present, "recordIdsMissing": missing})
            removed = [i for i in present if i in found.members]
            found.members.difference_update(present)
        return Response(200, {"recordIdsRemoved": removed, "recordIdsMissing": missing})

    def _memberships(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        found = self._find(request.match.group(1))
        if isinstance(found, Response):
            return found
        limit = min(int(request.query.get("limit", "100") or 100), 250)
        start = int(request.query.get("after", "0") or 0)
        with self.lock:
            ids = sorted(found.members, key=int)
        page = ids[start:start + limit]
        body: dict = {"results": [{"recordId": i, "membershipTimestamp": self._stamp()} for i in page]}
        if start + limit < len(ids):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return Response(200, body)
