"""Agreed pairs: a field agreed on two different values, one per side (the CRM keeps its name, the ERP another)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync.protocol.models import Value
from erpsync.sync.merge import (
    DecisionKind,
    Direction,
    FieldRule,
    Policy,
    Side,
    Snapshot,
    agree_apart,
    crm_key,
    merge,
    same,
    with_agreed,
)

BOTH = FieldRule(Direction.BOTH)
PAIR = agree_apart({"name": "Old", "city": "Oslo"}, "name", crm="Acme", erp="Acme Ltd")


def test_a_pair_keeps_each_sides_value_and_the_other_fields() -> None:
    assert {"name": "Acme Ltd", crm_key("name"): "Acme", "city": "Oslo"} == PAIR
    assert agree_apart({}, "name", crm=" Acme ", erp="Acme") == {"name": "Acme"}
    assert with_agreed(PAIR, "name", "X") == {"name": "X", "city": "Oslo"}


def test_neither_side_changed_writes_nothing_and_keeps_the_pair() -> None:
    snapshot = Snapshot(agreed=PAIR, crm={"name": "Acme"}, erp={"name": "Acme Ltd"})
    result = merge(snapshot, rules={"name": BOTH})
    assert not result.writes_anything
    assert not result.decisions
    assert dict(result.agreed) == PAIR


def test_a_crm_change_wins_and_collapses_the_pair() -> None:
    snapshot = Snapshot(agreed=PAIR, crm={"name": "Acme A/S"}, erp={"name": "Acme Ltd"})
    result = merge(snapshot, rules={"name": BOTH})
    assert dict(result.erp_writes) == {"name": "Acme A/S"}
    assert result.decisions[0].kind is DecisionKind.ONE_SIDE
    assert dict(result.agreed) == {"name": "Acme A/S", "city": "Oslo"}


def test_an_erp_change_wins_and_collapses_the_pair() -> None:
    snapshot = Snapshot(agreed=PAIR, crm={"name": "Acme"}, erp={"name": "Acme Group"})
    result = merge(snapshot, rules={"name": BOTH})
    assert dict(result.crm_writes) == {"name": "Acme Group"}
    assert dict(result.agreed) == {"name": "Acme Group", "city": "Oslo"}


def test_both_sides_meeting_collapses_the_pair_without_writes() -> None:
    snapshot = Snapshot(agreed=PAIR, crm={"name": "Acme"}, erp={"name": "Acme"})
    result = merge(snapshot, rules={"name": BOTH})
    assert not result.writes_anything
    assert dict(result.agreed) == {"name": "Acme", "city": "Oslo"}


def test_a_conflict_under_ask_keeps_the_pair() -> None:
    snapshot = Snapshot(agreed=PAIR, crm={"name": "C"}, erp={"name": "E"})
    result = merge(snapshot, rules={"name": FieldRule(Direction.BOTH, Policy.ASK)})
    assert result.decisions[0].kind is DecisionKind.ASKED
    assert dict(result.agreed) == PAIR


VALUES = st.one_of(st.none(), st.sampled_from(["", "a", "b", " a ", "c"]), st.integers(0, 2))


@settings(max_examples=300, deadline=None)
@given(
    crm=VALUES,
    erp=VALUES,
    edits=st.lists(st.tuples(st.sampled_from([Side.CRM, Side.ERP]), VALUES), max_size=4),
    policy=st.sampled_from([Policy.NEWEST, Policy.CRM, Policy.ERP]),
)
def test_a_pair_never_ping_pongs_and_settles_after_any_edits(
    crm: Value, erp: Value, edits: list[tuple[Side, Value]], policy: Policy
) -> None:
    rules = {"f": FieldRule(Direction.BOTH, policy)}
    values = {Side.CRM: crm, Side.ERP: erp}
    agreed: dict[str, Value] = agree_apart({}, "f", crm=crm, erp=erp)
    for step in [None, *edits, None]:
        if step is not None:
            values[step[0]] = step[1]
        result = merge(Snapshot(agreed=agreed, crm={"f": values[Side.CRM]}, erp={"f": values[Side.ERP]}), rules=rules)
        for side in Side:
            values[side] = result.writes_to(side).get("f", values[side])
        agreed = dict(result.agreed)
        again = merge(Snapshot(agreed=agreed, crm={"f": values[Side.CRM]}, erp={"f": values[Side.ERP]}), rules=rules)
        assert not again.writes_anything
        assert not again.decisions
    if same(values[Side.CRM], values[Side.ERP]):
        assert crm_key("f") not in agreed
    else:  # still apart: only because nobody touched the field, so the pair is the one agreed at the start
        assert same(agreed[crm_key("f")], crm)
        assert same(agreed["f"], erp)
