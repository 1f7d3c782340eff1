"""The Google Ads Customer Match connector against the local Google-shaped OAuth and Ads API
server (devstack/platforms/google_ads.py): offline user data jobs (create, add operations, run,
poll) for adds, removes and a replace, token refresh before expiry and on 401, 429 retried after
Google's retryDelay, partial failures per row, and check()."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from devstack.platforms.google_ads import GoogleAdsServer
from svc_integrations.adapters.connectors.google_ads import GoogleCustomerMatch
from svc_integrations.domain.connectors import ConnectionCheckFailed, DestinationUnavailable, Member
from tests.contract.connector_helpers import MemoryVault, Recorder, StillClock, closed_port_url, context

CUSTOMER, LIST_ID = "1234567890", "555"


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def members(n: int, start: int = 0) -> list[Member]:
    return [Member(f"p{i}", email=f"user{i}@example.com") for i in range(start, start + n)]


@pytest.fixture
def server():
    with GoogleAdsServer() as server:
        server.add_user_list(CUSTOMER, LIST_ID)
        yield server


@pytest.fixture
def clock():
    return StillClock()


@pytest.fixture
def connector(clock):
    with httpx.Client(timeout=30) as client:
        yield GoogleCustomerMatch(client, clock, max_operations=1_000, poll_interval=5.0)


@pytest.fixture
def vault(server):
    return MemoryVault({"client_id": server.client_id, "client_secret": server.client_secret,
                        "refresh_token": "1//refresh", "developer_token": server.developer_token})


def ctx(server: GoogleAdsServer, vault: MemoryVault, **extra: str):
    return context({"customer_id": CUSTOMER, "api_base_url": server.url, "token_url": server.token_url,
                    "api_version": "v18", **extra}, vault)


LIST = f"customers/{CUSTOMER}/userLists/{LIST_ID}"


def test_adds_and_removes_run_jobs_to_completion_with_google_normalisation(server, connector, vault, clock):
    adds = [Member("a", email=" John.Doe@GMAIL.com "), Member("b", phone="+1 650-555-0123"),
            Member("c", email="c@example.com")]
    result = connector.push_members(ctx(server, vault), LIST_ID, adds, [], replace=False, progress=Recorder())
    assert (result.added, result.removed, result.failures) == (3, 0, ())
    assert server.members(LIST) == {frozenset({("hashedEmail", h("johndoe@gmail.com"))}),
                                    frozenset({("hashedPhoneNumber", h("+16505550123"))}),
                                    frozenset({("hashedEmail", h("c@example.com"))})}
    assert clock.sleeps == [5.0, 5.0]  # the operation is done on the second poll after run
    result = connector.push_members(ctx(server, vault), LIST, [Member("d", email="d@example.com")],
                                    [adds[0]], replace=False, progress=Recorder())
    assert (result.added, result.removed) == (1, 1)
    assert server.email_hashes(LIST) == {h("c@example.com"), h("d@example.com")}
    assert server.count("POST", r"/v18/customers/\d+/offlineUserDataJobs:create") == 3  # one job per kind
    assert len(vault.replaced) == 1  # one access token fetched, then reused


def test_operations_go_in_requests_of_the_configured_size_with_progress(server, connector, vault):
    progress = Recorder()
    result = connector.push_members(ctx(server, vault), LIST_ID, members(2_500), [], replace=False,
                                    progress=progress)
    assert result.added == 2_500
    assert server.count("POST", r"/v18/customers/\d+/offlineUserDataJobs/\d+:addOperations") == 3
    assert progress.calls == [1_000, 2_000, 2_500]
    assert len(server.email_hashes(LIST)) == 2_500


def test_replace_removes_all_first_and_leaves_exactly_the_adds(server, connector, vault):
    connector.push_members(ctx(server, vault), LIST_ID, members(10), [], replace=False, progress=Recorder())
    result = connector.push_members(ctx(server, vault), LIST_ID, members(1_500, start=5), members(5),
                                    replace=True, progress=Recorder())
    assert (result.added, result.removed) == (1_500, 5)
    assert server.email_hashes(LIST) == {h(f"user{i}@example.com") for i in range(5, 1_505)}


def test_a_cancelled_job_is_never_run(server, connector, vault):
    result = connector.push_members(ctx(server, vault), LIST_ID, members(2_500), [], replace=False,
                                    progress=Recorder(cancel_after=1))
    assert result.added == 0
    assert server.count("POST", r"/v18/customers/\d+/offlineUserDataJobs/\d+:run") == 0
    assert server.members(LIST) == set()


def test_partial_failures_are_row_failures_and_the_rest_is_applied(server, connector, vault):
    server.refuse(h("bad@example.com"))
    adds = [Member("ok", email="ok@example.com"), Member("bad", email="bad@example.com"), Member("none"),
            Member("ok2", email="ok2@example.com")]
    result = connector.push_members(ctx(server, vault), LIST_ID, adds, [], replace=False, progress=Recorder())
    assert result.added == 2
    reasons = {f.profile_id: f.reason for f in result.failures}
    assert set(reasons) == {"bad", "none"}
    assert "UNSUPPORTED_USER_IDENTIFIER" in reasons["bad"]
    assert server.email_hashes(LIST) == {h("ok@example.com"), h("ok2@example.com")}


def test_an_expired_access_token_answers_401_and_is_refreshed_and_stored(server, connector, vault):
    connector.check(ctx(server, vault))
    first = vault.credentials["access_token"]
    server.expire_access_tokens()  # expired at Google although the stored expiry says otherwise
    result = connector.push_members(ctx(server, vault), LIST_ID, members(3), [], replace=False,
                                    progress=Recorder())
    assert result.added == 3
    assert vault.credentials["access_token"] != first and len(vault.replaced) == 2
    assert server.count("POST", r"/token") == 2


def test_a_token_near_its_stored_expiry_is_refreshed_before_use(server, connector, vault, clock):
    connector.check(ctx(server, vault))
    clock.time += 3_599 - 30  # within a minute of the expiry Google gave
    connector.check(ctx(server, vault))
    assert server.count("POST", r"/token") == 2
    assert server.count("GET", r"/v18/customers:listAccessibleCustomers") == 2  # no 401 on the way


def test_a_revoked_refresh_token_fails_with_googles_reason(server, connector, vault):
    server.revoke_refresh_tokens()
    with pytest.raises(ConnectionCheckFailed, match="invalid_grant: Token has been expired or revoked"):
        connector.push_members(ctx(server, vault), LIST_ID, members(1), [], replace=False, progress=Recorder())


def test_429_is_retried_after_googles_retry_delay_then_gives_up(server, connector, vault, clock):
    server.throttle(2, retry_delay=7)
    result = connector.push_members(ctx(server, vault), LIST_ID, members(2), [], replace=False,
                                    progress=Recorder())
    assert result.added == 2
    assert clock.sleeps[:2] == [7.0, 7.0]
    server.throttle(10, retry_delay=3)
    with pytest.raises(DestinationUnavailable, match="RESOURCE_EXHAUSTED") as raised:
        connector.push_members(ctx(server, vault), LIST_ID, members(2), [], replace=False, progress=Recorder())
    assert raised.value.retry_after == 3.0


def test_check_good_and_bad(server, connector, vault):
    connector.check(ctx(server, vault))
    with pytest.raises(ConnectionCheckFailed, match="not accessible"):
        connector.check(context({"customer_id": "999", "api_base_url": server.url, "token_url": server.token_url},
                                vault))
    wrong_developer = MemoryVault({**vault.credentials, "developer_token": "nope"})
    with pytest.raises(ConnectionCheckFailed, match="DEVELOPER_TOKEN_INVALID"):
        connector.check(ctx(server, wrong_developer))
    wrong_client = MemoryVault({**vault.credentials, "client_secret": "nope", "access_token": ""})
    with pytest.raises(ConnectionCheckFailed, match="invalid_client"):
        connector.check(ctx(server, wrong_client))


def test_an_unknown_user_list_is_refused_with_googles_reason(server, connector, vault):
    with pytest.raises(ConnectionCheckFailed, match="INVALID_USER_LIST_ID"):
        connector.push_members(ctx(server, vault), "404", members(1), [], replace=False, progress=Recorder())


def test_an_unreachable_platform_is_retried_then_destination_unavailable(server, connector, vault, clock):
    connector.check(ctx(server, vault))  # a live access token, so only the Ads API is unreachable
    with pytest.raises(DestinationUnavailable, match="unreachable"):
        connector.check(context({"customer_id": CUSTOMER, "api_base_url": closed_port_url(),
                                 "token_url": server.token_url}, vault))
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
