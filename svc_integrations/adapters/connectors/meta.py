"""Meta Custom Audiences: a segment's members as a customer-list custom audience, through the
Graph API's `/{audience_id}/users` (POST adds, DELETE removes) and `/{audience_id}/usersreplace`
(a full sync, in one replace session).

Rows are multi-key: schema ["EMAIL", "PHONE"], each value the SHA-256 (hex) of the identifier
normalised as Meta specifies (email trimmed and lower-cased; phone digits only, country code
included, no `+`), "" where the profile lacks it; a member with neither is a RowFailure and is not
sent. At most 10,000 rows per request. Meta names refused rows in `invalid_entry_samples`
(hash -> reason): those become RowFailures.

Errors: code 190 (OAuthException: expired or invalid token) -> one long-lived token exchange
(`/oauth/access_token`, grant_type=fb_exchange_token, posted as a form so that no secret is in a URL; when the connection has app_id and
app_secret) then the call again; a token Meta will not exchange -> ConnectionCheckFailed with
Meta's message. A token whose stored expiry is near is exchanged before it is used. Rate-limit
codes (4, 17, 613, 80003) and 5xx -> DestinationUnavailable. Other errors (100: no such audience,
200: permission) -> ConnectionCheckFailed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from svc_integrations.adapters.connectors._common import (
    HttpPlatformConnector,
    Clock,
    batches,
    expires_soon,
    meta_email,
    meta_phone,
    retry_after_seconds,
    sha256_hex,
)
from svc_integrations.domain.connectors import (
    ConnectionCheckFailed,
    ConnectionContext,
    ConnectorSpec,
    DestinationUnavailable,
    Member,
    ParameterSpec,
    Progress,
    PushResult,
    RowFailure,
)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
MAX_ROWS = 10_000
SCHEMA = ["EMAIL", "PHONE"]
EXPIRED_TOKEN = 190
RATE_LIMITED = {4, 17, 32, 613, 80003}
TOKEN_REFRESH_MARGIN_S = 7 * 24 * 3600.0  # long-lived tokens last ~60 days: renew in their last week


class MetaCustomAudiences(HttpPlatformConnector):
    spec = ConnectorSpec(
        key="meta-custom-audiences",
        display_name="Meta Custom Audiences",
        description="Syncs a segment to a Meta (Facebook, Instagram) customer-list custom audience: "
                    "SHA-256 hashed emails and phone numbers, 10,000 rows a request, replace sessions "
                    "for full syncs.",
        category="ad_platform",
        auth_type="oauth2",
        parameters=(
            ParameterSpec("ad_account_id", "Ad account id", "The ad account (digits, without act_) that owns "
                          "the audiences.", required=True),
            ParameterSpec("api_version", "Graph API version", default_value=DEFAULT_API_VERSION),
            ParameterSpec("api_base_url", "Graph API base URL", "Only changed to test against a local server.",
                          type="url", default_value=DEFAULT_BASE_URL),
        ),
        credential_keys=("access_token", "app_id", "app_secret"),
        capabilities=(("export", "segment_members"),),
        documentation_uri="https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences",
    )

    def __init__(self, client: httpx.Client | Callable[[], httpx.Client] | None = None,
                 clock: Clock | None = None, max_rows: int = MAX_ROWS):
        super().__init__(client, clock)
        self._max_rows = max_rows

    # -- the contract --------------------------------------------------------------------------

    def check(self, context: ConnectionContext) -> None:
        account = context.parameters.get("ad_account_id", "").removeprefix("act_")
        if not account:
            raise ConnectionCheckFailed("the ad_account_id parameter is required")
        body = self._call(context, "GET", f"act_{account}", {"fields": "id,name,account_status"})
        if str(body.get("account_status", "1")) not in ("1",):
            raise ConnectionCheckFailed(f"ad account act_{account} is not active "
                                        f"(account_status {body.get('account_status')})")

    def push_members(self, context: ConnectionContext, destination: str, adds: Sequence[Member],
                     removes: Sequence[Member], *, replace: bool, progress: Progress) -> PushResult:
        audience = destination.rsplit("/", 1)[-1]
        failures: list[RowFailure] = []
        add_rows = self._rows(adds, failures)
        remove_rows = [] if replace else self._rows(removes, failures)
        done = added = removed = 0
        if replace:
            session_id = secrets.randbits(53) or 1  # Meta: a number the caller picks, new per replace
            chunks = list(batches(add_rows, self._max_rows)) or [[]]
            for seq, chunk in enumerate(chunks, start=1):
                session = {"session_id": session_id, "batch_seq": seq, "last_batch_flag": seq == len(chunks),
                           "estimated_num_total": len(add_rows)}
                body = self._call(context, "POST", f"{audience}/usersreplace",
                                  {"payload": self._payload(chunk), "session": json.dumps(session)})
                bad = self._refused(body, chunk, failures)
                added += len(chunk) - bad
                done += len(chunk)
                if progress(done):
                    return PushResult(added, removed, tuple(failures))
            removed = len(removes)  # the session's end drops everyone it did not name
            return PushResult(added, removed, tuple(failures))
        for method, rows in (("DELETE", remove_rows), ("POST", add_rows)):
            for chunk in batches(rows, self._max_rows):
                body = self._call(context, method, f"{audience}/users", {"payload": self._payload(chunk)})
                bad = self._refused(body, chunk, failures)
                if method == "POST":
                    added += len(chunk) - bad
                else:
                    removed += len(chunk) - bad
                done += len(chunk)
                if progress(done):
                    return PushResult(added, removed, tuple(failures))
        return PushResult(added, removed, tuple(failures))

    # -- rows ------------------------------------------------------------------------------------

    @staticmethod
    def _rows(members: Sequence[Member], failures: list[RowFailure]) -> list[tuple[str, list[str]]]:
        rows = []
        for member in members:
            email = sha256_hex(meta_email(member.email)) if member.email and member.email.strip() else ""
            digits = meta_phone(member.phone) if member.phone else ""
            phone = sha256_hex(digits) if digits else ""
            if not email and not phone:
                failures.append(RowFailure(member.profile_id, "no email or phone to match on"))
                continue
            rows.append((member.profile_id, [email, phone]))
        return rows

    @staticmethod
    def _payload(chunk: Sequence[tuple[str, list[str]]]) -> str:
        return json.dumps({"schema": SCHEMA, "data": [values for _, values in chunk]}, separators=(",", ":"))

    @staticmethod
    def _refused(body: Mapping[str, Any], chunk: Sequence[tuple[str, list[str]]],
                 failures: list[RowFailure]) -> int:
        """RowFailures for the rows Meta named in invalid_entry_samples; the number it refused."""
        samples = body.get("invalid_entry_samples") or {}
        invalid = int(body.get("num_invalid_entries") or 0)
        if not invalid:
            return 0
        named = 0
        for profile_id, values in chunk:
            reason = next((samples[v] for v in values if v and v in samples), None)
            if reason is not None:
                failures.append(RowFailure(profile_id, f"Meta: {reason}"))
                named += 1
        return max(invalid, named)

    # -- HTTP ------------------------------------------------------------------------------------

    def _url(self, context: ConnectionContext, path: str) -> str:
        base = (context.parameters.get("api_base_url") or DEFAULT_BASE_URL).rstrip("/")
        version = context.parameters.get("api_version") or DEFAULT_API_VERSION
        return f"{base}/{version}/{path}"

    def _call(self, context: ConnectionContext, method: str, path: str, params: dict[str, str]) -> dict:
        refreshed = False
        credentials = context.credentials.current()
        if credentials.get("app_id") and expires_soon(credentials, self._clock, TOKEN_REFRESH_MARGIN_S):
            self._exchange(context)
            refreshed = True
        while True:
            token = context.credentials.current().get("access_token", "")
            if not token:
                raise ConnectionCheckFailed("no access_token in the connection's credentials")
            headers = {"authorization": f"Bearer {token}"}  # never in a URL, so never in a request log
            try:
                if method == "GET":
                    response = self._client.get(self._url(context, path), params=params, headers=headers)
                else:
                    response = self._client.request(method, self._url(context, path), data=params,
                                                    headers=headers)
            except httpx.HTTPError as error:
                raise DestinationUnavailable(f"Meta unreachable: {error}") from error
            body = _json(response)
            if response.status_code < 400 and "error" not in body:
                return body
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            code = error.get("code")
            message = error.get("message") or f"HTTP {response.status_code}"
            if code == EXPIRED_TOKEN and not refreshed and context.credentials.current().get("app_id"):
                self._exchange(context)
                refreshed = True
                continue
            if code in RATE_LIMITED or response.status_code == 429:
                raise DestinationUnavailable(f"Meta rate limit ({code}): {message}",
                                             retry_after_seconds(response.headers, 60.0))
            if response.status_code >= 500 or error.get("is_transient"):
                raise DestinationUnavailable(f"Meta ({response.status_code}): {message}")
            raise ConnectionCheckFailed(f"Meta ({code}): {message}")

    def _exchange(self, context: ConnectionContext) -> None:
        """A fresh long-lived token for the current one (fb_exchange_token), stored before use."""
        credentials = dict(context.credentials.current())
        app_id, secret = credentials.get("app_id", ""), credentials.get("app_secret", "")
        if not (app_id and secret):
            raise ConnectionCheckFailed("the access token expired and the connection has no app_id and "
                                        "app_secret to renew it")
        try:
            response = self._client.post(self._url(context, "oauth/access_token"), data={
                "grant_type": "fb_exchange_token", "client_id": app_id, "client_secret": secret,
                "fb_exchange_token": credentials.get("access_token", "")})
        except httpx.HTTPError as error:
            raise DestinationUnavailable(f"Meta unreachable: {error}") from error
        body = _json(response)
        if response.status_code >= 400 or not body.get("access_token"):
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            if response.status_code >= 500:
                raise DestinationUnavailable(f"Meta token exchange ({response.status_code})")
            raise ConnectionCheckFailed(f"Meta ({error.get('code')}): "
                                        f"{error.get('message') or 'token exchange refused'}")
        credentials["access_token"] = body["access_token"]
        if body.get("expires_in"):
            credentials["access_token_expires_at"] = str(int(self._clock.now() + float(body["expires_in"])))
        else:
            credentials.pop("access_token_expires_at", None)
        context.credentials.replace(credentials)


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
