"""Template and asset repositories over SQLAlchemy Core (SQLite or PostgreSQL); their
interfaces are in svc_content.service_layer.unit_of_work. Every method takes the
workspace; no query runs without it."""

from __future__ import annotations


from sqlalchemy import (Connection, Text, and_, bindparam, cast, delete, exists, func, insert, or_, select,
                        update)
from sqlalchemy.dialects import postgresql, sqlite

from svc_kit.channels import Channel
from svc_kit.errors import Aborted, AlreadyExists

from svc_content.adapters.tables import (asset_labels, asset_renditions, assets, template_labels, template_versions,
                                         templates)
from svc_content.domain import codec
from svc_content.domain.model import Analysis, Asset, Rendition, Template, TemplateDraft, TemplateVersion
from svc_content.domain.queries import AssetFilter, Labels, TemplateFilter
from svc_content.service_layer.unit_of_work import AssetRepository, Cursor, TemplateRepository

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # both have ON CONFLICT DO NOTHING


def _changed(name: str) -> Aborted:
    return Aborted(f"{name} was changed by another request; read it again and retry")


def _label_conditions(table_labels, id_column, owner, owner_id, labels: Labels) -> list:
    c = table_labels.c

    def label(key: str, *extra):
        return exists().where(c.workspace == owner.c.workspace, id_column == owner_id, c.key == key, *extra)

    return ([label(k, c.value == v) for k, v in labels.equal]
            + [~label(k, c.value == v) for k, v in labels.not_equal]
            + [label(k) for k in labels.present])


_t = templates.c
_v = template_versions.c
_GET_TEMPLATE = select(templates).where(_t.workspace == bindparam("workspace"), _t.id == bindparam("id"))
_GET_VERSION = select(template_versions).where(_v.workspace == bindparam("workspace"),
                                               _v.template_id == bindparam("template_id"),
                                               _v.version == bindparam("version"))


class SqlTemplateRepository(TemplateRepository):
    def __init__(self, connection: Connection):
        self.connection = connection

    @staticmethod
    def _row(template: Template) -> dict:
        draft = template.draft
        return {
            "channel": template.channel.value,
            "display_name": draft.display_name,
            "description": draft.description,
            "draft": codec.body_to_json(draft.content, draft.variants, draft.defaults),
            "labels": dict(draft.labels),
            "variables": list(template.analysis.variables),
            "segments": list(template.analysis.segments),
            "revision": template.revision,
            "latest_version": template.latest_version,
            "draft_hash": draft.content_hash(),
            "published_hash": template.published_hash,
            "update_time": template.update_time,
        }

    @staticmethod
    def _template(row) -> Template:
        content, variants, defaults = codec.body_from_json(row.draft)
        return Template(
            workspace=row.workspace, id=row.id, channel=Channel(row.channel),
            draft=TemplateDraft(row.display_name, row.description, content, variants, dict(row.labels), defaults),
            analysis=Analysis(tuple(row.variables), tuple(row.segments)),
            create_time=row.create_time, update_time=row.update_time, revision=row.revision,
            latest_version=row.latest_version, published_hash=row.published_hash)

    def _write_labels(self, template: Template) -> None:
        if template.draft.labels:
            self.connection.execute(insert(template_labels), [
                {"workspace": template.workspace, "template_id": template.id, "key": k, "value": v}
                for k, v in template.draft.labels.items()])

    def add(self, template: Template, request_id: str = "", request_fingerprint: str = "") -> None:
        row = self._row(template) | {"workspace": template.workspace, "id": template.id,
                                     "create_time": template.create_time, "request_id": request_id or None,
                                     "request_fingerprint": request_fingerprint or None}
        statement = (_INSERT[self.connection.dialect.name](templates).values(row).on_conflict_do_nothing()
                     .returning(_t.id))
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{template.name} already exists")
        self._write_labels(template)

    def get(self, workspace: str, template_id: str) -> Template | None:
        row = self.connection.execute(_GET_TEMPLATE, {"workspace": workspace, "id": template_id}).first()
        return self._template(row) if row else None

    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Template, str] | None:
        row = self.connection.execute(select(templates).where(_t.workspace == workspace,
                                                              _t.request_id == request_id)).first()
        return (self._template(row), row.request_fingerprint) if row else None

    def save(self, template: Template, expected_revision: int) -> None:
        result = self.connection.execute(
            update(templates).where(_t.workspace == template.workspace, _t.id == template.id,
                                    _t.revision == expected_revision).values(self._row(template)))
        if result.rowcount != 1:
            raise _changed(template.name)
        self.connection.execute(delete(template_labels).where(template_labels.c.workspace == template.workspace,
                                                              template_labels.c.template_id == template.id))
        self._write_labels(template)

    def remove(self, workspace: str, template_id: str, expected_revision: int) -> None:
        keys = (_t.workspace == workspace, _t.id == template_id)
        if self.connection.execute(delete(templates).where(*keys, _t.revision == expected_revision)).rowcount != 1:
            raise _changed(f"workspaces/{workspace}/templates/{template_id}")
        # Foreign keys cascade on PostgreSQL and on SQLite with foreign_keys=ON; said again for any other setup.
        for table, column in ((template_labels, template_labels.c.template_id),
                              (template_versions, template_versions.c.template_id)):
            self.connection.execute(delete(table).where(table.c.workspace == workspace, column == template_id))

    def _conditions(self, workspace: str, where: TemplateFilter) -> list:
        conditions = [_t.workspace == workspace]
        if where.channel is not None:
            conditions.append(_t.channel == where.channel.value)
        if where.unpublished_changes is True:
            conditions.append(_t.draft_hash != _t.published_hash)
        elif where.unpublished_changes is False:
            conditions.append(_t.draft_hash == _t.published_hash)
        return conditions + _label_conditions(template_labels, template_labels.c.template_id, templates, _t.id,
                                              where.labels)

    def list(self, workspace: str, where: TemplateFilter, after: Cursor | None, limit: int) -> list[Template]:
        query = select(templates).where(*self._conditions(workspace, where))
        if after is not None:
            created, last_id = after
            query = query.where(or_(_t.create_time > created, and_(_t.create_time == created, _t.id > last_id)))
        query = query.order_by(_t.create_time, _t.id).limit(limit)
        return [self._template(row) for row in self.connection.execute(query)]

    def count(self, workspace: str, where: TemplateFilter) -> int:
        query = select(func.count()).select_from(templates).where(*self._conditions(workspace, where))
        return self.connection.execute(query).scalar_one()

    @staticmethod
    def _version(row) -> TemplateVersion:
        content, variants, defaults = codec.body_from_json(row.body)
        return TemplateVersion(row.workspace, row.template_id, row.version, Channel(row.channel), content, variants,
                               defaults, row.change_note, Analysis(tuple(row.variables), tuple(row.segments)),
                               row.create_time)

    def add_version(self, version: TemplateVersion, request_id: str = "", request_fingerprint: str = "") -> None:
        row = {"workspace": version.workspace, "template_id": version.template_id, "version": version.number,
               "channel": version.channel.value,
               "body": codec.body_to_json(version.content, version.variants, version.defaults),
               "change_note": version.change_note, "variables": list(version.analysis.variables),
               "segments": list(version.analysis.segments), "create_time": version.create_time,
               "request_id": request_id or None, "request_fingerprint": request_fingerprint or None}
        statement = (_INSERT[self.connection.dialect.name](template_versions).values(row).on_conflict_do_nothing()
                     .returning(_v.version))
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{version.name} already exists")

    def get_version(self, workspace: str, template_id: str, number: int) -> TemplateVersion | None:
        row = self.connection.execute(_GET_VERSION, {"workspace": workspace, "template_id": template_id,
                                                     "version": number}).first()
        return self._version(row) if row else None

    def find_version_by_request_id(self, workspace: str, template_id: str,
                                   request_id: str) -> tuple[TemplateVersion, str] | None:
        row = self.connection.execute(select(template_versions).where(
            _v.workspace == workspace, _v.template_id == template_id, _v.request_id == request_id)).first()
        return (self._version(row), row.request_fingerprint) if row else None

    def list_versions(self, workspace: str, template_id: str, before: int | None,
                      limit: int) -> list[TemplateVersion]:
        query = select(template_versions).where(_v.workspace == workspace, _v.template_id == template_id)
        if before is not None:
            query = query.where(_v.version < before)
        rows = self.connection.execute(query.order_by(_v.version.desc()).limit(limit))
        return [self._version(row) for row in rows]

    def versions_mention(self, workspace: str, text: str) -> bool:
        body = cast(_v.body, Text)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = select(_v.version).where(_v.workspace == workspace,
                                         body.like(f"%{escaped}%", escape="\\")).limit(1)
        return self.connection.execute(query).first() is not None


_a = assets.c
_r = asset_renditions.c


class SqlAssetRepository(AssetRepository):
    def __init__(self, connection: Connection):
        self.connection = connection

    @staticmethod
    def _row(asset: Asset) -> dict:
        return {"display_name": asset.display_name, "labels": dict(asset.labels), "revision": asset.revision,
                "deleted": asset.deleted, "update_time": asset.update_time}

    def _write_labels(self, asset: Asset) -> None:
        if asset.labels:
            self.connection.execute(insert(asset_labels), [
                {"workspace": asset.workspace, "asset_id": asset.id, "key": k, "value": v}
                for k, v in asset.labels.items()])

    def add(self, asset: Asset, request_id: str = "", request_fingerprint: str = "") -> None:
        row = self._row(asset) | {
            "workspace": asset.workspace, "id": asset.id, "content_type": asset.content_type,
            "size_bytes": asset.size_bytes, "sha256": asset.sha256, "width": asset.width, "height": asset.height,
            "create_time": asset.create_time, "request_id": request_id or None,
            "request_fingerprint": request_fingerprint or None}
        statement = (_INSERT[self.connection.dialect.name](assets).values(row).on_conflict_do_nothing()
                     .returning(_a.id))
        if self.connection.execute(statement).first() is None:
            raise AlreadyExists(f"{asset.name} already exists")
        self._write_labels(asset)
        for rendition in asset.renditions:
            self.add_rendition(asset.workspace, asset.id, rendition)

    def _renditions(self, workspace: str, ids: list[str]) -> dict[str, list[Rendition]]:
        out: dict[str, list[Rendition]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = self.connection.execute(select(asset_renditions).where(_r.workspace == workspace,
                                                                      _r.asset_id.in_(ids))
                                       .order_by(_r.asset_id, _r.width, _r.content_type))
        for row in rows:
            out[row.asset_id].append(Rendition(row.width, row.height, row.content_type, row.size_bytes, row.sha256))
        return out

    @staticmethod
    def _asset(row, renditions: list[Rendition]) -> Asset:
        return Asset(row.workspace, row.id, row.display_name, row.content_type, row.size_bytes, row.sha256,
                     row.width, row.height, dict(row.labels), row.create_time, row.update_time, renditions,
                     row.revision, row.deleted)

    def get(self, workspace: str, asset_id: str, include_deleted: bool = False) -> Asset | None:
        query = select(assets).where(_a.workspace == workspace, _a.id == asset_id)
        if not include_deleted:
            query = query.where(_a.deleted.is_(False))
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return self._asset(row, self._renditions(workspace, [asset_id])[asset_id])

    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Asset, str] | None:
        row = self.connection.execute(select(assets).where(_a.workspace == workspace,
                                                           _a.request_id == request_id)).first()
        if row is None:
            return None
        return self._asset(row, self._renditions(workspace, [row.id])[row.id]), row.request_fingerprint

    def save(self, asset: Asset, expected_revision: int) -> None:
        result = self.connection.execute(update(assets).where(_a.workspace == asset.workspace, _a.id == asset.id,
                                                              _a.revision == expected_revision)
                                         .values(self._row(asset)))
        if result.rowcount != 1:
            raise _changed(asset.name)
        self.connection.execute(delete(asset_labels).where(asset_labels.c.workspace == asset.workspace,
                                                           asset_labels.c.asset_id == asset.id))
        self._write_labels(asset)

    def remove(self, workspace: str, asset_id: str, expected_revision: int) -> None:
        keys = (_a.workspace == workspace, _a.id == asset_id)
        if self.connection.execute(delete(assets).where(*keys, _a.revision == expected_revision)).rowcount != 1:
            raise _changed(f"workspaces/{workspace}/assets/{asset_id}")
        for table, column in ((asset_labels, asset_labels.c.asset_id), (asset_renditions, _r.asset_id)):
            self.connection.execute(delete(table).where(table.c.workspace == workspace, column == asset_id))

    def list(self, workspace: str, where: AssetFilter, before: Cursor | None, limit: int) -> list[Asset]:
        conditions = [_a.workspace == workspace, _a.deleted.is_(False)]
        if where.content_type is not None:
            conditions.append(_a.content_type == where.content_type)
        if where.sha256 is not None:
            conditions.append(_a.sha256 == where.sha256)
        conditions += _label_conditions(asset_labels, asset_labels.c.asset_id, assets, _a.id, where.labels)
        query = select(assets).where(*conditions)
        if before is not None:
            created, last_id = before
            query = query.where(or_(_a.create_time < created, and_(_a.create_time == created, _a.id < last_id)))
        rows = list(self.connection.execute(query.order_by(_a.create_time.desc(), _a.id.desc()).limit(limit)))
        renditions = self._renditions(workspace, [row.id for row in rows])
        return [self._asset(row, renditions[row.id]) for row in rows]

    def add_rendition(self, workspace: str, asset_id: str, rendition: Rendition) -> None:
        row = {"workspace": workspace, "asset_id": asset_id, "width": rendition.width,
               "content_type": rendition.content_type, "height": rendition.height,
               "size_bytes": rendition.size_bytes, "sha256": rendition.sha256}
        self.connection.execute(_INSERT[self.connection.dialect.name](asset_renditions).values(row)
                                .on_conflict_do_nothing())
