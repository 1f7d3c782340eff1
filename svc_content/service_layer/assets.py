"""Asset use cases: upload (checked, stored by content hash, standard renditions
made), read, list, update, delete, download (a rendition made on first request)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from svc_kit import pagination
from svc_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from svc_kit.idempotency import fingerprint, replayed

from svc_content.domain import validation
from svc_content.domain.model import Asset, Rendition
from svc_content.domain.queries import AssetFilter
from svc_content.service_layer import images
from svc_content.service_layer.ports import BlobStore
from svc_content.service_layer.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]
MAX_DISPLAY_NAME = 255


def asset_name(workspace: str, asset_id: str) -> str:
    return f"workspaces/{workspace}/assets/{asset_id}"


@dataclass(frozen=True)
class CreateAsset:
    workspace: str
    data: bytes
    content_type: str
    display_name: str = ""
    labels: dict[str, str] | None = None
    asset_id: str = ""
    request_id: str = ""


def _standard_renditions(data: bytes, content_type: str, width: int, blobs: BlobStore) -> list[Rendition]:
    out = []
    for target in images.STANDARD_WIDTHS:
        if target >= width:
            break
        made, w, h = images.rendition(data, target, "image/webp")
        out.append(Rendition(w, h, "image/webp", len(made), blobs.put(made)))
    return out


def create_asset(cmd: CreateAsset, uow: UnitOfWork, blobs: BlobStore, clock: Clock, new_id: IdFactory) -> Asset:
    violations = []
    # asset_id's format and request_id's length: rules of content_service.proto (svc_kit.validation).
    if len(cmd.display_name) > MAX_DISPLAY_NAME:
        violations.append(FieldViolation("asset.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    if not cmd.content_type:
        violations.append(FieldViolation("asset.content_type", "required: image/png, image/jpeg, image/gif or "
                                                               "image/webp"))
    violations += validation.check_labels(cmd.labels or {}, "asset.labels")
    if violations:
        raise InvalidArgument(violations)
    content_type, width, height = images.inspect(cmd.data, cmd.content_type)
    sha256 = hashlib.sha256(cmd.data).hexdigest()
    fingerprint_ = fingerprint(cmd.asset_id, sha256, cmd.display_name, cmd.labels or {}, content_type)
    if cmd.request_id:
        with uow:
            if found := uow.assets.find_by_request_id(cmd.workspace, cmd.request_id):
                return replayed(*found, fingerprint_, cmd.request_id, found[0].name)
    blobs.put(cmd.data)
    renditions = _standard_renditions(cmd.data, content_type, width, blobs)
    now = clock()
    asset = Asset(cmd.workspace, cmd.asset_id or new_id(), cmd.display_name, content_type, len(cmd.data), sha256,
                  width, height, dict(cmd.labels or {}), now, now, renditions)
    with uow:
        if uow.assets.get(cmd.workspace, asset.id, include_deleted=True) is not None:
            raise AlreadyExists(f"{asset.name} already exists")
        try:
            uow.assets.add(asset, cmd.request_id, fingerprint_)
            uow.commit()
            return asset
        except AlreadyExists:
            if not cmd.request_id:
                raise
    with uow:
        found = uow.assets.find_by_request_id(cmd.workspace, cmd.request_id)
        if found is None:
            raise AlreadyExists(f"{asset.name} already exists")
        return replayed(*found, fingerprint_, cmd.request_id, found[0].name)


def get_asset(workspace: str, asset_id: str, uow: UnitOfWork) -> Asset:
    with uow:
        asset = uow.assets.get(workspace, asset_id)
    if asset is None:
        raise NotFound(asset_name(workspace, asset_id))
    return asset


@dataclass(frozen=True)
class AssetPage:
    assets: list[Asset]
    next_page_token: str


def list_assets(workspace: str, page_size: int, page_token: str, filter_text: str, uow: UnitOfWork) -> AssetPage:
    where = AssetFilter.parse(filter_text)
    with uow:  # newest first: the position is the last asset served, the next page is before it
        page, token = pagination.timed_keyset_page(
            lambda before, limit: uow.assets.list(workspace, where, before, limit),
            lambda a: (a.create_time, a.id), page_size, page_token,
            pagination.fingerprint(workspace, "assets", where.key()))
    return AssetPage(page, token)


def update_asset(workspace: str, asset_id: str, display_name: str, labels: dict[str, str], paths: tuple[str, ...],
                 etag: str, uow: UnitOfWork, clock: Clock) -> Asset:
    if not paths:
        raise InvalidArgument(FieldViolation("update_mask", "required: display_name, labels"))
    unknown = [p for p in paths if p not in ("display_name", "labels", "*")]
    if unknown:
        raise InvalidArgument(FieldViolation("update_mask", f"{unknown[0]!r} cannot be changed; display_name and "
                                                            "labels can"))
    violations = validation.check_labels(labels, "asset.labels")
    if len(display_name) > MAX_DISPLAY_NAME:
        violations.append(FieldViolation("asset.display_name", f"at most {MAX_DISPLAY_NAME} characters"))
    if violations:
        raise InvalidArgument(violations)
    with uow:
        asset = uow.assets.get(workspace, asset_id)
        if asset is None:
            raise NotFound(asset_name(workspace, asset_id))
        asset.check_etag(etag)
        expected = asset.revision
        if "display_name" in paths or "*" in paths:
            asset.display_name = display_name
        if "labels" in paths or "*" in paths:
            asset.labels = dict(labels)
        asset.revision += 1
        asset.update_time = clock()
        uow.assets.save(asset, expected)
        uow.commit()
        return asset


def delete_asset(workspace: str, asset_id: str, etag: str, uow: UnitOfWork, clock: Clock) -> None:
    """Gone for good, unless a published version names it: then hidden but still
    downloadable, so messages already sent keep their images. Bytes stay in the
    blob store (other assets may share them)."""
    with uow:
        asset = uow.assets.get(workspace, asset_id)
        if asset is None:
            raise NotFound(asset_name(workspace, asset_id))
        asset.check_etag(etag)
        expected = asset.revision
        if uow.templates.versions_mention(workspace, asset.name):
            asset.deleted = True
            asset.revision += 1
            asset.update_time = clock()
            uow.assets.save(asset, expected)
        else:
            uow.assets.remove(workspace, asset_id, expected)
        uow.commit()


def download_asset(workspace: str, asset_id: str, width: int, content_type: str, uow: UnitOfWork,
                   blobs: BlobStore) -> tuple[bytes, str]:
    """(bytes, media type) of the original or of a rendition, made and stored on first request."""
    name = asset_name(workspace, asset_id)
    with uow:
        asset = uow.assets.get(workspace, asset_id, include_deleted=True)
    if asset is None:
        raise NotFound(name)
    content_type = content_type.lower()
    if width and width not in images.RENDITION_WIDTHS:
        raise InvalidArgument(FieldViolation("width", "one of " + ", ".join(map(str, images.RENDITION_WIDTHS))
                                                      + " (or 0 for the original size)"))
    if width < 0:
        raise InvalidArgument(FieldViolation("width", "must not be negative"))
    if content_type and content_type not in images.RENDITION_TYPES and content_type != asset.content_type:
        raise InvalidArgument(FieldViolation("content_type", "one of " + ", ".join(images.RENDITION_TYPES)))
    target_type = content_type or asset.content_type
    target_width = min(width, asset.width) if width else asset.width
    if target_width == asset.width and target_type == asset.content_type:
        return _blob(blobs, asset.sha256, name), asset.content_type
    for rendition in asset.renditions:
        if rendition.width == target_width and rendition.content_type == target_type:
            return _blob(blobs, rendition.sha256, name), target_type
    original = _blob(blobs, asset.sha256, name)
    data, made_width, made_height = images.rendition(original, target_width, target_type)
    rendition = Rendition(made_width, made_height, target_type, len(data), blobs.put(data))
    with uow:
        uow.assets.add_rendition(workspace, asset_id, rendition)
        uow.commit()
    return data, target_type


def _blob(blobs: BlobStore, sha256: str, name: str) -> bytes:
    data = blobs.get(sha256)
    if data is None:
        raise NotFound(name, f"the bytes of {name} are missing from the blob store")
    return data
