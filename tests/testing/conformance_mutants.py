"""One-defect copies of the reference connector for the defects a connector author really makes, each with the rule
of the kit that must fail it. ``test_conformance_kit`` runs the whole kit against every one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from conformance_faults import (
    Asgi,
    authenticate_first,
    lenient_below_top,
    rewrite_status,
)
from conformance_reference import CUSTOMER_FIELDS, FIELDS, TEXTS, ReferenceConnector

from erpsync.errors import ConflictError, ValidationError
from erpsync.protocol import documents as d
from erpsync.protocol import models as m
from erpsync.protocol.language import speaking
from erpsync.protocol.watch import WatchRequest, WatchResponse, capped_wait
from erpsync.sdk.language import asked

SECRET = "conformance-kit-test-secret-0123456789"
Wrap = Callable[[Asgi], Asgi] | None


# --- search --------------------------------------------------------------------------------------------------------


class BeginsAsContains(ReferenceConnector):
    def satisfies(self, value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
        if restriction.operator == m.Operator.BEGINS:
            restriction = restriction.model_copy(update={"operator": m.Operator.CONTAINS})
        return super().satisfies(value, kind, restriction)


class EndsAsContains(ReferenceConnector):
    def satisfies(self, value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
        if restriction.operator == m.Operator.ENDS:
            restriction = restriction.model_copy(update={"operator": m.Operator.CONTAINS})
        return super().satisfies(value, kind, restriction)


class NegatedSkipsBlanks(ReferenceConnector):
    """SQL's NULL logic: ``email NOT LIKE '%x%'`` leaves out the records without an email."""

    def satisfies(self, value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
        return value not in (None, "") and super().satisfies(value, kind, restriction)


class IgnoresLimit(ReferenceConnector):
    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return super().search_actors(request.model_copy(update={"limit": m.MAX_LIMIT}))

    def search_advanced(self, request: m.SearchAdvancedRequest) -> m.ActorsResponse:
        return super().search_advanced(request.model_copy(update={"limit": m.MAX_LIMIT}))


class FindsNothing(ReferenceConnector):
    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return m.ActorsResponse(actors=[])


class CaseSensitiveSearchActors(ReferenceConnector):
    def search_actors(self, request: m.SearchActorsRequest) -> m.ActorsResponse:
        return self.search_where(request, lambda record: request.text in str(record.fields.get("name", "")))


class IgnoresParentInSearch(ReferenceConnector):
    def search_by_parent(self, request: m.SearchByParentRequest) -> m.ActorsResponse:
        return self.search_where(request, lambda record: record.parent_key is not None)


# --- fields --------------------------------------------------------------------------------------------------------


class ChangesIgnoresFieldKeys(ReferenceConnector):
    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        every = [meta.key for meta in FIELDS[request.actor_type]] if request.actor_type in FIELDS else []
        return super().changes(request.model_copy(update={"field_keys": every}))


class AnswersUnknownFieldKeys(ReferenceConnector):
    def check_field_keys(self, actor_type: m.ActorType, field_keys: list[str]) -> None:
        return None


class AcceptsUnknownFields(ReferenceConnector):
    def check_known(self, actor_type: m.ActorType, values: dict[str, m.Value]) -> None:
        return None


class WritesReadOnlyFields(ReferenceConnector):
    def check_writable(self, actor_type: m.ActorType, values: dict[str, m.Value]) -> None:
        return None


class NoMandatoryFields(ReferenceConnector):
    def check_mandatory(self, actor_type: m.ActorType, values: dict[str, m.Value], *, creating: bool) -> None:
        return None


class ServesUnsupportedTypes(ReferenceConnector):
    def _fields(self, request: m.ActorTypeRequest) -> list[m.FieldMeta]:
        self.config(request.connection_id)
        return FIELDS.get(request.actor_type, CUSTOMER_FIELDS)


# --- saving --------------------------------------------------------------------------------------------------------


class DropsParentOnSave(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        saved = super().save_one(actor)
        record = self.store.records[str(saved.erp_key)]
        record.parent_key = None
        return self.to_actor(record, list(record.fields))


class NeverMovesParent(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        kept = m.Actor(
            actor_type=actor.actor_type, erp_key=actor.erp_key, last_modified=actor.last_modified, fields=actor.fields
        )
        return super().save_one(kept)


class DropsEmailOnSave(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        fields = {key: value for key, value in actor.fields.items() if key != "email"}
        return super().save_one(actor.model_copy(update={"fields": fields}))


class CreateAnswersGivenFieldsOnly(ReferenceConnector):
    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        created = super().create_actor(request).actor
        assert created is not None
        fields = {key: value for key, value in created.fields.items() if key in request.actor.fields}
        return m.ActorResponse(actor=created.model_copy(update={"fields": fields}))


class FrozenLastModified(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        record = self._live(actor.actor_type, actor.erp_key or "")
        before = record.last_modified if record else None
        saved = super().save_one(actor)
        if record and before:
            record.last_modified = before
        return saved.model_copy(update={"last_modified": before})


class AnswersStaleStampOnSave(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        return super().save_one(actor).model_copy(update={"last_modified": actor.last_modified})


class NoOptimisticLocking(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        return super().save_one(actor.model_copy(update={"last_modified": None}))


class ConflictAsValidation(ReferenceConnector):
    def save_one(self, actor: m.Actor) -> m.Actor:
        try:
            return super().save_one(actor)
        except ConflictError as error:
            raise ValidationError(str(error)) from None


# --- changes and lists ---------------------------------------------------------------------------------------------


class FutureNextSince(ReferenceConnector):
    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        answer = super().changes(request)
        return answer.model_copy(update={"next_since": "9999-12-31T23:59:59+00:00"}) if answer.next_since else answer


class NoNextSince(ReferenceConnector):
    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        return super().changes(request).model_copy(update={"next_since": None})


class GarbageCursorRestarts(ReferenceConnector):
    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        if request.cursor is not None and "|" not in request.cursor:
            request = request.model_copy(update={"cursor": None})
        return super().changes(request)


class ConfigListNeedsConnection(ReferenceConnector):
    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        self.config(request.connection_id)
        return super().list_items(request)


# --- documents -----------------------------------------------------------------------------------------------------


class EmptyForUnknownActor(ReferenceConnector):
    """Answers no documents for an actor that does not exist, instead of not_found."""

    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        if self._live(request.actor_type, request.erp_key) is None:
            return d.DocumentsResponse(documents=[])
        return super().documents(request)


class GrossWithoutTax(ReferenceConnector):
    def documents_of(self, request: d.ActorDocumentsRequest) -> dict[str, d.Document]:
        documents = super().documents_of(request)
        return {key: doc.model_copy(update={"gross": doc.net}) for key, doc in documents.items()}


class OldestFirstWithinPage(ReferenceConnector):
    def documents_page(
        self, documents: list[d.Document], request: d.DocumentsRequest, capability: d.DocumentsCapability
    ) -> d.DocumentsResponse:
        page = super().documents_page(documents, request, capability)
        return page.model_copy(update={"documents": page.documents[::-1]})


class RestartsOnBadCursor(ReferenceConnector):
    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        try:
            return super().documents(request)
        except ValidationError:
            return super().documents(request.model_copy(update={"cursor": None}))


class DateToExclusive(ReferenceConnector):
    def documents_page(
        self, documents: list[d.Document], request: d.DocumentsRequest, capability: d.DocumentsCapability
    ) -> d.DocumentsResponse:
        kept = [doc for doc in documents if request.date_to is None or doc.date < request.date_to]
        return super().documents_page(kept, request, capability)


class IgnoresStates(ReferenceConnector):
    def documents(self, request: d.DocumentsRequest) -> d.DocumentsResponse:
        return super().documents(request.model_copy(update={"states": None}))


class DropsTheLastLine(ReferenceConnector):
    def document_lines(self, request: d.DocumentLinesRequest) -> d.DocumentLinesResponse:
        answer = super().document_lines(request)
        return answer.model_copy(update={"lines": answer.lines[:-1]})


class NeverOverdue(ReferenceConnector):
    def balance(self, request: d.ActorDocumentsRequest) -> d.BalanceResponse:
        answer = super().balance(request)
        assert answer.balance is not None
        return d.BalanceResponse(balance=answer.balance.model_copy(update={"overdue": "0"}))


# --- language ------------------------------------------------------------------------------------------------------


class IgnoresLanguage(ReferenceConnector):
    """Declares Danish but answers every label in English."""

    def config_fields(self) -> m.FieldsResponse:
        with speaking(None):
            return super().config_fields()

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        with speaking(None):
            return super().actor_fields(request)

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        with speaking(None):
            return super().list_items(request)


class RefusesUnspokenLanguage(ReferenceConnector):
    """An error instead of its default language for a language it does not speak."""

    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        if asked() not in (None, *TEXTS.languages):
            raise ValidationError(f"this connector does not speak {asked()!r}")
        return super().actor_fields(request)


class TranslatesListKeys(ReferenceConnector):
    """Translates the list items' keys with their labels: a value saved in one language is unknown in the other."""

    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        answer = super().list_items(request)
        if TEXTS.language() == TEXTS.default:
            return answer
        return m.ListItemsResponse(items=[item.model_copy(update={"key": item.label}) for item in answer.items])


# --- watch ----------------------------------------------------------------------------------------------------------


class WatchesAtOrAfterPosition(ReferenceConnector):
    """``>=`` where ``>`` belongs: the record at the position (the last change) is named on every watch."""

    def changed_since(self, stamp: str, since: str) -> bool:
        return stamp >= since


class WatchLooksOnlyAtTheEnds(ReferenceConnector):
    """Looks at the start and when the wait is over, never in between: a change waits out the whole wait."""

    def watch(self, request: WatchRequest) -> WatchResponse:
        since = request.since or self.store.latest()
        found = self.changed_after(since, request)
        if found is None:
            time.sleep(capped_wait(request))
            found = self.changed_after(since, request)
        return found or WatchResponse(next_since=since)


class WatchIgnoresLimit(ReferenceConnector):
    def changed_after(self, since: str, request: WatchRequest) -> WatchResponse | None:
        return super().changed_after(since, request.model_copy(update={"limit": m.MAX_KEYS}))


MUTANTS: dict[str, tuple[type[ReferenceConnector], Wrap]] = {
    "language/ignores-language": (IgnoresLanguage, None),
    "language/refuses-unspoken": (RefusesUnspokenLanguage, None),
    "language/translates-list-keys": (TranslatesListKeys, None),
    "search_operators/begins-as-contains": (BeginsAsContains, None),
    "search_operators/ends-as-contains": (EndsAsContains, None),
    "search_blank/negated-skips-blanks": (NegatedSkipsBlanks, None),
    "search_limit/ignores-limit": (IgnoresLimit, None),
    "search_actors/finds-nothing": (FindsNothing, None),
    "search_actors/case-sensitive": (CaseSensitiveSearchActors, None),
    "search_by_parent/ignores-parent": (IgnoresParentInSearch, None),
    "field_keys/changes-ignores-field-keys": (ChangesIgnoresFieldKeys, None),
    "field_keys/answers-unknown-field-keys": (AnswersUnknownFieldKeys, None),
    "unknown_fields/accepts-unknown-fields": (AcceptsUnknownFields, None),
    "read_only_fields/writes-read-only": (WritesReadOnlyFields, None),
    "mandatory_fields/not-enforced": (NoMandatoryFields, None),
    "unsupported_actor_type/serves-any-type": (ServesUnsupportedTypes, None),
    "parents/drops-parent-on-save": (DropsParentOnSave, None),
    "parents/never-moves-parent": (NeverMovesParent, None),
    "save_read_back/drops-email": (DropsEmailOnSave, None),
    "save_read_back/create-answers-given-fields": (CreateAnswersGivenFieldsOnly, None),
    "last_modified_advances/frozen": (FrozenLastModified, None),
    "last_modified_advances/answers-stale-stamp": (AnswersStaleStampOnSave, None),
    "optimistic_locking/none": (NoOptimisticLocking, None),
    "optimistic_locking/conflict-as-validation": (ConflictAsValidation, None),
    "second_cycle/future-next-since": (FutureNextSince, None),
    "second_cycle/no-next-since": (NoNextSince, None),
    "changes_bad_cursor/restarts": (GarbageCursorRestarts, None),
    "list_items_new/needs-connection": (ConfigListNeedsConnection, None),
    "documents_shape/empty-for-unknown-actor": (EmptyForUnknownActor, None),
    "documents_amounts/gross-without-tax": (GrossWithoutTax, None),
    "documents_paging/oldest-first-within-page": (OldestFirstWithinPage, None),
    "documents_paging/restarts-on-bad-cursor": (RestartsOnBadCursor, None),
    "documents_filters/date-to-exclusive": (DateToExclusive, None),
    "documents_filters/ignores-states": (IgnoresStates, None),
    "document_lines/drops-the-last-line": (DropsTheLastLine, None),
    "documents_balance/never-overdue": (NeverOverdue, None),
    "watch_idle/at-or-after-position": (WatchesAtOrAfterPosition, None),
    "watch_prompt/looks-only-at-the-ends": (WatchLooksOnlyAtTheEnds, None),
    "watch_hints/ignores-limit": (WatchIgnoresLimit, None),
    "signatures/bad-signature-as-200": (ReferenceConnector, lambda app: rewrite_status(app, {401: 200})),
    "bad_input/malformed-as-200": (ReferenceConnector, lambda app: rewrite_status(app, {400: 200, 422: 200})),
    "bad_input/wrong-method-as-404": (ReferenceConnector, lambda app: rewrite_status(app, {405: 404})),
    "bad_input/oversized-as-400": (ReferenceConnector, lambda app: rewrite_status(app, {413: 400})),
    "bad_input/authenticates-first": (ReferenceConnector, authenticate_first),
    "unknown_members/lenient-below-top": (ReferenceConnector, lambda app: lenient_below_top(app, secret=SECRET)),
}
"""Case ``rule/defect`` -> the broken connector and the HTTP wrapper, if any."""
