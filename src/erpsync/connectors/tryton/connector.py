"""The Tryton sync connector: protocol operations on top of ``Records`` over Tryton's JSON-RPC."""

from __future__ import annotations

import datetime as dt
from functools import partial

from erpsync.connectors.tryton import documents as docs
from erpsync.connectors.tryton import fields as f
from erpsync.connectors.tryton.changes import FullCursor, Page, Position, Source, feed_end, read_page
from erpsync.connectors.tryton.domains import parse_datetime, restriction_domain, text_search
from erpsync.connectors.tryton.languages import localized, tryton_code
from erpsync.connectors.tryton.lists import list_items
from erpsync.connectors.tryton.records import Records, iso
from erpsync.connectors.tryton.roles import ROLE_RULES, RULE_LABELS
from erpsync.connectors.tryton.rpc import Domain
from erpsync.connectors.tryton.sessions import Session, Sessions, open_session, session_for_test
from erpsync.connectors.tryton.texts import TEXTS
from erpsync.connectors.tryton.watch import watch as watch_changes
from erpsync.errors import ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchRequest, WatchResponse
from erpsync.sdk.connector import ConnectionStore, Connector
from erpsync.sdk.documents import check_request
from erpsync.sdk.language import asked

_PARTY_SOURCES = [
    Source("party.party"),
    Source("party.address", "party"),
    Source("party.contact_mechanism", "party"),
    Source("party.identifier", "party"),
]
_SOURCES = dict.fromkeys(f.COMPANY_TYPES, _PARTY_SOURCES) | {
    m.ActorType.PERSON: _PARTY_SOURCES[:1] + _PARTY_SOURCES[2:3],
    m.ActorType.PROJECT: [Source("project.work")],
}


class TrytonConnector(Connector):
    name = "tryton"
    version = "1.0.0"
    capabilities = m.Capabilities(
        get_batch_size=100,
        save_batch_size=100,
        max_page_size=500,
        create=dict.fromkeys(m.ActorType, True),
        documents=docs.CAPABILITY,
        watch=True,
        languages=TEXTS.languages,
    )

    def __init__(self, *, connections: ConnectionStore | None = None) -> None:
        super().__init__(connections=connections)
        self._sessions = Sessions()

    def close(self) -> None:
        """Close every connection's Tryton session."""
        self._sessions.close()

    def info(self) -> m.InfoResponse:
        """English, Danish (the connector's own texts), and the languages the Tryton databases of the open sessions
        translate (docs/tryton.md)."""
        languages = list(dict.fromkeys([*TEXTS.languages, *self._sessions.languages()]))
        capabilities = self.capabilities.model_copy(update={"languages": languages})
        return m.InfoResponse(name=self.name, version=self.version, capabilities=capabilities)

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(fields=TEXTS.fields(f.config_fields()))

    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        with session_for_test(request.config):
            return m.Envelope(user_message=TEXTS.text("Connected to Tryton"))

    def save_connection(self, request: m.SaveConnectionRequest) -> m.Envelope:
        """Saved after the checks of ``test_config``; the session they open serves the connection from now on (and
        ``info`` declares the languages of its database)."""
        session = open_session(request.config)
        try:
            self.connections.put(request.connection_id, request.config)
        except BaseException:
            session.close()
            raise
        self._sessions.put(request.connection_id, session)
        return m.Envelope()

    def delete_connection(self, request: m.ConnectionRequest) -> m.Envelope:
        envelope = super().delete_connection(request)
        self._sessions.drop(request.connection_id)
        return envelope

    def actor_types(self, request: m.ConnectionRequest) -> m.ActorTypesResponse:
        return m.ActorTypesResponse(actor_types=self._session(request.connection_id).roles.actor_types())

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        fields = f.FIELDS[request.actor_type]
        metas = [field.meta(rank) for rank, field in enumerate(fields)]
        if not asked():  # English: the connector's own labels, without a session
            self.config(request.connection_id)
            return m.FieldsResponse(fields=metas)
        session = self._session(request.connection_id)
        language = session.language(asked())
        if language is None:
            return m.FieldsResponse(fields=metas)
        texts = partial(session.texts.of, language=language)
        return m.FieldsResponse(
            fields=[localized(meta, field, texts) for meta, field in zip(metas, fields, strict=True)]
        )

    def searchable_fields(self, request: m.ActorTypeRequest) -> m.SearchableFieldsResponse:
        self.config(request.connection_id)
        keys = [field.key for field in f.FIELDS[request.actor_type] if field.search_path]
        return m.SearchableFieldsResponse(field_keys=keys)

    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        _check_field_keys(request.actor_type, request.field_keys)
        ids = {key: _id(key) for key in request.erp_keys}
        records = self._records(request.connection_id)
        found = records.read(request.actor_type, [i for i in ids.values() if i is not None])
        actors = [_only(found[i][0], request.field_keys) for i in ids.values() if i in found and found[i][1]]
        missing = [key for key, i in ids.items() if i not in found or not found[i][1]]
        return m.GetActorsResponse(actors=actors, not_found=missing)

    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return self._search(request.connection_id, request.actor_type, text_search(request.text), request)

    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        parent = _id(request.parent_key)
        if parent is None:
            return m.ActorsResponse()
        if request.actor_type == m.ActorType.PERSON:
            works_for = self._records(request.connection_id).roles.relation()
            domain: Domain = [["relations", "where", [["to", "=", parent], ["type", "=", works_for]]]]
        else:
            domain = [["party", "=", parent]]
        return self._search(request.connection_id, request.actor_type, domain + text_search(request.text), request)

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        _check_field_keys(request.actor_type, request.field_keys)
        domains = [(r, self._restriction(request.actor_type, r)) for r in request.restrictions]  # validates each
        folded = [r for r in request.restrictions if _text_between(request.actor_type, r)]
        domain = [clause for r, clauses in domains if r not in folded for clause in clauses]
        if not folded:
            return self._search(request.connection_id, request.actor_type, domain, request)
        # Tryton's domains cannot lower-case a column, so a text range that ignores case is checked here, over every
        # record the other restrictions select.
        records = self._records(request.connection_id)
        ids = records.find(request.actor_type, domain, limit=None)
        found = records.read(request.actor_type, ids)
        kept = [found[i][0] for i in ids if i in found and all(_within(found[i][0], r) for r in folded)]
        return m.ActorsResponse(actors=[_only(actor, request.field_keys) for actor in kept[: request.limit]])

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        _check_field_keys(request.actor_type, request.field_keys)
        records = self._records(request.connection_id)
        limit = min(request.limit, self.capabilities.max_page_size)
        if request.since is None and (request.cursor is None or FullCursor.is_full(request.cursor)):
            return self._full_read(records, request, limit)
        after = _start(request)
        page = read_page(records.rpc, _SOURCES[request.actor_type], after=after, limit=limit, context=records.context)
        found = records.read(request.actor_type, page.actor_ids)
        current = [found[i] for i in page.actor_ids if i in found and not _changed_later(found[i][0], page)]
        actors = [_only(actor, request.field_keys) for actor, active in current if active]
        deleted = [str(actor.erp_key) for actor, active in current if not active]
        return m.ChangesResponse(actors=actors, deleted=deleted, **_continuation(page, request))

    def _full_read(self, records: Records, request: m.ChangesRequest, limit: int) -> m.ChangesResponse:
        """Every active actor of the type, by id; the first page counts them and notes where the feed ends."""
        if request.cursor is None:
            at = FullCursor(0, feed_end(records.rpc, _SOURCES[request.actor_type], context=records.context))
            total: int | None = records.count(request.actor_type)
        else:
            at, total = FullCursor.decode(request.cursor), None
        actors = records.page_after(request.actor_type, at.last_id, limit)
        if len(actors) == limit:
            after = FullCursor(int(actors[-1].erp_key or 0), at.end)
            continuation: dict[str, str | None] = {"next_cursor": after.encode()}
        else:
            continuation = {"next_since": at.end.encode() if at.end else None}
        return m.ChangesResponse(actors=[_only(a, request.field_keys) for a in actors], total=total, **continuation)

    def watch(self, request: WatchRequest) -> WatchResponse:
        return watch_changes(self._records(request.connection_id), request, _SOURCES)

    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        _check_writable(request.actor, creating=True)
        session = self._session(request.connection_id)
        records = _speaking(session, [request.actor])
        with session.create_lock:  # one create at a time, so a retry racing its original finds what it made
            created = records.create(request.actor, request.idempotency_key)
        found = records.read(request.actor.actor_type, [created]).get(created)
        if found is None:
            raise NotFoundError(f"the {request.actor.actor_type.value} created for this key no longer exists")
        return m.ActorResponse(actor=found[0])

    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        saved: list[m.Actor] = []
        errors: list[m.ActorError] = []
        writable: list[int] = []
        for index, actor in enumerate(request.actors):
            try:
                _check_writable(actor, creating=False)
                writable.append(index)
            except ErpsyncError as error:
                errors.append(_actor_error(index, actor, error))
        records = _speaking(self._session(request.connection_id), request.actors)
        outcome = records.save_page([request.actors[i] for i in writable])
        for index, result in zip(writable, outcome, strict=True):
            if isinstance(result, m.Actor):
                saved.append(result)
            else:
                errors.append(_actor_error(index, request.actors[index], result))
        return m.SaveActorsResponse(actors=saved, errors=sorted(errors, key=lambda error: error.index))

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        if request.list_name == ROLE_RULES:  # a config field's list: answered before the connection exists
            items = TEXTS.items(m.ListItem(key=key, label=label) for key, label in RULE_LABELS.items())
        else:
            session = self._session(request.connection_id)
            items = list_items(session.records(), request.list_name, session.language(asked()))
        if request.keys is not None:
            items = [item for item in items if item.key in set(request.keys)]
        return m.ListItemsResponse(items=items)

    # --- documents (documents.py) ---------------------------------------------------------------------------------

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        check_request(self.capabilities.documents, request)
        return docs.documents(self._records(request.connection_id), request)

    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        check_request(self.capabilities.documents, request)
        return docs.document_lines(self._records(request.connection_id), request)

    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        check_request(self.capabilities.documents, request)
        return docs.balance(self._records(request.connection_id), request)

    # --- helpers --------------------------------------------------------------------------------------------------

    def _search(
        self,
        connection_id: str,
        actor_type: m.ActorType,
        domain: Domain,
        request: m.SearchActorsRequest | m.SearchByParentRequest | m.SearchAdvancedRequest,
    ) -> m.ActorsResponse:
        _check_field_keys(actor_type, request.field_keys)
        records = self._records(connection_id)
        ids = records.find(actor_type, domain, limit=request.limit)
        found = records.read(actor_type, ids)
        return m.ActorsResponse(actors=[_only(found[i][0], request.field_keys) for i in ids if i in found])

    def _restriction(self, actor_type: m.ActorType, restriction: m.Restriction) -> Domain:
        field = f.actor_field(actor_type, restriction.field)
        if field is None:
            raise ValidationError(f"{actor_type.value} has no field {restriction.field!r}")
        return restriction_domain(field, restriction)

    def _session(self, connection_id: str) -> Session:
        return self._sessions.get(connection_id, self.config(connection_id))

    def _records(self, connection_id: str) -> Records:
        return self._session(connection_id).records()


def _speaking(session: Session, actors: list[m.Actor]) -> Records:
    """Records that write parties in the asked language, so Tryton words its refusals in it; a project's name is a
    translated field in Tryton, which a write in another language would change in that language only, so projects
    are written in the session's own language."""
    records = session.records()
    language = session.language(asked())
    if language is not None and all(actor.actor_type != m.ActorType.PROJECT for actor in actors):
        records.context["language"] = tryton_code(language)
    return records


def _text_between(actor_type: m.ActorType, restriction: m.Restriction) -> bool:
    field = f.actor_field(actor_type, restriction.field)
    return restriction.operator == m.Operator.BETWEEN and field is not None and field.type == m.FieldType.TEXT


def _within(actor: m.Actor, restriction: m.Restriction) -> bool:
    """``between`` on text, both bounds included, ignoring case (SPEC §6.4)."""
    value = actor.fields.get(restriction.field)
    low, high = (str(bound).casefold() for bound in restriction.values)
    return isinstance(value, str) and low <= value.casefold() <= high


def _id(key: str | None) -> int | None:
    return int(key) if key is not None and key.isdigit() else None


def _only(actor: m.Actor, field_keys: list[str]) -> m.Actor:
    return actor.model_copy(update={"fields": {key: actor.fields[key] for key in field_keys if key in actor.fields}})


def _check_writable(actor: m.Actor, *, creating: bool) -> None:
    """Unknown and read-only fields are refused; a mandatory one cannot be blank (nor missing from a create)."""
    for key in actor.fields:
        field = f.actor_field(actor.actor_type, key)
        if field is None or field.access == m.Access.READ_ONLY:
            raise ValidationError(f"{actor.actor_type.value} field {key!r} does not exist or is read-only")
    mandatory = [field.key for field in f.FIELDS[actor.actor_type] if field.access == m.Access.MANDATORY]
    blank = [key for key in mandatory if (creating or key in actor.fields) and actor.fields.get(key) in (None, "")]
    if blank:
        raise ValidationError(f"{actor.actor_type.value} needs a value for {', '.join(blank)}")


def _check_field_keys(actor_type: m.ActorType, field_keys: list[str]) -> None:
    unknown = [key for key in field_keys if f.actor_field(actor_type, key) is None]
    if unknown:
        raise ValidationError(f"{actor_type.value} has no fields {unknown}")


def _actor_error(index: int, actor: m.Actor, error: ErpsyncError) -> m.ActorError:
    return m.ActorError(erp_key=actor.erp_key, index=index, error_code=error.code, message=error.user_message)


def _start(request: m.ChangesRequest) -> Position | None:
    if request.cursor:
        return Position.decode(request.cursor)
    if request.since and Position.is_position(request.since):
        return Position.decode(request.since)
    if request.since:
        try:
            since = parse_datetime(request.since)
        except ValueError as error:
            raise ValidationError(f"since {request.since!r} is not an ISO 8601 timestamp") from error
        moment = since if isinstance(since, dt.datetime) else dt.datetime.combine(since, dt.time())
        return Position.start(moment)
    return None


def _changed_later(actor: m.Actor, page: Page) -> bool:
    """Whether a later page reaches a change of ``actor`` (its address after the party): it is answered there."""
    if not page.more or page.last is None:
        return False
    return int(actor.erp_key or 0) in page.later or str(actor.last_modified) > iso(page.last.time)


def _continuation(page: Page, request: m.ChangesRequest) -> dict[str, str | None]:
    if page.more and page.last is not None:
        return {"next_cursor": page.last.encode(), "next_since": None}
    if page.last is not None:
        return {"next_cursor": None, "next_since": page.last.encode()}
    previous = Position.decode(request.cursor).encode() if request.cursor else None
    return {"next_cursor": None, "next_since": previous or request.since}
