"""Runs the rules against a live connector and collects one result per rule, plus what the run left behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import pydantic

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import ConformanceHooks, Context
from erpsync.testing.conformance.rule import (
    CannotCheckError,
    Evidence,
    NotApplicableError,
    Outcome,
    Rule,
    RuleFailedError,
    RuleResult,
)
from erpsync.testing.conformance.rules import RULES, RULES_BY_ID
from erpsync.testing.conformance.wire import DEFAULT_TIMEOUT_SECONDS, Wire

EXIT_CONFORMS, EXIT_FAILED, EXIT_INCOMPLETE = 0, 1, 3


@dataclass(frozen=True)
class ConformanceReport:
    url: str
    tag: str  # in the name of every record the run created
    connection_id: str  # the connection the run saved, and deleted at its end
    results: tuple[RuleResult, ...]
    notes: tuple[str, ...]  # set-up and clean-up: the connection used, the records left in the ERP

    @property
    def ok(self) -> bool:
        """No rule failed (some may not have been checked: see ``complete``)."""
        return not self.failed

    @property
    def complete(self) -> bool:
        """Every rule was checked: only then does a run without failures mean the connector conforms."""
        return not self.not_checked

    @property
    def conforms(self) -> bool:
        return self.ok and self.complete

    @property
    def not_checked(self) -> list[str]:
        return [result.rule_id for result in self.results if result.outcome == Outcome.NOT_CHECKED]

    @property
    def exit_code(self) -> int:
        """0 conforms, 1 a rule failed, 3 incomplete (2 is the command line's own usage error)."""
        if not self.ok:
            return EXIT_FAILED
        return EXIT_CONFORMS if self.complete else EXIT_INCOMPLETE

    @property
    def failed(self) -> list[str]:
        return [result.rule_id for result in self.results if result.outcome == Outcome.FAIL]

    def outcome(self, rule_id: str) -> Outcome:
        return next(result.outcome for result in self.results if result.rule_id == rule_id)


def run_conformance(
    url: str,
    *,
    secret: str,
    config: m.Config,
    hooks: ConformanceHooks | None = None,
    rule_ids: Iterable[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> ConformanceReport:
    """Check ``rule_ids`` (default: every rule) against the connector at ``url``; ``report.ok`` is False on any fail."""
    rules = RULES if rule_ids is None else tuple(RULES_BY_ID[rule_id] for rule_id in rule_ids)
    wire = Wire(url, secret, timeout=timeout)
    tag = f"cf{uuid.uuid4().hex[:8]}"
    ctx = Context(wire, config=config, hooks=hooks or ConformanceHooks(), tag=tag, connection_id=str(uuid.uuid4()))
    try:
        notes = [_set_up(ctx)]
        results = tuple(run_rule(ctx, rule) for rule in rules)
        notes += _clean_up(ctx)
    finally:
        wire.close()
    return ConformanceReport(url, tag, ctx.connection_id, results, tuple(notes))


def _set_up(ctx: Context) -> str:
    try:
        answer = ctx.wire.call("save_connection", ctx.on_connection(config=ctx.config))
    except httpx.HTTPError as error:
        return f"could not reach the connector: {error!r}"
    if not answer.ok:
        return f"save_connection of the given config failed, so most rules will fail: {answer.describe()}"
    return f"connection {ctx.connection_id} saved for this run; records it creates carry the tag {ctx.tag!r}"


def _clean_up(ctx: Context) -> list[str]:
    ctx.wire.call("delete_connection", ctx.on_connection())
    created = list(dict.fromkeys(ctx.created))
    if not created:
        return ["the run created no records"]
    if ctx.hooks.delete_actor is None:
        return [f"left {len(created)} records tagged {ctx.tag!r} in the ERP: the protocol cannot delete records"]
    failures = []
    for actor_type, erp_key in reversed(created):  # newest first: children before the parents they were made under
        try:
            ctx.hooks.delete_actor(actor_type, erp_key)
        except Exception as error:  # the hook is the caller's code; its failure must not hide the verdicts
            failures.append(f"{actor_type} {erp_key}: {error!r}")
    deleted = f"deleted {len(created) - len(failures)} of the {len(created)} records the run created (tag {ctx.tag!r})"
    return [f"{deleted} through the delete_actor hook", *(f"could not delete {failure}" for failure in failures)]


def run_rule(ctx: Context, rule: Rule) -> RuleResult:
    evidence = Evidence()
    try:
        rule.check(ctx, evidence)
    except CannotCheckError as reason:
        return RuleResult(rule.id, rule.title, Outcome.NOT_CHECKED, (str(reason), *evidence.notes))
    except NotApplicableError as reason:
        return RuleResult(rule.id, rule.title, Outcome.NOT_APPLICABLE, (str(reason),))
    except (RuleFailedError, httpx.HTTPError, pydantic.ValidationError, ValueError, KeyError, TypeError) as error:
        evidence.problems.append(_describe(error))
    outcome = Outcome.FAIL if evidence.problems else Outcome.PASS
    return RuleResult(rule.id, rule.title, outcome, tuple(evidence.problems or evidence.notes))


def _describe(error: Exception) -> str:
    if isinstance(error, RuleFailedError):
        return str(error)
    if isinstance(error, httpx.TimeoutException):
        return f"no answer in time: {error!r}"
    if isinstance(error, httpx.HTTPError):
        return f"HTTP transport failed: {error!r}"
    if isinstance(error, pydantic.ValidationError):
        return f"an answer does not fit protocol v1: {m.describe_invalid(error)}"
    return f"an answer the kit could not make sense of: {type(error).__name__}: {error}"
