"""Pure parts of connections and syncs: the connector registry, credential encryption and key
rotation, parameter validation, the schedule syntax and the diff an incremental run sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from svc_integrations.adapters.connectors import CONNECTORS, ConnectorRegistry, default_registry
from svc_integrations.adapters.connectors.generic_http import GenericHttpConnector
from svc_integrations.adapters.credential_cipher import CredentialKeyError, FernetCipher, parse_keys
from svc_integrations.domain.connections import validate_credentials, validate_parameters
from svc_integrations.domain.connectors import Member
from svc_integrations.domain.syncs import ADD, CHANGE, REMOVE, Change, Held, diff, next_run, parse_schedule
from svc_kit.errors import FailedPrecondition


def test_the_registry_finds_connectors_by_key_and_refuses_duplicates():
    registry = default_registry()
    assert registry.get("http").spec.display_name == "HTTP endpoint"
    assert registry.get("nope") is None
    assert len(registry.all()) == len(CONNECTORS)
    for connector in registry.all():
        spec = connector.spec
        assert spec.category in ("webhook", "crm", "ad_platform", "data_warehouse", "ecommerce", "storage")
        assert spec.auth_type in ("none", "api_key", "basic", "oauth2", "service_account")
    with pytest.raises(ValueError):
        ConnectorRegistry([GenericHttpConnector(), GenericHttpConnector()])


def test_credentials_round_trip_and_rotate_to_the_first_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = FernetCipher([old]).encrypt({"token": "secret-value"})
    assert "secret-value" not in token
    both = FernetCipher(parse_keys(f" {new} , {old} "))
    assert both.decrypt(token) == {"token": "secret-value"}
    assert not both.current(token)
    rotated = both.rotate(token)
    assert both.current(rotated) and FernetCipher([new]).decrypt(rotated) == {"token": "secret-value"}
    with pytest.raises(FailedPrecondition):
        FernetCipher([old]).decrypt(rotated)
    with pytest.raises(FailedPrecondition):
        FernetCipher([]).encrypt({"token": "x"})
    with pytest.raises(CredentialKeyError):
        FernetCipher(["not-a-key"])


def test_parameters_and_credentials_are_checked_against_the_connector_spec():
    spec = GenericHttpConnector.spec
    assert validate_parameters(spec, {"url": "https://example.com/hook", "batch_size": "10"}, "c") == []
    fields = {v.field: v.description for v in validate_parameters(
        spec, {"batch_size": "ten", "method": "GET", "url": "ftp://x", "colour": "red"}, "c")}
    assert set(fields) == {"c.parameters[batch_size]", "c.parameters[method]", "c.parameters[url]",
                           "c.parameters[colour]"}
    assert "POST" in fields["c.parameters[method]"]
    assert [v.field for v in validate_parameters(spec, {}, "c")] == ["c.parameters[url]"]
    assert [v.field for v in validate_credentials(spec, {"token": "t", "pin": "1"}, "c")] == ["c.credentials[pin]"]


@pytest.mark.parametrize("text, interval", [("every 15m", timedelta(minutes=15)), ("every 2h", timedelta(hours=2)),
                                            ("every 1 day", timedelta(days=1)), ("EVERY 30 minutes",
                                                                                  timedelta(minutes=30)),
                                            ("", None)])
def test_schedules_are_intervals(text, interval):
    assert parse_schedule(text) == interval


@pytest.mark.parametrize("text", ["*/15 * * * *", "every 0m", "every 40d", "daily", "every m"])
def test_other_schedules_are_refused_with_the_syntax(text):
    with pytest.raises(ValueError) as error:
        parse_schedule(text)
    assert "every" in str(error.value) or "between" in str(error.value)


def test_the_next_run_follows_the_interval():
    now = datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert next_run("every 15m", now) == now + timedelta(minutes=15)
    assert next_run("", now) is None


def test_the_diff_sends_what_the_destination_lacks_and_removes_what_left_with_the_identifiers_held():
    held = {"a": Held("a", "a@x.test"), "b": Held("b", "b@x.test"), "e": Held("e", "old@x.test", "+33100"),
            "u": Held("u", "u@x.test", confirmed=False), "v": Held("v", "v@x.test", confirmed=False),
            "z": Held("z", "z@x.test")}
    live = [Member("a", "a@x.test"), Member("c", "c@x.test"), Member("e", "new@x.test", "+33100"),
            Member("u", "u@x.test"), Member("c", "twice@x.test")]
    changes = diff(held, live)
    # b and z left (whether or not any event said so) and v was sent unconfirmed: removed with the
    # identifiers held; c joined and u's last push did not say whether it was taken: added.
    assert changes.removes == (Member("b", "b@x.test"), Member("v", "v@x.test"), Member("z", "z@x.test"))
    assert changes.adds == (Member("c", "c@x.test"), Member("u", "u@x.test"))
    assert changes.changes == (Change(Member("e", "old@x.test", "+33100"), Member("e", "new@x.test", "+33100")),)
    assert [op for op, _ in changes.rows] == [REMOVE] * 3 + [CHANGE] + [ADD] * 2 and len(changes) == 6
    assert len(diff({"a": Held("a", "a@x.test")}, [Member("a", "a@x.test")])) == 0
    # None and "" are the same absent identifier.
    assert len(diff({"a": Held("a", "a@x.test", "")}, [Member("a", "a@x.test", None)])) == 0
