"""The kit passes a correct connector and names the rule each deliberately broken connector breaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conformance_faults import (
    Asgi,
    accept_any_signature,
    compare_half_signature,
    fail_on_bad_json,
    fall_back_to_v1,
    forget_nonces,
    ignore_path,
    rewrite_answers,
)
from conformance_mutants import MUTANTS
from conformance_reference import CONFIG, Record, ReferenceConnector
from rich.console import Console

from erpsync.errors import NotFoundError
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.testing.conformance import (
    RULES,
    ConformanceHooks,
    ConformanceReport,
    Outcome,
    as_text,
    render,
    run_conformance,
)
from erpsync.testing.server import serve_in_thread

SECRET = "conformance-kit-test-secret-0123456789"


def check(
    connector: ReferenceConnector, *, wrap: Callable[[Asgi], Asgi] | None = None, hooks: bool = True
) -> ConformanceReport:
    app: Any = create_app(connector, secret=SECRET)
    with serve_in_thread(wrap(app) if wrap else app) as url:
        given = ConformanceHooks(delete_actor=connector.delete) if hooks else None
        # The kit's default timeout: a busy machine once took over 5 s to answer a search.
        return run_conformance(url, secret=SECRET, config=CONFIG, hooks=given)


def test_a_correct_connector_passes_every_rule() -> None:
    report = check(ReferenceConnector())
    assert report.ok, as_text(report)
    assert {result.rule_id: result.outcome for result in report.results} == {rule.id: Outcome.PASS for rule in RULES}


def test_without_a_delete_hook_deletions_are_not_checked_rather_than_passed() -> None:
    report = check(ReferenceConnector(), hooks=False)
    assert report.outcome("changes_deleted") == Outcome.NOT_CHECKED
    assert report.ok, as_text(report)
    assert any("left" in note and "records tagged" in note for note in report.notes)


def test_the_kit_cleans_up_through_the_hook() -> None:
    connector = ReferenceConnector()
    report = check(connector)
    tagged = [record for record in connector.store.records.values() if report.tag in str(record.fields.get("name"))]
    assert tagged
    assert all(record.deleted for record in tagged)
    assert connector.connections.get(report.connection_id) is None


def test_the_report_renders_every_rule_with_its_verdict() -> None:
    report = check(ReferenceConnector(), hooks=False)
    console = Console(record=True, width=200, color_system=None)
    render(report, console)
    text = console.export_text()
    assert all(rule.id in text for rule in RULES)
    assert "NOT CHECKED" in text
    assert "INCOMPLETE" in text
    assert "conforms" not in text
    assert report.ok
    assert not report.complete
    assert report.exit_code == 3


class WithoutDocuments(ReferenceConnector):
    capabilities = ReferenceConnector.capabilities.model_copy(update={"documents": None})


def test_a_connector_without_documents_passes_their_rules_as_not_applicable() -> None:
    report = check(WithoutDocuments())
    documents_rules = [rule.id for rule in RULES if rule.id.startswith("document")]
    assert len(documents_rules) == 6
    assert all(report.outcome(rule_id) == Outcome.PASS for rule_id in documents_rules)
    evidence = [result.evidence for result in report.results if result.rule_id in documents_rules]
    assert all("not applicable" in " ".join(lines) for lines in evidence)
    assert report.conforms, as_text(report)


# --- one broken connector per rule -------------------------------------------------------------------------------


class ConfigListWithoutName(ReferenceConnector):
    def config_fields(self) -> m.FieldsResponse:
        answer = super().config_fields()
        answer.fields.append(m.FieldMeta(key="region", label="Region", type=m.FieldType.LIST))
        return answer


class DuplicateFieldKey(ReferenceConnector):
    def actor_fields(self, request: m.ActorTypeRequest) -> m.FieldsResponse:
        answer = super().actor_fields(request)
        return m.FieldsResponse(fields=[*answer.fields, answer.fields[1]])


class AcceptsBlankDatabase(ReferenceConnector):
    def test_config(self, request: m.TestConfigRequest) -> m.Envelope:
        return super().test_config(
            m.TestConfigRequest(config={**request.config, "database": request.config.get("database") or "erp"})
        )


class ForgetsNothing(ReferenceConnector):
    def delete_connection(self, request: m.ConnectionRequest) -> m.Envelope:
        return m.Envelope()


class ReturnsEveryField(ReferenceConnector):
    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        all_fields = [meta.key for meta in self._fields(request)]
        return super().get_actors(request.model_copy(update={"field_keys": all_fields}))


class HidesMissingKeys(ReferenceConnector):
    def get_actors(self, request: m.GetActorsRequest) -> m.GetActorsResponse:
        return super().get_actors(request).model_copy(update={"not_found": []})


class CaseSensitiveSearch(ReferenceConnector):
    def satisfies(self, value: m.Value, kind: m.FieldType, restriction: m.Restriction) -> bool:
        if kind == m.FieldType.TEXT and restriction.operator == m.Operator.BEGINS:
            return str(value).startswith(str(restriction.values[0]))
        return super().satisfies(value, kind, restriction)


class NewestFirstPages(ReferenceConnector):
    def changes_page(
        self, page: list[Record], request: m.ChangesRequest, *, next_cursor: str | None
    ) -> m.ChangesResponse:
        return super().changes_page(page[::-1], request, next_cursor=next_cursor)


class StrictlyAfterSince(ReferenceConnector):
    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        answer = super().changes(request)
        return answer.model_copy(update={"actors": [a for a in answer.actors if a.last_modified != request.since]})


class ResumesAtTheLastStamp(ReferenceConnector):
    """Answers the last record's stamp as next_since: every quiet cycle reads that record again."""

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        answer = super().changes(request)
        if answer.next_cursor is not None or not answer.actors:
            return answer
        return answer.model_copy(update={"next_since": answer.actors[-1].last_modified})


class OffsetCursor(ReferenceConnector):
    """Pages by position: a record modified between pages shifts the rest, and one is skipped."""

    def changes(self, request: m.ChangesRequest) -> m.ChangesResponse:
        offset = int(request.cursor or 0)
        everything = super().changes(request.model_copy(update={"cursor": None, "limit": m.MAX_LIMIT}))
        page = everything.actors[offset : offset + request.limit]
        more = offset + request.limit < len(everything.actors)
        cursor = str(offset + request.limit) if more else None
        deleted = everything.deleted if offset == 0 else []
        next_since = None if more else everything.next_since
        return m.ChangesResponse(actors=page, deleted=deleted, next_cursor=cursor, next_since=next_since)


class ForgetsDeletions(ReferenceConnector):
    def changes_page(
        self, page: list[Record], request: m.ChangesRequest, *, next_cursor: str | None
    ) -> m.ChangesResponse:
        return super().changes_page(page, request, next_cursor=next_cursor).model_copy(update={"deleted": []})


class CreatesTwice(ReferenceConnector):
    def create_actor(self, request: m.CreateActorRequest) -> m.ActorResponse:
        return super().create_actor(
            request.model_copy(update={"idempotency_key": f"{request.idempotency_key}-{len(self.store.records)}"})
        )


class AllOrNothingSave(ReferenceConnector):
    def save_actors(self, request: m.SaveActorsRequest) -> m.SaveActorsResponse:
        if any(self._live(actor.actor_type, actor.erp_key or "") is None for actor in request.actors):
            raise NotFoundError("an actor of the batch does not exist")
        return super().save_actors(request)


class IgnoresKeysFilter(ReferenceConnector):
    def list_items(self, request: m.ListItemsRequest) -> m.ListItemsResponse:
        return super().list_items(request.model_copy(update={"keys": None}))


def _drop_tech_message(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "tech_message"}


def _invent_dragons(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "actor_types": [*answer["actor_types"], "dragon"]} if answer["ok"] else answer


BROKEN: dict[str, tuple[type[ReferenceConnector], Callable[[Asgi], Asgi] | None]] = {
    "envelope": (
        ReferenceConnector,
        lambda app: rewrite_answers(app, operation="actor_types", edit=_drop_tech_message),
    ),
    "info": (
        ReferenceConnector,
        lambda app: rewrite_answers(app, operation="info", edit=lambda a: {**a, "protocol_version": "2"}),
    ),
    "config_fields": (ConfigListWithoutName, None),
    "actor_types": (
        ReferenceConnector,
        lambda app: rewrite_answers(app, operation="actor_types", edit=_invent_dragons),
    ),
    "actor_fields": (DuplicateFieldKey, None),
    "test_config": (AcceptsBlankDatabase, None),
    "connections": (ForgetsNothing, None),
    "get_actors": (ReturnsEveryField, None),
    "get_actors/not_found": (HidesMissingKeys, None),
    "search_operators": (CaseSensitiveSearch, None),
    "changes_order": (NewestFirstPages, None),
    "changes_since_inclusive": (StrictlyAfterSince, None),
    "changes_paging": (OffsetCursor, None),
    "changes_deleted": (ForgetsDeletions, None),
    "changes_resume": (ResumesAtTheLastStamp, None),
    "create_idempotent": (CreatesTwice, None),
    "save_actors_errors": (AllOrNothingSave, None),
    "list_items": (IgnoresKeysFilter, None),
    "signatures": (ReferenceConnector, lambda app: accept_any_signature(app, secret=SECRET)),
    "bad_input": (ReferenceConnector, fail_on_bad_json),
    "signing_replay": (ReferenceConnector, lambda app: forget_nonces(app, secret=SECRET)),
    "signing_binding": (ReferenceConnector, lambda app: ignore_path(app, secret=SECRET, operations=list(m.OPERATIONS))),
    "signing_exact": (ReferenceConnector, lambda app: compare_half_signature(app, secret=SECRET)),
    "signing_nonce": (ReferenceConnector, lambda app: fall_back_to_v1(app, secret=SECRET)),
}


SIGNING_V2 = {"signing_replay", "signing_binding", "signing_exact", "signing_nonce"}
ALSO_BROKEN = {
    "get_actors": {"field_keys"},  # every field, whatever was asked
    # skipping the record at `since` is a gap in paging, and in the next cycle
    "changes_since_inclusive": {"changes_paging", "second_cycle"},
    # an offset is no cursor: a garbage one is read as a number
    "changes_paging": {"changes_bad_cursor"},
    # accepts anything at all: also the unsigned malformed request that must be 401 before 400
    "signatures": {*SIGNING_V2, "bad_input"},
    "signatures/bad-signature-as-200": {*SIGNING_V2, "bad_input"},  # every 401 becomes a 200
    "search_actors/finds-nothing": {"search_limit"},  # no answer is fewer than the limit
    # the stamp never moves: a stale save looks current, and the next cycle does not see the save
    # and resuming after the last stamp read misses a save that kept the stamp, and so does a watch
    "last_modified_advances/frozen": {"optimistic_locking", "second_cycle", "changes_resume", "watch_prompt"},
    # no position, or one in the future: there is nothing to resume from, or it is past the next change
    "second_cycle/no-next-since": {"changes_resume"},
    "second_cycle/future-next-since": {"changes_resume"},
    "bad_input/malformed-as-200": {"unknown_members"},  # 422 becomes 200 for nested unknown members too
    # the record at the position is named again: also an actor that did not change after it
    "watch_idle/at-or-after-position": {"watch_hints"},
}


CASES = {**BROKEN, **MUTANTS}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_connector_fails_the_rule_it_breaks(case: str) -> None:
    connector_type, wrap = CASES[case]
    report = check(connector_type(), wrap=wrap)
    rule_id = case.split("/")[0]
    assert set(report.failed) == {rule_id, *ALSO_BROKEN.get(case, ())}, as_text(report)


def test_every_rule_has_a_broken_connector() -> None:
    assert {case.split("/")[0] for case in CASES} == {rule.id for rule in RULES}
    assert len(CASES) >= 40


def test_a_connector_that_declares_only_v1_has_the_signing_rules_not_checked() -> None:
    def v1_only(app: Asgi) -> Asgi:
        def declare_v1(answer: dict[str, Any]) -> dict[str, Any]:
            if not answer["ok"]:
                return answer
            return {**answer, "capabilities": {**answer["capabilities"], "signing": ["1"]}}

        declared_v1 = rewrite_answers(app, operation="info", edit=declare_v1)
        return fall_back_to_v1(declared_v1, secret=SECRET)

    report = check(ReferenceConnector(), wrap=v1_only)
    signing_rules = {"signing_replay", "signing_binding", "signing_exact", "signing_nonce"}
    assert {rule_id: report.outcome(rule_id) for rule_id in signing_rules} == dict.fromkeys(
        signing_rules, Outcome.NOT_CHECKED
    )
    assert report.ok, as_text(report)


def test_a_connector_that_does_not_declare_watch_conforms_with_the_watch_rules_not_applicable() -> None:
    def without_watch(app: Asgi) -> Asgi:
        def declare_no_watch(answer: dict[str, Any]) -> dict[str, Any]:
            if not answer["ok"]:
                return answer
            return {**answer, "capabilities": {**answer["capabilities"], "watch": False}}

        return rewrite_answers(app, operation="info", edit=declare_no_watch)

    report = check(ReferenceConnector(), wrap=without_watch)
    watch_rules = {"watch_idle", "watch_prompt", "watch_hints"}
    assert {rule_id: report.outcome(rule_id) for rule_id in watch_rules} == dict.fromkeys(
        watch_rules, Outcome.NOT_APPLICABLE
    )
    assert report.conforms, as_text(report)
    assert report.exit_code == 0
    assert "3 not applicable" in as_text(report)
