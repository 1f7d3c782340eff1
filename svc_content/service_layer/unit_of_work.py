"""The unit of work a handler runs in (one transaction), and the repositories it
holds; svc_content.adapters.sql_unit_of_work implements them over SQLAlchemy."""

from __future__ import annotations

import abc
from datetime import datetime

from svc_content.domain.model import Asset, Rendition, Template, TemplateVersion
from svc_content.domain.queries import AssetFilter, TemplateFilter

Cursor = tuple[datetime, str]  # (create_time, id) of the last item served


class TemplateRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, template: Template, request_id: str = "", request_fingerprint: str = "") -> None:
        """Stores a new template; AlreadyExists if its id or request id is taken."""

    @abc.abstractmethod
    def get(self, workspace: str, template_id: str) -> Template | None: ...

    @abc.abstractmethod
    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Template, str] | None: ...

    @abc.abstractmethod
    def save(self, template: Template, expected_revision: int) -> None:
        """Writes a changed template; Aborted if someone else changed it since `expected_revision`."""

    @abc.abstractmethod
    def remove(self, workspace: str, template_id: str, expected_revision: int) -> None:
        """Deletes a template with its versions; Aborted if it changed meanwhile."""

    @abc.abstractmethod
    def list(self, workspace: str, where: TemplateFilter, after: Cursor | None, limit: int) -> list[Template]:
        """Templates in (create_time, id) order, strictly after the cursor."""

    @abc.abstractmethod
    def count(self, workspace: str, where: TemplateFilter) -> int: ...

    @abc.abstractmethod
    def add_version(self, version: TemplateVersion, request_id: str = "", request_fingerprint: str = "") -> None:
        """Stores a published version; AlreadyExists if its number or request id is taken."""

    @abc.abstractmethod
    def get_version(self, workspace: str, template_id: str, number: int) -> TemplateVersion | None: ...

    @abc.abstractmethod
    def find_version_by_request_id(self, workspace: str, template_id: str,
                                   request_id: str) -> tuple[TemplateVersion, str] | None: ...

    @abc.abstractmethod
    def list_versions(self, workspace: str, template_id: str, before: int | None,
                      limit: int) -> list[TemplateVersion]:
        """Versions newest first, numbered below `before` (all when None)."""

    @abc.abstractmethod
    def versions_mention(self, workspace: str, text: str) -> bool:
        """Whether any published version of the workspace contains `text` (an asset's name)."""


class AssetRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, asset: Asset, request_id: str = "", request_fingerprint: str = "") -> None: ...

    @abc.abstractmethod
    def get(self, workspace: str, asset_id: str, include_deleted: bool = False) -> Asset | None: ...

    @abc.abstractmethod
    def find_by_request_id(self, workspace: str, request_id: str) -> tuple[Asset, str] | None: ...

    @abc.abstractmethod
    def save(self, asset: Asset, expected_revision: int) -> None: ...

    @abc.abstractmethod
    def remove(self, workspace: str, asset_id: str, expected_revision: int) -> None: ...

    @abc.abstractmethod
    def list(self, workspace: str, where: AssetFilter, before: Cursor | None, limit: int) -> list[Asset]:
        """Assets newest first ((create_time, id) descending), strictly before the cursor; deleted ones left out."""

    @abc.abstractmethod
    def add_rendition(self, workspace: str, asset_id: str, rendition: Rendition) -> None:
        """Records a generated rendition; a second record of the same width and type changes nothing."""




class UnitOfWork(abc.ABC):
    templates: TemplateRepository
    assets: AssetRepository

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
