"""The sample connector: the protocol operations answered from the sample ERP, built only on the SDK."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from erpsync.errors import AuthError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse
from erpsync.sdk import documents as sdk_documents
from erpsync.sdk.connector import ConnectionStore, Connector
from erpsync.sdk.watch import watch_answer

from . import cursor
from .config import COMPANY_LIST, CONFIG_FIELDS, ConnectionConfig, parse_config
from .erp import KEEP_PARENT, STAMP_FORMAT, NewRecord, SampleErp, Where
from .fields import KIND_OF, LISTS, ORGANISATION, RecordKind
from .language import TEXTS
from .search import restrictions_where, text_search
from .values import parse_datetime
from .watch import WatchPage


class SampleConnector(Connector):
    name = "sample"
    version = "1.0.0"
    capabilities = m.Capabilities(
        get_batch_size=200,
        save_batch_size=100,
        max_page_size=m.MAX_LIMIT,
        create=dict.fromkeys(KIND_OF, True),
        documents=d.DocumentsCapability(
            kinds=list(d.DocumentKind),
            actor_types=[m.ActorType.CUSTOMER, m.ActorType.PARTNER, m.ActorType.PROJECT],
            lines=True,
            balance=True,
            max_page_size=100,
        ),
        languages=TEXTS.languages,
        watch=True,
    )

    def __init__(
        self,
        erp: SampleErp,
        *,
        connections: ConnectionStore | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        super().__init__(connections=connections)
        self.erp = erp
        self.today = today  # the ERP's day: what is overdue

    # --- config -----------------------------------------------------------------------------------------------------

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(fields=TEXTS.fields(CONFIG_FIELDS))

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        self._checked(parse_config(request.config))
        return m.Envelope(user_message=TEXTS.text("Connected to the sample ERP."))

    def _checked(self, config: ConnectionConfig) -> ConnectionConfig:
        if config.company not in dict(self.erp.companies()):
            raise ValidationError(TEXTS.text("the ERP has no company {company!r}", company=config.company))
        if not self.erp.authenticate(config.user, config.password):
            raise AuthError(TEXTS.text("The ERP refused the user name or password."))
        return config

    def _connection(self, connection_id: str) -> ConnectionConfig:
        """The connection's config, checked again: the ERP's passwords and companies may have changed since."""
        return self._checked(parse_config(self.config(connection_id)))

    # --- metadata ---------------------------------------------------------------------------------------------------

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        self._connection(request.connection_id)
        return m.ActorTypesResponse(actor_types=list(KIND_OF))

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        self._connection(request.connection_id)
        fields = _kind(request.actor_type).fields
        return m.FieldsResponse(fields=TEXTS.fields(f.meta(rank) for rank, f in enumerate(fields, start=1)))

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        self._connection(request.connection_id)
        fields = _kind(request.actor_type).fields
        return m.SearchableFieldsResponse(field_keys=[f.key for f in fields if m.OPERATORS_BY_TYPE[f.type]])

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        """ERP lists; the company list answers without a saved connection, as the config dialog needs it first."""
        if request.list_name == COMPANY_LIST:
            items = [m.ListItem(key=key, label=name) for key, name in self.erp.companies()]
        else:
            self._connection(request.connection_id)
            if request.list_name not in LISTS:
                raise ValidationError(f"unknown list {request.list_name!r}; lists: {', '.join([COMPANY_LIST, *LISTS])}")
            items = list(LISTS[request.list_name])
        wanted = set(request.keys) if request.keys is not None else None
        return m.ListItemsResponse(items=TEXTS.items(item for item in items if wanted is None or item.key in wanted))

    # --- reads ------------------------------------------------------------------------------------------------------

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        config = self._connection(request.connection_id)
        fields = _kind(request.actor_type).select_fields(request.field_keys)
        found = self.erp.fetch(config.company, request.actor_type, request.erp_keys, fields)
        return m.GetActorsResponse(
            actors=[found[key] for key in dict.fromkeys(request.erp_keys) if key in found],
            not_found=[key for key in dict.fromkeys(request.erp_keys) if key not in found],
        )

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        kind = _kind(request.actor_type)
        return self._search(request, text_search(kind, request.text))

    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        kind = _kind(request.actor_type)
        if request.parent_type not in kind.parent_types:
            raise ValidationError(f"a {request.actor_type} has no {request.parent_type} parent")
        parent_id = int(request.parent_key) if request.parent_key.isdigit() else -1
        by_parent = Where("t.parent_id = ? AND p.kind = ?", (parent_id, request.parent_type.value))
        return self._search(request, by_parent & text_search(kind, request.text))

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        kind = _kind(request.actor_type)
        return self._search(request, restrictions_where(kind, request.restrictions))

    def _search(
        self, request: m.SearchActorsRequest | m.SearchByParentRequest | m.SearchAdvancedRequest, where: Where
    ) -> m.ActorsResponse:
        config = self._connection(request.connection_id)
        kind = _kind(request.actor_type)
        fields = kind.select_fields(request.field_keys)
        if not config.include_inactive and "active" in kind.by_key:
            where = where & Where("t.active = 1")
        found = self.erp.query(config.company, request.actor_type, where, fields, limit=request.limit)
        return m.ActorsResponse(actors=list(found.values()))

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        config = self._connection(request.connection_id)
        fields = _kind(request.actor_type).select_fields(request.field_keys)
        since = _since(request.since, config)
        after = cursor.decode(request.cursor, actor_type=request.actor_type, since=since)
        limit = min(request.limit, config.page_size)
        page = self.erp.changes(
            config.company, request.actor_type, since=since, after=after, fields=fields, limit=limit + 1
        )
        entries, more = page.entries[:limit], len(page.entries) > limit
        last = entries[-1] if more else None
        return m.ChangesResponse(
            actors=[page.actors[str(entry.key)] for entry in entries if not entry.deleted],
            deleted=[str(entry.key) for entry in entries if entry.deleted],
            next_cursor=cursor.encode(request.actor_type, since, last.stamp, last.key) if last else None,
            next_since=None if more else page.next_since,
            total=self.erp.count(request.actor_type, config.company)
            if request.since is None and after is None
            else None,
        )

    def watch(self, request: WatchRequest) -> WatchResponse:
        """Answers at the first change after ``since`` (woken by the ERP's own writes, or its next look for those
        of other processes), or with nothing when the wait is over."""
        config = self._connection(request.connection_id)
        for actor_type in request.actor_types:
            _kind(actor_type)
        since = request.since
        if since is None:  # from now on: fix the position before waiting, so nothing written meanwhile is missed
            since = self.erp.watch_page(config.company, request.actor_types, since=None, limit=1).next_since
        start = since

        def look() -> WatchPage | None:
            page = self.erp.watch_page(config.company, request.actor_types, since=start, limit=request.limit)
            return page if page.changed else None

        found = self.erp.signal.wait_for(look, request)
        if found is None:
            return WatchResponse(next_since=since)
        return watch_answer(found.changed, limit=request.limit, next_since=found.next_since).model_copy(
            update={"more": found.more}
        )

    # --- writes -----------------------------------------------------------------------------------------------------

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        config = self._connection(request.connection_id)
        actor = request.actor
        kind = _kind(actor.actor_type)
        if actor.erp_key is not None:
            raise ValidationError("a new actor has no erp_key yet; use save_actors to change an existing one")
        values = dict(actor.fields)
        if kind is ORGANISATION:
            values.setdefault("credit_limit", config.default_credit_limit)
        record = NewRecord(values=values, parent_key=actor.parent_key, parent_type=actor.parent_type)
        key = self.erp.create_actor(config.company, actor.actor_type, record, idempotency_key=request.idempotency_key)
        created = self.erp.fetch(config.company, actor.actor_type, [key], kind.fields)
        if key not in created:
            raise NotFoundError(f"the {actor.actor_type} created with this idempotency key has since been deleted")
        return m.ActorResponse(actor=created[key])

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        """Saves each actor in its own transaction; one that fails is reported by index and leaves no trace."""
        config = self._connection(request.connection_id)
        saved: list[m.Actor] = []
        errors: list[m.ActorError] = []
        for index, actor in enumerate(request.actors):
            try:
                saved.append(self._save(config, actor))
            except ErpsyncError as error:
                errors.append(
                    m.ActorError(erp_key=actor.erp_key, index=index, error_code=error.code, message=error.user_message)
                )
        return m.SaveActorsResponse(actors=saved, errors=errors)

    def _save(self, config: ConnectionConfig, actor: m.Actor) -> m.Actor:
        kind = _kind(actor.actor_type)
        if actor.erp_key is None:
            raise ValidationError("erp_key is required to save an actor; use create_actor for new ones")
        parent = _parent(actor) if actor.parent_given else KEEP_PARENT
        self.erp.update_actor(
            config.company,
            actor.actor_type,
            actor.erp_key,
            actor.fields,
            parent=parent,
            last_modified=actor.last_modified,  # optimistic locking: refused as a conflict if changed since
        )
        return self.erp.fetch(config.company, actor.actor_type, [actor.erp_key], kind.fields)[actor.erp_key]

    # --- documents (read only) -------------------------------------------------------------------------------------

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        capability = sdk_documents.check_request(self.capabilities.documents, request)
        config = self._connection(request.connection_id)
        found = self.erp.documents(config.company, request.actor_type, request.erp_key, request)
        return sdk_documents.page_documents(found, request, capability=capability)

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        sdk_documents.check_request(self.capabilities.documents, request)
        config = self._connection(request.connection_id)
        found = self.erp.document_lines(config.company, request.actor_type, request.erp_key, request.document_key)
        if found is None:
            raise NotFoundError(f"{request.actor_type} {request.erp_key} has no document {request.document_key}")
        document, lines = found
        return d.DocumentLinesResponse(document=document, lines=lines)

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        sdk_documents.check_request(self.capabilities.documents, request)
        config = self._connection(request.connection_id)
        today = self.today()
        return d.BalanceResponse(
            balance=self.erp.balance(config.company, request.actor_type, request.erp_key, today=today)
        )


def _kind(actor_type: m.ActorType) -> RecordKind:
    try:
        return KIND_OF[actor_type]
    except KeyError:
        raise ValidationError(f"the sample connector has no {actor_type} actors") from None


def _parent(actor: m.Actor) -> tuple[m.ActorType, str] | None:
    if actor.parent_key is None and actor.parent_type is None:
        return None
    if actor.parent_type is None or actor.parent_key is None:
        raise ValidationError("parent_type and parent_key go together: both set, or both null to clear the parent")
    return actor.parent_type, actor.parent_key


def _since(since: str | None, config: ConnectionConfig) -> str:
    """The request's ``since`` in the ERP's stamp format, no earlier than the connection's ``sync_from``."""
    moments = [parse_datetime(since, what="since")] if since else []
    if config.sync_from is not None:
        moments.append(config.sync_from)
    return max(moments).strftime(STAMP_FORMAT) if moments else ""
