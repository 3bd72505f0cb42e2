"""Rules on ``changes``: ordered, at or after ``since``, no gaps or duplicates across pages, deletions reported,
resuming after the last record read."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.testing.conformance.context import Context
from erpsync.testing.conformance.rule import CannotCheckError, Evidence, Rule, RuleFailedError
from erpsync.testing.conformance.samples import create_samples, name_field, subject_type, tagged_name

MAX_PAGES = 200
PAGE_SIZE = 2

BetweenPages = Callable[[list[m.Actor]], None]


@dataclass
class Traversal:
    """Everything one walk through the pages of ``changes`` returned, in order."""

    actors: list[m.Actor] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    next_since: str | None = None  # of the last page

    def erp_keys(self) -> list[str]:
        return [str(actor.erp_key) for actor in self.actors]


def traverse(
    ctx: Context, actor_type: m.ActorType, *, since: str | None, between_pages: BetweenPages | None = None
) -> Traversal:
    traversal, cursor = Traversal(), None
    for _ in range(MAX_PAGES):
        payload = ctx.on_connection(actor_type=actor_type, since=since, field_keys=[], cursor=cursor, limit=PAGE_SIZE)
        page = ctx.request("changes", payload, m.ChangesResponse)
        traversal.actors += page.actors
        traversal.deleted += page.deleted
        if len(page.actors) > PAGE_SIZE:
            raise RuleFailedError(f"a page of limit {PAGE_SIZE} held {len(page.actors)} actors")
        cursor = page.next_cursor
        if cursor is None:
            traversal.next_since = page.next_since
            return traversal
        if between_pages is not None:
            between_pages(page.actors)
    raise RuleFailedError(f"changes did not end within {MAX_PAGES} pages of {PAGE_SIZE}")


def _samples_since(ctx: Context, *, purpose: str, count: int) -> tuple[m.ActorType, list[m.Actor], str]:
    """Fresh records and the earliest ``last_modified`` among them."""
    actor_type = subject_type(ctx)
    records = create_samples(ctx, actor_type, purpose=purpose, count=count)
    stamps = [record.last_modified for record in records]
    if None in stamps:
        raise RuleFailedError(f"create_actor answered actors without last_modified: {[r.erp_key for r in records]}")
    return actor_type, records, min(str(stamp) for stamp in stamps)


def check_order(ctx: Context, evidence: Evidence) -> None:
    actor_type, _, since = _samples_since(ctx, purpose="order", count=3)
    traversal = traverse(ctx, actor_type, since=since)
    stamps = [str(actor.last_modified) for actor in traversal.actors]
    disorder = [(a, b) for a, b in itertools.pairwise(stamps) if b < a]
    evidence.expect(not disorder, f"last_modified goes back: {disorder[:3]} in {stamps}")
    early = [stamp for stamp in stamps if stamp < since]
    evidence.expect(not early, f"since={since!r} answered records modified before it: {early[:3]}")
    evidence.note(f"{len(stamps)} changes since {since!r} in pages of {PAGE_SIZE}")


def check_since_inclusive(ctx: Context, evidence: Evidence) -> None:
    actor_type, records, since = _samples_since(ctx, purpose="since", count=1)
    found = str(records[0].erp_key) in traverse(ctx, actor_type, since=since).erp_keys()
    evidence.expect(found, f"{records[0].erp_key} with last_modified {since!r} is missing from changes since {since!r}")


def check_paging(ctx: Context, evidence: Evidence) -> None:
    actor_type, records, since = _samples_since(ctx, purpose="paging", count=5)
    keys = [str(record.erp_key) for record in records]
    touched: set[str] = set()
    seen: set[str] = set()

    def modify_between_pages(page: list[m.Actor]) -> None:
        seen.update(str(actor.erp_key) for actor in page)
        if touched:
            return
        ahead = [key for key in keys if key not in seen]
        behind = [key for key in keys if key in seen]
        touched.update(ahead[-1:] + behind[:1])
        rename(ctx, actor_type, sorted(touched))

    traversal = traverse(ctx, actor_type, since=since, between_pages=modify_between_pages)
    counts = Counter(key for key in traversal.erp_keys() if key in keys)
    skipped = [key for key in keys if counts[key] == 0]
    evidence.expect(not skipped, f"records skipped while paging: {skipped} (modified between pages: {sorted(touched)})")
    twice = [key for key, count in counts.items() if count > 1 and key not in touched]
    evidence.expect(not twice, f"unmodified records returned more than once: {twice}")
    evidence.note(f"{len(keys)} records in pages of {PAGE_SIZE}; modified between pages: {sorted(touched)}")


def rename(ctx: Context, actor_type: m.ActorType, keys: list[str]) -> None:
    tag_field = name_field(ctx, actor_type)
    actors = [
        {"actor_type": actor_type, "erp_key": key, "fields": {tag_field: tagged_name(ctx, purpose="moved", index=i)}}
        for i, key in enumerate(keys)
    ]
    saved = ctx.request("save_actors", ctx.on_connection(actors=actors), m.SaveActorsResponse)
    if saved.errors:
        raise RuleFailedError(f"save_actors refused a rename between pages: {saved.errors}")


def check_deleted(ctx: Context, evidence: Evidence) -> None:
    if ctx.hooks.delete_actor is None:
        raise CannotCheckError("deleting a record needs ConformanceHooks.delete_actor, which the caller did not give")
    actor_type, records, since = _samples_since(ctx, purpose="deleted", count=1)
    key = str(records[0].erp_key)
    ctx.hooks.delete_actor(actor_type, key)
    ctx.created.remove((actor_type, key))
    traversal = traverse(ctx, actor_type, since=since)
    evidence.expect(
        key in traversal.deleted,
        f"{key} deleted in the ERP; changes since {since!r} reported deleted={traversal.deleted}",
    )


def check_second_cycle(ctx: Context, evidence: Evidence) -> None:
    """As the hub does: a cycle to the end, then one from its next_since sees what was saved and created since."""
    actor_type, records, since = _samples_since(ctx, purpose="cycle", count=2)
    first = traverse(ctx, actor_type, since=since)
    keys = [str(record.erp_key) for record in records]
    unseen = [key for key in keys if key not in first.erp_keys()]
    evidence.expect(not unseen, f"the first cycle since {since!r} missed the records just created: {unseen}")
    if first.next_since is None:
        raise RuleFailedError(f"the last page of changes since {since!r} carries no next_since")
    rename(ctx, actor_type, keys[:1])
    created = create_samples(ctx, actor_type, purpose="cycle2", count=1)[0]
    second = traverse(ctx, actor_type, since=first.next_since).erp_keys()
    expected = {"saved": keys[0], "created": str(created.erp_key)}
    missing = {what: key for what, key in expected.items() if key not in second}
    evidence.expect(
        not missing,
        f"the next cycle, since next_since={first.next_since!r}, misses the actors {missing} changed after the first",
    )
    evidence.note(f"{actor_type}: next_since {first.next_since!r}; the next cycle saw {sorted(expected.values())}")


def check_bad_cursor(ctx: Context, evidence: Evidence) -> None:
    actor_type = subject_type(ctx)
    cursor = f"not-a-cursor-{ctx.tag}"
    answer = ctx.wire.call("changes", ctx.on_connection(actor_type=actor_type, field_keys=[], cursor=cursor, limit=1))
    ok = answer.status == 200 and answer.document is not None and not answer.ok
    evidence.expect(
        ok and answer.error_code == ErrorCode.VALIDATION,
        f"changes with cursor {cursor!r}: expected HTTP 200, ok:false, validation; got {answer.describe()}",
    )


def check_resume(ctx: Context, evidence: Evidence) -> None:
    """``next_since`` is a position after the last record read: nothing unchanged comes again, a later change does."""
    actor_type, records, since = _samples_since(ctx, purpose="resume", count=3)
    keys = [str(record.erp_key) for record in records]
    resumed = traverse(ctx, actor_type, since=since).next_since
    if resumed is None:
        raise RuleFailedError(f"the last page of changes since {since!r} carried no next_since")
    again = [key for key in traverse(ctx, actor_type, since=resumed).erp_keys() if key in keys]
    evidence.expect(not again, f"changes since next_since={resumed!r} answered unchanged records again: {again}")
    rename(ctx, actor_type, keys[1:2])
    found = traverse(ctx, actor_type, since=resumed).erp_keys()
    evidence.expect(keys[1] in found, f"{keys[1]} changed after next_since={resumed!r} is missing from {found}")
    evidence.note(f"{len(keys)} records; resumed at {resumed!r}")


RULES = (
    Rule("changes_order", "changes are ordered by last_modified and never before since", check_order),
    Rule(
        "changes_since_inclusive", "changes includes a record whose last_modified equals since", check_since_inclusive
    ),
    Rule("changes_paging", "paging has no gaps or duplicates while records change between pages", check_paging),
    Rule("changes_deleted", "changes reports deleted keys", check_deleted),
    Rule(
        "second_cycle",
        "a cycle from the last page's next_since sees the actors saved and created after the first cycle",
        check_second_cycle,
    ),
    Rule("changes_bad_cursor", "a cursor the connector cannot read is validation", check_bad_cursor),
    Rule("changes_resume", "changes resumes after the last record read: a quiet cycle reads nothing", check_resume),
)
