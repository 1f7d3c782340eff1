"""The SQL repositories, one per aggregate (SQLAlchemy Core, SQLite or PostgreSQL)."""

from svc_notify.adapters.repositories.deliveries import SqlDeliveryRepository
from svc_notify.adapters.repositories.inbox import SqlInboxRepository
from svc_notify.adapters.repositories.messages import RECLAIMED, SqlMessageRepository
from svc_notify.adapters.repositories.providers import SqlProviderRepository
from svc_notify.adapters.repositories.settings import SqlSettingsRepository

__all__ = ["RECLAIMED", "SqlDeliveryRepository", "SqlInboxRepository", "SqlMessageRepository",
           "SqlProviderRepository", "SqlSettingsRepository"]
