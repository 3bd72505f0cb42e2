"""Rules on ``watch`` (docs/protocol.md, *watch*), checked only for a connector that declares ``capabilities.watch``:
an idle watch answers nothing within its wait, a save made while a watch waits ends it at once, and the hints are
the keys of the actors that changed, bounded by the limit and resumable from ``next_since``."""

from __future__ import annotations

import threading
import time

from erpsync.protocol import models as m
from erpsync.protocol.watch import WatchResponse
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import Evidence, NotApplicableError, Rule, RuleFailedError
from erpsync.testing.conformance.rules.changes import rename
from erpsync.testing.conformance.samples import create_samples, subject_type

SLACK_SECONDS = 2.0  # what a request may take beyond the wait: the network, a busy ERP
PROMPT_SECONDS = 1.0  # a change SHOULD end a watch within a second (a connector may poll its ERP that often)
MAX_ROUNDS = 10
IDLE_WAIT_SECONDS = 1.0


def _declared(ctx: Context) -> None:
    if not ctx.info().capabilities.watch:
        raise NotApplicableError("the connector does not declare capabilities.watch: watch does not apply")


def _wait(ctx: Context) -> float:
    """A wait the kit's own HTTP timeout outlasts."""
    return max(1.0, min(3.0, ctx.wire.timeout - SLACK_SECONDS - 1.0))


def watch(
    ctx: Context, actor_types: list[m.ActorType], *, since: str | None, wait: float, limit: int = 100
) -> WatchResponse:
    payload = ctx.on_connection(actor_types=actor_types, since=since, wait_seconds=wait, limit=limit)
    return ctx.request("watch", payload, WatchResponse)


def position(ctx: Context, actor_type: m.ActorType) -> str:
    """Where "now" is for the connector: the next_since of a watch that does not wait."""
    answer = watch(ctx, [actor_type], since=None, wait=0)
    if answer.next_since is None:
        raise RuleFailedError("a watch answered without next_since: there is no position to watch from")
    return answer.next_since


def check_idle(ctx: Context, evidence: Evidence) -> None:
    _declared(ctx)
    actor_type = subject_type(ctx)
    since, wait = position(ctx, actor_type), IDLE_WAIT_SECONDS
    started = time.monotonic()
    answer = watch(ctx, [actor_type], since=since, wait=wait)
    took = time.monotonic() - started
    evidence.expect(answer.changed == {}, f"with nothing changed, a watch named {answer.changed}")
    evidence.expect(took <= wait + SLACK_SECONDS, f"an idle watch of wait {wait:g} s took {took:.1f} s to answer")
    evidence.expect(answer.next_since is not None, "an idle watch answered without next_since")
    evidence.note(f"{actor_type}: an idle watch of {wait:g} s answered after {took:.1f} s")


def check_prompt(ctx: Context, evidence: Evidence) -> None:
    _declared(ctx)
    actor_type = subject_type(ctx)
    [record] = create_samples(ctx, actor_type, purpose="watched", count=1)
    key, wait = str(record.erp_key), _wait(ctx)
    since = position(ctx, actor_type)
    answers: list[WatchResponse | BaseException] = []
    waiting = threading.Thread(target=_watch_into, args=(ctx, actor_type, since, wait, answers), daemon=True)
    waiting.start()
    time.sleep(min(0.3, wait / 4))
    rename(ctx, actor_type, [key])
    saved_at = time.monotonic()  # when the save answered: the change is the connector's to see from here
    waiting.join(wait + SLACK_SECONDS + 1.0)
    took = time.monotonic() - saved_at
    if not answers:
        raise RuleFailedError(f"the watch did not answer within {wait + SLACK_SECONDS:g} s")
    answer = answers[0]
    if isinstance(answer, BaseException):
        raise RuleFailedError(f"the watch failed: {answer}")
    evidence.expect(
        key in answer.changed.get(actor_type, []),
        f"the watch waiting when {actor_type} {key} was saved answered {answer.changed}, without that key",
    )
    evidence.expect(took <= PROMPT_SECONDS, f"the watch answered {took:.1f} s after the save, not at once")
    evidence.note(f"{actor_type}: a watch answered {took:.2f} s after a save named it")


def _watch_into(
    ctx: Context, actor_type: m.ActorType, since: str, wait: float, answers: list[WatchResponse | BaseException]
) -> None:
    try:
        answers.append(watch(ctx, [actor_type], since=since, wait=wait))
    except (RuleFailedError, OSError) as error:
        answers.append(error)


def check_hints(ctx: Context, evidence: Evidence) -> None:
    """Keys of the actors changed after the position, of the asked type only, at most ``limit`` per answer; ``more``
    and ``next_since`` lead to the rest."""
    _declared(ctx)
    actor_type = subject_type(ctx)
    since = position(ctx, actor_type)
    created = {str(record.erp_key) for record in create_samples(ctx, actor_type, purpose="hinted", count=3)}
    named: list[str] = []
    for _ in range(MAX_ROUNDS):
        answer = watch(ctx, [actor_type], since=since, wait=0, limit=1)
        keys = [key for keys in answer.changed.values() for key in keys]
        evidence.expect(len(keys) <= 1, f"a watch of limit 1 named {len(keys)} keys: {answer.changed}")
        others = sorted(str(kind) for kind in answer.changed if kind != actor_type)
        evidence.expect(not others, f"a watch of {actor_type} named other types too: {others}")
        named += answer.changed.get(actor_type, [])
        if not answer.more:
            break
        if answer.next_since is None or answer.next_since == since:
            raise RuleFailedError("a watch answered more: true without a next_since that moves on")
        since = answer.next_since
    strangers = sorted(set(named) - created)
    evidence.expect(not strangers, f"the watch named keys of actors that did not change: {strangers}")
    missing = sorted(created - set(named))
    evidence.expect(not missing, f"the watch never named the actors created after its position: {missing}")
    evidence.note(f"{actor_type}: named {len(named)} keys, one per answer, following more and next_since")


RULES: tuple[Rule, ...] = (
    Rule("watch_idle", "an idle watch answers nothing within its wait, with a next_since", check_idle),
    Rule("watch_prompt", "a save made while a watch waits ends it at once, naming the saved actor", check_prompt),
    Rule("watch_hints", "watch names the changed actors' keys, bounded by limit, resumable", check_hints),
)
