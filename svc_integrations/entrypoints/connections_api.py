"""gRPC of the connector catalogue and connections (a mixin of IntegrationsServicer): thin
translation between the protos and service_layer/connections.py. Credentials are read from
requests and never written into an answer."""

from __future__ import annotations

from google.protobuf import empty_pb2, timestamp_pb2

from marketing.integrations.v1 import connection_pb2, connector_pb2, integrations_service_pb2 as pb
from svc_kit.executor import run_blocking
from svc_kit.pagination import fingerprint, keyset_page, timed_keyset_page

from svc_integrations.entrypoints import list_filters
from svc_integrations.domain.connections import Connection
from svc_integrations.domain.connectors import ConnectorSpec
from svc_integrations.service_layer.connections import ConnectionInput, Connections

_CATEGORIES = {"webhook": connector_pb2.Connector.CATEGORY_WEBHOOK, "crm": connector_pb2.Connector.CATEGORY_CRM,
               "ad_platform": connector_pb2.Connector.CATEGORY_AD_PLATFORM,
               "data_warehouse": connector_pb2.Connector.CATEGORY_DATA_WAREHOUSE,
               "ecommerce": connector_pb2.Connector.CATEGORY_ECOMMERCE,
               "storage": connector_pb2.Connector.CATEGORY_STORAGE}
_AUTH = {"none": connector_pb2.Connector.AUTH_TYPE_NONE, "api_key": connector_pb2.Connector.AUTH_TYPE_API_KEY,
         "basic": connector_pb2.Connector.AUTH_TYPE_BASIC, "oauth2": connector_pb2.Connector.AUTH_TYPE_OAUTH2,
         "service_account": connector_pb2.Connector.AUTH_TYPE_SERVICE_ACCOUNT}
_TYPES = {"string": connector_pb2.ParameterSpec.TYPE_STRING, "int": connector_pb2.ParameterSpec.TYPE_INT,
          "bool": connector_pb2.ParameterSpec.TYPE_BOOL, "enum": connector_pb2.ParameterSpec.TYPE_ENUM,
          "url": connector_pb2.ParameterSpec.TYPE_URL}
_DIRECTIONS = {"import": connector_pb2.SYNC_DIRECTION_IMPORT, "export": connector_pb2.SYNC_DIRECTION_EXPORT}
_OBJECTS = {"profiles": connector_pb2.SYNC_OBJECT_PROFILES,
            "segment_members": connector_pb2.SYNC_OBJECT_SEGMENT_MEMBERS,
            "events": connector_pb2.SYNC_OBJECT_EVENTS, "suppressions": connector_pb2.SYNC_OBJECT_SUPPRESSIONS,
            "campaign_reports": connector_pb2.SYNC_OBJECT_CAMPAIGN_REPORTS}
_STATES = {"PENDING": connection_pb2.Connection.STATE_PENDING, "ACTIVE": connection_pb2.Connection.STATE_ACTIVE,
           "ERROR": connection_pb2.Connection.STATE_ERROR, "DISABLED": connection_pb2.Connection.STATE_DISABLED}


def timestamp(value) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def connector_to_proto(workspace: str, spec: ConnectorSpec) -> connector_pb2.Connector:
    return connector_pb2.Connector(
        name=f"workspaces/{workspace}/connectors/{spec.key}", display_name=spec.display_name,
        description=spec.description, category=_CATEGORIES.get(spec.category, 0), auth_type=_AUTH.get(spec.auth_type, 0),
        parameters=[connector_pb2.ParameterSpec(key=p.key, display_name=p.display_name, description=p.description,
                                                type=_TYPES.get(p.type, 0), required=p.required,
                                                default_value=p.default_value, allowed_values=p.allowed_values)
                    for p in spec.parameters],
        credential_keys=spec.credential_keys,
        capabilities=[connector_pb2.SyncCapability(direction=_DIRECTIONS.get(d, 0), object=_OBJECTS.get(o, 0))
                      for d, o in spec.capabilities],
        documentation_uri=spec.documentation_uri, version=spec.version)


def connection_to_proto(c: Connection) -> connection_pb2.Connection:
    """Never the credentials: only the name of the secret that holds them."""
    return connection_pb2.Connection(
        name=c.name, display_name=c.display_name, connector=c.connector_name, parameters=dict(c.parameters),
        credentials_secret=c.credentials_secret, state=_STATES[c.state], state_message=c.state_message,
        check_time=timestamp(c.check_time), labels=dict(c.labels), create_time=timestamp(c.create_time),
        update_time=timestamp(c.update_time), etag=c.etag)


def connection_input(message: connection_pb2.Connection) -> ConnectionInput:
    return ConnectionInput(display_name=message.display_name, connector=message.connector,
                           parameters=dict(message.parameters), credentials=dict(message.credentials),
                           credentials_secret=message.credentials_secret, labels=dict(message.labels),
                           etag=message.etag)


class ConnectionsApi:
    """RPCs of connectors and connections; needs `self.connections` and `self.executor`."""

    connections: Connections
    outbound = None  # an executor for calls to outside platforms

    async def ListConnectors(self, request: pb.ListConnectorsRequest, context) -> pb.ListConnectorsResponse:
        specs = await run_blocking(self.executor, self.connections.connectors, request.parent)
        workspace = request.parent.split("/")[1]

        def fetch(after: str, limit: int) -> list[ConnectorSpec]:
            return [s for s in specs if s.key > after][:limit]

        fetch = list_filters.filtered_fetch(request.filter, list_filters.CONNECTORS, fetch, lambda spec: spec.key)
        page, token = keyset_page(fetch, lambda spec: spec.key, request.page_size, request.page_token,
                                  "connectors", request.parent, request.filter)
        return pb.ListConnectorsResponse(connectors=[connector_to_proto(workspace, s) for s in page],
                                         next_page_token=token)

    async def GetConnector(self, request: pb.GetConnectorRequest, context) -> connector_pb2.Connector:
        spec = await run_blocking(self.executor, self.connections.connector, request.name)
        return connector_to_proto(request.name.split("/")[1], spec)

    async def CreateConnection(self, request: pb.CreateConnectionRequest, context) -> connection_pb2.Connection:
        created = await run_blocking(self.executor, self.connections.create, request.parent,
                                     connection_input(request.connection), request.connection_id,
                                     request.request_id, request.validate_only)
        return connection_to_proto(created)

    async def GetConnection(self, request: pb.GetConnectionRequest, context) -> connection_pb2.Connection:
        return connection_to_proto(await run_blocking(self.executor, self.connections.get, request.name))

    async def ListConnections(self, request: pb.ListConnectionsRequest, context) -> pb.ListConnectionsResponse:
        def page():
            fetch = list_filters.filtered_fetch(
                request.filter, list_filters.CONNECTIONS,
                lambda after, limit: self.connections.list(request.parent, after, limit), list_filters.position)
            return timed_keyset_page(fetch, list_filters.position, request.page_size, request.page_token,
                                     fingerprint("connections", request.parent, request.filter))

        found, token = await run_blocking(self.executor, page)
        return pb.ListConnectionsResponse(connections=[connection_to_proto(c) for c in found], next_page_token=token)

    async def UpdateConnection(self, request: pb.UpdateConnectionRequest, context) -> connection_pb2.Connection:
        updated = await run_blocking(self.executor, self.connections.update, request.connection.name,
                                     connection_input(request.connection), list(request.update_mask.paths),
                                     request.validate_only)
        return connection_to_proto(updated)

    async def DeleteConnection(self, request: pb.DeleteConnectionRequest, context) -> empty_pb2.Empty:
        await run_blocking(self.executor, self.connections.delete, request.name, request.etag)
        return empty_pb2.Empty()

    async def TestConnection(self, request: pb.TestConnectionRequest, context) -> connection_pb2.Connection:
        # The check calls the outside platform: off the event loop even on the embedded SQLite file.
        return connection_to_proto(await run_blocking(self.outbound or self.executor, self.connections.test, request.name,
                                                      request.etag))

    async def EnableConnection(self, request: pb.EnableConnectionRequest, context) -> connection_pb2.Connection:
        return connection_to_proto(await run_blocking(self.executor, self.connections.enable, request.name,
                                                      request.etag))

    async def DisableConnection(self, request: pb.DisableConnectionRequest, context) -> connection_pb2.Connection:
        return connection_to_proto(await run_blocking(self.executor, self.connections.disable, request.name,
                                                      request.etag))
