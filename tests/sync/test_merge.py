"""The three-way merge: one example per rule and reason, and property tests over simulated CRM/ERP replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync.errors import ValidationError
from erpsync.protocol.models import Value
from erpsync.sync.merge import (
    DecisionKind,
    Direction,
    FieldRule,
    MergeResult,
    Policy,
    Side,
    Snapshot,
    connect,
    is_blank,
    merge,
    normalize,
    parse_erp_time,
    push_from_crm,
    same,
)

T1 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BOTH = FieldRule(Direction.BOTH)


def merge_one(
    *, old: Value, crm: Value, erp: Value, rule: FieldRule = BOTH, no_blank: bool = False, **times: object
) -> MergeResult:
    snapshot = Snapshot(agreed={"f": old}, crm={"f": crm}, erp={"f": erp}, **times)  # type: ignore[arg-type]
    return merge(snapshot, rules={"f": rule}, no_blank_overwrite=no_blank)


def only_reason(result: MergeResult) -> str:
    (decision,) = result.decisions
    return decision.reason


# --- values ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, "", True),
        ("  ", None, True),
        (" x ", "x", True),
        ("x", "X", False),
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        ("1", 1, False),
        ("2024-05-01", "2024-05-01", True),
    ],
)
def test_same_normalises_blanks_whitespace_and_numbers(a: Value, b: Value, expected: bool) -> None:
    assert same(a, b) is expected


def test_normalize_and_blank() -> None:
    assert normalize(" a ") == "a"
    assert normalize(2.0) == 2
    assert isinstance(normalize(2.0), int)
    assert normalize(2.5) == 2.5
    assert is_blank("")
    assert is_blank(None)
    assert is_blank(" ")
    assert not is_blank(0)
    assert not is_blank(False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", T1),
        ("2024-05-01T12:00:00", T1),
        ("2024-05-01T14:00:00+02:00", T1),
        ("rev-17", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_erp_time(text: str | None, expected: datetime | None) -> None:
    assert parse_erp_time(text) == expected


# --- one reason per example -----------------------------------------------------------------------------------------


def test_unchanged_field_gives_no_decision() -> None:
    result = merge_one(old="a", crm="a ", erp="a")
    assert result.decisions == ()
    assert not result.writes_anything
    assert result.agreed == {"f": "a"}


def test_only_crm_changed_is_copied_to_erp() -> None:
    result = merge_one(old="a", crm="b", erp="a")
    assert result.erp_writes == {"f": "b"}
    assert result.crm_writes == {}
    assert result.agreed == {"f": "b"}
    (decision,) = result.decisions
    assert (decision.winner, decision.written_to, decision.reason) == (Side.CRM, Side.ERP, "only crm changed")
    assert (decision.old, decision.crm, decision.erp, decision.new) == ("a", "b", "a", "b")


def test_only_erp_changed_is_copied_to_crm() -> None:
    result = merge_one(old="a", crm="a", erp="c")
    assert result.crm_writes == {"f": "c"}
    assert result.agreed == {"f": "c"}
    assert only_reason(result) == "only erp changed"


def test_both_changed_to_the_same_value_just_agree() -> None:
    result = merge_one(old="a", crm="b", erp=" b")
    assert not result.writes_anything
    assert result.agreed == {"f": "b"}
    assert result.decisions[0].winner is None
    assert only_reason(result) == "both sides hold the same value"


def test_a_conflict_under_the_ask_policy_writes_nothing_and_keeps_the_agreed_value() -> None:
    snapshot = Snapshot(agreed={"f": "a"}, crm={"f": "b"}, erp={"f": "c"})
    result = merge(snapshot, rules={"f": FieldRule(Direction.BOTH, Policy.ASK)})
    [decision] = result.decisions
    assert (decision.kind, decision.winner, decision.written_to) == (DecisionKind.ASKED, None, None)
    assert decision.conflict
    assert not result.writes_anything
    assert result.agreed == {"f": "a"}
    # Only one side changed: no person needs to choose, the change flows as under any policy.
    one_side = merge(
        Snapshot(agreed={"f": "a"}, crm={"f": "b"}, erp={"f": "a"}), rules={"f": FieldRule(Direction.BOTH, Policy.ASK)}
    )
    assert dict(one_side.erp_writes) == {"f": "b"}


@pytest.mark.parametrize(("policy", "winner", "value"), [(Policy.CRM, Side.CRM, "b"), (Policy.ERP, Side.ERP, "c")])
def test_conflict_under_a_side_policy(policy: Policy, winner: Side, value: str) -> None:
    result = merge_one(old="a", crm="b", erp="c", rule=FieldRule(Direction.BOTH, policy))
    assert result.writes_to(winner.other) == {"f": value}
    assert result.agreed == {"f": value}
    assert only_reason(result) == f"conflict: policy {policy.value}"


def test_conflict_newest_crm_wins_when_crm_changed_later() -> None:
    result = merge_one(old="a", crm="b", erp="c", crm_updated_at=T1, erp_last_modified="2024-05-01T11:00:00Z")
    assert result.erp_writes == {"f": "b"}
    assert only_reason(result) == "conflict: newest crm (2024-05-01T12:00:00+00:00 > 2024-05-01T11:00:00+00:00)"


def test_conflict_newest_erp_wins_when_erp_changed_later_and_naive_crm_time_is_utc() -> None:
    naive = datetime(2024, 5, 1, 12, 0)
    result = merge_one(old="a", crm="b", erp="c", crm_updated_at=naive, erp_last_modified="2024-05-01T15:00:00+02:00")
    assert result.crm_writes == {"f": "c"}
    assert only_reason(result) == "conflict: newest erp (2024-05-01T15:00:00+02:00 > 2024-05-01T12:00:00+00:00)"


def test_conflict_newest_erp_wins_when_last_modified_is_not_a_timestamp() -> None:
    result = merge_one(old="a", crm="b", erp="c", crm_updated_at=T1, erp_last_modified="rev-9")
    assert result.crm_writes == {"f": "c"}
    assert only_reason(result) == "conflict: newest erp (last_modified not a timestamp)"


def test_conflict_newest_erp_wins_when_crm_time_is_unknown() -> None:
    result = merge_one(old="a", crm="b", erp="c", erp_last_modified="2024-05-01T11:00:00Z")
    assert only_reason(result) == "conflict: newest erp (crm update time unknown)"


def test_conflict_newest_equal_times_erp_wins() -> None:
    result = merge_one(old="a", crm="b", erp="c", crm_updated_at=T1, erp_last_modified="2024-05-01T12:00:00Z")
    assert result.crm_writes == {"f": "c"}
    assert only_reason(result) == "conflict: equal times, erp wins"


def test_no_agreed_value_counts_as_a_conflict() -> None:
    snapshot = Snapshot(agreed={}, crm={"f": "b"}, erp={"f": "c"})
    result = merge(snapshot, rules={"f": FieldRule(Direction.BOTH, Policy.CRM)})
    assert result.erp_writes == {"f": "b"}
    assert only_reason(result) == "conflict: policy crm"


def test_direction_forbids_keeps_each_side_and_agrees_on_the_loser() -> None:
    result = merge_one(old="a", crm="b", erp="a", rule=FieldRule(Direction.TO_CRM))
    assert not result.writes_anything
    assert result.agreed == {"f": "a"}
    (decision,) = result.decisions
    assert (decision.winner, decision.written_to) == (Side.CRM, None)
    assert decision.reason == "only crm changed; direction forbids"


def test_held_back_conflict_is_stable_whatever_the_times() -> None:
    rule = FieldRule(Direction.TO_CRM, Policy.NEWEST)
    first = merge_one(old="a", crm="b", erp="c", rule=rule, crm_updated_at=T1, erp_last_modified="2024-01-01")
    assert first.agreed == {"f": "c"}
    assert not first.writes_anything
    assert only_reason(first).endswith("; direction forbids")
    later = Snapshot(agreed=first.agreed, crm={"f": "b"}, erp={"f": "c"}, erp_last_modified="2030-01-01")
    second = merge(later, rules={"f": rule})
    assert not second.writes_anything
    assert only_reason(second) == "only crm changed; direction forbids"


def test_blank_not_allowed_to_overwrite() -> None:
    result = merge_one(old="a", crm="", erp="a", no_blank=True)
    assert not result.writes_anything
    assert result.agreed == {"f": "a"}
    assert only_reason(result) == "only crm changed; blank not allowed to overwrite"


def test_blank_overwrites_when_the_option_is_off_or_the_other_side_is_blank_too() -> None:
    assert merge_one(old="a", crm=None, erp="a").erp_writes == {"f": None}
    result = merge_one(old="a", crm=None, erp="", no_blank=True)
    assert not result.writes_anything
    assert result.agreed == {"f": None}


def test_skipped_fields_keep_their_agreed_value() -> None:
    snapshot = Snapshot(agreed={"n": "1", "c": "2", "e": "3"}, crm={"n": "x", "e": "y"}, erp={"n": "z", "c": "w"})
    rules = {"n": FieldRule(Direction.NONE), "c": BOTH, "e": BOTH}
    result = merge(snapshot, rules=rules)
    assert [(s.field, s.reason) for s in result.skipped] == [
        ("n", "direction none"),
        ("c", "no crm value"),
        ("e", "no erp value"),
    ]
    assert result.agreed == snapshot.agreed
    assert not result.decisions


def test_each_decision_has_the_kind_of_what_settled_it() -> None:
    times = {"crm_updated_at": T1, "erp_last_modified": "2020-01-01"}
    cases = {
        DecisionKind.SAME: merge_one(old="a", crm="b", erp="b"),
        DecisionKind.ONE_SIDE: merge_one(old="a", crm="b", erp="a"),
        DecisionKind.CONFLICT: merge_one(old="a", crm="b", erp="c", **times),
    }
    for kind, result in cases.items():
        (decision,) = result.decisions
        assert decision.kind is kind
        assert decision.conflict is (kind is DecisionKind.CONFLICT)
    held_back = merge_one(old="a", crm="b", erp="c", rule=FieldRule(Direction.TO_CRM, Policy.CRM))
    assert [(d.kind, d.written_to) for d in held_back.decisions] == [(DecisionKind.CONFLICT, None)]
    outranked = Snapshot(agreed={"f": "a"}, crm={"f": "b"}, erp={"f": "c"}, crm_written_by="Nordic")
    [decision] = merge(outranked, rules={"f": FieldRule(Direction.BOTH, Policy.ERP)}).decisions
    assert (decision.kind, decision.winner, decision.reason) == (
        DecisionKind.CONFLICT,
        Side.CRM,
        "conflict: Nordic has a higher sync priority",
    )


# --- resync and connect ---------------------------------------------------------------------------------------------


def test_push_from_crm_ignores_change_detection_and_honours_the_blank_option() -> None:
    snapshot = Snapshot(
        agreed={"a": "x", "b": "y", "c": "z"},
        crm={"a": "x", "b": None, "c": "new"},
        erp={"a": "other", "b": "y", "c": "z"},
    )
    rules = {"a": BOTH, "b": FieldRule(Direction.TO_ERP), "c": FieldRule(Direction.TO_CRM)}
    result = push_from_crm(snapshot, rules=rules, no_blank_overwrite=True)
    assert result.erp_writes == {"a": "x"}
    assert result.crm_writes == {}
    assert [d.reason for d in result.decisions] == [
        "resync from crm",
        "resync from crm; blank not allowed to overwrite",
    ]
    assert {d.kind for d in result.decisions} == {DecisionKind.RESYNC}


def test_connect_applies_chosen_and_implied_winners() -> None:
    rules = {"a": BOTH, "b": BOTH, "c": FieldRule(Direction.TO_CRM), "d": FieldRule(Direction.TO_ERP), "e": BOTH}
    crm = {"a": "ca", "b": "cb", "c": "cc", "d": "cd", "e": "same"}
    erp = {"a": "ea", "b": "eb", "c": "ec", "d": "ed", "e": "same"}
    result = connect(crm=crm, erp=erp, rules=rules, winners={"a": Side.CRM, "b": Side.ERP})
    assert result.erp_writes == {"a": "ca", "d": "cd"}
    assert result.crm_writes == {"b": "eb", "c": "ec"}
    assert result.agreed == {"a": "ca", "b": "eb", "c": "ec", "d": "cd", "e": "same"}
    reasons = {d.field: d.reason for d in result.decisions}
    assert reasons == {
        "a": "chosen by user",
        "b": "chosen by user",
        "c": "direction to_crm",
        "d": "direction to_erp",
        "e": "both sides hold the same value",
    }
    kinds = {d.field: d.kind for d in result.decisions}
    assert kinds == dict.fromkeys("abcd", DecisionKind.CONNECT) | {"e": DecisionKind.SAME}


def test_connect_refuses_missing_contradicting_and_unknown_winners() -> None:
    rules = {"a": BOTH, "c": FieldRule(Direction.TO_CRM)}
    with pytest.raises(ValidationError) as caught:
        connect(crm={"a": "1", "c": "2"}, erp={"a": "3", "c": "4"}, rules=rules, winners={"c": Side.CRM, "z": Side.ERP})
    message = caught.value.user_message
    assert "z: not a synced field" in message
    assert "a: both sides differ and no winner was chosen" in message
    assert "c: direction to_crm does not allow crm to win" in message


# --- properties -----------------------------------------------------------------------------------------------------

FIELDS = ("f1", "f2", "f3")
VALUES = st.sampled_from([None, "", " ", "x", " x", "y", "z", 1, 1.0, 2, True])
SIDES = st.sampled_from(list(Side))
SETTLING_POLICIES = [policy for policy in Policy if policy is not Policy.ASK]  # ask leaves conflicts to a person
RULES = st.builds(FieldRule, st.sampled_from(list(Direction)), st.sampled_from(SETTLING_POLICIES))
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Replicas:
    """Two replicas, the link's agreed values and change times, as the engine would see them."""

    crm: dict[str, Value]
    erp: dict[str, Value]
    agreed: dict[str, Value]
    crm_time: datetime | None = None
    erp_time: str | None = None
    clock: int = 0

    def edit(self, side: Side, name: str, value: Value, stamp: str) -> None:
        self.clock += 1
        moment = EPOCH + timedelta(minutes=self.clock)
        if side is Side.CRM:
            self.crm[name] = value
            self.crm_time = moment
        else:
            self.erp[name] = value
            self.erp_time = _erp_stamp(moment, stamp)

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.agreed), dict(self.crm), dict(self.erp), self.crm_time, self.erp_time)

    def apply(self, result: MergeResult) -> None:
        self.crm.update(result.crm_writes)
        self.erp.update(result.erp_writes)
        self.agreed = dict(result.agreed)


def _erp_stamp(moment: datetime, style: str) -> str:
    if style == "naive":
        return moment.replace(tzinfo=None).isoformat()
    if style == "offset":
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    return f"rev-{moment.minute}" if style == "opaque" else moment.isoformat()


EDITS = st.tuples(SIDES, st.sampled_from(FIELDS), VALUES, st.sampled_from(["utc", "naive", "offset", "opaque"]))
STEPS = st.lists(st.one_of(EDITS, st.just("merge")), max_size=12)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Replicas, dict[str, FieldRule], bool, list[object]]:
    start = {name: draw(VALUES) for name in FIELDS}
    agreed = {name: value for name, value in start.items() if draw(st.booleans())}
    replicas = Replicas(crm=dict(start), erp=dict(start), agreed=agreed)
    rules = {name: draw(RULES) for name in FIELDS}
    return replicas, rules, draw(st.booleans()), draw(STEPS)


def check_decisions_explain_writes(result: MergeResult, before: Snapshot) -> None:
    for side in Side:
        explained = {d.field: d.new for d in result.decisions if d.written_to is side}
        assert dict(result.writes_to(side)) == explained
    for d in result.decisions:
        if d.written_to is not None:
            assert d.winner is d.written_to.other
            assert same(d.new, getattr(before, d.winner.value)[d.field])
            assert d.reason
        assert d.kind is _expected_kind(before, d.field), "the kind says what settled the field"
        assert d.conflict == d.reason.startswith("conflict"), "the kind and the worded reason agree"


def _expected_kind(before: Snapshot, name: str) -> DecisionKind:
    crm, erp = before.crm[name], before.erp[name]
    if same(crm, erp):
        return DecisionKind.SAME
    if name in before.agreed and (same(crm, before.agreed[name]) or same(erp, before.agreed[name])):
        return DecisionKind.ONE_SIDE
    return DecisionKind.CONFLICT


def check_policy_and_single_edits_win(
    before: Snapshot, after: Replicas, rules: dict[str, FieldRule], no_blank: bool
) -> None:
    for name, rule in rules.items():
        if rule.direction is Direction.NONE:
            continue
        for side in Side:
            mine, theirs = getattr(before, side.value)[name], getattr(before, side.other.value)[name]
            changed = name not in before.agreed or not same(mine, before.agreed[name])
            other_changed = name not in before.agreed or not same(theirs, before.agreed[name])
            blocked = not rule.direction.writes(side.other) or (no_blank and is_blank(mine) and not is_blank(theirs))
            must_win = rule.policy.value == side.value or not other_changed
            if changed and must_win and not blocked:
                assert same(getattr(after, side.value)[name], mine), "the winning edit stays on its side"
                assert same(getattr(after, side.other.value)[name], mine), "the winning edit reaches the other side"
            if changed and not other_changed:
                assert same(getattr(after, side.value)[name], mine), "a lone edit is never overwritten"


def check_converged(replicas: Replicas, rules: dict[str, FieldRule], no_blank: bool) -> None:
    for name, rule in rules.items():
        if rule.direction is Direction.BOTH:
            crm, erp = replicas.crm[name], replicas.erp[name]
            assert same(crm, erp) or (no_blank and is_blank(crm) != is_blank(erp))


def merge_cycle(replicas: Replicas, rules: dict[str, FieldRule], no_blank: bool) -> None:
    before = replicas.snapshot()
    result = merge(before, rules=rules, no_blank_overwrite=no_blank)
    check_decisions_explain_writes(result, before)
    replicas.apply(result)
    check_policy_and_single_edits_win(before, replicas, rules, no_blank)
    check_converged(replicas, rules, no_blank)
    # The engine's own writes move the ERP's last_modified on; the outcome must not depend on it.
    replicas.erp_time = (EPOCH + timedelta(days=365)).isoformat()
    again = merge(replicas.snapshot(), rules=rules, no_blank_overwrite=no_blank)
    assert not again.writes_anything, f"ping-pong: {again.decisions}"
    assert dict(again.agreed) == replicas.agreed


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_any_interleaving_converges_never_loops_and_keeps_winning_edits(
    scenario: tuple[Replicas, dict[str, FieldRule], bool, list[object]],
) -> None:
    replicas, rules, no_blank, steps = scenario
    for step in [*steps, "merge"]:
        if step == "merge":
            merge_cycle(replicas, rules, no_blank)
        else:
            side, name, value, stamp = step  # type: ignore[misc]
            replicas.edit(side, name, value, stamp)


@settings(max_examples=200, deadline=None)
@given(
    crm=st.fixed_dictionaries(dict.fromkeys(FIELDS, VALUES)), erp=st.fixed_dictionaries(dict.fromkeys(FIELDS, VALUES))
)
def test_resync_from_crm_leaves_nothing_for_the_next_merge(crm: dict[str, Value], erp: dict[str, Value]) -> None:
    rules = {"f1": BOTH, "f2": FieldRule(Direction.TO_ERP)}
    replicas = Replicas(crm=dict(crm), erp=dict(erp), agreed={})
    replicas.apply(push_from_crm(replicas.snapshot(), rules=rules, no_blank_overwrite=True))
    assert all(same(replicas.crm[n], replicas.erp[n]) or is_blank(replicas.crm[n]) for n in rules)
    assert not merge(replicas.snapshot(), rules=rules, no_blank_overwrite=True).writes_anything
