"""The Meta Custom Audiences connector against the local Meta-shaped Graph API server
(devstack/platforms/meta.py): adds, removes, batches of at most 10,000, a replace session,
token renewal, rate limits, per-row failures, and check()."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from devstack.platforms.meta import MetaServer
from svc_integrations.adapters.connectors.meta import MetaCustomAudiences
from svc_integrations.domain.connectors import ConnectionCheckFailed, DestinationUnavailable, Member
from tests.contract.connector_helpers import MemoryVault, Recorder, StillClock, closed_port_url, context

ACCOUNT, AUDIENCE = "1234567890", "23850000000000001"


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def members(n: int, start: int = 0) -> list[Member]:
    return [Member(f"p{i}", email=f"user{i}@example.com") for i in range(start, start + n)]


@pytest.fixture
def server():
    with MetaServer() as server:
        server.add_account(ACCOUNT)
        server.add_audience(ACCOUNT, AUDIENCE)
        yield server


@pytest.fixture
def clock():
    return StillClock()


@pytest.fixture
def connector(clock):
    with httpx.Client(timeout=30) as client:
        yield MetaCustomAudiences(client, clock)


def ctx(server: MetaServer, vault: MemoryVault):
    return context({"ad_account_id": ACCOUNT, "api_base_url": server.url, "api_version": "v21.0"}, vault)


def test_adds_then_removes_hashed_normalised_identifiers(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    adds = [Member("a", email="  Alice@Example.COM "), Member("b", phone="+44 20 7946 0958"),
            Member("c", email="carol@example.com", phone="+16505551212")]
    result = connector.push_members(ctx(server, vault), AUDIENCE, adds, [], replace=False, progress=Recorder())
    assert (result.added, result.removed, result.failures) == (3, 0, ())
    assert server.rows(AUDIENCE) == {(h("alice@example.com"), ""), ("", h("442079460958")),
                                     (h("carol@example.com"), h("16505551212"))}
    result = connector.push_members(ctx(server, vault), AUDIENCE, [], [adds[0], adds[2]], replace=False,
                                    progress=Recorder())
    assert (result.added, result.removed) == (0, 2)
    assert server.rows(AUDIENCE) == {("", h("442079460958"))}


def test_batches_of_at_most_10000_rows_with_progress_after_each(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    progress = Recorder()
    result = connector.push_members(ctx(server, vault), AUDIENCE, members(25_000), [], replace=False,
                                    progress=progress)
    assert result.added == 25_000
    assert server.count("POST", rf"/v21.0/{AUDIENCE}/users") == 3
    assert progress.calls == [10_000, 20_000, 25_000]
    assert len(server.email_hashes(AUDIENCE)) == 25_000


def test_the_server_refuses_more_than_10000_rows_in_one_request(server, clock):
    vault = MemoryVault({"access_token": server.issue_token()})
    with httpx.Client() as client:
        oversized = MetaCustomAudiences(client, clock, max_rows=10_001)
        with pytest.raises(ConnectionCheckFailed, match=r"\(100\).*Too many users"):
            oversized.push_members(ctx(server, vault), AUDIENCE, members(10_001), [], replace=False,
                                   progress=Recorder())
    assert server.rows(AUDIENCE) == set()


def test_replace_runs_one_session_and_leaves_exactly_the_adds(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    connector.push_members(ctx(server, vault), AUDIENCE, members(5), [], replace=False, progress=Recorder())
    progress = Recorder()
    result = connector.push_members(ctx(server, vault), AUDIENCE, members(12_000, start=3), members(3),
                                    replace=True, progress=progress)
    assert (result.added, result.removed) == (12_000, 3)
    assert server.count("POST", rf"/v21.0/{AUDIENCE}/usersreplace") == 2
    assert progress.calls == [10_000, 12_000]
    assert server.email_hashes(AUDIENCE) == {h(f"user{i}@example.com") for i in range(3, 12_003)}
    [(_, session)] = [(k, v) for k, v in server.sessions.items() if k[0] == AUDIENCE]
    assert session["seqs"] == {1, 2} and session["closed"]
    again = connector.push_members(ctx(server, vault), AUDIENCE, members(3), [], replace=True, progress=Recorder())
    assert again.added == 3 and len(server.email_hashes(AUDIENCE)) == 3  # a new session each replace


def test_cancelled_replace_stops_between_batches_and_leaves_the_audience_as_it_was(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    connector.push_members(ctx(server, vault), AUDIENCE, members(2), [], replace=False, progress=Recorder())
    result = connector.push_members(ctx(server, vault), AUDIENCE, members(25_000, start=10), [], replace=True,
                                    progress=Recorder(cancel_after=1))
    assert result.added == 10_000
    assert server.count("POST", rf"/v21.0/{AUDIENCE}/usersreplace") == 1
    assert server.email_hashes(AUDIENCE) == {h("user0@example.com"), h("user1@example.com")}


def test_refused_rows_and_rows_without_identifiers_are_row_failures(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    server.refuse(h("bad@example.com"))
    adds = [Member("ok", email="ok@example.com"), Member("bad", email="bad@example.com"), Member("none")]
    result = connector.push_members(ctx(server, vault), AUDIENCE, adds, [], replace=False, progress=Recorder())
    assert result.added == 1
    assert {f.profile_id for f in result.failures} == {"bad", "none"}
    assert "Invalid identifier" in next(f.reason for f in result.failures if f.profile_id == "bad")
    assert server.email_hashes(AUDIENCE) == {h("ok@example.com")}


def test_a_token_near_expiry_is_exchanged_and_stored_before_use(server, connector, clock):
    old = server.issue_token(expires_in=3600)
    vault = MemoryVault({"access_token": old, "app_id": server.app_id, "app_secret": server.app_secret,
                         "access_token_expires_at": str(int(clock.now() + 3600))})
    result = connector.push_members(ctx(server, vault), AUDIENCE, members(2), [], replace=False,
                                    progress=Recorder())
    assert result.added == 2
    assert len(vault.replaced) == 1 and vault.credentials["access_token"] != old
    assert float(vault.credentials["access_token_expires_at"]) > clock.now() + 50 * 24 * 3600
    assert server.count("POST", r"/v21.0/oauth/access_token") == 1
    secrets = (old, vault.credentials["access_token"], server.app_secret)
    assert not [q for q in server.queries if any(secret in q for secret in secrets)]  # no secret in a URL


def test_an_expired_token_that_meta_will_not_exchange_fails_the_connection_with_metas_reason(server, connector):
    token = server.issue_token(expires_in=3600)
    server.expire(token)
    vault = MemoryVault({"access_token": token, "app_id": server.app_id, "app_secret": server.app_secret})
    with pytest.raises(ConnectionCheckFailed, match="Session has expired"):
        connector.push_members(ctx(server, vault), AUDIENCE, members(1), [], replace=False, progress=Recorder())
    assert server.count("POST", r"/v21.0/oauth/access_token") == 1  # it tried to renew once
    assert vault.replaced == []


def test_an_invalid_token_gets_one_exchange_attempt_then_metas_reason(server, connector):
    vault = MemoryVault({"access_token": "EAAnot-a-token", "app_id": server.app_id,
                         "app_secret": server.app_secret})
    with pytest.raises(ConnectionCheckFailed, match="Cannot parse access token"):
        connector.check(ctx(server, vault))
    assert server.count("POST", r"/v21.0/oauth/access_token") == 1


def test_rate_limit_codes_are_destination_unavailable(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    server.throttle(1, code=80003)
    with pytest.raises(DestinationUnavailable, match="80003") as raised:
        connector.push_members(ctx(server, vault), AUDIENCE, members(1), [], replace=False, progress=Recorder())
    assert raised.value.retry_after is not None
    result = connector.push_members(ctx(server, vault), AUDIENCE, members(1), [], replace=False,
                                    progress=Recorder())
    assert result.added == 1  # the next call goes through


def test_check_good_and_bad(server, connector):
    connector.check(ctx(server, MemoryVault({"access_token": server.issue_token()})))
    with pytest.raises(ConnectionCheckFailed, match="Invalid OAuth access token"):
        connector.check(ctx(server, MemoryVault({"access_token": "EAAwrong"})))
    wrong_account = context({"ad_account_id": "999", "api_base_url": server.url},
                            MemoryVault({"access_token": server.issue_token()}))
    with pytest.raises(ConnectionCheckFailed, match="act_999"):
        connector.check(wrong_account)


def test_an_unknown_audience_is_refused_with_metas_reason(server, connector):
    vault = MemoryVault({"access_token": server.issue_token()})
    with pytest.raises(ConnectionCheckFailed, match="does not exist"):
        connector.push_members(ctx(server, vault), "404404", members(1), [], replace=False, progress=Recorder())


def test_an_unreachable_platform_is_destination_unavailable(connector):
    vault = MemoryVault({"access_token": "EAAx"})
    with pytest.raises(DestinationUnavailable, match="Meta unreachable"):
        connector.check(context({"ad_account_id": ACCOUNT, "api_base_url": closed_port_url()}, vault))
