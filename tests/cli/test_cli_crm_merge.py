"""``erpsync crm merge companies|persons``: the plan shown, the question, the merge with its persons and links, and
bad input refused with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from erpsync.cli.common import upgraded_database
from erpsync.crm import service
from erpsync.crm.fields import EntityType
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import AuditEntry, ErpConnection, ErpLink
from erpsync.sync import links

from .conftest import run_cli, run_json


@pytest.fixture
def database(data_dir: Path) -> Iterator[Database]:
    hub = upgraded_database()
    try:
        yield hub
    finally:
        hub.dispose()


def _create(database: Database, entity_type: EntityType, **attrs: Any) -> int:
    with database.session() as session:
        return service.create_entity(session, entity_type, attrs, changed_by="user:1").id


def _get(database: Database, entity_type: EntityType, entity_id: int) -> Any:
    with database.read_session() as session:
        return service.get_entity(session, entity_type, entity_id)


def test_merge_companies_shows_the_plan_asks_and_moves_persons_and_links(
    main_connection: str, database: Database
) -> None:
    acme = _create(database, EntityType.COMPANY, name="Acme", email="a@acme.example")
    other = _create(database, EntityType.COMPANY, name="Acme Ltd", email="b@acme.example", phone="+45 1")
    person = _create(database, EntityType.PERSON, first_name="Bo", company_id=other)
    with database.session() as session:
        connection_id = session.scalars(select(ErpConnection.id).where(ErpConnection.name == main_connection)).one()
        link_id = links.create_link(
            session,
            connection_id=connection_id,
            entity_type=EntityType.COMPANY,
            entity_id=other,
            actor_type=ActorType.CUSTOMER,
            erp_key="c-7",
            agreed={},
        ).id
    args = ("crm", "merge", "companies", str(acme), str(other), "--take", "email=merged")

    code, output = run_cli(*args, stdin="n\n")

    assert code == 1
    assert f"company {other} merged into company {acme}, which is kept" in output
    assert "email" in output
    assert "b@acme.example" in output
    assert "nothing merged" in output
    assert _get(database, EntityType.COMPANY, other).name == "Acme Ltd"  # nothing changed

    code, output = run_cli(*args, stdin="y\n")

    assert code == 0, output
    assert f"merged company {other} into company {acme}" in output
    assert "values taken from the merged record: phone, email" in output
    assert "persons moved: 1" in output
    assert "c-7" in output
    kept = _get(database, EntityType.COMPANY, acme)
    assert (kept.name, kept.email, kept.phone, kept.changed_by) == ("Acme", "b@acme.example", "+45 1", "system")
    assert _get(database, EntityType.PERSON, person).company_id == acme
    with database.read_session() as session:
        link = session.get(ErpLink, link_id)
        assert link is not None
        assert link.entity_id == acme
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "merge_company")).one()
        assert (audit.user_id, audit.target_id) == (None, str(acme))
    assert run_cli("crm", "merge", "companies", str(acme), str(other), "--yes")[0] == 1  # merged away already


def test_merge_persons_as_json_and_bad_input_changes_nothing(database: Database) -> None:
    ann = _create(database, EntityType.PERSON, first_name="Ann", email="ann@x.example")
    anne = _create(database, EntityType.PERSON, first_name="Anne", last_name="Berg")
    merge = ("crm", "merge", "persons", str(anne), str(ann), "--yes")

    refusals = {
        "write FIELD=merged or FIELD=survivor": run_cli(*merge, "--take", "email"),
        "colour: not a person field": run_cli(*merge, "--take", "colour=merged"),
        "no person with id 999999": run_cli("crm", "merge", "persons", str(anne), "999999", "--yes"),
        "cannot be merged with itself": run_cli("crm", "merge", "persons", str(ann), str(ann), "--yes"),
    }

    for message, (code, output) in refusals.items():
        assert (code, message in output) == (1, True), output
    assert _get(database, EntityType.PERSON, ann).first_name == "Ann"
    report = run_json(*merge, "--take", "first_name=merged", "--take", "last_name=survivor")
    assert (report["entity_type"], report["survivor_id"], report["merged_id"]) == ("person", anne, ann)
    assert (report["taken_from_other"], report["links_moved"]) == (["first_name", "email"], [])
    kept = _get(database, EntityType.PERSON, anne)
    assert (kept.first_name, kept.last_name, kept.email) == ("Ann", "Berg", "ann@x.example")
