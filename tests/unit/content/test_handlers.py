"""Content use cases on the embedded SQLite store: drafts with update mask and
etag, immutable versions, restore, idempotent creates, workspace isolation,
assets (checks, content addressing, renditions, downloads)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

from svc_content import migrate
from svc_content.service_layer import images
from svc_content.adapters.blobstore import MemoryBlobStore
from svc_content.domain.model import EmailContent, SmsContent, TemplateDraft, Variant
from svc_content.service_layer import assets, handlers
from svc_content.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.databases import sqlite_engine_fixture

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


engine = sqlite_engine_fixture("content", migrate.upgrade, name="engine")


@pytest.fixture
def uow(engine):
    return lambda: SqlUnitOfWork(engine)


@pytest.fixture
def ws(request):
    return "w" + request.node.name.replace("_", "-")[5:40].strip("-").lower()


def ids():
    counter = iter(range(1, 10_000))
    return lambda: f"gen-{next(counter)}"


EMAIL = EmailContent(subject="Hi {{ profile.first_name | default: 'there' }}", html="<p>Hello</p>")


def create(uow, ws, template_id="welcome", content=EMAIL, **kw):
    draft = TemplateDraft("Welcome", content=content, **kw)
    return handlers.create_template(handlers.CreateTemplate(ws, Channel.EMAIL if isinstance(content, EmailContent)
                                                            else Channel.SMS, draft, template_id), uow(), Clock(), ids())


def test_a_template_is_created_read_and_kept_per_workspace(uow, ws):
    created = create(uow, ws)
    assert created.name == f"workspaces/{ws}/templates/welcome" and created.revision == 1
    assert created.draft.content.compiled_text == "Hello\n"
    found = handlers.get_template(ws, "welcome", uow())
    assert found.draft == created.draft and found.etag == created.etag and found.unpublished_changes
    with pytest.raises(NotFound, match="workspaces/other-ws/templates/welcome"):
        handlers.get_template("other-ws", "welcome", uow())
    with pytest.raises(AlreadyExists):
        create(uow, ws)


def test_validate_only_stores_nothing_and_bad_drafts_are_refused(uow, ws):
    draft = TemplateDraft("V", content=EMAIL)
    handlers.create_template(handlers.CreateTemplate(ws, Channel.EMAIL, draft, "v", validate_only=True), uow(),
                             Clock(), ids())
    with pytest.raises(NotFound):
        handlers.get_template(ws, "v", uow())
    with pytest.raises(InvalidArgument) as caught:
        create(uow, ws, "bad", EmailContent(subject="x", html="a\n{{ profile.nme }}"))
    assert caught.value.violations[0].field == "template.content.email.html"
    with pytest.raises(InvalidArgument, match="template.channel"):
        handlers.create_template(handlers.CreateTemplate(ws, None, draft), uow(), Clock(), ids())


def test_a_create_with_a_request_id_happens_once(uow, ws):
    draft = TemplateDraft("Once", content=EMAIL)
    cmd = handlers.CreateTemplate(ws, Channel.EMAIL, draft, request_id="r-1")
    first = handlers.create_template(cmd, uow(), Clock(), ids())
    again = handlers.create_template(cmd, uow(), Clock(), ids())
    assert again.id == first.id == "gen-1"
    with pytest.raises(InvalidArgument, match="already used for a different request"):
        handlers.create_template(replace(cmd, draft=replace(draft, display_name="Other")), uow(), Clock(), ids())


def test_an_update_changes_only_the_masked_fields_and_checks_the_etag(uow, ws):
    created = create(uow, ws, labels={"team": "growth"})
    sent = TemplateDraft("IGNORED", content=EmailContent(subject="New {{ profile.email }}", html="IGNORED"))
    updated = handlers.update_template(handlers.UpdateTemplate(ws, "welcome", sent, ("content.email.subject",),
                                                               created.etag), uow(), Clock())
    assert updated.draft.content.subject == "New {{ profile.email }}"
    assert updated.draft.content.html == "<p>Hello</p>" and updated.draft.display_name == "Welcome"
    assert updated.draft.labels == {"team": "growth"} and updated.etag != created.etag
    assert "profile.email" in updated.analysis.variables
    with pytest.raises(Aborted, match="changed since etag"):
        handlers.update_template(handlers.UpdateTemplate(ws, "welcome", sent, ("display_name",), created.etag),
                                 uow(), Clock())
    for paths, message in ((("channel",), "fixed"), (("etag",), "output only"), (("content.sms.body",), "channel"),
                           (("content.email.nope",), "no field"), (("colour",), "unknown field"), ((), "required")):
        with pytest.raises(InvalidArgument, match=message):
            handlers.update_template(handlers.UpdateTemplate(ws, "welcome", sent, paths), uow(), Clock())
    broken = TemplateDraft(content=EmailContent(html="{% if %}"))
    with pytest.raises(InvalidArgument, match="template.content.email.html"):
        handlers.update_template(handlers.UpdateTemplate(ws, "welcome", broken, ("content.email.html",)), uow(),
                                 Clock())
    assert handlers.get_template(ws, "welcome", uow()).draft == updated.draft


def test_published_versions_never_change_and_a_version_can_be_restored(uow, ws):
    created = create(uow, ws)
    v1 = handlers.publish_template(handlers.PublishTemplate(ws, "welcome", created.etag, "first"), uow(), Clock())
    assert v1.name == f"workspaces/{ws}/templates/welcome/versions/1" and v1.change_note == "first"
    template = handlers.get_template(ws, "welcome", uow())
    assert template.latest_version == 1 and not template.unpublished_changes
    with pytest.raises(FailedPrecondition, match="no changes since version 1"):
        handlers.publish_template(handlers.PublishTemplate(ws, "welcome"), uow(), Clock())
    changed = handlers.update_template(handlers.UpdateTemplate(
        ws, "welcome", TemplateDraft(content=EmailContent(html="<p>Second</p>")), ("content.email.html",)),
        uow(), Clock())
    assert changed.unpublished_changes
    assert handlers.get_version(ws, "welcome", 1, uow()).content.html == "<p>Hello</p>"
    v2 = handlers.publish_template(handlers.PublishTemplate(ws, "welcome", request_id="p-2"), uow(), Clock())
    assert v2.number == 2
    assert handlers.publish_template(handlers.PublishTemplate(ws, "welcome", request_id="p-2"), uow(),
                                     Clock()).number == 2
    page = handlers.list_versions(ws, "welcome", 1, "", uow())
    assert [v.number for v in page.versions] == [2] and page.next_page_token
    rest = handlers.list_versions(ws, "welcome", 1, page.next_page_token, uow())
    assert [v.number for v in rest.versions] == [1] and not rest.next_page_token
    current = handlers.get_template(ws, "welcome", uow())
    with pytest.raises(Aborted):
        handlers.restore_version(ws, "welcome", 1, "stale", uow(), Clock())
    restored = handlers.restore_version(ws, "welcome", 1, current.etag, uow(), Clock())
    assert restored.draft.content.html == "<p>Hello</p>" and restored.unpublished_changes
    assert handlers.get_version(ws, "welcome", 2, uow()).content.html == "<p>Second</p>"
    with pytest.raises(NotFound):
        handlers.get_version(ws, "welcome", 3, uow())


def test_an_incomplete_draft_cannot_be_published(uow, ws):
    create(uow, ws, content=EmailContent(subject="Only a subject"))
    with pytest.raises(FailedPrecondition, match="template.content.email.html required to publish"):
        handlers.publish_template(handlers.PublishTemplate(ws, "welcome"), uow(), Clock())


def test_templates_are_listed_a_page_at_a_time_with_filters(uow, ws):
    for i in range(5):
        create(uow, ws, f"t{i}", labels={"team": "growth" if i % 2 else "brand"})
    create(uow, ws, "sms", SmsContent("Hi"))
    handlers.publish_template(handlers.PublishTemplate(ws, "t0"), uow(), Clock())
    first = handlers.list_templates(ws, 2, "", "channel = CHANNEL_EMAIL", uow())
    assert [t.id for t in first.templates] == ["t0", "t1"] and first.total_size == 5
    second = handlers.list_templates(ws, 2, first.next_page_token, "channel = CHANNEL_EMAIL", uow())
    assert [t.id for t in second.templates] == ["t2", "t3"]
    with pytest.raises(InvalidArgument, match="page_token"):
        handlers.list_templates(ws, 2, first.next_page_token, "labels.team = growth", uow())
    growth = handlers.list_templates(ws, 10, "", "labels.team = growth AND unpublished_changes = true", uow())
    assert [t.id for t in growth.templates] == ["t1", "t3"]
    assert [t.id for t in handlers.list_templates(ws, 10, "", "unpublished_changes = false", uow()).templates] == ["t0"]
    assert handlers.list_templates("elsewhere", 10, "", "", uow()).total_size == 0
    with pytest.raises(InvalidArgument, match="unsupported term"):
        handlers.list_templates(ws, 10, "", "colour = red", uow())


def test_a_template_a_live_campaign_sends_cannot_be_deleted(uow, ws):
    created = create(uow, ws)
    with pytest.raises(FailedPrecondition, match="sent by 1 scheduled or running campaign"):
        handlers.delete_template(ws, "welcome", "", [f"workspaces/{ws}/campaigns/spring"], uow())
    with pytest.raises(Aborted):
        handlers.delete_template(ws, "welcome", "stale", [], uow())
    handlers.publish_template(handlers.PublishTemplate(ws, "welcome"), uow(), Clock())
    handlers.delete_template(ws, "welcome", "", [], uow())
    with pytest.raises(NotFound):
        handlers.get_template(ws, "welcome", uow())
    with pytest.raises(NotFound):
        handlers.get_version(ws, "welcome", 1, uow())
    assert created.id == "welcome"


def test_variants_are_stored_and_published(uow, ws):
    variants = (Variant("a", "A", 70, EMAIL), Variant("b", "B", 30, replace(EMAIL, subject="Other")))
    template = handlers.create_template(
        handlers.CreateTemplate(ws, Channel.EMAIL, TemplateDraft("AB", variants=variants), "ab"), uow(), Clock(),
        ids())
    version = handlers.publish_template(handlers.PublishTemplate(ws, "ab", template.etag), uow(), Clock())
    assert [(v.id, v.weight, v.content.subject) for v in version.variants] == [
        ("a", 70, EMAIL.subject), ("b", 30, "Other")]
    assert version.variants[1].content.compiled_html == "<p>Hello</p>"


# -- assets ---------------------------------------------------------------------------------------------


def png(width=1600, height=800, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


_ASSET_IDS = ids()


def upload(uow, ws, data, blobs, content_type="image/png", **kw):
    return assets.create_asset(assets.CreateAsset(ws, data, content_type, **kw), uow(), blobs, Clock(), _ASSET_IDS)


def test_an_image_is_stored_once_by_its_hash_with_standard_renditions(uow, ws):
    blobs = MemoryBlobStore()
    data = png()
    first = upload(uow, ws, data, blobs, display_name="hero.png", labels={"team": "brand"})
    assert (first.content_type, first.width, first.height, first.size_bytes) == ("image/png", 1600, 800, len(data))
    assert [(r.width, r.height, r.content_type) for r in first.renditions] == [
        (320, 160, "image/webp"), (640, 320, "image/webp"), (1280, 640, "image/webp")]
    writes = blobs.writes
    second = upload(uow, ws, data, blobs)
    assert second.id != first.id and second.sha256 == first.sha256 and blobs.writes == writes  # nothing new stored
    found = assets.get_asset(ws, first.id, uow())
    assert found.renditions == first.renditions and found.labels == {"team": "brand"}
    with pytest.raises(NotFound):
        assets.get_asset("other-ws", first.id, uow())


def test_uploads_that_are_no_images_or_too_big_are_refused(uow, ws):
    blobs = MemoryBlobStore()
    with pytest.raises(InvalidArgument, match="data: not an image"):
        upload(uow, ws, b"%PDF-1.4 not an image", blobs, "image/png")
    with pytest.raises(InvalidArgument, match="declared image/jpeg but the bytes are image/png"):
        upload(uow, ws, png(), blobs, "image/jpeg")
    with pytest.raises(InvalidArgument, match="MiB; at most 10 MiB"):
        upload(uow, ws, b"\x89PNG" + b"\0" * (images.MAX_BYTES + 1), blobs)
    with pytest.raises(InvalidArgument, match="asset.content_type"):
        upload(uow, ws, png(), blobs, "")
    assert blobs.writes == 0


def test_a_download_serves_the_original_or_a_rendition_made_once(uow, ws):
    blobs = MemoryBlobStore()
    asset = upload(uow, ws, png(), blobs)
    data, content_type = assets.download_asset(ws, asset.id, 0, "", uow(), blobs)
    assert content_type == "image/png" and data == blobs.get(asset.sha256)
    data, content_type = assets.download_asset(ws, asset.id, 320, "image/jpeg", uow(), blobs)
    assert content_type == "image/jpeg" and Image.open(io.BytesIO(data)).size == (320, 160)
    writes = blobs.writes
    again, _ = assets.download_asset(ws, asset.id, 320, "image/jpeg", uow(), blobs)
    assert again == data and blobs.writes == writes
    assert any(r.width == 320 and r.content_type == "image/jpeg" for r in assets.get_asset(ws, asset.id, uow()).renditions)
    webp, content_type = assets.download_asset(ws, asset.id, 640, "", uow(), blobs)
    assert content_type == "image/png" and Image.open(io.BytesIO(webp)).size == (640, 320)
    with pytest.raises(InvalidArgument, match="width"):
        assets.download_asset(ws, asset.id, 333, "", uow(), blobs)
    with pytest.raises(InvalidArgument, match="content_type"):
        assets.download_asset(ws, asset.id, 0, "image/bmp", uow(), blobs)
    with pytest.raises(NotFound):
        assets.download_asset("other-ws", asset.id, 0, "", uow(), blobs)


def test_assets_are_listed_newest_first_and_updated_with_their_etag(uow, ws):
    blobs = MemoryBlobStore()
    made = [upload(uow, ws, png(100 + i, 50), blobs, labels={"n": str(i)}) for i in range(3)]
    page = assets.list_assets(ws, 2, "", "", uow())
    assert [a.id for a in page.assets] == [made[2].id, made[1].id]
    rest = assets.list_assets(ws, 2, page.next_page_token, "", uow())
    assert [a.id for a in rest.assets] == [made[0].id] and not rest.next_page_token
    assert [a.id for a in assets.list_assets(ws, 10, "", 'labels.n = 1 AND content_type = "image/png"',
                                             uow()).assets] == [made[1].id]
    updated = assets.update_asset(ws, made[0].id, "logo", {"k": "v"}, ("display_name",), made[0].etag, uow(), Clock())
    assert updated.display_name == "logo" and updated.labels == {"n": "0"}
    with pytest.raises(Aborted):
        assets.update_asset(ws, made[0].id, "x", {}, ("display_name",), made[0].etag, uow(), Clock())
    with pytest.raises(InvalidArgument, match="cannot be changed"):
        assets.update_asset(ws, made[0].id, "x", {}, ("sha256",), "", uow(), Clock())


def test_a_deleted_asset_a_published_version_uses_still_downloads(uow, ws):
    blobs = MemoryBlobStore()
    used = upload(uow, ws, png(), blobs)
    unused = upload(uow, ws, png(20, 20), blobs)
    html = f'<img src="https://mkt.example.com/v1/workspaces/{ws}/assets/{used.id}:download">'
    create(uow, ws, content=EmailContent(subject="s", html=html))
    handlers.publish_template(handlers.PublishTemplate(ws, "welcome"), uow(), Clock())
    assets.delete_asset(ws, used.id, "", uow(), Clock())
    assets.delete_asset(ws, unused.id, "", uow(), Clock())
    with pytest.raises(NotFound):
        assets.get_asset(ws, used.id, uow())
    assert assets.download_asset(ws, used.id, 0, "", uow(), blobs)[1] == "image/png"
    with pytest.raises(NotFound):
        assets.download_asset(ws, unused.id, 0, "", uow(), blobs)
    assert [a.id for a in assets.list_assets(ws, 10, "", "", uow()).assets] == []
