"""An import's pages read ahead by a process of its own (``protocol.pages``): the pages it gives are the pages, and
whatever it fails at (the connector forgetting the connection, the process dying, a refused signature) the hub meets
by fetching that page itself, as it does without the reader; the process never outlives the job."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from erpsync.connectors.sample.erp import NewRecord
from erpsync.protocol.client import ClientSpec
from erpsync.protocol.models import ActorType
from erpsync.protocol.pages import PageReader, ReaderFailed, ReadPage, ReadSpec
from erpsync.storage.tables import ErpConnection, ErpLink, SyncJob
from erpsync.sync import imports
from erpsync.sync.connections import client_for
from erpsync.sync.imports import paging
from erpsync.testing.sample import COMPANY
from support.sync_world import World

CUSTOMER = ActorType.CUSTOMER
COUNT = 40
PAGE = 4  # ten pages: the reader holds some ahead while the hub stores one


@pytest.fixture
def readers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[PageReader]]:
    """Every reader a job opens (a spy around the real class), on small pages."""
    opened: list[PageReader] = []

    class Spied(PageReader):
        def __init__(self, spec: ReadSpec) -> None:
            super().__init__(spec)
            opened.append(self)

        def ready(self, wait: float = 0) -> bool:  # the job is too short to wait for otherwise
            return super().ready(wait=30)

    monkeypatch.setattr(paging, "PageReader", Spied)
    monkeypatch.setattr(paging, "PAGE_SIZE", PAGE)
    yield opened
    for reader in opened:  # what a job left running would show here
        assert reader._process.poll() is not None, "a reader process outlived its job"


def customers(world: World) -> list[str]:
    records = [NewRecord(values={"name": f"Customer {n:03d}"}) for n in range(COUNT)]
    return world.sample.erp.insert_many(COMPANY, CUSTOMER, records)


def imported(world: World) -> set[str]:
    with world.database.read_session() as session:
        return set(session.scalars(select(ErpLink.erp_key).where(ErpLink.actor_type == CUSTOMER.value)))


def import_all(world: World) -> SyncJob:
    job = imports.start_import(world.engine, world.connection_id, CUSTOMER)
    done = imports.run_import(world.engine, job.id)
    assert done is not None
    return done


def connection_uuid(world: World) -> str:
    with world.database.read_session() as session:
        return str(session.scalars(select(ErpConnection.uuid)).one())


def test_the_pages_come_from_the_reader_and_are_imported_once_each(
    world: World, readers: list[PageReader], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = customers(world)
    given: list[str | None] = []
    shaped: list[list[str | None]] = []
    real_result = PageReader.result

    def counted(reader: PageReader) -> ReadPage:
        given.append(reader.cursor)
        page = real_result(reader)
        # Each actor's translation and match keys come with it, computed by the reader (``sync.crossings``).
        shaped.append([sent[0] if sent else None for sent in page.shaped])
        assert shaped[-1] == [actor["erp_key"] for actor in page.document["actors"]]
        return page

    monkeypatch.setattr(PageReader, "result", counted)
    done = import_all(world)
    assert (done.status, done.created, done.total) == ("done", COUNT, COUNT)
    assert imported(world) == set(keys)
    assert len(readers) == 1
    assert len(given) >= 2, "no page came from the reader"
    assert len(given) == len(set(given)), "a page was given twice"
    assert sum(map(len, shaped)) >= PAGE


def before_each_start(monkeypatch: pytest.MonkeyPatch, action: Callable[[PageReader], None]) -> None:
    """``action`` on the reader just before the job tells it where to start."""
    real_start = PageReader.start

    def start(reader: PageReader, cursor: str | None) -> None:
        action(reader)
        real_start(reader, cursor)

    monkeypatch.setattr(PageReader, "start", start)


def import_every_key(world: World, keys: list[str], caplog: pytest.LogCaptureFixture) -> list[str]:
    """Import every customer, check each of ``keys`` was imported once, and give the pager's warnings."""
    with caplog.at_level(logging.WARNING, logger="erpsync.sync.imports.paging"):
        done = import_all(world)
    assert (done.status, done.created) == ("done", COUNT)
    assert imported(world) == set(keys)
    return [record.getMessage() for record in caplog.records]


def test_a_connection_the_connector_forgot_is_sent_again_by_the_hub_and_the_import_goes_on(
    world: World, readers: list[PageReader], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    keys = customers(world)
    uuid = connection_uuid(world)
    # The connector restarted without its connections.
    before_each_start(monkeypatch, lambda reader: world.sample.connector.connections.delete(uuid))
    warnings = import_every_key(world, keys, caplog)
    assert any("fetches its pages itself" in warning for warning in warnings), "the reader never failed"
    assert world.sample.connector.connections.get(uuid) is not None  # sent again by the hub's own client


def test_a_reader_that_dies_leaves_the_import_to_the_hub(
    world: World, readers: list[PageReader], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    keys = customers(world)

    def killed(reader: PageReader) -> None:  # as the out-of-memory killer would
        reader._process.kill()
        reader._process.wait()

    before_each_start(monkeypatch, killed)
    warnings = import_every_key(world, keys, caplog)
    assert any("the reader process ended" in warning for warning in warnings)


def test_a_read_of_one_page_starts_no_reader(world: World, readers: list[PageReader]) -> None:
    world.sample.erp.insert_many(COMPANY, CUSTOMER, [NewRecord(values={"name": "Only"})])
    done = import_all(world)
    assert (done.status, done.created) == ("done", 1)
    assert readers == []


def spec_of(world: World, secret: str | None = None) -> ReadSpec:
    with world.database.read_session() as session:
        connection = session.scalars(select(ErpConnection)).one()
        client_spec = client_for(world.clients, connection).spec()
    assert client_spec is not None
    if secret is not None:
        client_spec = ClientSpec(
            client_spec.base_url, secret, client_spec.timeout, 0, client_spec.backoff, client_spec.info
        )
    members = {"connection_id": connection.uuid, "actor_type": CUSTOMER, "since": None, "field_keys": ["name"]}
    return ReadSpec(client_spec, "changes", {**members, "limit": 10})


def test_the_reader_gives_every_page_in_order_and_keeps_the_secret_out_of_sight(world: World) -> None:
    keys = customers(world)
    spec = spec_of(world)
    assert spec.client.secret not in repr(spec)
    reader = PageReader(spec)
    try:
        reader.start(None)
        read: list[str] = []
        while True:
            page = reader.result()
            read += [actor["erp_key"] for actor in page.document["actors"]]
            assert page.shaped is None  # asked for no shape
            if reader.cursor is None:
                break
        assert set(read) == set(keys)
        assert len(read) == len(set(read)) == COUNT
    finally:
        reader.close()
    assert reader._process.poll() is not None


def test_a_refused_signature_is_the_readers_failure_named(world: World) -> None:
    reader = PageReader(spec_of(world, secret="not-the-secret"))
    try:
        reader.start(None)
        with pytest.raises(ReaderFailed, match="AuthError"):
            reader.result()
    finally:
        reader.close()
