"""A local server shaped like Google's OAuth2 token endpoint and the Google Ads API (REST) for
Customer Match: the test double of the Google Customer Match connector
(tests/contract/test_connector_google_ads.py).

    POST /token                                             grant_type=refresh_token (form): {"access_token",
                                                            "expires_in", "token_type"}; invalid_grant 400
    GET  /{v}/customers:listAccessibleCustomers             {"resourceNames": ["customers/..."]}
    POST /{v}/customers/{c}/offlineUserDataJobs:create      {"job": {"type": "CUSTOMER_MATCH_USER_LIST",
                                                            "customerMatchUserListMetadata": {"userList"}}}
    POST /{v}/customers/{c}/offlineUserDataJobs/{j}:addOperations
                                                            {"enablePartialFailure", "operations": [{"create" |
                                                            "remove": {"userIdentifiers": [...]}} | {"removeAll"}]}
    POST /{v}/customers/{c}/offlineUserDataJobs/{j}:run     a long-running operation {"name", "done": false}
    GET  /{v}/customers/{c}/operations/{o}                  done after `polls_to_finish` polls; the job's
                                                            operations then apply to the user list

Calls need `Authorization: Bearer` with a live access token (else 401 UNAUTHENTICATED) and the
developer token. Per operation: hashedEmail / hashedPhoneNumber must be SHA-256 hex
(INVALID_SHA256_FORMAT), at least one identifier (MISSING_USER_IDENTIFIER), at most 20
(TOO_MANY_USER_IDENTIFIERS), and not a value the test `refuse()`d; with partial failure the bad
operations are named in partialFailureError (GoogleAdsFailure, location operations[i]) and the rest
kept, without it the request fails. More than 100,000 identifiers in one request fails it.
`throttle(n, retry_delay)` makes the next n calls answer 429 RESOURCE_EXHAUSTED with a quota retryDelay."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.platforms._http import PlatformServer, Request, Response

ACCESS_TOKEN_S = 3599
MAX_IDENTIFIERS_PER_REQUEST = 100_000
MAX_IDENTIFIERS_PER_OPERATION = 20
HASH = re.compile(r"[0-9a-f]{64}")
FAILURE_TYPE = "type.googleapis.com/google.ads.googleads.{v}.errors.GoogleAdsFailure"


@dataclass
class Job:
    resource: str
    customer: str
    user_list: str
    status: str = "PENDING"
    operations: list[dict] = field(default_factory=list)
    polls: int = 0


class GoogleAdsServer(PlatformServer):
    def __init__(self, client_id: str = "google-client", client_secret: str = "google-secret",
                 refresh_token: str = "1//refresh", developer_token: str = "dev-token",
                 polls_to_finish: int = 2, now: Callable[[], float] = time.time, **kwargs):
        super().__init__(**kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_tokens = {refresh_token}
        self.developer_token = developer_token
        self.polls_to_finish = polls_to_finish
        self.now = now
        self.access_tokens: dict[str, float] = {}
        self.customers: set[str] = set()
        self.user_lists: dict[str, set[frozenset[tuple[str, str]]]] = {}
        self.jobs: dict[str, Job] = {}
        self.operations: dict[str, str] = {}  # operation name -> job resource
        self.refused: set[str] = set()
        self._throttle: list[float] = []
        self.route("POST", r"/token", self._token)
        v = r"/(v\d+)"
        self.route("GET", v + r"/customers:listAccessibleCustomers", self._accessible)
        self.route("POST", v + r"/customers/(\d+)/offlineUserDataJobs:create", self._create)
        self.route("POST", v + r"/(customers/\d+/offlineUserDataJobs/\d+):addOperations", self._add)
        self.route("POST", v + r"/(customers/\d+/offlineUserDataJobs/\d+):run", self._run)
        self.route("GET", v + r"/(customers/\d+/operations/\d+)", self._operation)

    # -- set-up and inspection (tests) -------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def add_user_list(self, customer: str, list_id: str) -> str:
        resource = f"customers/{customer}/userLists/{list_id}"
        with self.lock:
            self.customers.add(customer)
            self.user_lists[resource] = set()
        return resource

    def members(self, user_list: str) -> set[frozenset[tuple[str, str]]]:
        with self.lock:
            return set(self.user_lists[user_list])

    def email_hashes(self, user_list: str) -> set[str]:
        return {v for user in self.members(user_list) for k, v in user if k == "hashedEmail"}

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = self.now() - 1

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def refuse(self, *hashes: str) -> None:
        with self.lock:
            self.refused.update(hashes)

    def throttle(self, calls: int, retry_delay: float = 30.0) -> None:
        with self.lock:
            self._throttle.extend([retry_delay] * calls)

    # -- the API -----------------------------------------------------------------------------------

    @staticmethod
    def _failure(version: str, errors: list[dict]) -> dict:
        return {"@type": FAILURE_TYPE.format(v=version), "errors": errors, "requestId": secrets.token_hex(8)}

    def _error(self, status: int, grpc_status: str, message: str, version: str = "v18",
               errors: list[dict] | None = None) -> Response:
        body = {"code": status, "message": message, "status": grpc_status}
        if errors:
            body["details"] = [self._failure(version, errors)]
        return Response(status, {"error": body})

    def _token(self, request: Request) -> Response:
        form = request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        with self.lock:
            known = form.get("refresh_token") in self.refresh_tokens
        if not known:
            return Response(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        token = "ya29." + secrets.token_urlsafe(24)
        with self.lock:
            self.access_tokens[token] = self.now() + ACCESS_TOKEN_S
        return Response(200, {"access_token": token, "expires_in": ACCESS_TOKEN_S, "token_type": "Bearer",
                              "scope": "https://www.googleapis.com/auth/adwords"})

    def _authorise(self, request: Request) -> Response | None:
        version = request.match.group(1)
        with self.lock:
            if self._throttle:
                delay = self._throttle.pop(0)
                return self._error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                                   version, [{"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                                              "message": f"Too many requests. Retry in {delay:g} seconds.",
                                              "details": {"quotaErrorDetails": {
                                                  "rateScope": "DEVELOPER", "rateName": "Number of operations",
                                                  "retryDelay": f"{delay:g}s"}}}])
            expiry = self.access_tokens.get(request.bearer())
        if expiry is None or expiry <= self.now():
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                               "OAuth 2 access token, login cookie or other valid authentication credential.",
                               version)
        if request.headers.get("developer-token") != self.developer_token:
            return self._error(401, "UNAUTHENTICATED", "The developer token is not valid.", version,
                               [{"errorCode": {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
                                 "message": "The developer token is not valid."}])
        return None

    def _accessible(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        with self.lock:
            return Response(200, {"resourceNames": sorted(f"customers/{c}" for c in self.customers)})

    def _create(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        version, customer = request.match.group(1), request.match.group(2)
        job = (request.json() or {}).get("job") or {}
        user_list = (job.get("customerMatchUserListMetadata") or {}).get("userList", "")
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST":
            return self._error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", version,
                               [{"errorCode": {"offlineUserDataJobError": "INVALID_USER_LIST_TYPE"},
                                 "message": "The job type must be CUSTOMER_MATCH_USER_LIST here."}])
        with self.lock:
            exists = user_list in self.user_lists and user_list.startswith(f"customers/{customer}/")
        if not exists:
            return self._error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", version,
                               [{"errorCode": {"offlineUserDataJobError": "INVALID_USER_LIST_ID"},
                                 "message": f"The user list {user_list!r} does not exist in this customer."}])
        resource = f"customers/{customer}/offlineUserDataJobs/{secrets.randbelow(10**12)}"
        with self.lock:
            self.jobs[resource] = Job(resource, customer, user_list)
        return Response(200, {"resourceName": resource})

    def _add(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        version, resource = request.match.group(1), request.match.group(2)
        body = request.json() or {}
        operations = body.get("operations") or []
        with self.lock:
            job = self.jobs.get(resource)
        if job is None:
            return self._error(404, "NOT_FOUND", f"Resource {resource} was not found.", version)
        if job.status != "PENDING":
            return self._error(400, "FAILED_PRECONDITION", "The job is not PENDING.", version,
                               [{"errorCode": {"offlineUserDataJobError": "INVALID_JOB_STATUS"},
                                 "message": f"Operations can only be added to a PENDING job ({job.status})."}])
        total = sum(len((op.get("create") or op.get("remove") or {}).get("userIdentifiers") or [])
                    for op in operations if isinstance(op, dict))
        if total > MAX_IDENTIFIERS_PER_REQUEST:
            return self._error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", version,
                               [{"errorCode": {"offlineUserDataJobError": "TOO_MANY_USER_IDENTIFIERS"},
                                 "message": "Maximum number of user identifiers allowed per request is 100,000 "
                                            "and per operation is 20."}])
        errors, kept = [], []
        for index, op in enumerate(operations):
            error = self._validate(op, index)
            if error:
                errors.append(error)
            else:
                kept.append(op)
        if errors and not body.get("enablePartialFailure"):
            return self._error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", version, errors)
        with self.lock:
            job.operations.extend(kept)
        if not errors:
            return Response(200, {})
        return Response(200, {"partialFailureError": {
            "code": 3, "message": "Multiple errors in ‘details’. First error: " + errors[0]["message"],
            "details": [self._failure(version, errors)]}})

    def _validate(self, op: object, index: int) -> dict | None:
        def error(code: str, message: str, *path: dict) -> dict:
            return {"errorCode": {"offlineUserDataJobError": code}, "message": message,
                    "location": {"fieldPathElements": [{"fieldName": "operations", "index": index}, *path]}}

        if not isinstance(op, dict) or len(op) != 1:
            return error("INVALID_OPERATION", "An operation has exactly one of create, remove, removeAll.")
        kind, value = next(iter(op.items()))
        if kind == "removeAll":
            return None if (value is True and index == 0) else \
                error("INVALID_OPERATION", "removeAll must be the first operation of the request.")
        if kind not in ("create", "remove") or not isinstance(value, dict):
            return error("INVALID_OPERATION", f"Unknown operation {kind!r}.")
        identifiers = value.get("userIdentifiers") or []
        if not identifiers:
            return error("MISSING_USER_IDENTIFIER", "The operation has no user identifier.", {"fieldName": kind})
        if len(identifiers) > MAX_IDENTIFIERS_PER_OPERATION:
            return error("TOO_MANY_USER_IDENTIFIERS", "At most 20 user identifiers per operation.")
        for position, identifier in enumerate(identifiers):
            for key, hashed in identifier.items():
                path = ({"fieldName": kind}, {"fieldName": "user_identifiers", "index": position},
                        {"fieldName": "hashed_email" if key == "hashedEmail" else "hashed_phone_number"})
                if key not in ("hashedEmail", "hashedPhoneNumber"):
                    return error("INCOMPATIBLE_UPLOAD_KEY_TYPE", f"Unsupported identifier {key}.", *path[:2])
                if not isinstance(hashed, str) or not HASH.fullmatch(hashed):
                    return error("INVALID_SHA256_FORMAT", "The SHA256 encoded value is malformed.", *path)
                if hashed in self.refused:
                    return error("UNSUPPORTED_USER_IDENTIFIER", "The user identifier was refused.", *path)
        return None

    def _run(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        version, resource = request.match.group(1), request.match.group(2)
        with self.lock:
            job = self.jobs.get(resource)
            if job is None:
                return self._error(404, "NOT_FOUND", f"Resource {resource} was not found.", version)
            if job.status != "PENDING":
                return self._error(400, "FAILED_PRECONDITION", "The job has already been run.", version,
                                   [{"errorCode": {"offlineUserDataJobError": "INVALID_JOB_STATUS"},
                                     "message": f"The job is {job.status}."}])
            job.status = "RUNNING"
            name = f"customers/{job.customer}/operations/{secrets.randbelow(10**12)}"
            self.operations[name] = resource
        return Response(200, {"name": name, "done": False, "metadata": {
            "@type": f"type.googleapis.com/google.ads.googleads.{version}.resources.OfflineUserDataJobMetadata"}})

    def _operation(self, request: Request) -> Response:
        if denied := self._authorise(request):
            return denied
        version, name = request.match.group(1), request.match.group(2)
        with self.lock:
            resource = self.operations.get(name)
            if resource is None:
                return self._error(404, "NOT_FOUND", f"Operation {name} was not found.", version)
            job = self.jobs[resource]
            job.polls += 1
            if job.polls >= self.polls_to_finish and job.status == "RUNNING":
                members = self.user_lists[job.user_list]
                for op in job.operations:
                    if "removeAll" in op:
                        members.clear()
                        continue
                    kind, value = next(iter(op.items()))
                    user = frozenset((k, v) for identifier in value["userIdentifiers"] for k, v in identifier.items())
                    if kind == "create":
                        members.add(user)
                    else:
                        for existing in [m for m in members if m & user]:
                            members.discard(existing)
                job.status = "SUCCESS"
            done = job.status == "SUCCESS"
        answer = {"name": name, "done": done}
        if done:
            answer["response"] = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        return Response(200, answer)
