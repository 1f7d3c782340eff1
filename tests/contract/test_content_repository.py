"""The content service's storage contracts: template and asset repositories on
SQLite and PostgreSQL (through the unit of work), the Alembic migrations
against the tables module, and the blob store (filesystem and in-memory)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect, select

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_content import migrate
from svc_content.adapters.blobstore import FilesystemBlobStore, MemoryBlobStore, address
from svc_content.adapters.tables import metadata, template_labels, template_versions
from svc_content.domain.model import (Analysis, Asset, EmailContent, InAppAction, InAppContent, Rendition, Template,
                                      TemplateDraft, TemplateVersion, Variant)
from svc_content.domain.queries import AssetFilter, TemplateFilter
from svc_content.adapters.sql_unit_of_work import SqlUnitOfWork
from tests.databases import SQL_ENGINES, empty_tables, engine_fixtures

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
sqlite_engine, postgres_engine = engine_fixtures("content", migrate.upgrade)


@pytest.fixture(params=SQL_ENGINES)
def uow(request):
    engine = empty_tables(request.getfixturevalue(request.param), metadata)
    factory = lambda: SqlUnitOfWork(engine)  # noqa: E731
    factory.engine = engine
    return factory


def template(template_id="welcome", workspace="acme", created=NOW, labels=None, **draft) -> Template:
    draft = TemplateDraft(**{"display_name": "Welcome", "labels": labels if labels is not None else {"team": "growth"},
                             "content": EmailContent(subject="Hi", html="<p>x</p>", compiled_html="<p>x</p>",
                                                     compiled_text="x\n"), **draft})
    return Template(workspace, template_id, Channel.EMAIL, draft, Analysis(("profile.email",), ("vip",)), created,
                    created)


def version(number=1, template_id="welcome", workspace="acme", html="<p>x</p>") -> TemplateVersion:
    content = EmailContent(subject="Hi", html=html, compiled_html=html)
    return TemplateVersion(workspace, template_id, number, Channel.EMAIL, content,
                           (Variant("a", "A", 3, content),), {"profile.first_name": "there"}, f"note {number}",
                           Analysis(("profile.first_name",), ()), NOW + timedelta(minutes=number))


def add(uow, *templates: Template, request_id="", fingerprint="") -> None:
    with uow() as unit:
        for t in templates:
            unit.templates.add(t, request_id, fingerprint)
        unit.commit()


def test_a_template_reads_back_as_it_was_stored(uow):
    stored = template(variants=(Variant("b", "B", 5, EmailContent(subject="B")),), defaults={"data.x": "y"})
    add(uow, stored, request_id="r-1", fingerprint="f" * 64)
    with uow() as unit:
        found = unit.templates.get("acme", "welcome")
        assert found == stored
        assert unit.templates.find_by_request_id("acme", "r-1") == (stored, "f" * 64)
        assert unit.templates.get("other", "welcome") is None
        assert unit.templates.find_by_request_id("other", "r-1") is None


def test_in_app_content_with_buttons_round_trips(uow):
    content = InAppContent("T", "B", "https://x/i.png", (InAppAction("Go", "https://x"),), {"k": "v"}, 3600.0)
    stored = Template("acme", "inapp", Channel.IN_APP, TemplateDraft("I", content=content), Analysis(), NOW, NOW)
    add(uow, stored)
    with uow() as unit:
        assert unit.templates.get("acme", "inapp") == stored


def test_ids_and_request_ids_are_unique_per_workspace(uow):
    add(uow, template(), request_id="r-1")
    with pytest.raises(AlreadyExists):
        add(uow, template())
    with pytest.raises(AlreadyExists):
        add(uow, template("other-id"), request_id="r-1")
    add(uow, template(workspace="globex"), request_id="r-1")  # another workspace is another namespace


def test_a_stale_revision_is_refused_on_save_and_remove(uow):
    stored = template()
    add(uow, stored)
    with uow() as unit:
        stored.draft = TemplateDraft("Renamed", content=stored.draft.content, labels={"team": "brand"})
        stored.revision = 2
        unit.templates.save(stored, expected_revision=1)
        unit.commit()
    with uow() as unit:
        with pytest.raises(Aborted):
            unit.templates.save(stored, expected_revision=1)
    with uow() as unit:
        found = unit.templates.get("acme", "welcome")
        assert found.draft.display_name == "Renamed" and found.draft.labels == {"team": "brand"}
        with pytest.raises(Aborted):
            unit.templates.remove("acme", "welcome", expected_revision=1)


def test_versions_are_numbered_newest_first_and_go_with_their_template(uow):
    add(uow, template(), template("other"))
    with uow() as unit:
        for n in (1, 2, 3):
            unit.templates.add_version(version(n), request_id=f"p-{n}", request_fingerprint="f")
        unit.templates.add_version(version(1, "other", html="<img src='workspaces/acme/assets/logo:download'>"))
        unit.commit()
    with uow() as unit:
        with pytest.raises(AlreadyExists):
            unit.templates.add_version(version(2))
    with uow() as unit:
        assert unit.templates.get_version("acme", "welcome", 2) == version(2)
        assert [v.number for v in unit.templates.list_versions("acme", "welcome", None, 2)] == [3, 2]
        assert [v.number for v in unit.templates.list_versions("acme", "welcome", 2, 10)] == [1]
        assert unit.templates.find_version_by_request_id("acme", "welcome", "p-3") == (version(3), "f")
        assert unit.templates.versions_mention("acme", "workspaces/acme/assets/logo")
        assert not unit.templates.versions_mention("acme", "workspaces/acme/assets/log_%")
        assert not unit.templates.versions_mention("globex", "workspaces/acme/assets/logo")
        unit.templates.remove("acme", "welcome", expected_revision=1)
        unit.commit()
    with uow() as unit:
        assert unit.templates.get_version("acme", "welcome", 1) is None
        assert unit.templates.get_version("acme", "other", 1) is not None
    with uow.engine.connect() as connection:
        rows = connection.execute(select(template_versions.c.template_id)).scalars().all()
        assert rows == ["other"]
        assert connection.execute(select(template_labels.c.template_id)).scalars().all() == ["other"]


def test_lists_filter_in_the_database_and_continue_after_a_cursor(uow):
    add(uow, *[template(f"t{i}", created=NOW + timedelta(seconds=i // 2), labels={"team": "growth" if i % 2 else "brand"})
               for i in range(6)])
    with uow() as unit:
        published = unit.templates.get("acme", "t0")
        published.published_hash = published.draft.content_hash()
        published.latest_version = 1
        unit.templates.save(published, 1)
        unit.commit()
    with uow() as unit:
        everything = unit.templates.list("acme", TemplateFilter(), None, 10)
        assert [t.id for t in everything] == ["t0", "t1", "t2", "t3", "t4", "t5"]
        after = (everything[2].create_time, everything[2].id)
        assert [t.id for t in unit.templates.list("acme", TemplateFilter(), after, 2)] == ["t3", "t4"]
        growth = TemplateFilter.parse("labels.team = growth")
        assert [t.id for t in unit.templates.list("acme", growth, None, 10)] == ["t1", "t3", "t5"]
        assert unit.templates.count("acme", TemplateFilter.parse("labels.team != growth AND unpublished_changes = true")) == 2
        assert unit.templates.count("acme", TemplateFilter.parse("unpublished_changes = false")) == 1
        assert unit.templates.count("acme", TemplateFilter.parse("channel = CHANNEL_SMS")) == 0
        assert unit.templates.count("acme", TemplateFilter.parse("labels.team:*")) == 6
        assert unit.templates.count("globex", TemplateFilter()) == 0


def asset(asset_id="logo", created=NOW, workspace="acme", **kw) -> Asset:
    fields = {"display_name": "logo.png", "content_type": "image/png", "size_bytes": 10, "sha256": "a" * 64,
              "width": 100, "height": 50, "labels": {"team": "brand"}, "create_time": created, "update_time": created,
              "renditions": [Rendition(80, 40, "image/webp", 5, "b" * 64)], **kw}
    return Asset(workspace, asset_id, **fields)


def test_assets_with_renditions_read_back_and_list_newest_first(uow):
    with uow() as unit:
        for i in range(4):
            unit.assets.add(asset(f"a{i}", NOW + timedelta(seconds=i), labels={"n": str(i)},
                                  content_type="image/png" if i % 2 else "image/jpeg"), request_id=f"r{i}",
                            request_fingerprint="f")
        unit.commit()
    with uow() as unit:
        assert unit.assets.get("acme", "a1") == asset("a1", NOW + timedelta(seconds=1), labels={"n": "1"})
        assert unit.assets.find_by_request_id("acme", "r2")[0].id == "a2"
        assert unit.assets.get("globex", "a1") is None
        newest = unit.assets.list("acme", AssetFilter(), None, 2)
        assert [a.id for a in newest] == ["a3", "a2"]
        before = (newest[-1].create_time, newest[-1].id)
        assert [a.id for a in unit.assets.list("acme", AssetFilter(), before, 10)] == ["a1", "a0"]
        assert [a.id for a in unit.assets.list("acme", AssetFilter.parse('content_type = "image/png"'), None, 10)] == [
            "a3", "a1"]
        assert [a.id for a in unit.assets.list("acme", AssetFilter.parse("labels.n = 2"), None, 10)] == ["a2"]
        unit.assets.add_rendition("acme", "a0", Rendition(320, 160, "image/jpeg", 7, "c" * 64))
        unit.assets.add_rendition("acme", "a0", Rendition(320, 160, "image/jpeg", 7, "c" * 64))  # twice: once
        unit.commit()
    with uow() as unit:
        assert [(r.width, r.content_type) for r in unit.assets.get("acme", "a0").renditions] == [
            (80, "image/webp"), (320, "image/jpeg")]


def test_a_deleted_asset_is_hidden_but_readable_on_request_and_removal_is_checked(uow):
    with uow() as unit:
        unit.assets.add(asset())
        unit.commit()
    with uow() as unit:
        found = unit.assets.get("acme", "logo")
        found.deleted, found.revision = True, 2
        unit.assets.save(found, 1)
        unit.commit()
    with uow() as unit:
        assert unit.assets.get("acme", "logo") is None
        assert unit.assets.get("acme", "logo", include_deleted=True).deleted
        assert unit.assets.list("acme", AssetFilter(), None, 10) == []
        with pytest.raises(Aborted):
            unit.assets.remove("acme", "logo", expected_revision=1)
        unit.assets.remove("acme", "logo", expected_revision=2)
        unit.commit()
    with uow() as unit:
        assert unit.assets.get("acme", "logo", include_deleted=True) is None
        with pytest.raises(Aborted):
            unit.assets.save(asset(), 1)


# -- the schema -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_fixture", SQL_ENGINES)
def test_migrations_match_the_tables_module(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert {"content_templates", "content_template_versions", "content_assets", "content_asset_renditions",
                "alembic_version"} <= set(inspect(connection).get_table_names())
        drifted = MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        drifted.tables["content_templates"].append_column(Column("priority", Integer))
        diff = compare_metadata(context, drifted)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "content_templates", "priority")]


# -- the blob store -------------------------------------------------------------------------------------


@pytest.fixture(params=["filesystem", "memory"])
def blobs(request, tmp_path):
    return FilesystemBlobStore(tmp_path / "blobs") if request.param == "filesystem" else MemoryBlobStore()


def test_bytes_are_addressed_by_their_hash_and_stored_once(blobs, tmp_path):
    data = os.urandom(4096)
    key = blobs.put(data)
    assert key == address(data) and len(key) == 64
    assert blobs.put(bytes(data)) == key
    assert blobs.get(key) == data and blobs.exists(key)
    other = blobs.put(b"other")
    assert other != key and blobs.get(other) == b"other"
    assert blobs.get("0" * 64) is None and not blobs.exists("0" * 64)
    assert blobs.get("../../etc/passwd") is None and not blobs.exists("not-a-hash")
    if isinstance(blobs, FilesystemBlobStore):
        files = sorted(p.relative_to(blobs.root) for p in blobs.root.rglob("*") if p.is_file())
        assert [str(f) for f in files] == sorted([f"{key[:2]}/{key[2:4]}/{key}", f"{other[:2]}/{other[2:4]}/{other}"])


def test_the_filesystem_store_survives_a_restart(tmp_path):
    first = FilesystemBlobStore(tmp_path / "blobs")
    key = first.put(b"kept")
    assert FilesystemBlobStore(tmp_path / "blobs").get(key) == b"kept"


# -- the local copy of campaigns (from the campaign service's events) --------------------------------------


def test_the_campaign_copy_follows_the_campaign_events_through_avro(uow):
    import asyncio
    from dataclasses import replace as copy_with

    import event_schemas
    from svc_campaign.adapters import event_codec
    from svc_campaign.domain.model import Campaign
    from tests.fakes import NOW as CAMPAIGN_NOW, ready_fields

    from svc_content.adapters import campaign_copy

    schema = event_schemas.load("campaign.v1")
    engine = uow.engine
    directory = campaign_copy.LocalCampaigns(engine)
    spring = Campaign.create("acme", "spring", ready_fields("acme"), CAMPAIGN_NOW)
    events = list(spring.events)
    spring.transition("schedule", CAMPAIGN_NOW)
    events += spring.events[len(events):]

    def deliver(*chosen):
        with engine.begin() as connection:
            for event in chosen:
                record = schema.decode(schema.encode(event_codec.envelope(event)))  # as the consumer reads it
                campaign_copy.apply_event(connection, record)

    template = "workspaces/acme/templates/spring-email"
    deliver(events[0])
    assert asyncio.run(directory.campaign("acme", "spring")) == {"id": "spring", "name": "Spring sale"}
    assert asyncio.run(directory.referencing("acme", template)) == []  # a draft does not hold the template
    deliver(*events[1:])
    assert asyncio.run(directory.referencing("acme", template)) == ["workspaces/acme/campaigns/spring"]
    assert asyncio.run(directory.referencing("acme", template + "-other")) == []
    assert asyncio.run(directory.referencing("globex", template)) == []
    deliver(events[0])  # an older event arriving again changes nothing
    assert asyncio.run(directory.referencing("acme", template)) == ["workspaces/acme/campaigns/spring"]
    from svc_campaign.domain.values import Channel as CampaignChannel, ContentRef

    other = (ContentRef(CampaignChannel.EMAIL, "workspaces/acme/templates/autumn-email"), spring.fields.contents[1])
    spring.update(copy_with(spring.fields, display_name="Spring!", contents=other), {"display_name", "contents"},
                  CAMPAIGN_NOW)
    deliver(spring.events[-1])
    assert asyncio.run(directory.referencing("acme", template)) == []
    assert asyncio.run(directory.campaign("acme", "spring"))["name"] == "Spring!"
    spring.transition("cancel", CAMPAIGN_NOW)
    spring.delete(CAMPAIGN_NOW)
    deliver(*spring.events[-2:])
    assert asyncio.run(directory.campaign("acme", "spring")) is None
