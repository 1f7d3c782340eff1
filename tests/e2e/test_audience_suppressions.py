"""Suppression lists and reachability through the REST edge and gRPC: create,
update with an etag, filters, bulk import and export (streams and the CLI), the
one-click unsubscribe link, and CheckReachability."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import urllib.parse
import uuid

import grpc
import pytest

from marketing.audience.v1 import audience_service_pb2 as pb
from marketing.audience.v1 import audience_service_pb2_grpc as pb_grpc
from marketing.audience.v1 import suppression_pb2
from marketing.common.v1 import channel_pb2
from svc_kit.channels import Channel
from svc_kit.signing import KEY_VARIABLE, LinkClaims, sign

pytestmark = pytest.mark.e2e


def workspace(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def upsert(rest, ws, external_id, profile):
    response = rest.call("POST", f"/v1/workspaces/{ws}/profiles/{external_id}:upsert", {"profile": profile})
    assert response.status == 200, response.body


def names(body) -> list[str]:
    return [s.get("email") or s.get("phone") or s.get("profile") for s in body["suppressions"]]


def test_create_update_with_an_etag_and_filter(running):
    ws = workspace("supf")
    rest = running.rest
    created = rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                        {"email": "Ann@Example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_BOUNCED",
                         "note": "550 5.1.1", "source": "notify:bounce"})
    assert created.status == 200, created.body
    entry = created.body
    assert entry["email"] == "ann@example.com" and entry["etag"] and entry["createTime"]
    twice = rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                      {"email": "ann@example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL"})
    assert twice.status == 409 and entry["name"] in twice.body["message"], twice.body
    wrong_channel = rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                              {"email": "ann@example.com", "channel": "CHANNEL_SMS", "reason": "REASON_MANUAL"})
    assert wrong_channel.status == 400 and "suppression.channel" in wrong_channel.body["message"]
    rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
              {"phone": "+33612345678", "channel": "CHANNEL_SMS", "reason": "REASON_COMPLAINED"})
    rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
              {"profile": f"workspaces/{ws}/profiles/u-1", "reason": "REASON_MANUAL"})

    updated = rest.call("PATCH", f"/v1/{entry['name']}?updateMask=note,expireTime",
                        {"note": "mailbox full", "expireTime": "2099-01-01T00:00:00Z", "etag": entry["etag"]})
    assert updated.status == 200, updated.body
    assert updated.body["note"] == "mailbox full" and updated.body["expireTime"] == "2099-01-01T00:00:00Z"
    assert updated.body["reason"] == "REASON_BOUNCED" and updated.body["etag"] != entry["etag"]
    stale = rest.call("PATCH", f"/v1/{entry['name']}?updateMask=note", {"note": "x", "etag": entry["etag"]})
    assert stale.status == 409 and "stale" in stale.body["message"], stale.body
    immutable = rest.call("PATCH", f"/v1/{entry['name']}?updateMask=channel", {"channel": "CHANNEL_SMS"})
    assert immutable.status == 400 and "update_mask" in immutable.body["message"]

    def listed(text):
        response = rest.call("GET", f"/v1/workspaces/{ws}/suppressions?filter={urllib.parse.quote(text)}")
        assert response.status == 200, response.body
        return names(response.body)

    assert listed("") == [f"workspaces/{ws}/profiles/u-1", "+33612345678", "ann@example.com"]  # newest first
    assert listed("channel = CHANNEL_EMAIL") == ["ann@example.com"]
    assert listed("reason != REASON_BOUNCED AND channel != CHANNEL_UNSPECIFIED") == ["+33612345678"]
    assert listed('email = "ANN@example.com"') == ["ann@example.com"]
    assert listed(f'profile = "workspaces/{ws}/profiles/u-1"') == [f"workspaces/{ws}/profiles/u-1"]
    assert listed(f'create_time >= "{entry["createTime"]}" AND channel = CHANNEL_SMS') == ["+33612345678"]
    assert listed('create_time < "2000-01-01T00:00:00Z"') == []
    bad = rest.call("GET", f"/v1/workspaces/{ws}/suppressions?filter={urllib.parse.quote('reason = SPAM')}")
    assert bad.status == 400 and bad.body["message"].startswith("filter: unknown reason 'SPAM'"), bad.body
    assert rest.call("GET", f"/v1/{entry['name']}").body["note"] == "mailbox full"
    other = entry["name"].replace(f"workspaces/{ws}/", "workspaces/other/")
    assert rest.call("GET", f"/v1/{other}").status == 404
    assert rest.call("DELETE", f"/v1/{other}").status == 404


def record(line, **fields):
    return pb.SuppressionRecord(line=line, suppression=suppression_pb2.Suppression(**fields))


def test_import_and_export_streams(running):
    ws = workspace("supi")
    bounced, manual = suppression_pb2.Suppression.REASON_BOUNCED, suppression_pb2.Suppression.REASON_MANUAL
    email = channel_pb2.CHANNEL_EMAIL
    created = running.rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                                {"email": "old@example.com", "channel": "CHANNEL_EMAIL", "reason": "REASON_MANUAL"})
    assert created.status == 200, created.body
    first = [record(2, email=f"u{i}@example.com", channel=email, reason=bounced) for i in range(5)]
    first += [record(7, email="not-an-email", channel=email, reason=bounced),
              record(8, profile="workspaces/other/profiles/u-1", reason=manual),
              record(9, phone="+33612345678", channel=email, reason=manual)]
    second = [record(10, email="OLD@example.com", channel=email, reason=bounced, note="hard bounce"),
              record(11, profile=f"workspaces/{ws}/profiles/u-1", reason=0),
              record(12, profile=f"workspaces/{ws}/profiles/u-1", reason=manual)]
    with running.channel("audience") as channel:
        stub = pb_grpc.AudienceServiceStub(channel)
        summary = stub.ImportSuppressions(iter([
            pb.ImportSuppressionsRequest(parent=f"workspaces/{ws}", records=first),
            pb.ImportSuppressionsRequest(records=second)]), timeout=30)
        assert (summary.received, summary.inserted, summary.updated, summary.rejected) == (11, 6, 1, 4)
        assert [(r.line, r.field) for r in summary.rejections] == [
            (7, "email"), (8, "profile"), (9, "channel"), (11, "reason")]
        assert "'not-an-email' is not an email address" in summary.rejections[0].reason
        assert summary.rejections[0].id == "not-an-email"
        with pytest.raises(grpc.RpcError) as refused:
            stub.ImportSuppressions(iter([pb.ImportSuppressionsRequest(records=first)]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        batches = list(stub.ExportSuppressions(pb.ExportSuppressionsRequest(
            parent=f"workspaces/{ws}", filter="reason = REASON_BOUNCED", batch_size=2), timeout=30))
        assert [len(b.suppressions) for b in batches] == [2, 2, 2]
        exported = [s.email for b in batches for s in b.suppressions]
        assert exported == ["old@example.com", *(f"u{i}@example.com" for i in range(5))]  # oldest first
        assert batches[0].suppressions[0].note == "hard bounce"
        everything = [s for b in stub.ExportSuppressions(pb.ExportSuppressionsRequest(parent=f"workspaces/{ws}"))
                      for s in b.suppressions]
        assert len(everything) == 7
        with pytest.raises(grpc.RpcError) as bad_filter:
            list(stub.ExportSuppressions(pb.ExportSuppressionsRequest(parent=f"workspaces/{ws}", filter="x = 1")))
        assert bad_filter.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "cannot filter on 'x'" in bad_filter.value.details()


CSV = """email,phone,profile,channel,reason,note,expire_time
a@example.com,,,email,bounced,550 5.1.1,
B@Example.com,,,,unsubscribed,,2099-01-01T00:00:00Z
not-an-email,,,email,bounced,,
,+33612345678,,sms,complained,,
,,u-1,,manual,vip asked,
c@example.com,,,fax,bounced,,
d@example.com,,,email,bounced,,tomorrow
e@example.com,,,email,,,
"""


def cli(running, *args):
    return subprocess.run([sys.executable, "-m", "mkt", "audience", "suppressions", *args,
                           "--target", f"127.0.0.1:{running.grpc_ports['audience']}"],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_cli_imports_a_csv_with_bad_lines_and_exports(running, tmp_path):
    ws = workspace("supc")
    path = tmp_path / "suppressions.csv"
    path.write_text(CSV)
    result = cli(running, "import", str(path), "--workspace", ws)
    assert result.returncode == 3, result.stderr
    out = result.stdout
    assert "8 lines read, 4 entries created, 0 updated, 4 lines rejected" in out, out
    assert "line 4 (not-an-email): email: 'not-an-email' is not an email address" in out
    assert "line 7 (c@example.com): channel: 'fax' is not one of" in out
    assert "line 8 (d@example.com): expire_time: 'tomorrow' is not an ISO 8601 time" in out
    assert "line 9 (e@example.com): reason: '' is not one of" in out
    assert "importing suppressions.csv" in result.stderr  # the progress line
    listed = running.rest.call("GET", f"/v1/workspaces/{ws}/suppressions").body
    assert sorted(names(listed)) == ["+33612345678", "a@example.com", "b@example.com",
                                     f"workspaces/{ws}/profiles/u-1"]
    assert {s.get("source") for s in listed["suppressions"]} == {"import"}

    exported = tmp_path / "out.csv"
    done = cli(running, "export", "--workspace", ws, "--output", str(exported))
    assert done.returncode == 0, done.stderr
    assert f"exported 4 entries of workspaces/{ws} to {exported} as csv" in done.stdout
    rows = list(csv.DictReader(exported.open()))
    assert [(r["email"] or r["phone"] or r["profile"], r["channel"], r["reason"]) for r in rows] == [
        ("a@example.com", "email", "bounced"), ("b@example.com", "all", "unsubscribed"),
        ("+33612345678", "sms", "complained"), ("u-1", "all", "manual")]
    assert rows[1]["expire_time"] == "2099-01-01T00:00:00Z" and rows[0]["note"] == "550 5.1.1"
    again = cli(running, "import", str(exported), "--workspace", ws)  # an export imports back as it is
    assert again.returncode == 0 and "0 entries created, 4 updated, 0 lines rejected" in again.stdout, again

    ndjson = cli(running, "export", "--workspace", ws, "--format", "ndjson", "--filter", "channel = CHANNEL_SMS")
    assert ndjson.returncode == 0, ndjson.stderr
    (line,) = ndjson.stdout.splitlines()
    assert json.loads(line)["phone"] == "+33612345678"
    assert "exported 1 entries" in ndjson.stderr
    failed = cli(running, "export", "--workspace", ws, "--filter", "nope = 1")
    assert failed.returncode == 1 and "INVALID_ARGUMENT" in failed.stderr


def test_one_click_unsubscribe_suppresses_and_reachability_names_the_entry(running):
    ws = workspace("unsub")
    rest = running.rest
    granted = [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]
    for i in range(2):
        upsert(rest, ws, f"p{i}", {"email": f"p{i}@example.com", "consents": granted})
    upsert(rest, ws, "p2", {"phone": "+33612345672", "consents": granted})
    upsert(rest, ws, "p3", {"email": "p3@example.com"})
    segment = rest.call("POST", f"/v1/workspaces/{ws}/segments?segmentId=all", {
        "displayName": "All", "definition": json.dumps({"attribute": "email", "op": "exists"})}).body["name"]

    def members():
        body = rest.call("GET", f"/v1/{segment}/members?channel=CHANNEL_EMAIL").body
        return [m["profile"].rsplit("/", 1)[1] for m in body["members"]]

    assert members() == ["p0", "p1"]
    key = running.platform.env[KEY_VARIABLE].encode()
    token = sign(key, LinkClaims(ws, "p1", Channel.EMAIL, "spring-sale"))
    path = f"/v1/workspaces/{ws}/suppressions:unsubscribe?token={token}"
    page = rest.call("GET", path)  # the link in the body opens a page and changes nothing
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.body and "email messages" in page.body
    assert members() == ["p0", "p1"]
    assert rest.call("GET", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token=nope").status == 400
    one_click = {"content-type": "application/x-www-form-urlencoded"}
    clicked = rest.call("POST", path, raw=b"List-Unsubscribe=One-Click", headers=one_click)
    assert clicked.status == 200, clicked.body
    entry = clicked.body
    assert entry["profile"] == f"workspaces/{ws}/profiles/p1" and entry["channel"] == "CHANNEL_EMAIL"
    assert entry["reason"] == "REASON_UNSUBSCRIBED" and entry["source"] == "unsubscribe-link"
    assert entry["campaign"] == f"workspaces/{ws}/campaigns/spring-sale"
    again = rest.call("POST", path, raw=b"List-Unsubscribe=One-Click", headers=one_click)
    assert again.status == 200 and again.body["name"] == entry["name"]  # idempotent
    assert rest.call("POST", path, raw=b"").body["name"] == entry["name"]  # any body
    assert members() == ["p0"]

    profiles = [f"workspaces/{ws}/profiles/{p}" for p in ("p0", "p1", "p2", "p3", "nobody", "p1")]

    def check(category=None):
        body = {"channel": "CHANNEL_EMAIL", "profiles": profiles, **({"category": category} if category else {})}
        response = rest.call("POST", f"/v1/workspaces/{ws}/profiles:checkReachability", body)
        assert response.status == 200, response.body
        return [(r["profile"].rsplit("/", 1)[1], r["reachable"], r["reason"], r["suppression"])
                for r in response.body["results"]]

    assert check() == [
        ("p0", True, "REASON_UNSPECIFIED", ""),
        ("p1", False, "REASON_SUPPRESSED", entry["name"]),
        ("p2", False, "REASON_NO_ADDRESS", ""),
        ("p3", False, "REASON_NO_CONSENT", ""),
        ("nobody", False, "REASON_NOT_FOUND", ""),
        ("p1", False, "REASON_SUPPRESSED", entry["name"])]
    transactional = check("MESSAGE_CATEGORY_TRANSACTIONAL")
    assert transactional[1] == ("p1", True, "REASON_UNSPECIFIED", "")  # unsubscribes do not stop receipts
    assert transactional[3] == ("p3", True, "REASON_UNSPECIFIED", "")  # nor does missing consent
    bounced = rest.call("POST", f"/v1/workspaces/{ws}/suppressions",
                        {"email": "p1@example.com", "reason": "REASON_BOUNCED"})
    assert bounced.status == 200, bounced.body
    assert check("MESSAGE_CATEGORY_TRANSACTIONAL")[1] == ("p1", False, "REASON_SUPPRESSED", bounced.body["name"])

    other_ws = rest.call("POST", f"/v1/workspaces/{ws}/profiles:checkReachability",
                         {"channel": "CHANNEL_EMAIL", "profiles": ["workspaces/other/profiles/p0"]})
    assert other_ws.status == 400 and "profiles[0]" in other_ws.body["message"]
    no_channel = rest.call("POST", f"/v1/workspaces/{ws}/profiles:checkReachability", {"profiles": profiles})
    assert no_channel.status == 400 and no_channel.body["message"].startswith("channel:")

    payload, mac = token.split(".")
    tampered = rest.call("POST", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token={payload}x.{mac}",
                         raw=b"List-Unsubscribe=One-Click", headers=one_click)
    assert tampered.status == 400 and tampered.body["message"].startswith("token: "), tampered.body
    garbage = rest.call("POST", f"/v1/workspaces/{ws}/suppressions:unsubscribe?token=nope", raw=b"")
    assert garbage.status == 400
    elsewhere = rest.call("POST", f"/v1/workspaces/other/suppressions:unsubscribe?token={token}",
                          raw=b"List-Unsubscribe=One-Click", headers=one_click)
    assert elsewhere.status == 400 and "another workspace" in elsewhere.body["message"], elsewhere.body
    other_name = entry["name"].replace(f"workspaces/{ws}/", "workspaces/other/")
    assert rest.call("GET", f"/v1/{other_name}").status == 404
