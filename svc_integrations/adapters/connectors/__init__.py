"""The connector registry: every installed connector by its key (ConnectorSpec.key).

To add a connector, write a class implementing svc_integrations.domain.connectors.Connector in a
module of this package and add ONE line to CONNECTORS below (docs/integrations.md, "Adding a
connector"). Each class is constructed with no arguments, or by its `guarded()` class method in
production mode (its HTTP reaching public addresses only: adapters/guarded_http.py)."""

from __future__ import annotations

from collections.abc import Iterable

from svc_integrations.adapters.connectors.generic_http import GenericHttpConnector
from svc_integrations.adapters.connectors.google_ads import GoogleCustomerMatch
from svc_integrations.adapters.connectors.hubspot import HubSpotContacts
from svc_integrations.adapters.connectors.meta import MetaCustomAudiences
from svc_integrations.domain.connectors import Connector

# One line per connector class.
CONNECTORS: tuple[type, ...] = (
    GenericHttpConnector,
    MetaCustomAudiences,
    GoogleCustomerMatch,
    HubSpotContacts,
)


class ConnectorRegistry:
    def __init__(self, connectors: Iterable[Connector]):
        self._by_key: dict[str, Connector] = {}
        for connector in connectors:
            key = connector.spec.key
            if key in self._by_key:
                raise ValueError(f"two connectors with the key {key!r}")
            self._by_key[key] = connector

    def get(self, key: str) -> Connector | None:
        return self._by_key.get(key)

    def all(self) -> list[Connector]:
        return list(self._by_key.values())


def default_registry(guarded: bool = False) -> ConnectorRegistry:
    return ConnectorRegistry(cls.guarded() if guarded else cls() for cls in CONNECTORS)
