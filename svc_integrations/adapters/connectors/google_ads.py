"""Google Ads Customer Match: a segment's members as a Customer Match user list, through the
Google Ads API's OfflineUserDataJobService (REST): create a CUSTOMER_MATCH_USER_LIST job for the
user list, add operations to it (`create` adds a user, `remove` removes one, `removeAll` first for a
full sync), run it, and poll the long-running operation until it is done.

Each operation is one user: userIdentifiers [{"hashedEmail"}, {"hashedPhoneNumber"}], the SHA-256
(hex) of the identifier normalised as Google specifies (email trimmed and lower-cased, the periods
of a gmail.com or googlemail.com local part dropped; phone in E.164 with its `+`). At most 10,000
operations per addOperations request (Google's recommendation; the hard limit is 100,000
identifiers), with partial failure on: the failures' operation indexes become RowFailures.
Removes and adds go in separate jobs, run one after the other (a user list takes one job at a time).

Authentication: OAuth2 (client_id, client_secret, refresh_token) plus the developer token, and
login-customer-id when a manager account is in between. The access token is fetched from the token
endpoint when missing or within a minute of expiry and again on a 401, and stored through the
CredentialVault; a refused refresh (invalid_grant) is ConnectionCheckFailed. 429 and 5xx are retried
after the retryDelay Google names (or Retry-After, or a backoff), a bounded number of times, then
DestinationUnavailable."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from svc_integrations.adapters.connectors._common import (
    HttpPlatformConnector,
    Clock,
    batches,
    expires_soon,
    google_email,
    google_phone,
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

DEFAULT_BASE_URL = "https://googleads.googleapis.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_API_VERSION = "v18"
MAX_OPERATIONS = 10_000
MAX_RETRIES = 4
POLL_INTERVAL_S = 5.0
MAX_POLLS = 720  # an hour at 5 s

Operation = tuple[str, str, list[dict[str, str]]]  # (profile_id, "create" | "remove", userIdentifiers)


class GoogleCustomerMatch(HttpPlatformConnector):
    spec = ConnectorSpec(
        key="google-customer-match",
        display_name="Google Ads Customer Match",
        description="Syncs a segment to a Google Ads Customer Match user list through offline user data "
                    "jobs: SHA-256 hashed emails and phone numbers, partial failures per row.",
        category="ad_platform",
        auth_type="oauth2",
        parameters=(
            ParameterSpec("customer_id", "Customer id", "The Google Ads account (10 digits, no dashes) that "
                          "owns the user lists.", required=True),
            ParameterSpec("login_customer_id", "Login customer id", "The manager account to act through, "
                          "if any (login-customer-id)."),
            ParameterSpec("api_version", "Google Ads API version", default_value=DEFAULT_API_VERSION),
            ParameterSpec("api_base_url", "Google Ads API base URL", "Only changed to test against a local "
                          "server.", type="url", default_value=DEFAULT_BASE_URL),
            ParameterSpec("token_url", "OAuth2 token endpoint", "Only changed to test against a local server.",
                          type="url", default_value=DEFAULT_TOKEN_URL),
        ),
        credential_keys=("client_id", "client_secret", "refresh_token", "developer_token"),
        capabilities=(("export", "segment_members"),),
        documentation_uri="https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/"
                          "customer-match/get-started",
    )

    def __init__(self, client: httpx.Client | Callable[[], httpx.Client] | None = None,
                 clock: Clock | None = None, max_operations: int = MAX_OPERATIONS,
                 poll_interval: float = POLL_INTERVAL_S, max_polls: int = MAX_POLLS):
        super().__init__(client, clock)
        self._max_operations = max_operations
        self._poll_interval = poll_interval
        self._max_polls = max_polls

    # -- the contract --------------------------------------------------------------------------

    def check(self, context: ConnectionContext) -> None:
        customer = _digits(context.parameters.get("login_customer_id") or context.parameters.get("customer_id"))
        if not customer:
            raise ConnectionCheckFailed("the customer_id parameter is required")
        body = self._call(context, "GET", "customers:listAccessibleCustomers")
        if f"customers/{customer}" not in body.get("resourceNames", []):
            raise ConnectionCheckFailed(f"Google Ads: customer {customer} is not accessible with these credentials")

    def push_members(self, context: ConnectionContext, destination: str, adds: Sequence[Member],
                     removes: Sequence[Member], *, replace: bool, progress: Progress) -> PushResult:
        customer = _digits(context.parameters.get("customer_id"))
        if not customer:
            raise ConnectionCheckFailed("the customer_id parameter is required")
        user_list = destination if destination.startswith("customers/") else \
            f"customers/{customer}/userLists/{destination}"
        failures: list[RowFailure] = []
        creates = self._operations(adds, "create", failures)
        done = [0]
        if replace:
            added, cancelled = self._job(context, customer, user_list, creates, True, failures, progress, done)
            return PushResult(added, 0 if cancelled else len(removes), tuple(failures))
        removed = added = 0
        deletes = self._operations(removes, "remove", failures)
        if deletes:
            removed, cancelled = self._job(context, customer, user_list, deletes, False, failures, progress, done)
            if cancelled:
                return PushResult(0, 0, tuple(failures))
        if creates:
            added, cancelled = self._job(context, customer, user_list, creates, False, failures, progress, done)
            if cancelled:
                return PushResult(0, removed, tuple(failures))
        return PushResult(added, removed, tuple(failures))

    # -- jobs ------------------------------------------------------------------------------------

    @staticmethod
    def _operations(members: Sequence[Member], kind: str, failures: list[RowFailure]) -> list[Operation]:
        operations = []
        for member in members:
            identifiers = []
            if member.email and member.email.strip():
                identifiers.append({"hashedEmail": sha256_hex(google_email(member.email))})
            if member.phone and any(c.isdigit() for c in member.phone):
                identifiers.append({"hashedPhoneNumber": sha256_hex(google_phone(member.phone))})
            if not identifiers:
                failures.append(RowFailure(member.profile_id, "no email or phone to match on"))
                continue
            operations.append((member.profile_id, kind, identifiers))
        return operations

    def _job(self, context: ConnectionContext, customer: str, user_list: str, operations: list[Operation],
             remove_all: bool, failures: list[RowFailure], progress: Progress, done: list[int]) -> tuple[int, bool]:
        """Create, fill, run and wait for one job; (operations Google took, cancelled)."""
        job = self._call(context, "POST", f"customers/{customer}/offlineUserDataJobs:create", {
            "job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {"userList": user_list}},
        })["resourceName"]
        taken = 0
        chunks = list(batches(operations, self._max_operations)) or ([[]] if remove_all else [])
        for number, chunk in enumerate(chunks):
            wire = [{kind: {"userIdentifiers": identifiers}} for _, kind, identifiers in chunk]
            offset = 0
            if remove_all and number == 0:
                wire.insert(0, {"removeAll": True})
                offset = 1
            body = self._call(context, "POST", f"{job}:addOperations",
                              {"enablePartialFailure": True, "operations": wire})
            refused = _partial_failures(body)
            for index, reason in refused.items():
                if 0 <= index - offset < len(chunk):
                    failures.append(RowFailure(chunk[index - offset][0], f"Google Ads: {reason}"))
            taken += len(chunk) - len({i for i in refused if 0 <= i - offset < len(chunk)})
            done[0] += len(chunk)
            if progress(done[0]):
                return 0, True  # never run: Google drops a job that is not run, so nothing changed
        operation = self._call(context, "POST", f"{job}:run", {})
        for _ in range(self._max_polls):
            if operation.get("done"):
                if operation.get("error"):
                    error = operation["error"]
                    raise DestinationUnavailable(f"Google Ads job {job} failed: {error.get('message', error)}")
                return taken, False
            self._clock.sleep(self._poll_interval)
            operation = self._call(context, "GET", operation["name"])
        raise DestinationUnavailable(f"Google Ads job {job} still running after {self._max_polls} polls",
                                     self._poll_interval)

    # -- HTTP ------------------------------------------------------------------------------------

    def _token(self, context: ConnectionContext, force: bool) -> str:
        credentials = dict(context.credentials.current())
        if not force and not expires_soon(credentials, self._clock):
            return credentials["access_token"]
        missing = [k for k in ("client_id", "client_secret", "refresh_token") if not credentials.get(k)]
        if missing:
            raise ConnectionCheckFailed(f"Google OAuth: missing credentials {', '.join(missing)}")
        url = context.parameters.get("token_url") or DEFAULT_TOKEN_URL
        try:
            response = self._client.post(url, data={
                "grant_type": "refresh_token", "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"], "refresh_token": credentials["refresh_token"]})
        except httpx.HTTPError as error:
            raise DestinationUnavailable(f"Google OAuth unreachable: {error}") from error
        body = _json(response)
        if response.status_code >= 500:
            raise DestinationUnavailable(f"Google OAuth ({response.status_code})")
        if response.status_code >= 400 or not body.get("access_token"):
            raise ConnectionCheckFailed(f"Google OAuth: {body.get('error', response.status_code)}: "
                                        f"{body.get('error_description', '')}".rstrip(": "))
        credentials["access_token"] = body["access_token"]
        credentials["access_token_expires_at"] = str(int(self._clock.now() + float(body.get("expires_in", 3600))))
        context.credentials.replace(credentials)
        return body["access_token"]

    def _call(self, context: ConnectionContext, method: str, path: str, payload: Any = None) -> dict:
        base = (context.parameters.get("api_base_url") or DEFAULT_BASE_URL).rstrip("/")
        url = f"{base}/{context.parameters.get('api_version') or DEFAULT_API_VERSION}/{path}"
        refreshed = False
        attempt = 0
        while True:
            token = self._token(context, force=False)
            credentials = context.credentials.current()
            headers = {"authorization": f"Bearer {token}",
                       "developer-token": credentials.get("developer_token", "")}
            if login := _digits(context.parameters.get("login_customer_id")):
                headers["login-customer-id"] = login
            try:
                response = self._client.request(method, url, headers=headers,
                                                json=payload if method != "GET" else None)
            except httpx.HTTPError as error:
                response = None
                reason, wait = f"Google Ads unreachable: {error}", None
            if response is not None:
                body = _json(response)
                if response.status_code < 400:
                    return body
                reason, wait = _reason(body, response.status_code), _retry_delay(body, response.headers)
                if response.status_code == 401 and not refreshed:
                    self._token(context, force=True)
                    refreshed = True
                    continue
                if response.status_code not in (429, 500, 502, 503, 504):
                    raise ConnectionCheckFailed(f"Google Ads: {reason}")
            if attempt >= MAX_RETRIES:
                raise DestinationUnavailable(f"Google Ads: {reason}", wait)
            self._clock.sleep(wait if wait is not None else 2.0 ** attempt)
            attempt += 1


def _digits(value: str | None) -> str:
    return "".join(c for c in (value or "") if c.isdigit())


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _failures(error: Mapping[str, Any]) -> list[dict]:
    return [e for detail in error.get("details", []) if isinstance(detail, dict)
            for e in detail.get("errors", []) if isinstance(e, dict)]


def _reason(body: Mapping[str, Any], status: int) -> str:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    parts = []
    for failure in _failures(error):
        codes = ", ".join(f"{k}={v}" for k, v in (failure.get("errorCode") or {}).items())
        parts.append(f"{codes}: {failure.get('message', '')}".strip(": "))
    head = f"{error.get('status', status)}: {error.get('message', f'HTTP {status}')}"
    return head + (f" ({'; '.join(parts)})" if parts else "")


def _retry_delay(body: Mapping[str, Any], headers: Mapping[str, str]) -> float | None:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    for failure in _failures(error):
        delay = ((failure.get("details") or {}).get("quotaErrorDetails") or {}).get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                pass
    value = retry_after_seconds(headers, -1.0)
    return None if value < 0 else value


def _partial_failures(body: Mapping[str, Any]) -> dict[int, str]:
    """operation index -> Google's reason, from an addOperations answer's partialFailureError."""
    error = body.get("partialFailureError")
    if not isinstance(error, dict):
        return {}
    refused: dict[int, str] = {}
    for failure in _failures(error):
        elements = ((failure.get("location") or {}).get("fieldPathElements")) or []
        index = next((e.get("index") for e in elements if e.get("fieldName") == "operations"), None)
        if isinstance(index, int):
            codes = ", ".join(f"{v}" for v in (failure.get("errorCode") or {}).values())
            refused.setdefault(index, f"{codes}: {failure.get('message', '')}".strip(": "))
    return refused
