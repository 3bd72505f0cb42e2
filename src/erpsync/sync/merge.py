"""The per-field three-way merge of one link: which side's value wins each field, what to write, what is now agreed.

Contract (pure: no database, no HTTP):

- Values live in one canonical space keyed by ERP field key. ``sync.mapping`` converts CRM values into it
  (``crm_to_erp``), canonicalises ERP values (``erp_canonical``) and converts the CRM writes back (``erp_to_crm``).
  A field missing from either side's values (e.g. its value could not be translated) is skipped: nothing is written
  and its agreed value stays.
- Comparison normalises: None, "" and whitespace-only strings are all *blank* and equal; strings compare stripped and
  case-sensitively; 1 == 1.0; booleans never equal numbers; dates are ISO strings compared as text. Writes and agreed
  values are the normalised values.
- A side *changed* a field when its value differs from the agreed value; a field with no agreed value counts as changed
  on both sides. An *agreed pair* (``agree_apart``) agrees on two different values, one per side: the field's key holds
  the ERP's and ``crm_key(field)`` the CRM's. Each side is compared to its own; while neither changed nothing is decided
  or written (the values stay different on purpose). Any decision on the field collapses the pair to one value.
  Only one side changed: it wins. Both changed to the same value: they agree. Both changed to different
  values: a conflict, resolved by the field's policy. ``newest`` compares the CRM entity's update time with the actor's
  ``last_modified`` when that parses as ISO 8601 (naive means UTC); when it does not, or the times are equal, the ERP
  wins.
- The winner's value is written to the other side and becomes the agreed value, so the next merge sees no change.
- A write is *held back* when the field's direction forbids writing the losing side, or when the no-blank-overwrite
  option is on and the winner is blank while the loser is not. Nothing is written and the agreed value becomes the
  loser's current value. Each side keeps its own value (no change is lost), and the next merge sees "only <winner>
  changed", reaches the same held-back decision whatever the change times are, and writes nothing (no ping-pong).
- Every field whose agreed value changes, or that is held back, gets a ``Decision`` saying why; others get none. Its
  ``kind`` (``DecisionKind``) says to code what settled it (a conflict, one side's change, ...); its ``reason`` says it
  in words for the history and the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from erpsync.errors import ValidationError
from erpsync.protocol.models import Value


class Side(StrEnum):
    CRM = "crm"
    ERP = "erp"

    @property
    def other(self) -> Side:
        return Side.ERP if self is Side.CRM else Side.CRM


class Direction(StrEnum):
    """Which way a mapped field flows."""

    NONE = "none"
    TO_CRM = "to_crm"
    TO_ERP = "to_erp"
    BOTH = "both"

    def writes(self, side: Side) -> bool:
        """Whether the engine may write this field on ``side``."""
        return self is Direction.BOTH or self.value == f"to_{side.value}"


class Policy(StrEnum):
    """Who wins a conflict: the side changed last, or always one side."""

    NEWEST = "newest"
    CRM = "crm"
    ERP = "erp"
    ASK = "ask"
    """No rule settles it: both values wait in the conflict inbox for a person to choose (``sync.conflicts``)."""


class DecisionKind(StrEnum):
    """What settled a field; the decision's ``reason`` words it for people, the kind is what code tests."""

    SAME = "same"
    """Both sides hold the same value."""
    ONE_SIDE = "one_side"
    """Only one side changed since the agreed value: it wins."""
    CONFLICT = "conflict"
    """Both sides changed, to different values: the policy, the newest change or a connection of higher sync priority
    decided."""
    RESYNC = "resync"
    """A resync pushed one side's value (the CRM's or the ERP's), ignoring change detection."""
    CONNECT = "connect"
    """The first sync of a new link: the user's choice or the field's direction decided."""
    UNDO = "undo"
    """A run undone or a field reverted: the value a change replaced is written back (``erpsync.sync.undo``)."""
    ASKED = "asked"
    """Both sides changed, to different values, on a field whose policy is *ask*: nothing is written, the agreed
    value stays, and the conflict waits in the inbox."""


@dataclass(frozen=True)
class Choice:
    """The winner of a field whose sides differ, what settled it and the reason in words."""

    winner: Side | None  # None: no rule decides (policy ask)
    kind: DecisionKind
    reason: str


SAME_VALUE = "both sides hold the same value"
ONLY_CRM = "only crm changed"
ONLY_ERP = "only erp changed"
DIRECTION_FORBIDS = "direction forbids"
BLANK_HELD_BACK = "blank not allowed to overwrite"
RESYNC_FROM_CRM = "resync from crm"
RESYNC_FROM_ERP = "resync from erp"
CHOSEN_BY_USER = "chosen by user"
ASKED = "conflict: waits for a person to choose (policy ask)"
OUTRANKED = "conflict: {connection} has a higher sync priority"
"""The reason when a connection of higher sync priority wrote the CRM value; ``connection`` is its name."""


CRM_PREFIX = "$crm:"
"""Among agreed values, the CRM side's value of an agreed pair is kept under this prefix and the field's key."""


def crm_key(field: str) -> str:
    """The key of the CRM side's agreed value of ``field`` when the two sides agree apart."""
    return CRM_PREFIX + field


def agree_apart(agreed: Mapping[str, Value], field: str, *, crm: Value, erp: Value) -> dict[str, Value]:
    """``agreed`` with ``field`` agreed as a pair: ``crm`` on the CRM side, ``erp`` on the ERP side (one value when the
    two are the same)."""
    result = with_agreed(agreed, field, erp)
    if not same(crm, erp):
        result[crm_key(field)] = normalize(crm)
    return result


def with_agreed(agreed: Mapping[str, Value], field: str, value: Value) -> dict[str, Value]:
    """``agreed`` with ``field`` agreed on the single ``value`` (any pair collapsed)."""
    result = {key: old for key, old in agreed.items() if key != crm_key(field)}
    result[field] = value
    return result


@dataclass(frozen=True)
class FieldRule:
    direction: Direction
    policy: Policy = Policy.NEWEST


@dataclass(frozen=True)
class Snapshot:
    """What the engine knows about one link: agreed values, both sides' current values, and when each side changed."""

    agreed: Mapping[str, Value]
    crm: Mapping[str, Value]
    erp: Mapping[str, Value]
    crm_updated_at: datetime | None = None
    erp_last_modified: str | None = None
    crm_written_by: str | None = None
    """A connection of higher sync priority that wrote the CRM values: it wins conflicts whatever the policy."""


@dataclass(frozen=True)
class Decision:
    """Why one field ends as it does. ``old`` and ``new`` are the agreed values before and after (None: none/blank)."""

    field: str
    old: Value
    crm: Value
    erp: Value
    new: Value
    winner: Side | None
    reason: str
    written_to: Side | None
    kind: DecisionKind

    @property
    def conflict(self) -> bool:
        return self.kind in (DecisionKind.CONFLICT, DecisionKind.ASKED)


@dataclass(frozen=True)
class Skip:
    field: str
    reason: str


@dataclass(frozen=True)
class MergeResult:
    crm_writes: Mapping[str, Value]
    erp_writes: Mapping[str, Value]
    agreed: Mapping[str, Value]
    decisions: tuple[Decision, ...]
    skipped: tuple[Skip, ...]

    @property
    def writes_anything(self) -> bool:
        return bool(self.crm_writes or self.erp_writes)

    def writes_to(self, side: Side) -> Mapping[str, Value]:
        return self.crm_writes if side is Side.CRM else self.erp_writes


# --- values ---------------------------------------------------------------------------------------------------------


def normalize(value: Value) -> Value:
    """The comparable form of a value: blank strings become None, strings are stripped, whole floats become ints."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def same(a: Value, b: Value) -> bool:
    a, b = normalize(a), normalize(b)
    # True == 1 in Python; a checkbox and a number are never the same value.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def is_blank(value: Value) -> bool:
    return normalize(value) is None


def parse_erp_time(last_modified: str | None) -> datetime | None:
    """``last_modified`` as an aware datetime when it is an ISO 8601 timestamp (naive means UTC), else None."""
    if not last_modified:
        return None
    try:
        return as_utc(datetime.fromisoformat(last_modified))
    except ValueError:
        return None


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --- one field ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldValues:
    """One field's agreed and current values, normalised."""

    field: str
    has_old: bool
    old: Value
    crm: Value
    erp: Value
    paired: bool = False
    """The sides agree apart: ``old_crm`` is the CRM's agreed value, ``old`` the ERP's."""
    old_crm: Value = None

    @classmethod
    def of(cls, field: str, snapshot: Snapshot) -> FieldValues:
        old = normalize(snapshot.agreed.get(field))
        paired = field in snapshot.agreed and crm_key(field) in snapshot.agreed
        return cls(
            field=field,
            has_old=field in snapshot.agreed,
            old=old,
            crm=normalize(snapshot.crm[field]),
            erp=normalize(snapshot.erp[field]),
            paired=paired,
            old_crm=normalize(snapshot.agreed[crm_key(field)]) if paired else old,
        )

    def on(self, side: Side) -> Value:
        return self.crm if side is Side.CRM else self.erp

    def changed(self, side: Side) -> bool:
        return not self.has_old or not same(self.on(side), self.old_crm if side is Side.CRM else self.old)

    def agreed(self) -> Decision:
        """Both sides hold the same value."""
        return Decision(self.field, self.old, self.crm, self.erp, self.crm, None, SAME_VALUE, None, DecisionKind.SAME)

    def asked(self, choice: Choice) -> Decision:
        """A conflict nobody settles: nothing written, the agreed value kept."""
        return Decision(self.field, self.old, self.crm, self.erp, self.old, None, choice.reason, None, choice.kind)

    def settled(self, choice: Choice, *, held_back: str | None) -> Decision:
        """The winner's value written to the other side, or, ``held_back`` (why), nothing written."""
        winner = choice.winner
        assert winner is not None  # asked() takes the choices without one
        if held_back is not None:
            new, reason, written_to = self.on(winner.other), f"{choice.reason}; {held_back}", None
        else:
            new, reason, written_to = self.on(winner), choice.reason, winner.other
        return Decision(self.field, self.old, self.crm, self.erp, new, winner, reason, written_to, choice.kind)


Chooser = Callable[[FieldValues], Choice]
"""Picks the winner of a field whose sides differ, with what settled it."""


def resolve_conflict(policy: Policy, *, crm_updated_at: datetime | None, erp_last_modified: str | None) -> Choice:
    """The winner of a conflict under ``policy``, with the reason the history shows; none under *ask*."""
    if policy is Policy.ASK:
        return Choice(None, DecisionKind.ASKED, ASKED)
    if policy is not Policy.NEWEST:
        return _conflict(Side(policy.value), f"policy {policy.value}")
    return _newest(crm_updated_at, parse_erp_time(erp_last_modified))


def _conflict(winner: Side, why: str) -> Choice:
    return Choice(winner, DecisionKind.CONFLICT, f"conflict: {why}")


def _newest(crm_time: datetime | None, erp_time: datetime | None) -> Choice:
    if erp_time is None:
        return _conflict(Side.ERP, "newest erp (last_modified not a timestamp)")
    if crm_time is None:
        return _conflict(Side.ERP, "newest erp (crm update time unknown)")
    crm_time = as_utc(crm_time)
    if crm_time > erp_time:
        return _conflict(Side.CRM, f"newest crm ({crm_time.isoformat()} > {erp_time.isoformat()})")
    if erp_time > crm_time:
        return _conflict(Side.ERP, f"newest erp ({erp_time.isoformat()} > {crm_time.isoformat()})")
    return _conflict(Side.ERP, "equal times, erp wins")


def _held_back(values: FieldValues, winner: Side, direction: Direction, no_blank_overwrite: bool) -> str | None:
    loser = winner.other
    if not direction.writes(loser):
        return DIRECTION_FORBIDS
    if no_blank_overwrite and is_blank(values.on(winner)) and not is_blank(values.on(loser)):
        return BLANK_HELD_BACK
    return None


def _settle(values: FieldValues, rule: FieldRule, choose: Chooser, no_blank_overwrite: bool) -> Decision | None:
    if same(values.crm, values.erp):
        if values.has_old and not values.paired and same(values.crm, values.old):
            return None
        return values.agreed()
    if values.paired and not values.changed(Side.CRM) and not values.changed(Side.ERP):
        return None  # agreed apart, and neither side moved
    choice = choose(values)
    if choice.winner is None:
        return values.asked(choice)
    return values.settled(choice, held_back=_held_back(values, choice.winner, rule.direction, no_blank_overwrite))


# --- a whole link ---------------------------------------------------------------------------------------------------


def _skip_reason(field: str, rule: FieldRule, snapshot: Snapshot) -> str | None:
    if rule.direction is Direction.NONE:
        return "direction none"
    if field not in snapshot.crm:
        return "no crm value"
    if field not in snapshot.erp:
        return "no erp value"
    return None


def _settle_all(
    snapshot: Snapshot, rules: Mapping[str, FieldRule], choose: Chooser, *, no_blank_overwrite: bool
) -> MergeResult:
    decisions: list[Decision] = []
    skipped: list[Skip] = []
    for field, rule in rules.items():
        skip = _skip_reason(field, rule, snapshot)
        if skip is not None:
            skipped.append(Skip(field, skip))
            continue
        decision = _settle(FieldValues.of(field, snapshot), rule, choose, no_blank_overwrite)
        if decision is not None:
            decisions.append(decision)
    return _result(snapshot.agreed, decisions, skipped)


def _result(agreed: Mapping[str, Value], decisions: list[Decision], skipped: list[Skip]) -> MergeResult:
    def writes(side: Side) -> dict[str, Value]:
        return {d.field: d.new for d in decisions if d.written_to is side}

    new_agreed = dict(agreed)
    for d in decisions:
        if d.kind is DecisionKind.ASKED:  # an open conflict keeps what was agreed, a pair too
            new_agreed[d.field] = d.new
        else:
            new_agreed = with_agreed(new_agreed, d.field, d.new)
    return MergeResult(
        crm_writes=writes(Side.CRM),
        erp_writes=writes(Side.ERP),
        agreed=new_agreed,
        decisions=tuple(decisions),
        skipped=tuple(skipped),
    )


def merge(snapshot: Snapshot, *, rules: Mapping[str, FieldRule], no_blank_overwrite: bool = False) -> MergeResult:
    """The regular sync step: detect changes against the agreed values and settle every field of ``rules``."""

    def choose(values: FieldValues) -> Choice:
        if not values.changed(Side.ERP):
            return Choice(Side.CRM, DecisionKind.ONE_SIDE, ONLY_CRM)
        if not values.changed(Side.CRM):
            return Choice(Side.ERP, DecisionKind.ONE_SIDE, ONLY_ERP)
        if snapshot.crm_written_by is not None:
            return Choice(Side.CRM, DecisionKind.CONFLICT, OUTRANKED.format(connection=snapshot.crm_written_by))
        return resolve_conflict(
            rules[values.field].policy,
            crm_updated_at=snapshot.crm_updated_at,
            erp_last_modified=snapshot.erp_last_modified,
        )

    return _settle_all(snapshot, rules, choose, no_blank_overwrite=no_blank_overwrite)


def push_from_crm(
    snapshot: Snapshot, *, rules: Mapping[str, FieldRule], no_blank_overwrite: bool = False
) -> MergeResult:
    """*Resync from CRM*: every field that may flow to the ERP takes the CRM value, ignoring change detection."""
    to_erp = {field: rule for field, rule in rules.items() if rule.direction.writes(Side.ERP)}
    pushed = Choice(Side.CRM, DecisionKind.RESYNC, RESYNC_FROM_CRM)
    return _settle_all(snapshot, to_erp, lambda _: pushed, no_blank_overwrite=no_blank_overwrite)


def push_from_erp(
    snapshot: Snapshot, *, rules: Mapping[str, FieldRule], no_blank_overwrite: bool = False
) -> MergeResult:
    """*Resync from an ERP*: every field that may flow to the CRM takes the ERP value, ignoring change detection."""
    to_crm = {field: rule for field, rule in rules.items() if rule.direction.writes(Side.CRM)}
    pulled = Choice(Side.ERP, DecisionKind.RESYNC, RESYNC_FROM_ERP)
    return _settle_all(snapshot, to_crm, lambda _: pulled, no_blank_overwrite=no_blank_overwrite)


def push(
    source: Side, snapshot: Snapshot, *, rules: Mapping[str, FieldRule], no_blank_overwrite: bool = False
) -> MergeResult:
    """A resync from ``source``: ``push_from_crm`` or ``push_from_erp``."""
    pusher = push_from_crm if source is Side.CRM else push_from_erp
    return pusher(snapshot, rules=rules, no_blank_overwrite=no_blank_overwrite)


def connect(
    *,
    crm: Mapping[str, Value],
    erp: Mapping[str, Value],
    rules: Mapping[str, FieldRule],
    winners: Mapping[str, Side],
) -> MergeResult:
    """The first sync of a new link: the user's per-field winners settle the fields whose values differ.

    One-way fields need no choice (the source side wins); a choice that contradicts the direction, a choice for a field
    that is not synced, or a missing choice for a two-way field that differs is refused (``ValidationError`` naming
    every such field) before anything is decided. The user chose explicitly, so the no-blank-overwrite option does not
    apply here.
    """
    snapshot = Snapshot(agreed={}, crm=crm, erp=erp)
    chosen = _connect_winners(snapshot, rules, winners)
    return _settle_all(snapshot, rules, lambda values: chosen[values.field], no_blank_overwrite=False)


def _connect_winners(
    snapshot: Snapshot, rules: Mapping[str, FieldRule], winners: Mapping[str, Side]
) -> dict[str, Choice]:
    chosen: dict[str, Choice] = {}
    problems = [f"{field}: not a synced field" for field in winners if field not in rules]
    for field, rule in rules.items():
        if _skip_reason(field, rule, snapshot) is not None:
            continue
        outcome = _connect_winner(rule.direction, winners.get(field), FieldValues.of(field, snapshot))
        if isinstance(outcome, str):
            problems.append(f"{field}: {outcome}")
        elif outcome is not None:
            chosen[field] = outcome
    if problems:
        raise ValidationError("Choose a winner for every field that differs: " + "; ".join(problems))
    return chosen


def _connect_winner(direction: Direction, choice: Side | None, values: FieldValues) -> Choice | str | None:
    """The winner of one field, None when both sides agree, or a problem message."""
    source = None if direction is Direction.BOTH else (Side.ERP if direction.writes(Side.CRM) else Side.CRM)
    if choice is not None and source is not None and choice is not source:
        return f"direction {direction.value} does not allow {choice.value} to win"
    if source is not None:
        return Choice(source, DecisionKind.CONNECT, f"direction {direction.value}")
    if choice is not None:
        return Choice(choice, DecisionKind.CONNECT, CHOSEN_BY_USER)
    return None if same(values.crm, values.erp) else "both sides differ and no winner was chosen"
