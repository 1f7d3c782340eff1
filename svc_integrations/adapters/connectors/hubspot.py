"""HubSpot contacts: a segment's members as contacts in a static (MANUAL) HubSpot list.

Adds: contacts upserted by email, 100 per call (`POST /crm/v3/objects/contacts/batch/upsert`,
idProperty email; properties email, phone, and firstname/lastname from the profile's
first_name/last_name attributes), then the returned record ids added to the list
(`PUT /crm/v3/lists/{listId}/memberships/add`). Removes: the contacts looked up by email
(`POST /crm/v3/objects/contacts/batch/read`, 100 per call) and taken out of the list
(`PUT .../memberships/remove`); the contacts themselves are never deleted, because a CRM's
contacts are not ours to delete. Replace: the adds, then every list member that was not among them
removed (the list's memberships read page by page).

Authentication: a private-app token (access_token) or OAuth (access_token + client_id,
client_secret, refresh_token): an OAuth token within a minute of its stored expiry, or answered 401,
is refreshed at `/oauth/v1/token` and stored through the CredentialVault. 429 (and 5xx) are retried
after Retry-After (or a backoff), sleeping through the injected clock, at most 5 times, then
DestinationUnavailable. Per-row errors of a 207 multi-status answer become RowFailures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from svc_integrations.adapters.connectors._common import (
    HttpPlatformConnector,
    Clock,
    batches,
    expires_soon,
    retry_after_seconds,
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

DEFAULT_BASE_URL = "https://api.hubapi.com"
BATCH = 100
MEMBERSHIP_PAGE = 250
MAX_RETRIES = 5
PROPERTIES = {"first_name": "firstname", "last_name": "lastname", "firstname": "firstname", "lastname": "lastname"}


class HubSpotContacts(HttpPlatformConnector):
    spec = ConnectorSpec(
        key="hubspot-contacts",
        display_name="HubSpot contacts",
        description="Syncs a segment to a static HubSpot contact list: contacts upserted by email, 100 a "
                    "call, and added to or removed from the list.",
        category="crm",
        auth_type="oauth2",
        parameters=(
            ParameterSpec("api_base_url", "HubSpot API base URL", "Only changed to test against a local server.",
                          type="url", default_value=DEFAULT_BASE_URL),
        ),
        credential_keys=("access_token", "client_id", "client_secret", "refresh_token"),
        capabilities=(("export", "segment_members"),),
        documentation_uri="https://developers.hubspot.com/docs/api/crm/contacts",
    )

    def __init__(self, client: httpx.Client | Callable[[], httpx.Client] | None = None,
                 clock: Clock | None = None, max_retries: int = MAX_RETRIES):
        super().__init__(client, clock)
        self._max_retries = max_retries

    # -- the contract --------------------------------------------------------------------------

    def check(self, context: ConnectionContext) -> None:
        self._call(context, "GET", "/crm/v3/objects/contacts", params={"limit": "1"})

    def push_members(self, context: ConnectionContext, destination: str, adds: Sequence[Member],
                     removes: Sequence[Member], *, replace: bool, progress: Progress) -> PushResult:
        list_id = destination.rsplit("/", 1)[-1]
        failures: list[RowFailure] = []
        kept: set[str] = set()
        done = added = removed = 0
        for chunk in batches(self._with_email(adds, failures), BATCH):
            ids = self._upsert(context, chunk, failures)
            if ids:
                self._call(context, "PUT", f"/crm/v3/lists/{list_id}/memberships/add", json=sorted(set(ids.values())))
            kept.update(ids.values())
            added += len(ids)
            done += len(chunk)
            if progress(done):
                return PushResult(added, removed, tuple(failures))
        if replace:
            stale = sorted(self._memberships(context, list_id) - kept)
            for chunk in batches(stale, BATCH):
                self._call(context, "PUT", f"/crm/v3/lists/{list_id}/memberships/remove", json=list(chunk))
                removed += len(chunk)
                done += len(chunk)
                if progress(done):
                    break
            return PushResult(added, removed, tuple(failures))
        for chunk in batches(self._with_email(removes, failures), BATCH):
            ids = self._read(context, chunk, failures)
            if ids:
                self._call(context, "PUT", f"/crm/v3/lists/{list_id}/memberships/remove",
                           json=sorted(set(ids.values())))
            removed += len(chunk) - sum(1 for m in chunk if m.profile_id in {f.profile_id for f in failures})
            done += len(chunk)
            if progress(done):
                break
        return PushResult(added, removed, tuple(failures))

    # -- rows ------------------------------------------------------------------------------------

    @staticmethod
    def _with_email(members: Sequence[Member], failures: list[RowFailure]) -> list[Member]:
        kept = []
        for member in members:
            if member.email and member.email.strip():
                kept.append(member)
            else:
                failures.append(RowFailure(member.profile_id, "no email: HubSpot contacts are matched by email"))
        return kept

    @staticmethod
    def _properties(member: Member) -> dict[str, str]:
        properties = {"email": member.email.strip().lower()}
        if member.phone:
            properties["phone"] = member.phone
        for key, value in member.attributes.items():
            if key in PROPERTIES and value:
                properties[PROPERTIES[key]] = value
        return properties

    def _upsert(self, context: ConnectionContext, chunk: Sequence[Member], failures: list[RowFailure]) -> dict[str, str]:
        """profile_id -> HubSpot record id of the contacts the upsert took."""
        inputs = [{"idProperty": "email", "id": m.email.strip().lower(), "properties": self._properties(m)}
                  for m in chunk]
        body = self._batch(context, "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs}, chunk, failures)
        by_email = {str((r.get("properties") or {}).get("email", "")).lower(): str(r.get("id"))
                    for r in body.get("results", [])}
        return {m.profile_id: by_email[m.email.strip().lower()] for m in chunk
                if m.email.strip().lower() in by_email}

    def _read(self, context: ConnectionContext, chunk: Sequence[Member], failures: list[RowFailure]) -> dict[str, str]:
        """profile_id -> record id of the contacts that exist; a missing contact is in no list: not a failure."""
        payload = {"idProperty": "email", "properties": ["email"],
                   "inputs": [{"id": m.email.strip().lower()} for m in chunk]}
        body = self._batch(context, "/crm/v3/objects/contacts/batch/read", payload, chunk, failures,
                           ignore=("OBJECT_NOT_FOUND",))
        by_email = {str((r.get("properties") or {}).get("email", "")).lower(): str(r.get("id"))
                    for r in body.get("results", [])}
        return {m.profile_id: by_email[m.email.strip().lower()] for m in chunk
                if m.email.strip().lower() in by_email}

    def _batch(self, context: ConnectionContext, path: str, payload: dict, chunk: Sequence[Member],
               failures: list[RowFailure], ignore: tuple[str, ...] = ()) -> dict:
        status, body = self._call(context, "POST", path, json=payload, row_errors=True)
        if status == 400:  # the whole batch refused (HubSpot validates some things per batch)
            reason = f"HubSpot: {body.get('category', 'error')}: {body.get('message', 'HTTP 400')}"
            failures.extend(RowFailure(m.profile_id, reason) for m in chunk)
            return {}
        by_email = {m.email.strip().lower(): m.profile_id for m in chunk}
        for error in body.get("errors", []):
            if error.get("category") in ignore:
                continue
            ids = [str(i).lower() for values in (error.get("context") or {}).values()
                   if isinstance(values, list) for i in values]
            for email in ids:
                if email in by_email:
                    failures.append(RowFailure(by_email.pop(email),
                                               f"HubSpot: {error.get('category', 'error')}: {error.get('message', '')}"))
        return body

    def _memberships(self, context: ConnectionContext, list_id: str) -> set[str]:
        ids: set[str] = set()
        after = ""
        while True:
            params = {"limit": str(MEMBERSHIP_PAGE), **({"after": after} if after else {})}
            _, body = self._call(context, "GET", f"/crm/v3/lists/{list_id}/memberships", params=params)
            ids.update(str(r.get("recordId")) for r in body.get("results", []))
            after = (((body.get("paging") or {}).get("next")) or {}).get("after", "")
            if not after:
                return ids

    # -- HTTP ------------------------------------------------------------------------------------

    def _refresh(self, context: ConnectionContext) -> None:
        credentials = dict(context.credentials.current())
        base = (context.parameters.get("api_base_url") or DEFAULT_BASE_URL).rstrip("/")
        try:
            response = self._client.post(f"{base}/oauth/v1/token", data={
                "grant_type": "refresh_token", "client_id": credentials.get("client_id", ""),
                "client_secret": credentials.get("client_secret", ""),
                "refresh_token": credentials.get("refresh_token", "")})
        except httpx.HTTPError as error:
            raise DestinationUnavailable(f"HubSpot unreachable: {error}") from error
        body = _json(response)
        if response.status_code >= 500:
            raise DestinationUnavailable(f"HubSpot OAuth ({response.status_code})")
        if response.status_code >= 400 or not body.get("access_token"):
            raise ConnectionCheckFailed(f"HubSpot OAuth: {body.get('status', response.status_code)}: "
                                        f"{body.get('message', '')}".rstrip(": "))
        credentials["access_token"] = body["access_token"]
        if body.get("refresh_token"):
            credentials["refresh_token"] = body["refresh_token"]
        credentials["access_token_expires_at"] = str(int(self._clock.now() + float(body.get("expires_in", 1800))))
        context.credentials.replace(credentials)

    def _call(self, context: ConnectionContext, method: str, path: str, *, json: Any = None,
              params: Mapping[str, str] | None = None, row_errors: bool = False) -> tuple[int, dict]:
        """(status, body) of a 2xx answer (or of a 400 VALIDATION_ERROR when `row_errors`: the batch's
        rows are then failures); refreshes the token, retries 429/5xx, raises for the rest."""
        base = (context.parameters.get("api_base_url") or DEFAULT_BASE_URL).rstrip("/")
        refreshed = False
        attempt = 0
        while True:
            credentials = context.credentials.current()
            can_refresh = bool(credentials.get("refresh_token"))
            if can_refresh and not refreshed and expires_soon(credentials, self._clock):
                self._refresh(context)
                refreshed = True
                credentials = context.credentials.current()
            if not credentials.get("access_token"):
                raise ConnectionCheckFailed("HubSpot: no access_token in the connection's credentials")
            try:
                response = self._client.request(method, base + path, json=json, params=params,
                                                headers={"authorization": f"Bearer {credentials['access_token']}"})
            except httpx.HTTPError as error:
                response, reason, wait = None, f"HubSpot unreachable: {error}", None
            if response is not None:
                body = _json(response)
                status = response.status_code
                if status < 400 or (row_errors and status == 400 and body.get("category") == "VALIDATION_ERROR"):
                    return status, body
                reason = f"{body.get('category') or body.get('errorType') or status}: {body.get('message', '')}"
                wait = retry_after_seconds(response.headers, -1.0)
                wait = None if wait < 0 else wait
                if status == 401 and can_refresh and not refreshed:
                    self._refresh(context)
                    refreshed = True
                    continue
                if status not in (429, 500, 502, 503, 504):
                    raise ConnectionCheckFailed(f"HubSpot ({status}) {reason}")
            if attempt >= self._max_retries:
                raise DestinationUnavailable(f"HubSpot: {reason}", wait)
            self._clock.sleep(wait if wait is not None else min(2.0 ** attempt, 30.0))
            attempt += 1


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
