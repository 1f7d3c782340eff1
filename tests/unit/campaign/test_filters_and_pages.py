"""svc_kit.filtering, CampaignFilter, page sizes and tokens, resource names."""

from __future__ import annotations

import base64
import json

import pytest

from svc_kit import pagination
from svc_kit.errors import InvalidArgument
from svc_kit.filtering import MAX_FILTER_LENGTH, Term, parse_filter
from svc_kit.names import ResourceNameError, format_name, parse_name, parse_parent

from svc_campaign.domain.model import Campaign
from svc_campaign.domain.queries import CampaignFilter
from svc_campaign.domain.values import State
from tests.fakes import NOW, ready_fields


def filter_error(text: str) -> str:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    (violation,) = caught.value.violations
    assert violation.field == "filter"
    return violation.description


# -- the filter grammar ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "terms"), [
    ("", []),
    ("   ", []),
    ("state = STATE_RUNNING", [Term("state", "=", "STATE_RUNNING")]),
    ("state=RUNNING", [Term("state", "=", "RUNNING")]),
    ("state != DRAFT", [Term("state", "!=", "DRAFT")]),
    ("labels.tier:*", [Term("labels.tier", "has")]),
    ("labels.tier : *", [Term("labels.tier", "has")]),
    ('labels.team = "growth team"', [Term("labels.team", "=", "growth team")]),
    (r'labels.q = "say \"hi\" \\ bye"', [Term("labels.q", "=", 'say "hi" \\ bye')]),
    ('labels.empty = ""', [Term("labels.empty", "=", "")]),
    ("labels.v = 1.5-beta_2", [Term("labels.v", "=", "1.5-beta_2")]),
    ("state = RUNNING AND labels.team = growth AND labels.tier:*",
     [Term("state", "=", "RUNNING"), Term("labels.team", "=", "growth"), Term("labels.tier", "has")]),
])
def test_parse_valid_filters(text, terms):
    assert parse_filter(text) == terms


@pytest.mark.parametrize(("text", "message"), [
    ("state = RUNNING OR state = DRAFT", "expected AND at position 16, found 'OR'"),
    ("state = RUNNING state = DRAFT", "expected AND at position 16, found 'state'"),
    ("state =", "missing value after state ="),
    ("labels.x != ", "missing value after labels.x !="),
    ("state", "incomplete term at the end"),
    ("state = RUNNING AND", "incomplete term at the end"),
    ("state = RUNNING AND labels.x", "incomplete term at the end"),
    ("AND = x", "expected a field name at position 0, found 'AND'"),
    ('"state" = x', "expected a field name at position 0"),
    ("state RUNNING x", "expected =, != or : after 'state' at position 6"),
    ("state = AND", "expected a value at position 8, found 'AND'"),
    ("state = = x", "expected a value at position 8, found '='"),
    ("labels.tier:present", "only `labels.tier:*` (field present) is supported with `:`"),
    ("state = (RUNNING)", "unexpected character '(' at position 7"),
    ("state > 3", "unexpected character '>' at position 5"),
    ('labels.x = "unterminated', "unexpected character '\"' at position 10"),
])
def test_parse_errors(text, message):
    assert message in filter_error(text)


def test_filter_length_is_limited():
    term = "labels.k = v AND "
    long_text = (term * (MAX_FILTER_LENGTH // len(term) + 1))[:MAX_FILTER_LENGTH + 1]
    assert filter_error(long_text) == f"at most {MAX_FILTER_LENGTH} characters"


# -- CampaignFilter -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", CampaignFilter()),
    ("state = STATE_RUNNING", CampaignFilter(states=frozenset({State.RUNNING}))),
    ("state = running", CampaignFilter(states=frozenset({State.RUNNING}))),
    ("state = STATE_FAILED", CampaignFilter(states=frozenset({State.FAILED}))),
    ("state = RUNNING AND state = PAUSED", CampaignFilter(states=frozenset())),
    ("state != DRAFT AND state != STATE_CANCELLED",
     CampaignFilter(excluded_states=frozenset({State.DRAFT, State.CANCELLED}))),
    ("labels.team = growth AND labels.team != brand AND labels.tier:*",
     CampaignFilter(labels_equal=(("team", "growth"),), labels_not_equal=(("team", "brand"),),
                    labels_present=("tier",))),
])
def test_campaign_filter_parse(text, expected):
    assert CampaignFilter.parse(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("name = x", "cannot filter on 'name'; use state or labels.<key>"),
    ("labels. = x", "cannot filter on 'labels.'"),
    ("labels = x", "cannot filter on 'labels'"),
    ("state:*", "state is always present"),
    ("state = LAUNCHED", "unknown state 'LAUNCHED'; one of STATE_DRAFT, STATE_SCHEDULED"),
    ("state = OR", "expected a value"),
])
def test_campaign_filter_errors(text, message):
    with pytest.raises(InvalidArgument) as caught:
        CampaignFilter.parse(text)
    assert caught.value.violations[0].field == "filter"
    assert message in caught.value.violations[0].description


@pytest.mark.parametrize(("text", "matches"), [
    ("", True),
    ("state = DRAFT", True),
    ("state = RUNNING", False),
    ("state != DRAFT", False),
    ("state != RUNNING", True),
    ("labels.team = growth", True),
    ("labels.team = brand", False),
    ("labels.team != growth", False),
    ("labels.missing != x", True),
    ("labels.missing = x", False),
    ("labels.team:*", True),
    ("labels.missing:*", False),
    ("state = DRAFT AND labels.team = growth AND labels.team:*", True),
    ("state = DRAFT AND labels.team = brand", False),
])
def test_campaign_filter_matches(text, matches):
    campaign = Campaign.create("acme", "spring", ready_fields(), NOW)  # DRAFT, labels team=growth
    assert CampaignFilter.parse(text).matches(campaign) is matches


# -- pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("requested", "size"), [(0, 50), (1, 1), (50, 50), (1000, 1000), (5000, 1000)])
def test_page_size(requested, size):
    assert pagination.page_size(requested) == size


def test_token_roundtrip():
    query = pagination.fingerprint("acme", "state = RUNNING")
    token = pagination.encode_token(["2026-03-01T12:00:00+00:00", "c1"], query)
    assert "=" not in token and token.isascii()
    assert pagination.decode_token(token, query) == ["2026-03-01T12:00:00+00:00", "c1"]


def test_no_token_is_the_first_page():
    assert pagination.decode_token("", "q") is None


def test_fingerprint_depends_on_every_part():
    assert pagination.fingerprint("acme", "f") == pagination.fingerprint("acme", "f")
    assert len({pagination.fingerprint("acme", "f"), pagination.fingerprint("globex", "f"),
                pagination.fingerprint("acme", "g")}) == 3


def test_token_for_another_query_is_refused():
    token = pagination.encode_token(["t", "c1"], pagination.fingerprint("acme", "a"))
    with pytest.raises(InvalidArgument) as caught:
        pagination.decode_token(token, pagination.fingerprint("acme", "b"))
    assert caught.value.violations[0].field == "page_token"
    assert "different filter or parent" in caught.value.violations[0].description


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize("token", [
    "not base64 !",
    "%%%",
    _b64(b"not json"),
    _b64(b"\xff\xfe"),
    _b64(json.dumps([1, 2]).encode()),
    _b64(json.dumps({"p": ["t", "c"]}).encode()),
    _b64(json.dumps({"q": "x"}).encode()),
    _b64(json.dumps({"p": "not a list", "q": "x"}).encode()),
    _b64(b"null"),
])
def test_garbage_tokens_are_refused(token):
    with pytest.raises(InvalidArgument) as caught:
        pagination.decode_token(token, "x")
    assert caught.value.violations[0].field == "page_token"
    assert caught.value.violations[0].description == "not a token this service issued"


# -- names ----------------------------------------------------------------------------------------------


def test_parse_parent():
    assert parse_parent("workspaces/acme") == "acme"
    assert parse_parent("workspaces/a-1") == "a-1"


@pytest.mark.parametrize("parent", ["", "workspaces/", "workspaces/Acme", "workspace/acme", "workspaces/1acme",
                                    "workspaces/acme/campaigns", "workspaces/" + "a" * 64])
def test_bad_parent(parent):
    with pytest.raises(ResourceNameError, match="is not a workspace name"):
        parse_parent(parent)


def test_parse_and_format_name():
    assert parse_name("workspaces/acme/campaigns/spring-1", "campaigns") == ("acme", "spring-1")
    assert parse_name("workspaces/acme/campaigns/1st", "campaigns") == ("acme", "1st")
    assert format_name("acme", "campaigns", "spring-1") == "workspaces/acme/campaigns/spring-1"
    name = format_name("acme", "segments", "vip")
    assert parse_name(name, "segments") == ("acme", "vip")


@pytest.mark.parametrize("name", [
    "workspaces/acme/segments/vip",          # another collection
    "workspaces/acme/campaigns",
    "workspaces/acme/campaigns/",
    "workspaces/acme/campaigns/Spring",
    "workspaces/acme/campaigns/-spring",
    "workspaces/acme/campaigns/a/b",
    "workspaces/9acme/campaigns/spring",
    "projects/acme/campaigns/spring",
    "workspaces/acme/campaigns/" + "a" * 64,
])
def test_bad_names(name):
    with pytest.raises(ResourceNameError, match="is not a resource name `workspaces/{workspace}/campaigns/{id}`"):
        parse_name(name, "campaigns")
