"""The content service through the REST edge: templates checked when saved,
MJML with variants, publish, preview, batch render with tracking (its
unsubscribe link accepted by the audience service), assets uploaded and a
generated rendition downloaded, workspaces kept apart."""

from __future__ import annotations

import http.client
import io
import json
import uuid
from urllib.parse import urlsplit

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e

MJML = """<mjml>
  <mj-body>
    <mj-section><mj-column>
      <mj-text>{{ greeting }}, {{ profile.first_name | default: "there" }}!</mj-text>
      <mj-button href="https://shop.example.com/sale?u={{ profile.external_id }}">Shop the sale</mj-button>
      <mj-text><a href="{{ message.unsubscribe_url }}">Unsubscribe</a></mj-text>
    </mj-column></mj-section>
    <mj-raw>{% if segments contains "vip" %}</mj-raw>
    <mj-section><mj-column><mj-text>VIP preview tomorrow</mj-text></mj-column></mj-section>
    <mj-raw>{% endif %}</mj-raw>
  </mj-body>
</mjml>"""


def variant(variant_id: str, greeting: str) -> dict:
    return {"id": variant_id, "displayName": greeting, "weight": 50, "content": {"email": {
        "subject": greeting + " {{ profile.first_name | default: 'there' }}", "preheader": "Spring is here",
        "html": MJML.replace("{{ greeting }}", greeting), "mjml": True}}}


def raw_request(port: int, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_a_template_with_an_unknown_variable_is_refused_naming_line_and_variable(running):
    ws = f"cnt-{uuid.uuid4().hex[:8]}"
    response = running.rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=broken", {
        "displayName": "Broken", "channel": "CHANNEL_EMAIL",
        "content": {"email": {"subject": "Hi", "html": "<p>Hello\n{{ profile.nme }}</p>"}}})
    assert response.status == 400, response.body
    violation = response.body["details"][-1]["fieldViolations"][0]
    assert (violation["field"], violation["description"]) == (
        "template.content.email.html", "line 2: unknown variable profile.nme (did you mean profile.name?)")
    mj_include = running.rest.call("POST", f"/v1/workspaces/{ws}/templates", {
        "displayName": "Include", "channel": "CHANNEL_EMAIL", "content": {"email": {
            "subject": "Hi", "mjml": True, "html": '<mjml><mj-body>\n<mj-include path="/etc/passwd"/></mj-body></mjml>'}}})
    assert mj_include.status == 400
    assert "line 2: <mj-include> is not allowed" in mj_include.body["message"]
    assert running.rest.call("GET", f"/v1/workspaces/{ws}/templates/broken").status == 404


def test_an_mjml_template_with_variants_is_published_previewed_and_batch_rendered(running):
    ws = f"cnt-{uuid.uuid4().hex[:8]}"
    rest = running.rest
    upsert = rest.call("POST", f"/v1/workspaces/{ws}/profiles/u-1:upsert", {"profile": {
        "email": "ann@example.com", "attributes": [{"key": "first_name", "stringValue": "Ann"}],
        "consents": [{"channel": "CHANNEL_EMAIL", "status": "STATUS_GRANTED"}]}})
    assert upsert.status == 200, upsert.body

    created = rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=spring", {
        "displayName": "Spring", "channel": "CHANNEL_EMAIL", "variants": [variant("a", "Hello"), variant("b", "Hey")],
        "defaults": {"profile.first_name": "friend"}, "labels": {"team": "growth"}})
    assert created.status == 200, created.body
    template = created.body
    html = template["variants"][0]["content"]["email"]["compiledHtml"]
    assert html.lstrip().lower().startswith("<!doctype html>") and "<mj-" not in html
    assert '{% if segments contains "vip" %}' in html
    assert "Shop the sale (https://shop.example.com/sale?u={{ profile.external_id }})" in \
        template["variants"][0]["content"]["email"]["compiledText"]
    assert template["segments"] == [f"workspaces/{ws}/segments/vip"]
    assert "profile.first_name" in template["variables"] and template["unpublishedChanges"] is True

    stale = rest.call("PATCH", f"/v1/{template['name']}?updateMask=description",
                      {"description": "x", "etag": "0000000000000000"})
    assert stale.status == 409, stale.body
    published = rest.call("POST", f"/v1/{template['name']}:publish", {"etag": template["etag"], "changeNote": "v1"})
    assert published.status == 200, published.body
    version = published.body["name"]
    assert version == f"workspaces/{ws}/templates/spring/versions/1"

    preview = rest.call("POST", f"/v1/{version}:render", {"context": {"profile": f"workspaces/{ws}/profiles/u-1"}})
    assert preview.status == 200, preview.body
    email = preview.body["content"]["email"]
    assert preview.body["variant"] in ("a", "b") and preview.body["templateVersion"] == version
    greeting = "Hello" if preview.body["variant"] == "a" else "Hey"
    assert email["subject"] == f"{greeting} Ann" and f"{greeting}, Ann!" in email["html"]
    again = rest.call("POST", f"/v1/{version}:render", {"context": {"profile": f"workspaces/{ws}/profiles/u-1"}})
    assert again.body["variant"] == preview.body["variant"]  # the same recipient, the same variant

    inline = rest.call("POST", f"/v1/{template['name']}:render", {"variant": "b", "context": {
        "profileData": {"email": "zoe@example.com"}, "segments": ["vip"]}})
    assert inline.status == 200, inline.body
    assert inline.body["content"]["email"]["subject"] == "Hey friend"
    assert "VIP preview tomorrow" in inline.body["content"]["email"]["html"]
    assert inline.body["warnings"] == ["profile.first_name: missing, used the template default 'friend'"]

    batch = rest.call("POST", f"/v1/{version}:batchRender", {"tracking": True, "contexts": [
        {"profile": f"workspaces/{ws}/profiles/u-1", "message": f"workspaces/{ws}/messages/m-1"},
        {"profile": f"workspaces/{ws}/profiles/nobody"},
        {"profile": "workspaces/elsewhere/profiles/u-1"}]})
    assert batch.status == 200, batch.body
    first, missing, foreign = batch.body["results"]
    email = first["content"]["email"]
    assert f"/v1/workspaces/{ws}/messages/m-1:click?token=" in email["html"]
    assert f"/v1/workspaces/{ws}/messages/m-1:open?token=" in email["html"]
    headers = {h["name"]: h["value"] for h in email["headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert missing["error"]["code"] == 5 and "nobody not found" in missing["error"]["message"]
    assert foreign["error"]["code"] == 3

    # The one-click unsubscribe the email carries is accepted by the audience service.
    link = urlsplit(headers["List-Unsubscribe"].strip("<>"))
    assert link.path == f"/v1/workspaces/{ws}/suppressions:unsubscribe"
    unsubscribed = rest.call("POST", f"{link.path}?{link.query}", raw=b"List-Unsubscribe=One-Click",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert unsubscribed.status == 200, unsubscribed.body
    assert unsubscribed.body["reason"] == "REASON_UNSUBSCRIBED" and unsubscribed.body["channel"] == "CHANNEL_EMAIL"

    assert rest.call("GET", f"/v1/workspaces/other/templates/spring").status == 404
    assert rest.call("POST", f"/v1/workspaces/other/templates/spring/versions/1:render", {}).status == 404
    listed = rest.call("GET", f"/v1/workspaces/{ws}/templates?filter=labels.team%20%3D%20growth").body
    assert [t["name"] for t in listed["templates"]] == [template["name"]]


def test_an_image_is_uploaded_and_a_generated_rendition_downloaded_through_the_edge(running):
    ws = f"cnt-{uuid.uuid4().hex[:8]}"
    picture = io.BytesIO()
    Image.new("RGB", (1400, 700), (30, 120, 200)).save(picture, "PNG")
    status, _, body = raw_request(running.edge_port, "POST",
                                  f"/v1/workspaces/{ws}/assets:upload?displayName=hero.png&assetId=hero",
                                  picture.getvalue(), {"content-type": "image/png",
                                                       "authorization": f"Bearer {running.rest.token}"})
    assert status == 200, body
    asset = json.loads(body)
    assert asset["name"] == f"workspaces/{ws}/assets/hero" and (asset["width"], asset["height"]) == (1400, 700)
    assert [r["width"] for r in asset["renditions"]] == [320, 640, 1280]

    status, headers, data = raw_request(running.edge_port, "GET",
                                        f"/v1/{asset['name']}:download?width=320&contentType=image%2Fwebp")
    assert status == 200 and headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(data)).size == (320, 160)
    status, headers, data = raw_request(running.edge_port, "GET", f"/v1/{asset['name']}:download?width=640&contentType=image%2Fjpeg")
    assert status == 200 and headers["content-type"] == "image/jpeg" and data[:2] == b"\xff\xd8"
    status, headers, data = raw_request(running.edge_port, "GET", f"/v1/{asset['name']}:download")
    assert status == 200 and headers["content-type"] == "image/png" and data == picture.getvalue()

    assert raw_request(running.edge_port, "GET", f"/v1/workspaces/other/assets/hero:download")[0] == 404
    assert running.rest.call("GET", f"/v1/workspaces/other/assets/hero").status == 404
    status, _, body = raw_request(running.edge_port, "POST", f"/v1/workspaces/{ws}/assets:upload",
                                  b"%PDF-1.7 definitely not an image",
                                  {"content-type": "image/png", "authorization": f"Bearer {running.rest.token}"})
    assert status == 400 and b"not an image" in body


def _eventually(check, timeout: float = 20.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_a_template_a_scheduled_campaign_sends_cannot_be_deleted(running):
    from datetime import UTC, datetime, timedelta

    ws = f"cnt-{uuid.uuid4().hex[:8]}"
    rest = running.rest
    created = rest.call("POST", f"/v1/workspaces/{ws}/templates?templateId=sms", {
        "displayName": "SMS", "channel": "CHANNEL_SMS",
        "content": {"sms": {"body": "{{ campaign.name }}: 20% off, {{ profile.first_name | default: 'friend' }}"}}})
    assert created.status == 200, created.body
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    campaign = rest.call("POST", f"/v1/workspaces/{ws}/campaigns", {
        "displayName": "Flash sale", "channels": ["CHANNEL_SMS"],
        "budget": {"total": {"currencyCode": "EUR", "units": "100"},
                   "allocations": [{"channel": "CHANNEL_SMS", "amount": {"currencyCode": "EUR", "units": "100"}}]},
        "targetSegments": [f"workspaces/{ws}/segments/vip"], "schedule": {"startTime": start, "timeZone": "Europe/Paris"},
        "contents": [{"channel": "CHANNEL_SMS", "template": f"workspaces/{ws}/templates/sms"}]})
    assert campaign.status == 200, campaign.body
    scheduled = rest.call("POST", f"/v1/{campaign.body['name']}:schedule", {})
    assert scheduled.status == 200, scheduled.body

    def refused():  # a stale etag: ABORTED (409) unless the template is in use (400), so nothing is deleted
        response = rest.call("DELETE", f"/v1/workspaces/{ws}/templates/sms?etag=stale")
        assert response.status in (409, 400), response.body
        return response if response.status == 400 else None

    refusal = _eventually(refused)  # the campaign's events reach the content service's copy
    assert refusal is not None and "sent by 1 scheduled or running campaign" in refusal.body["message"]
    assert campaign.body["name"] in refusal.body["message"]
    preview = rest.call("POST", f"/v1/workspaces/{ws}/templates/sms:render",
                        {"campaign": campaign.body["name"], "context": {"profileData": {}}})
    assert preview.body["content"]["sms"]["body"] == "Flash sale: 20% off, friend"

    assert rest.call("POST", f"/v1/{campaign.body['name']}:cancel", {}).status == 200
    deleted = _eventually(lambda: rest.call("DELETE", f"/v1/workspaces/{ws}/templates/sms").status == 200)
    assert deleted and rest.call("GET", f"/v1/workspaces/{ws}/templates/sms").status == 404
