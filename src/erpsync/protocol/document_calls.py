"""The hub's typed calls of the ``documents`` capability (protocol/documents.py), over a ``ConnectorClient``."""

from __future__ import annotations

from erpsync.errors import ConnectorError
from erpsync.protocol import documents as d
from erpsync.protocol.client import ActorTypeArg, ConnectorClient


class DocumentCalls:
    """The three documents operations of one connector; each refuses a connector that does not declare them."""

    def __init__(self, client: ConnectorClient) -> None:
        self._client = client

    @property
    def capability(self) -> d.DocumentsCapability | None:
        return self._client.capabilities.documents

    def documents(
        self,
        *,
        connection_id: str,
        actor_type: ActorTypeArg,
        erp_key: str,
        filters: d.DocumentFilters | None = None,
        cursor: str | None = None,
        limit: int = d.DEFAULT_PAGE,
    ) -> d.DocumentsResponse:
        """One page of the actor's documents that pass ``filters``, newest first; ``next_cursor`` asks for the next."""
        capability = self._declared()
        asked = min(limit, capability.max_page_size)
        page = self._client.call(
            "documents",
            d.DocumentsResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            erp_key=erp_key,
            **(filters or d.DocumentFilters()).model_dump(),
            cursor=cursor,
            limit=asked,
        )
        if len(page.documents) > asked:
            raise ConnectorError(f"the connector answered {len(page.documents)} documents where {asked} were asked")
        return page

    def document_lines(
        self, *, connection_id: str, actor_type: ActorTypeArg, erp_key: str, document_key: str
    ) -> d.DocumentLinesResponse:
        if not self._declared().lines:
            raise ConnectorError("this connector does not support document_lines")
        return self._client.call(
            "document_lines",
            d.DocumentLinesResponse,
            connection_id=connection_id,
            actor_type=actor_type,
            erp_key=erp_key,
            document_key=document_key,
        )

    def balance(self, *, connection_id: str, actor_type: ActorTypeArg, erp_key: str) -> d.BalanceResponse:
        if not self._declared().balance:
            raise ConnectorError("this connector does not support balance")
        return self._client.call(
            "balance", d.BalanceResponse, connection_id=connection_id, actor_type=actor_type, erp_key=erp_key
        )

    def _declared(self) -> d.DocumentsCapability:
        capability = self.capability
        if capability is None:
            raise ConnectorError("this connector does not support documents")
        return capability
