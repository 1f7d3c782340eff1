"""svc_kit.signing: signed link tokens (unsubscribe links)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.config import ConfigError
from svc_kit.signing import KEY_VARIABLE, LinkClaims, SignatureError, key_from_env, new_key, sign, verify

KEY = b"k" * 32
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CLAIMS = LinkClaims("acme", "u-1", Channel.EMAIL, "spring-sale", T0)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_round_trips_its_claims_and_is_url_safe():
    token = sign(KEY, CLAIMS)
    assert verify(KEY, token) == CLAIMS
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token) < 140  # compact enough for a List-Unsubscribe header
    everywhere = LinkClaims("acme", "u+1@x", None, "", T0)
    assert verify(KEY, sign(KEY, everywhere)) == everywhere


def test_sign_stamps_the_issue_time_when_left_out():
    claims = verify(KEY, sign(KEY, LinkClaims("acme", "u-1", Channel.SMS), now=T0))
    assert claims.issue_time == T0 and claims.channel is Channel.SMS


def test_a_tampered_payload_is_refused():
    payload, mac = sign(KEY, CLAIMS).split(".")
    forged = b64(json.dumps([1, "acme", "u-2", "EMAIL", "spring-sale", int(T0.timestamp())],
                            separators=(",", ":")).encode())
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, f"{forged}.{mac}")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, f"{payload}.{flipped}")


def test_a_token_of_another_key_is_refused():
    with pytest.raises(SignatureError, match="signed with another key"):
        verify(b"x" * 32, sign(KEY, CLAIMS))


@pytest.mark.parametrize(("token", "reason"), [
    ("", "empty"),
    ("no-dot-at-all", "expected <payload>.<signature>"),
    ("a.b.c", "expected <payload>.<signature>"),
    (".abc", "expected <payload>.<signature>"),
    ("abc.", "expected <payload>.<signature>"),
    ("ab$c.def", "bad characters"),
    ("abcde.fgh", "bad encoding"),
    ("x" * 3000, "longer than"),
])
def test_malformed_tokens_say_why(token, reason):
    with pytest.raises(SignatureError, match=reason):
        verify(KEY, token)


def test_a_signed_payload_of_an_unknown_layout_is_refused():
    import hashlib
    import hmac

    payload = b64(json.dumps([2, "acme", "u-1", "EMAIL", "", 1]).encode())
    mac = b64(hmac.new(KEY, b"mkt-link.v1." + payload.encode(), hashlib.sha256).digest())
    with pytest.raises(SignatureError, match="this release can read"):
        verify(KEY, f"{payload}.{mac}")


def test_max_age_refuses_old_and_future_tokens():
    token = sign(KEY, CLAIMS)
    assert verify(KEY, token, max_age=timedelta(days=30), now=T0 + timedelta(days=29)) == CLAIMS
    with pytest.raises(SignatureError, match="expired"):
        verify(KEY, token, max_age=timedelta(days=30), now=T0 + timedelta(days=31))
    with pytest.raises(SignatureError, match="future"):
        verify(KEY, token, max_age=timedelta(days=30), now=T0 - timedelta(hours=1))


def test_keys_are_at_least_32_bytes():
    with pytest.raises(ValueError, match="32"):
        sign(b"short", CLAIMS)
    assert key_from_env({}) is None
    assert key_from_env({KEY_VARIABLE: ""}) is None
    fresh = new_key()
    assert key_from_env({KEY_VARIABLE: fresh}) == fresh.encode() and len(fresh) >= 32
    with pytest.raises(ConfigError, match=KEY_VARIABLE) as caught:
        key_from_env({KEY_VARIABLE: "too-short-secret"})
    assert "too-short-secret" not in str(caught.value)  # the secret is never printed


def test_the_devstack_makes_a_key_once_and_hands_it_to_every_child(tmp_path):
    import io
    import os
    import stat

    from devstack.servers.platform import LINK_KEY_FILE, Platform, link_signing_key

    env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
    first = Platform(tmp_path / "state", env, out=io.StringIO())
    key = first.env[KEY_VARIABLE]
    assert key_from_env(first.env) == key.encode()
    key_file = tmp_path / "state" / LINK_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Platform(tmp_path / "state", env, out=io.StringIO()).env[KEY_VARIABLE] == key  # reused after a restart
    assert link_signing_key(tmp_path / "elsewhere") != key
    given = "g" * 40
    assert Platform(tmp_path / "state", {**env, KEY_VARIABLE: given}, out=io.StringIO()).env[KEY_VARIABLE] == given
