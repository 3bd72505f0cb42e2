"""The conflict inbox (``sync.conflicts``): a field whose policy is *ask* is not settled by a rule; both values wait for
a person, the record keeps syncing its other fields, and the person's choice reaches both sides. The sample
connector over real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from erpsync import accounts
from erpsync.errors import NotFoundError
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, SyncConflict, User
from erpsync.sync import conflicts, operations
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction, Policy, Side
from support.sync_world import CUSTOMER, World, build_world


def _mapping(email_policy: Policy) -> ActorTypeMapping:
    rows = (
        FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
        FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH, policy=email_policy),
        FieldMapping(erp_field="phone", crm_field="PHONE", direction=Direction.BOTH),
    )
    return ActorTypeMapping(actor_type=CUSTOMER, active=True, fields=rows)


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    for built in build_world(database, tmp_path):
        built.config = built.config.model_copy(update={"mappings": {CUSTOMER: _mapping(Policy.ASK)}})
        yield built


def _user(world: World, login: str, *, admin: bool = False) -> User:
    with world.database.session() as session:
        user = accounts.create_user(
            session, login=login, password="Correct-Horse-Battery-9", is_admin=admin, licences=("erp",)
        )
        session.flush()
        session.expunge(user)
        return user


def _conflicting(world: World) -> tuple[int, str, int]:
    """A linked pair whose email both sides changed: the CRM by user 1 (the world's CRM editor)."""
    company_id, erp_key, link_id = world.linked_pair(email="a@acme.example", phone="111")
    world.erp_update(erp_key, email="erp@acme.example", phone="222")
    world.crm_update(company_id, EMAIL="crm@acme.example")
    return company_id, erp_key, link_id


def test_an_asked_conflict_waits_with_both_values_and_the_other_fields_still_sync(world: World) -> None:
    company_id, erp_key, link_id = _conflicting(world)
    [summary] = world.cycle()
    assert summary.counts.conflicts == 1
    # Nothing written on either side for the email; the phone (no conflict) synced.
    assert world.crm_values(company_id)["EMAIL"] == "crm@acme.example"
    assert world.erp_values(erp_key)["email"] == "erp@acme.example"
    assert world.crm_values(company_id)["PHONE"] == "222"
    link = world.get_link(link_id)
    assert link.state == "ok"
    assert link.agreed_json["email"] == "a@acme.example"
    with world.database.read_session() as session:
        [row] = session.scalars(select(SyncConflict)).all()
    assert (row.field, row.crm_value, row.erp_value, row.agreed_value) == (
        "email",
        "crm@acme.example",
        "erp@acme.example",
        "a@acme.example",
    )
    assert row.crm_changed_by == "user:1"
    assert row.resolved_at is None
    # Another cycle neither writes nor opens a second conflict for the same field.
    world.crm_update(company_id, PHONE="333")
    world.cycle()
    with world.database.read_session() as session:
        assert len(session.scalars(select(SyncConflict)).all()) == 1
    assert world.erp_values(erp_key)["email"] == "erp@acme.example"


@pytest.mark.parametrize("side", [Side.ERP, Side.CRM])
def test_the_chosen_value_reaches_both_sides_and_the_conflict_closes(world: World, side: Side) -> None:
    company_id, erp_key, link_id = _conflicting(world)
    world.cycle()
    admin = _user(world, "admin", admin=True)
    with world.database.sessions() as session:  # a request's session: the use case runs its own units of work
        [waiting] = conflicts.inbox(session, admin)
        [result] = operations.resolve_conflicts(session, world.engine, [waiting.id], side, user=admin)
    chosen = "erp@acme.example" if side is Side.ERP else "crm@acme.example"
    assert result.errors == []
    assert world.crm_values(company_id)["EMAIL"] == chosen
    assert world.erp_values(erp_key)["email"] == chosen
    assert world.get_link(link_id).agreed_json["email"] == chosen
    with world.database.read_session() as session:
        assert conflicts.inbox(session, admin) == []
        row = session.get(SyncConflict, waiting.id)
        assert row is not None
        assert (row.resolution, row.resolved_by) == (side.value, f"user:{admin.id}")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "conflicts.resolve")).one()
        assert entry.detail_json["side"] == side.value
    [again] = world.cycle()
    assert (again.counts.crm_writes, again.counts.erp_writes, again.counts.conflicts) == (0, 0, 0)


def test_a_user_sees_only_the_conflicts_of_their_own_changes_and_cannot_resolve_others(world: World) -> None:
    _conflicting(world)  # the CRM change is user 1's
    world.cycle()
    first = _user(world, "first")  # id 1: the world's CRM editor
    other = _user(world, "other")
    assert first.id == 1
    with world.database.sessions() as session:
        [mine] = conflicts.inbox(session, first)
        assert conflicts.inbox(session, other) == []
        with pytest.raises(NotFoundError):
            operations.resolve_conflicts(session, world.engine, [mine.id], Side.CRM, user=other)
    with world.database.read_session() as session:
        row = session.get(SyncConflict, mine.id)
        assert row is not None
        assert row.resolved_at is None


def test_a_conflict_the_sides_settle_themselves_closes(world: World) -> None:
    company_id, erp_key, _ = _conflicting(world)
    world.cycle()
    world.crm_update(company_id, EMAIL="erp@acme.example")  # somebody made the CRM agree with the ERP
    world.cycle()
    with world.database.read_session() as session:
        [row] = session.scalars(select(SyncConflict)).all()
    assert (row.resolution, row.resolved_by) == ("same", "sync")
    assert world.erp_values(erp_key)["email"] == "erp@acme.example"


def test_many_conflicts_are_resolved_at_once_and_each_chosen_value_reaches_both_sides(world: World) -> None:
    pairs = []
    for name in ("Acme", "Globex"):
        company_id, erp_key, _ = world.linked_pair(name=name, email=f"a@{name}.example")
        world.erp_update(erp_key, email=f"erp@{name}.example")
        world.crm_update(company_id, EMAIL=f"crm@{name}.example")
        pairs.append((company_id, erp_key, name))
    [summary] = world.cycle()
    assert summary.counts.conflicts == 2
    admin = _user(world, "admin", admin=True)
    with world.database.sessions() as session:
        waiting = conflicts.inbox(session, admin)
        assert len(waiting) == 2
        results = operations.resolve_conflicts(session, world.engine, [row.id for row in waiting], Side.CRM, user=admin)
    assert [result.errors for result in results] == [[], []]
    for company_id, erp_key, name in pairs:
        assert world.crm_values(company_id)["EMAIL"] == f"crm@{name}.example"
        assert world.erp_values(erp_key)["email"] == f"crm@{name}.example"
    with world.database.read_session() as session:
        assert conflicts.inbox(session, admin) == []
