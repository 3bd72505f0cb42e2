"""The engine under faults: a connector failing mid-page, bad credentials, a crash between create intent and link."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from erpsync.crm.fields import EntityType
from erpsync.protocol.models import Actor
from erpsync.sdk.app import create_app
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, SyncConnector, SyncEvent, SyncRun
from erpsync.sync import creates
from erpsync.sync.connections import client_for
from erpsync.testing.sample import COMPANY
from erpsync.testing.server import serve_in_thread
from support.sync_world import CUSTOMER, World, build_world

Receive = Any
Send = Any


class FailingChanges:
    """An ASGI app in front of the connector that answers every ``changes`` call from the ``fail_from``-th on with
    an error, until healed: a connector that breaks down in the middle of a paged pull."""

    def __init__(self, app: Any, *, fail_from: int) -> None:
        self.app = app
        self.fail_from = fail_from
        self.calls = 0
        self.healed = False

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/v1/changes"):
            self.calls += 1
            if self.calls >= self.fail_from and not self.healed:
                await self._fail(send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _fail(send: Send) -> None:
        body = json.dumps({"ok": False, "state": "error", "error_code": "connector", "user_message": "ERP crashed"})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})


@pytest.fixture
def small_pages(database: Database, tmp_path: Path) -> Iterator[World]:
    yield from build_world(database, tmp_path, page_size=2)


def _route_through(world: World, url: str) -> None:
    with world.database.session() as session:
        session.execute(update(SyncConnector).values(url=url))


def test_a_connector_failing_mid_pull_resumes_without_loss_or_duplicates(small_pages: World) -> None:
    world = small_pages
    pairs = [world.linked_pair(email=f"{n}@acme.example") for n in range(5)]
    before = world.count(SyncEvent)
    for n, (_, erp_key, _) in enumerate(pairs):
        world.erp_update(erp_key, email=f"{n}@new.example")
    failing = FailingChanges(create_app(world.sample.connector, secret=world.sample.secret), fail_from=2)
    with serve_in_thread(failing) as url:
        _route_through(world, url)
        [broken] = world.cycle()
        assert broken.status == "partial"
        assert "ERP crashed" in (broken.error or "")
        synced = [
            n
            for n, (company_id, _, _) in enumerate(pairs)
            if world.crm_values(company_id)["EMAIL"].endswith("new.example")
        ]
        assert synced == [0, 1]  # the first page only
        failing.healed = True
        [resumed] = world.cycle()
    assert resumed.status == "ok"
    assert [world.crm_values(company_id)["EMAIL"] for company_id, _, _ in pairs] == [
        f"{n}@new.example" for n in range(5)
    ]
    with world.database.read_session() as session:
        events = session.scalars(select(SyncEvent.link_id).where(SyncEvent.id > before)).all()
    assert sorted(events) == sorted(link_id for _, _, link_id in pairs)  # each record written once


def test_refused_credentials_fail_the_run_with_reason_auth(small_pages: World) -> None:
    world = small_pages
    world.linked_pair(email="a@acme.example")
    world.sample.erp.set_password("erpsync", "changed on the ERP side")
    [summary] = world.cycle()
    assert summary.status == "failed"
    with world.database.read_session() as session:
        run = session.get(SyncRun, summary.run_id)
        assert run is not None
        assert run.error_reason == "auth"


def test_a_create_retried_after_a_crash_reuses_the_actor(small_pages: World) -> None:
    world = small_pages
    company_id = world.crm_company()
    actor = Actor(actor_type=CUSTOMER, fields={"name": "Acme"})
    intent = creates.record_intent(
        world.database,
        connection_id=world.connection_id,
        entity_type=EntityType.COMPANY,
        entity_id=company_id,
        actor=actor,
    )
    with world.database.read_session() as session:
        connection = session.get(ErpConnection, world.connection_id)
        assert connection is not None
        client = client_for(world.clients, connection)
    # The call reaches the ERP, then the hub dies before it stores the link.
    first = client.create_actor(connection_id=connection.uuid, actor=actor, idempotency_key=intent.idempotency_key)
    created = creates.create_actor(
        world.database,
        world.clients,
        connection_id=world.connection_id,
        entity_type=EntityType.COMPANY,
        entity_id=company_id,
        actor=actor,
        agreed={"name": "Acme"},
    )
    assert first.actor is not None
    assert created.erp_key == first.actor.erp_key
    assert world.sample.erp.count(CUSTOMER, COMPANY) == 1
    assert world.get_link(created.link_id).entity_id == company_id
