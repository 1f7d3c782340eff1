"""svc_kit.signing: the keyring (current and previous keys), signed link tokens (unsubscribe links, with
their expiry), and provider callback signatures (with their timestamp tolerance)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from svc_kit.channels import Channel
from svc_kit.config import ConfigError
from svc_kit.signing import (KEY_VARIABLE, PREVIOUS_KEY_VARIABLE, UNSUBSCRIBE_TTL, Keyring, LinkClaims, LinkSigner,
                             SignatureError, callback_signature, key_from_env, keyring_from_env, new_key, sign,
                             verify, verify_callback)

KEY = b"k" * 32
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CLAIMS = LinkClaims("acme", "u-1", Channel.EMAIL, "spring-sale", T0, T0 + UNSUBSCRIBE_TTL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_token_round_trips_its_claims_and_is_url_safe():
    token = sign(KEY, CLAIMS)
    assert verify(KEY, token, now=T0) == CLAIMS
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token) < 140  # compact enough for a List-Unsubscribe header
    everywhere = LinkClaims("acme", "u+1@x", None, "", T0, T0 + timedelta(days=30))
    assert verify(KEY, sign(KEY, everywhere), now=T0) == everywhere


def test_sign_stamps_the_issue_time_when_left_out():
    claims = verify(KEY, sign(KEY, LinkClaims("acme", "u-1", Channel.SMS), now=T0), now=T0)
    assert claims.issue_time == T0 and claims.channel is Channel.SMS
    assert claims.expire_time == T0 + UNSUBSCRIBE_TTL  # a year by default


def test_a_tampered_payload_is_refused():
    payload, mac = sign(KEY, CLAIMS).split(".")
    forged = b64(json.dumps([2, "acme", "u-2", "EMAIL", "spring-sale", int(T0.timestamp()), 2**40],
                            separators=(",", ":")).encode())
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, f"{forged}.{mac}", now=T0)
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

    payload = b64(json.dumps([3, "acme", "u-1", "EMAIL", "", 1, 2]).encode())
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


# -- expiry and rotation -------------------------------------------------------------------------------


def test_an_unsubscribe_token_expires_and_says_so():
    token = sign(KEY, LinkClaims("acme", "u-1", Channel.EMAIL, "", T0, T0 + timedelta(days=30)))
    assert verify(KEY, token, now=T0 + timedelta(days=29, hours=23)).profile == "u-1"
    with pytest.raises(SignatureError, match="expired: this link was valid until 2026-03-31"):
        verify(KEY, token, now=T0 + timedelta(days=30))


def test_the_expiry_is_signed_a_longer_one_cannot_be_forged():
    payload, mac = sign(KEY, LinkClaims("acme", "u-1", Channel.EMAIL, "", T0, T0 + timedelta(days=1))).split(".")
    longer = b64(json.dumps([2, "acme", "u-1", "EMAIL", "", int(T0.timestamp()), 2**40],
                            separators=(",", ":")).encode())
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, f"{longer}.{mac}", now=T0)


def test_a_layout_1_token_without_expiry_still_verifies_for_a_year():
    import hashlib
    import hmac

    payload = b64(json.dumps([1, "acme", "u-1", "EMAIL", "spring", int(T0.timestamp())],
                             separators=(",", ":")).encode())
    token = f"{payload}.{b64(hmac.new(KEY, b'mkt-link.v1.' + payload.encode(), hashlib.sha256).digest())}"
    assert verify(KEY, token, now=T0 + timedelta(days=364)).expire_time == T0 + UNSUBSCRIBE_TTL
    with pytest.raises(SignatureError, match="expired"):
        verify(KEY, token, now=T0 + UNSUBSCRIBE_TTL)


def test_the_link_signer_makes_what_sign_makes():
    signer = LinkSigner(KEY, "acme", Channel.EMAIL, "spring-sale", T0)
    assert signer.token("u-1") == sign(KEY, CLAIMS)


NEW = b"n" * 32


def test_rotation_the_previous_key_still_verifies_and_the_current_one_signs():
    old_token = sign(KEY, CLAIMS)
    rotated = Keyring(NEW, previous=KEY)
    assert verify(rotated, old_token, now=T0) == CLAIMS  # sent before the rotation
    new_token = sign(rotated, CLAIMS)
    assert new_token != old_token and verify(NEW, new_token, now=T0) == CLAIMS  # signed with the current key
    with pytest.raises(SignatureError, match="another key"):
        verify(KEY, new_token, now=T0)
    with pytest.raises(SignatureError, match="another key"):  # once the previous key is dropped
        verify(Keyring(NEW), old_token, now=T0)


def test_keyring_from_env_reads_both_keys():
    current, previous = new_key(), new_key()
    assert keyring_from_env({}) is None
    assert keyring_from_env({KEY_VARIABLE: current}) == Keyring(current.encode())
    assert keyring_from_env({KEY_VARIABLE: current, PREVIOUS_KEY_VARIABLE: previous}) == \
        Keyring(current.encode(), previous.encode())
    assert keyring_from_env({KEY_VARIABLE: current, PREVIOUS_KEY_VARIABLE: current}) == Keyring(current.encode())
    with pytest.raises(ConfigError, match=PREVIOUS_KEY_VARIABLE):
        keyring_from_env({KEY_VARIABLE: current, PREVIOUS_KEY_VARIABLE: "short"})
    with pytest.raises(ConfigError, match="without"):
        keyring_from_env({PREVIOUS_KEY_VARIABLE: previous})


def test_keyring_from_a_secret_of_one_or_two_lines():
    assert Keyring.from_text("") is None and Keyring.from_text(None) is None
    assert Keyring.from_text("abc\n") == Keyring(b"abc")
    assert Keyring.from_text("new\nold\n") == Keyring(b"new", b"old")


# -- provider callbacks ----------------------------------------------------------------------------------

NAME = "workspaces/acme/providers/default-smtp"
BODY = b'{"events": [{"message": "workspaces/acme/messages/m1", "type": "delivered"}]}'


def test_a_signed_callback_verifies_within_the_tolerance():
    header = callback_signature("s3cret", NAME, BODY, T0.timestamp())
    assert header.startswith(f"t={int(T0.timestamp())},v1=")
    keys = Keyring(b"s3cret")
    assert verify_callback(keys, NAME, BODY, header, now=T0 + timedelta(minutes=4, seconds=59)) == T0
    assert verify_callback(keys, NAME, BODY, header, now=T0 - timedelta(minutes=4)) == T0  # a clock a bit ahead


@pytest.mark.parametrize(("header", "reason"), [
    ("", "unsigned"),
    ("sha256=abc", "malformed"),
    ("t=abc,v1=00", "malformed"),
    ("v1=00", "malformed"),
    ("t=1772366400", "malformed"),
    ("t=1772366400,v1=zz", "hexadecimal"),
])
def test_malformed_callback_signatures_say_why(header, reason):
    with pytest.raises(SignatureError, match=reason):
        verify_callback(Keyring(b"s3cret"), NAME, BODY, header, now=T0)


def test_a_callback_altered_replayed_late_or_sent_elsewhere_is_refused():
    keys = Keyring(b"s3cret")
    header = callback_signature("s3cret", NAME, BODY, T0.timestamp())
    with pytest.raises(SignatureError, match="bad signature"):
        verify_callback(keys, NAME, BODY.replace(b"delivered", b"bounced"), header, now=T0)
    with pytest.raises(SignatureError, match="bad signature"):  # to another workspace's provider
        verify_callback(keys, "workspaces/other/providers/default-smtp", BODY, header, now=T0)
    with pytest.raises(SignatureError, match="bad signature"):  # its time changed
        verify_callback(keys, NAME, BODY, header.replace(f"t={int(T0.timestamp())}", f"t={int(T0.timestamp()) + 600}"),
                        now=T0 + timedelta(minutes=10))
    with pytest.raises(SignatureError, match="bad signature"):
        verify_callback(Keyring(b"other"), NAME, BODY, header, now=T0)
    with pytest.raises(SignatureError, match="stale"):
        verify_callback(keys, NAME, BODY, header, now=T0 + timedelta(minutes=5, seconds=1))
    with pytest.raises(SignatureError, match="stale"):
        verify_callback(keys, NAME, BODY, header, now=T0 + timedelta(seconds=61), tolerance=timedelta(minutes=1))


def test_callback_secrets_rotate():
    old = callback_signature("old-secret", NAME, BODY, T0.timestamp())
    new = callback_signature("new-secret", NAME, BODY, T0.timestamp())
    rotated = Keyring.from_text("new-secret\nold-secret")
    assert verify_callback(rotated, NAME, BODY, old, now=T0) == verify_callback(rotated, NAME, BODY, new, now=T0)
    with pytest.raises(SignatureError, match="bad signature"):
        verify_callback(Keyring.from_text("new-secret"), NAME, BODY, old, now=T0)


def test_a_signed_time_far_in_the_future_is_stale_not_a_crash():
    header = callback_signature("s3cret", NAME, BODY, 999_999_999_999)
    with pytest.raises(SignatureError, match="stale: signed at 999999999999"):
        verify_callback(Keyring(b"s3cret"), NAME, BODY, header, now=T0)
