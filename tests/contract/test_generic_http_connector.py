"""The generic HTTP connector against its local endpoint (devstack/platforms/generic_http.py, a
real HTTP server): each auth kind, checks, batches and replace sessions, per-row failures,
401 as a refused credential, 429 with Retry-After honoured, and 5xx beyond the retries."""

from __future__ import annotations

import pytest

from devstack.platforms.generic_http import GenericHttpServer
from svc_integrations.adapters.connectors.generic_http import GenericHttpConnector
from svc_integrations.domain.connectors import (ConnectionCheckFailed, ConnectionContext, DestinationUnavailable,
                                                Member)


class Vault:
    def __init__(self, credentials):
        self.credentials = dict(credentials)

    def current(self):
        return dict(self.credentials)

    def replace(self, credentials):
        self.credentials = dict(credentials)


def context(server, credentials=None, **parameters):
    return ConnectionContext(parameters={"url": server.url, **parameters}, credentials=Vault(credentials or {}))


def members(*ids, domain="x.test"):
    return [Member(profile_id=i, email=f"{i}@{domain}", attributes={"tier": "gold"}) for i in ids]


def never_cancelled(rows_done):
    return False


@pytest.mark.parametrize("auth, server_args, credentials", [
    ("none", {}, {}),
    ("bearer", {"token": "t0k"}, {"token": "t0k"}),
    ("api_key", {"api_key": "k3y", "api_key_header": "X-Key"}, {"api_key": "k3y"}),
    ("basic", {"username": "u", "password": "p"}, {"username": "u", "password": "p"}),
])
def test_each_auth_kind_passes_the_check_and_a_wrong_credential_fails_with_the_endpoint_reason(
        auth, server_args, credentials):
    with GenericHttpServer(auth=auth, unauthorized_message="key revoked", **server_args) as server:
        extra = {"api_key_header": "X-Key"} if auth == "api_key" else {}
        GenericHttpConnector().check(context(server, credentials, auth=auth, **extra))
        assert server.received[-1].body["check"] is True
        if auth != "none":
            wrong = {k: v + "-wrong" for k, v in credentials.items()}
            with pytest.raises(ConnectionCheckFailed) as error:
                GenericHttpConnector().check(context(server, wrong, auth=auth, **extra))
            assert "401" in error.value.reason and "key revoked" in error.value.reason
            with pytest.raises(ConnectionCheckFailed) as missing:
                GenericHttpConnector().check(context(server, {}, auth=auth, **extra))
            assert "needs the credentials" in missing.value.reason


def test_batches_carry_adds_and_removes_and_a_replace_session_ends_with_exactly_the_adds():
    with GenericHttpServer() as server:
        connector = GenericHttpConnector()
        done = []
        result = connector.push_members(context(server, batch_size="2"), "aud", members("a", "b", "c"), [],
                                        replace=True, progress=lambda n: done.append(n) and False)
        assert (result.added, result.removed, result.failures) == (3, 0, ())
        assert done == [2, 3]
        bodies = server.batches()
        assert [b["session"]["last"] for b in bodies] == [False, True]
        assert len({b["session"]["id"] for b in bodies}) == 1
        assert bodies[0]["add"][0] == {"id": "a", "email": "a@x.test", "attributes": {"tier": "gold"}}
        assert server.members("aud") == {"a", "b", "c"}
        result = connector.push_members(context(server), "aud", members("d"), members("a"), replace=False,
                                        progress=never_cancelled)
        assert (result.added, result.removed) == (1, 1)
        assert server.members("aud") == {"b", "c", "d"}
        connector.push_members(context(server), "aud", members("e"), [], replace=True, progress=never_cancelled)
        assert server.members("aud") == {"e"}


def test_rows_the_endpoint_refuses_are_reported_with_its_reason():
    with GenericHttpServer() as server:
        result = GenericHttpConnector().push_members(
            context(server), "aud", members("a") + members("bad", domain="refused.test"), [], replace=False,
            progress=never_cancelled)
        assert result.added == 1
        assert [(f.profile_id, f.reason) for f in result.failures] == [
            ("bad", "the email's domain does not accept mail")]


def test_429_is_retried_after_the_hint_and_persistent_5xx_makes_the_destination_unavailable():
    waits = []
    with GenericHttpServer() as server:
        connector = GenericHttpConnector(sleep=waits.append)
        server.fail_next(429, retry_after=2)
        result = connector.push_members(context(server), "aud", members("a"), [], replace=False,
                                        progress=never_cancelled)
        assert result.added == 1 and waits == [2.0]
        server.fail_next(503, count=3)
        with pytest.raises(DestinationUnavailable) as error:
            connector.push_members(context(server), "aud", members("b"), [], replace=False, progress=never_cancelled)
        assert "503" in error.value.reason
        server.fail_next(429, retry_after=120)  # longer than the connector waits in place
        with pytest.raises(DestinationUnavailable) as later:
            connector.push_members(context(server), "aud", members("b"), [], replace=False, progress=never_cancelled)
        assert later.value.retry_after == 120
        with pytest.raises(ConnectionCheckFailed):
            GenericHttpConnector().check(context(server, url="http://127.0.0.1:9/closed", timeout_seconds="2"))


def test_a_cancelled_run_stops_between_batches():
    with GenericHttpServer() as server:
        result = GenericHttpConnector().push_members(context(server, batch_size="1"), "aud", members("a", "b", "c"),
                                                     [], replace=False, progress=lambda n: True)
        assert len(server.batches()) == 1 and result.added == 1
