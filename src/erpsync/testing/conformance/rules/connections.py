"""Rules on config and connections: ``test_config`` judges values, connections live and die as told."""

from __future__ import annotations

import uuid

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context, valid_field_metas
from erpsync.testing.conformance.rule import Evidence, Rule
from erpsync.testing.conformance.wire import Answer

_BLANK_AS_TEXT = (m.FieldType.TEXT, m.FieldType.PASSWORD, m.FieldType.LIST)


def check_test_config(ctx: Context, evidence: Evidence) -> None:
    answer = ctx.wire.call("test_config", {"config": ctx.config})
    evidence.expect(answer.ok, f"the given config is refused: {answer.describe()}")
    for label, config in bad_configs(ctx):
        expect_clean_failure(evidence, ctx.wire.call("test_config", {"config": config}), doing=label)
        evidence.note(f"refused {label}")


def bad_configs(ctx: Context) -> list[tuple[str, m.Config]]:
    """Each password replaced by a wrong one, and each mandatory field blanked, one at a time."""
    metas = valid_field_metas(ctx.document("config_fields", {}).get("fields"))
    wrong = [
        (f"a wrong {meta.key}", {**ctx.config, meta.key: f"wrong-{ctx.tag}"})
        for meta in metas
        if meta.type == m.FieldType.PASSWORD
    ]
    blank = [
        (f"a blank {meta.key}", {**ctx.config, meta.key: "" if meta.type in _BLANK_AS_TEXT else None})
        for meta in metas
        if meta.access == m.Access.MANDATORY
    ]
    return wrong + blank


def expect_clean_failure(evidence: Evidence, answer: Answer, *, doing: str) -> None:
    """ok:false with a typed error_code and a message for the user."""
    typed = answer.error_code in {str(code) for code in ErrorCode}
    document = answer.document or {}
    clean = answer.status < 500 and document.get("ok") is False and typed and bool(document.get("user_message"))
    evidence.expect(
        clean, f"{doing}: expected ok:false, a typed error_code and a user_message; got {answer.describe()}"
    )


def check_connection_lifecycle(ctx: Context, evidence: Evidence) -> None:
    connection_id = str(uuid.uuid4())
    on_it = {"connection_id": connection_id}
    for operation, payload in (
        ("save_connection", {**on_it, "config": ctx.config}),
        ("test_connection", on_it),
        ("actor_types", on_it),
        ("delete_connection", on_it),
    ):
        answer = ctx.wire.call(operation, payload)
        evidence.expect(answer.ok, f"{operation} on a new connection: {answer.describe()}")
    for operation in ("test_connection", "actor_types"):
        expect_unknown(evidence, ctx.wire.call(operation, on_it), doing=f"{operation} after delete_connection")
    never_saved = {"connection_id": str(uuid.uuid4())}
    expect_unknown(evidence, ctx.wire.call("test_connection", never_saved), doing="test_connection on an unknown id")
    _check_refused_save(ctx, evidence)


def _check_refused_save(ctx: Context, evidence: Evidence) -> None:
    """A save whose config fails its test is refused and leaves no connection behind."""
    bad = bad_configs(ctx)
    if not bad:
        evidence.note("no password or mandatory config field, so no refused save to try")
        return
    label, config = bad[0]
    on_it = {"connection_id": str(uuid.uuid4())}
    answer = ctx.wire.call("save_connection", {**on_it, "config": config})
    expect_clean_failure(evidence, answer, doing=f"save_connection with {label}")
    expect_unknown(evidence, ctx.wire.call("test_connection", on_it), doing="test_connection after a refused save")


def expect_unknown(evidence: Evidence, answer: Answer, *, doing: str) -> None:
    code = ErrorCode.UNKNOWN_CONNECTION
    evidence.expect(
        answer.error_code == code and not answer.ok, f"{doing}: expected error_code {code!s}; got {answer.describe()}"
    )


RULES = (
    Rule("test_config", "test_config passes the given config and fails cleanly on bad values", check_test_config),
    Rule(
        "connections",
        "save/test/delete_connection work; an unknown connection id answers unknown_connection",
        check_connection_lifecycle,
    ),
)
