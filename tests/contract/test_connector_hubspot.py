"""The HubSpot contacts connector against the local HubSpot-shaped CRM server
(devstack/platforms/hubspot.py): batch upserts by email, 100 per call, into a static list; removes
from it; a replace; OAuth refresh on 401 and before expiry; 429 with Retry-After honoured through the
clock, then given up; 207 per-row errors; and check()."""

from __future__ import annotations

import httpx
import pytest

from devstack.platforms.hubspot import HubSpotServer
from svc_integrations.adapters.connectors.hubspot import HubSpotContacts
from svc_integrations.domain.connectors import ConnectionCheckFailed, DestinationUnavailable, Member
from tests.contract.connector_helpers import MemoryVault, Recorder, StillClock, closed_port_url, context

LIST = "42"


def members(n: int, start: int = 0) -> list[Member]:
    return [Member(f"p{i}", email=f"user{i}@example.com") for i in range(start, start + n)]


def emails(n: int, start: int = 0) -> set[str]:
    return {f"user{i}@example.com" for i in range(start, start + n)}


@pytest.fixture
def server():
    with HubSpotServer() as server:
        server.add_list(LIST)
        yield server


@pytest.fixture
def clock():
    return StillClock()


@pytest.fixture
def connector(clock):
    with httpx.Client(timeout=30) as client:
        yield HubSpotContacts(client, clock)


def ctx(server: HubSpotServer, vault: MemoryVault):
    return context({"api_base_url": server.url}, vault)


def test_adds_upsert_by_email_100_per_call_and_join_the_list(server, connector):
    vault = MemoryVault({"access_token": server.private_app_token()})
    progress = Recorder()
    adds = [Member("x", email=" Xavier@Example.com ", phone="+15551234567",
                   attributes={"first_name": "Xavier", "plan": "gold"}), *members(249)]
    result = connector.push_members(ctx(server, vault), LIST, adds, [], replace=False, progress=progress)
    assert (result.added, result.removed, result.failures) == (250, 0, ())
    assert server.count("POST", r"/crm/v3/objects/contacts/batch/upsert") == 3
    assert progress.calls == [100, 200, 250]
    assert server.list_emails(LIST) == emails(249) | {"xavier@example.com"}
    xavier = server.contacts[server.by_email["xavier@example.com"]]
    assert xavier == {"email": "xavier@example.com", "phone": "+15551234567", "firstname": "Xavier"}
    again = connector.push_members(ctx(server, vault), LIST, members(10), [], replace=False, progress=Recorder())
    assert again.added == 10 and len(server.contacts) == 250  # an upsert: no duplicate contacts


def test_removes_take_contacts_out_of_the_list_and_keep_them(server, connector):
    vault = MemoryVault({"access_token": server.private_app_token()})
    connector.push_members(ctx(server, vault), LIST, members(5), [], replace=False, progress=Recorder())
    gone = [*members(2), Member("never", email="never-a-contact@example.com")]
    result = connector.push_members(ctx(server, vault), LIST, [], gone, replace=False, progress=Recorder())
    assert (result.added, result.removed, result.failures) == (0, 3, ())
    assert server.list_emails(LIST) == emails(3, start=2)
    assert len(server.contacts) == 5


def test_replace_leaves_exactly_the_adds_in_the_list(server, connector):
    vault = MemoryVault({"access_token": server.private_app_token()})
    connector.push_members(ctx(server, vault), LIST, members(300), [], replace=False, progress=Recorder())
    result = connector.push_members(ctx(server, vault), LIST, members(150, start=200), [], replace=True,
                                    progress=Recorder())
    assert (result.added, result.removed) == (150, 200)
    assert server.list_emails(LIST) == emails(150, start=200)
    assert server.count("GET", rf"/crm/v3/lists/{LIST}/memberships") == 2  # 300 members, pages of 250


def test_per_row_errors_of_a_207_are_row_failures(server, connector):
    vault = MemoryVault({"access_token": server.private_app_token()})
    server.refuse("refused@example.com")
    adds = [Member("ok", email="ok@example.com"), Member("bad", email="not-an-email"),
            Member("refused", email="refused@example.com"), Member("none", phone="+15550000000")]
    result = connector.push_members(ctx(server, vault), LIST, adds, [], replace=False, progress=Recorder())
    assert result.added == 1
    reasons = {f.profile_id: f.reason for f in result.failures}
    assert set(reasons) == {"bad", "refused", "none"}
    assert "INVALID_EMAIL" in reasons["bad"] and "VALIDATION_ERROR" in reasons["bad"]
    assert server.list_emails(LIST) == {"ok@example.com"}


def test_an_expired_oauth_token_answers_401_and_is_refreshed_and_stored(server, connector):
    access, refresh = server.oauth_grant()
    vault = MemoryVault({"access_token": access, "refresh_token": refresh, "client_id": server.client_id,
                         "client_secret": server.client_secret})
    server.expire(access)
    result = connector.push_members(ctx(server, vault), LIST, members(3), [], replace=False, progress=Recorder())
    assert result.added == 3
    assert vault.credentials["access_token"] != access and len(vault.replaced) == 1
    assert server.count("POST", r"/oauth/v1/token") == 1


def test_a_token_near_its_stored_expiry_is_refreshed_before_use(server, connector, clock):
    access, refresh = server.oauth_grant()
    vault = MemoryVault({"access_token": access, "refresh_token": refresh, "client_id": server.client_id,
                         "client_secret": server.client_secret,
                         "access_token_expires_at": str(int(clock.now() + 30))})
    connector.check(ctx(server, vault))
    assert server.count("POST", r"/oauth/v1/token") == 1
    assert float(vault.credentials["access_token_expires_at"]) == pytest.approx(clock.now() + 1800, abs=1)


def test_an_expired_token_without_a_refresh_token_fails_with_hubspots_reason(server, connector):
    access, _ = server.oauth_grant()
    server.expire(access)
    with pytest.raises(ConnectionCheckFailed, match="EXPIRED_AUTHENTICATION"):
        connector.check(ctx(server, MemoryVault({"access_token": access})))


def test_a_refused_refresh_fails_with_hubspots_reason(server, connector):
    access, _ = server.oauth_grant()
    server.expire(access)
    vault = MemoryVault({"access_token": access, "refresh_token": "unknown", "client_id": server.client_id,
                         "client_secret": server.client_secret})
    with pytest.raises(ConnectionCheckFailed, match="BAD_REFRESH_TOKEN"):
        connector.check(ctx(server, vault))


def test_429_is_retried_after_retry_after_then_gives_up(server, connector, clock):
    vault = MemoryVault({"access_token": server.private_app_token()})
    server.throttle(2, retry_after=10)
    result = connector.push_members(ctx(server, vault), LIST, members(3), [], replace=False, progress=Recorder())
    assert result.added == 3
    assert clock.sleeps == [10.0, 10.0]
    server.throttle(6, retry_after=4)
    with pytest.raises(DestinationUnavailable, match="RATE_LIMIT") as raised:
        connector.push_members(ctx(server, vault), LIST, members(3), [], replace=False, progress=Recorder())
    assert raised.value.retry_after == 4.0
    assert clock.sleeps[2:] == [4.0] * 5  # five retries, then it gives up


def test_check_good_and_bad(server, connector):
    connector.check(ctx(server, MemoryVault({"access_token": server.private_app_token()})))
    with pytest.raises(ConnectionCheckFailed, match="INVALID_AUTHENTICATION"):
        connector.check(ctx(server, MemoryVault({"access_token": "pat-na1-wrong"})))


def test_an_unknown_or_dynamic_list_is_refused_with_hubspots_reason(server, connector):
    vault = MemoryVault({"access_token": server.private_app_token()})
    with pytest.raises(ConnectionCheckFailed, match="does not exist"):
        connector.push_members(ctx(server, vault), "404", members(1), [], replace=False, progress=Recorder())
    server.add_list("7", processing_type="DYNAMIC")
    with pytest.raises(ConnectionCheckFailed, match="MANUAL"):
        connector.push_members(ctx(server, vault), "7", members(1), [], replace=False, progress=Recorder())


def test_an_unreachable_platform_is_retried_then_destination_unavailable(connector, clock):
    with pytest.raises(DestinationUnavailable, match="unreachable"):
        connector.check(context({"api_base_url": closed_port_url()}, MemoryVault({"access_token": "pat-x"})))
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
