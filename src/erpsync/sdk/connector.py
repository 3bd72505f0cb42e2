"""The base class of a sync connector: one method per protocol operation, each taking its typed request.

A connector author overrides the ERP-facing methods. Connection bookkeeping (``save_connection``,
``test_connection``, ``delete_connection``) has working defaults built on a ``ConnectionStore`` and
``test_config``. Raise the types of ``erpsync.errors`` to answer ``ok: false`` with a typed ``error_code``.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from erpsync.errors import ConnectorError, UnknownConnectionError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse


class ConnectionStore(Protocol):
    """Where a connector keeps each connection's config, keyed by the hub's connection id."""

    def get(self, connection_id: str) -> m.Config | None: ...

    def put(self, connection_id: str, config: m.Config) -> None: ...

    def delete(self, connection_id: str) -> None: ...


class MemoryConnectionStore:
    """A ``ConnectionStore`` that forgets everything on restart (tests, demos)."""

    def __init__(self) -> None:
        self._configs: dict[str, m.Config] = {}

    def get(self, connection_id: str) -> m.Config | None:
        return self._configs.get(connection_id)

    def put(self, connection_id: str, config: m.Config) -> None:
        self._configs[connection_id] = dict(config)

    def delete(self, connection_id: str) -> None:
        self._configs.pop(connection_id, None)


class Connector:
    """Subclass this; see docs/writing-a-connector.md."""

    name: ClassVar[str] = "connector"
    version: ClassVar[str] = "0.0.0"
    capabilities: ClassVar[m.Capabilities] = m.Capabilities()

    def __init__(self, *, connections: ConnectionStore | None = None) -> None:
        self.connections: ConnectionStore = connections or MemoryConnectionStore()

    # --- connector-level ------------------------------------------------------------------------------------------

    def info(self) -> m.InfoResponse:
        return m.InfoResponse(name=self.name, version=self.version, capabilities=self.capabilities)

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(fields=[])

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        """Check the config against the ERP; raise ``AuthError``/``ValidationError``/... with a clear message."""
        return m.Envelope()

    # --- connection bookkeeping -----------------------------------------------------------------------------------

    def config(self, connection_id: str) -> m.Config:
        """The saved config of a connection, or ``UnknownConnectionError`` so the hub resends it."""
        config = self.connections.get(connection_id)
        if config is None:
            raise UnknownConnectionError(f"connection {connection_id} is not known to this connector")
        return config

    def save_connection(self, request: m.SaveConnectionRequest) -> m.Envelope:
        self.test_config(m.TestConfigRequest(config=request.config))
        self.connections.put(request.connection_id, request.config)
        return m.Envelope()

    def test_connection(self, request: m.ConnectionRequest) -> m.Envelope:
        return self.test_config(m.TestConfigRequest(config=self.config(request.connection_id)))

    def delete_connection(self, request: m.ConnectionRequest) -> m.Envelope:
        self.connections.delete(request.connection_id)
        return m.Envelope()

    # --- actors ---------------------------------------------------------------------------------------------------

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        raise _unsupported("actor_types")

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        raise _unsupported("actor_fields")

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        return m.SearchableFieldsResponse(field_keys=[])

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        raise _unsupported("get_actors")

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        raise _unsupported("search_actors")

    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        raise _unsupported("search_by_parent")

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        raise _unsupported("search_advanced")

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        raise _unsupported("changes")

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        raise _unsupported("create_actor")

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        raise _unsupported("save_actors")

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        raise _unsupported("list_items")

    # --- documents (declare ``capabilities.documents``; sdk/documents.py pages and filters) -------------------------

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        raise _unsupported("documents")

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        raise _unsupported("document_lines")

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        raise _unsupported("balance")

    def watch(self, request: WatchRequest) -> WatchResponse:
        """Declare ``capabilities.watch`` and override this (``erpsync.sdk.watch`` helps)."""
        raise _unsupported("watch")


def _unsupported(operation: str) -> ConnectorError:
    return ConnectorError(f"this connector does not support {operation}")
