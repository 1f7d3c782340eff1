"""Identifier normalisation and hashing as each platform specifies it (the platforms' own examples),
and what the connectors describe of themselves."""

from __future__ import annotations

import hashlib

import pytest

from svc_integrations.adapters.connectors._common import (
    expires_soon,
    google_email,
    google_phone,
    meta_email,
    meta_phone,
    retry_after_seconds,
    sha256_hex,
)
from svc_integrations.adapters.connectors.google_ads import GoogleCustomerMatch, _partial_failures
from svc_integrations.adapters.connectors.hubspot import HubSpotContacts
from svc_integrations.adapters.connectors.meta import MetaCustomAudiences


@pytest.mark.parametrize(("raw", "normalised"), [
    ("  John_Smith@Example.COM ", "john_smith@example.com"),
    ("\tjane.doe@gmail.com\n", "jane.doe@gmail.com"),  # Meta keeps gmail periods
])
def test_meta_email(raw, normalised):
    assert meta_email(raw) == normalised


@pytest.mark.parametrize(("raw", "normalised"), [
    ("+1 (650) 555-1212", "16505551212"),  # Meta's example: digits only, country code, no +
    ("+44 20 7946 0958", "442079460958"),
    ("0033 1 23 45 67 89", "33123456789"),  # no leading zeros
])
def test_meta_phone(raw, normalised):
    assert meta_phone(raw) == normalised


@pytest.mark.parametrize(("raw", "normalised"), [
    (" Jane.Doe@GMAIL.com ", "janedoe@gmail.com"),  # Google drops gmail.com local-part periods
    ("first.last@googlemail.com", "firstlast@googlemail.com"),
    ("First.Last@Example.com", "first.last@example.com"),  # other domains keep them
])
def test_google_email(raw, normalised):
    assert google_email(raw) == normalised


@pytest.mark.parametrize(("raw", "normalised"), [
    ("+1 800-555-0100", "+18005550100"),  # E.164 with its +
    ("+1.650.555.0123", "+16505550123"),
])
def test_google_phone(raw, normalised):
    assert google_phone(raw) == normalised


def test_sha256_is_lower_case_hex_of_the_utf8_bytes():
    assert sha256_hex("test@gmail.com") == hashlib.sha256(b"test@gmail.com").hexdigest()
    assert len(sha256_hex("x")) == 64 and sha256_hex("x") == sha256_hex("x").lower()
    assert sha256_hex("josé@example.com") == hashlib.sha256("josé@example.com".encode()).hexdigest()


def test_retry_after_and_expiry():
    assert retry_after_seconds({"retry-after": "7"}, 1.0) == 7.0
    assert retry_after_seconds({}, 1.5) == 1.5
    assert retry_after_seconds({"retry-after": "soon"}, 2.0) == 2.0

    class Clock:
        def now(self):
            return 1000.0

        def sleep(self, seconds):
            raise AssertionError

    assert expires_soon({}, Clock())
    assert expires_soon({"access_token": "t", "access_token_expires_at": "1030"}, Clock())
    assert not expires_soon({"access_token": "t", "access_token_expires_at": "5000"}, Clock())
    assert not expires_soon({"access_token": "t"}, Clock())  # no known expiry: a non-expiring token


def test_google_partial_failure_indexes():
    body = {"partialFailureError": {"code": 3, "message": "x", "details": [{"errors": [
        {"errorCode": {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}, "message": "malformed",
         "location": {"fieldPathElements": [{"fieldName": "operations", "index": 4}, {"fieldName": "create"}]}}]}]}}
    assert _partial_failures(body) == {4: "INVALID_SHA256_FORMAT: malformed"}
    assert _partial_failures({}) == {}


@pytest.mark.parametrize(("connector", "key", "category"), [
    (MetaCustomAudiences, "meta-custom-audiences", "ad_platform"),
    (GoogleCustomerMatch, "google-customer-match", "ad_platform"),
    (HubSpotContacts, "hubspot-contacts", "crm"),
])
def test_specs(connector, key, category):
    spec = connector.spec
    assert (spec.key, spec.category, spec.auth_type) == (key, category, "oauth2")
    assert ("export", "segment_members") in spec.capabilities
    assert spec.credential_keys and spec.documentation_uri.startswith("https://")
    assert any(p.key == "api_base_url" and p.type == "url" and p.default_value.startswith("https://")
               for p in spec.parameters)
