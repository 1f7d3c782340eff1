"""A local server shaped like Meta's Graph API for customer-list custom audiences: the test
double of the Meta Custom Audiences connector (tests/contract/test_connector_meta.py) and the
destination of bench/integrations_sync.py.

    GET    /{v}/act_{id}                     the ad account: {"id", "name", "account_status"}
    GET    /{v}/{audience_id}                the audience: {"id", "name", "approximate_count_lower_bound"}
    POST   /{v}/{audience_id}/users          add rows      } form or query: payload={"schema": [...],
    DELETE /{v}/{audience_id}/users          remove rows   } "data": [[...]]}; the token as access_token
                                                           } or Authorization: Bearer|OAuth
    POST   /{v}/{audience_id}/usersreplace   a replace session: session={"session_id", "batch_seq",
                                             "last_batch_flag", "estimated_num_total"} + payload; the
                                             last batch makes the audience exactly the session's rows
    GET|POST /{v}/oauth/access_token         grant_type=fb_exchange_token: a live token for a new
                                             60-day one (an expired token is not exchangeable)

Answers {"audience_id", "session_id", "num_received", "num_invalid_entries",
"invalid_entry_samples": {value: reason}}. Values must be "" or SHA-256 hex (64 lower-case hex
digits); a row of empty values, a malformed value, or a value the test `refuse()`d is an invalid
entry, named in the samples. More than 10,000 rows: error 100. Errors are Graph-shaped
{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}: an expired token 401 code
190 subcode 463, an unknown one 401 code 190; `throttle(n)` makes the next n calls answer code
80003 (the custom-audience rate limit)."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.platforms._http import PlatformServer, Request, Response

MAX_ROWS = 10_000
LONG_LIVED_S = 60 * 24 * 3600
HASH = re.compile(r"[0-9a-f]{64}")
KEYS = {"EMAIL": "EMAIL", "EMAIL_SHA256": "EMAIL", "PHONE": "PHONE", "PHONE_SHA256": "PHONE"}


@dataclass
class Audience:
    id: str
    account: str
    name: str
    rows: set[tuple[str, str]] = field(default_factory=set)  # (email hash, phone hash), "" when absent


class MetaServer(PlatformServer):
    def __init__(self, app_id: str = "meta-app", app_secret: str = "meta-secret",
                 now: Callable[[], float] = time.time, **kwargs):
        super().__init__(**kwargs)
        self.app_id, self.app_secret, self.now = app_id, app_secret, now
        self.tokens: dict[str, float | None] = {}  # token -> expiry (epoch s), None: never expires
        self.accounts: dict[str, str] = {}
        self.audiences: dict[str, Audience] = {}
        self.sessions: dict[tuple[str, int], dict] = {}
        self.refused: set[str] = set()
        self._throttle: list[int] = []
        v = r"/(v\d+\.\d+)"
        self.route("GET", v + r"/oauth/access_token", self._exchange)
        self.route("POST", v + r"/oauth/access_token", self._exchange)
        self.route("GET", v + r"/act_(\d+)", self._account)
        self.route("GET", v + r"/(\d+)", self._audience)
        self.route("POST", v + r"/(\d+)/users", self._users)
        self.route("DELETE", v + r"/(\d+)/users", self._users)
        self.route("POST", v + r"/(\d+)/usersreplace", self._replace)

    # -- set-up and inspection (tests) -------------------------------------------------------------

    def issue_token(self, expires_in: float | None = None) -> str:
        token = "EAA" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = None if expires_in is None else self.now() + expires_in
        return token

    def expire(self, token: str) -> None:
        with self.lock:
            self.tokens[token] = self.now() - 1

    def add_account(self, account_id: str, name: str = "Test ad account") -> None:
        with self.lock:
            self.accounts[account_id] = name

    def add_audience(self, account_id: str, audience_id: str, name: str = "Customers") -> None:
        with self.lock:
            self.audiences[audience_id] = Audience(audience_id, account_id, name)

    def rows(self, audience_id: str) -> set[tuple[str, str]]:
        with self.lock:
            return set(self.audiences[audience_id].rows)

    def email_hashes(self, audience_id: str) -> set[str]:
        return {email for email, _ in self.rows(audience_id) if email}

    def refuse(self, *hashes: str) -> None:
        """Treat these values as entries Meta cannot use (named in invalid_entry_samples)."""
        with self.lock:
            self.refused.update(hashes)

    def throttle(self, calls: int, code: int = 80003) -> None:
        with self.lock:
            self._throttle.extend([code] * calls)

    # -- the API -----------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: int, message: str, subcode: int | None = None,
               kind: str = "OAuthException") -> Response:
        error = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_hex(8)}
        if subcode is not None:
            error["error_subcode"] = subcode
        headers = {"www-authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'} if status == 401 else {}
        return Response(status, {"error": error}, headers)

    def _params(self, request: Request) -> dict[str, str]:
        params = dict(request.query)
        if request.body:
            params.update(request.form())
        return params

    def _authorise(self, request: Request, params: dict[str, str]) -> Response | None:
        token = params.get("access_token") or request.bearer()
        with self.lock:
            if self._throttle:
                code = self._throttle.pop(0)
                return self._error(400, code, "There have been too many calls to this ad-account. "
                                              "Wait a bit and try again.", kind="OAuthException")
            if token not in self.tokens:
                return self._error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            expiry = self.tokens[token]
        if expiry is not None and expiry <= self.now():
            return self._error(401, 190, "Error validating access token: Session has expired.", 463)
        return None

    def _exchange(self, request: Request) -> Response:
        params = self._params(request)
        if params.get("grant_type") != "fb_exchange_token":
            return self._error(400, 100, "Invalid grant_type", kind="OAuthException")
        if params.get("client_id") != self.app_id or params.get("client_secret") != self.app_secret:
            return self._error(400, 101, "Error validating application. Invalid application ID or secret.")
        old = params.get("fb_exchange_token", "")
        with self.lock:
            known, expiry = old in self.tokens, self.tokens.get(old)
        if not known:
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if expiry is not None and expiry <= self.now():
            return self._error(400, 190, "Error validating access token: Session has expired.", 463)
        token = self.issue_token(LONG_LIVED_S)
        return Response(200, {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_S})

    def _account(self, request: Request) -> Response:
        params = self._params(request)
        if denied := self._authorise(request, params):
            return denied
        account = request.match.group(2)
        with self.lock:
            name = self.accounts.get(account)
        if name is None:
            return self._error(400, 100, f"Unsupported get request. Object with ID 'act_{account}' does not "
                                         "exist, cannot be loaded due to missing permissions, or does not "
                                         "support this operation.", 33, kind="GraphMethodException")
        return Response(200, {"id": f"act_{account}", "name": name, "account_status": 1})

    def _find(self, audience_id: str) -> Audience | Response:
        with self.lock:
            audience = self.audiences.get(audience_id)
        if audience is None:
            return self._error(400, 100, f"Unsupported request. Object with ID '{audience_id}' does not exist, "
                                         "cannot be loaded due to missing permissions, or does not support "
                                         "this operation.", 33, kind="GraphMethodException")
        return audience

    def _audience(self, request: Request) -> Response:
        params = self._params(request)
        if denied := self._authorise(request, params):
            return denied
        audience = self._find(request.match.group(2))
        if isinstance(audience, Response):
            return audience
        with self.lock:
            count = len(audience.rows)
        return Response(200, {"id": audience.id, "name": audience.name, "approximate_count_lower_bound": count})

    def _parse(self, params: dict[str, str]) -> tuple[list[tuple[str, str]], dict[str, str], int] | Response:
        try:
            payload = json.loads(params.get("payload", ""))
            schema = payload["schema"]
            data = payload["data"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, 100, "(#100) The parameter payload is required and must be "
                                         "{\"schema\": ..., \"data\": [...]}", kind="OAuthException")
        single = isinstance(schema, str)
        columns = [schema] if single else list(schema)
        if not columns or any(column not in KEYS for column in columns):
            return self._error(400, 100, f"(#100) Invalid schema: {schema}", kind="OAuthException")
        if not isinstance(data, list):
            return self._error(400, 100, "(#100) payload.data must be a list", kind="OAuthException")
        if len(data) > MAX_ROWS:
            return self._error(400, 100, f"(#100) Too many users in payload: {len(data)} (the maximum is "
                                         f"{MAX_ROWS})", kind="OAuthException")
        rows: list[tuple[str, str]] = []
        invalid: dict[str, str] = {}
        count = 0
        for entry in data:
            values = [entry] if single else entry
            if not isinstance(values, list) or len(values) != len(columns):
                count += 1
                invalid[json.dumps(entry)[:80]] = "The number of values does not match the schema"
                continue
            row = {"EMAIL": "", "PHONE": ""}
            bad = None
            for column, value in zip(columns, values, strict=True):
                value = value if isinstance(value, str) else ""
                if value and not HASH.fullmatch(value):
                    bad = (value, "Not a SHA-256 hash (64 lower-case hex digits)")
                elif value and value in self.refused:
                    bad = (value, "Invalid identifier")
                row[KEYS[column]] = value
            if bad is None and not any(row.values()):
                bad = ("", "Every value of the row is empty")
            if bad is not None:
                count += 1
                invalid[bad[0]] = bad[1]
                continue
            rows.append((row["EMAIL"], row["PHONE"]))
        return rows, invalid, count

    def _users(self, request: Request) -> Response:
        params = self._params(request)
        if denied := self._authorise(request, params):
            return denied
        audience = self._find(request.match.group(2))
        if isinstance(audience, Response):
            return audience
        parsed = self._parse(params)
        if isinstance(parsed, Response):
            return parsed
        rows, invalid, count = parsed
        with self.lock:
            if request.method == "POST":
                audience.rows.update(rows)
            else:
                emails = {e for e, _ in rows if e}
                phones = {p for _, p in rows if p}
                audience.rows = {(e, p) for e, p in audience.rows
                                 if not ((e and e in emails) or (p and p in phones))}
        return Response(200, {"audience_id": audience.id, "session_id": str(secrets.randbits(53)),
                              "num_received": len(rows) + count, "num_invalid_entries": count,
                              "invalid_entry_samples": invalid})

    def _replace(self, request: Request) -> Response:
        params = self._params(request)
        if denied := self._authorise(request, params):
            return denied
        audience = self._find(request.match.group(2))
        if isinstance(audience, Response):
            return audience
        try:
            session = json.loads(params.get("session", ""))
            session_id = int(session["session_id"])
            seq = int(session["batch_seq"])
            last = bool(session["last_batch_flag"])
        except (ValueError, KeyError, TypeError):
            return self._error(400, 100, "(#100) session must be {\"session_id\", \"batch_seq\", "
                                         "\"last_batch_flag\", \"estimated_num_total\"}", kind="OAuthException")
        parsed = self._parse(params)
        if isinstance(parsed, Response):
            return parsed
        rows, invalid, count = parsed
        key = (audience.id, session_id)
        with self.lock:
            state = self.sessions.setdefault(key, {"rows": set(), "seqs": set(), "closed": False})
            if state["closed"]:
                return self._error(400, 2650, "This replace session has already ended", kind="OAuthException")
            if seq < 1:
                return self._error(400, 100, "(#100) batch_seq starts at 1", kind="OAuthException")
            state["rows"].update(rows)
            state["seqs"].add(seq)
            if last:
                audience.rows = set(state["rows"])
                state["closed"] = True
        return Response(200, {"account_id": audience.account, "session_id": str(session_id),
                              "num_received": len(rows) + count, "num_invalid_entries": count,
                              "invalid_entry_samples": invalid})
