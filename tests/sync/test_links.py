"""The binder's rules: one actor per connection for an entity, the actor type fits the entity, persons under their
linked company, failures retried with backoff then parked, health counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.errors import ConflictError, ErrorCode, ValidationError
from erpsync.protocol.models import ActorType
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncConnector, utcnow
from erpsync.sync import links


def _connection(database: Database) -> int:
    with database.session() as session:
        connector = SyncConnector(name="c", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        connection = ErpConnection(uuid="u-1", name="Main", connector_id=connector.id)
        session.add(connection)
        session.flush()
        return connection.id


def _link(
    db: Database, connection_id: int, entity_type: EntityType, entity_id: int, actor_type: ActorType, key: str
) -> int:
    with db.session() as session:
        return links.create_link(
            session,
            connection_id=connection_id,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_type=actor_type,
            erp_key=key,
        ).id


def _company(database: Database) -> int:
    with database.session() as session:
        return create_record(session, EntityType.COMPANY, {"NAME": "Acme"}, changed_by="user:1").id


def test_a_company_links_to_one_actor_per_connection(database: Database) -> None:
    connection_id, company_id, other_id = _connection(database), _company(database), _company(database)
    _link(database, connection_id, EntityType.COMPANY, company_id, ActorType.CUSTOMER, "1")
    with pytest.raises(ConflictError, match="linked in this connection already"):
        _link(database, connection_id, EntityType.COMPANY, company_id, ActorType.SUPPLIER, "2")
    with pytest.raises(ConflictError, match="linked to another"):
        _link(database, connection_id, EntityType.COMPANY, other_id, ActorType.CUSTOMER, "1")
    with pytest.raises(ValidationError, match="cannot link"):
        _link(database, connection_id, EntityType.COMPANY, other_id, ActorType.PROJECT, "3")


def test_a_person_links_only_under_its_linked_company(database: Database) -> None:
    connection_id, company_id = _connection(database), _company(database)
    with database.session() as session:
        person_id = create_record(
            session, EntityType.PERSON, {"LASTNAME": "Olsen"}, changed_by="user:1", company_id=company_id
        ).id
    with pytest.raises(ValidationError, match="link the person's company first"):
        _link(database, connection_id, EntityType.PERSON, person_id, ActorType.PERSON, "P1")
    _link(database, connection_id, EntityType.COMPANY, company_id, ActorType.CUSTOMER, "1")
    _link(database, connection_id, EntityType.PERSON, person_id, ActorType.PERSON, "P1")


def test_transient_failures_back_off_then_park_and_retry_unparks(database: Database) -> None:
    connection_id, company_id = _connection(database), _company(database)
    link_id = _link(database, connection_id, EntityType.COMPANY, company_id, ActorType.CUSTOMER, "1")
    now = utcnow()
    with database.session() as session:
        link = links.get_link(session, link_id)
        links.mark_failed(link, ErrorCode.TRANSIENT, "timeout", now=now)
        assert link.next_attempt_at == now + timedelta(seconds=30)
        assert links.due_for_retry(session, connection_id, now) == []
        assert links.due_for_retry(session, connection_id, now + timedelta(minutes=1)) == [link]
        for _ in range(links.MAX_ATTEMPTS - 1):
            links.mark_failed(link, ErrorCode.TRANSIENT, "timeout", now=now)
        assert (link.state, link.next_attempt_at) == ("failing", None)
        links.schedule_retry(link, now=now)
        assert links.due_for_retry(session, connection_id, now) == [link]
        counts = links.link_counts(session, connection_id)
    assert (counts.in_sync, counts.failing, counts.broken) == (0, 1, 0)


def test_a_validation_failure_is_parked_at_once(database: Database) -> None:
    connection_id, company_id = _connection(database), _company(database)
    link_id = _link(database, connection_id, EntityType.COMPANY, company_id, ActorType.CUSTOMER, "1")
    with database.session() as session:
        link = links.get_link(session, link_id)
        links.mark_failed(link, ErrorCode.VALIDATION, "name too long", now=utcnow())
        assert (link.state, link.next_attempt_at, link.error_reason) == ("failing", None, "validation")
