"""`erpsync worker` processes on Redis: an import survives `kill -9` of its worker and a Redis restart with every actor
imported exactly once, two workers on PostgreSQL never run one connection twice at once while serving them all, a
scrape of the hub's metrics adds up what both workers did, and two workers sync live: an ERP edit and a CRM save made
by another process each reach the other side without a scheduled cycle."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from erpsync.app import create_app
from erpsync.connectors.sample.erp import NewRecord
from erpsync.connectors.sample.fields import ORGANISATION
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record, read_record, write_record
from erpsync.crypto import cipher_for
from erpsync.protocol.models import ActorType
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.storage.tables import Company, ErpLink, SyncConnector, SyncRun
from erpsync.sync import configuration, imports, jobs, links, live
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import ConnectorClients, add_connector
from erpsync.sync.engine_settings import EngineSettings, save_engine_settings
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.sync.work import Engine
from erpsync.testing.db import migrated_database, postgres_database
from erpsync.testing.sample import COMPANY, RunningSample, running_sample
from erpsync.testing.server import serve_in_thread
from erpsync.testing.services import REDIS_URL, ensure_redis_running, stop_redis, unique_namespace
from erpsync.worker import DramatiqDispatcher, build_broker, dispatch_job

CUSTOMER = ActorType.CUSTOMER
ERPSYNC = Path(sys.executable).parent / "erpsync"
WAIT = 90.0


@dataclass
class Hub:
    database: Database
    settings: Settings
    clients: ConnectorClients
    sample: RunningSample
    namespace: str

    @property
    def engine(self) -> Engine:
        return Engine(self.database, self.clients)

    def add_connection(self, name: str, *, page_size: int = 200) -> int:
        mapping = ActorTypeMapping(
            actor_type=CUSTOMER,
            active=True,
            fields=(
                FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),
                FieldMapping(erp_field="email", crm_field="EMAIL", direction=Direction.BOTH),
            ),
        )
        with self.database.session() as session:
            connector = session.scalar(select(SyncConnector))
            if connector is None:
                connector = add_connector(
                    session, self.clients, name="Sample", url=self.sample.url, secret=self.sample.secret
                )
            config = {**self.sample.config, "page_size": page_size}
            connection = create_connection(
                session, self.clients, ConnectionDraft(name=name, connector_id=connector.id, config=config)
            )
            configuration.save_mapping(session, connection, mapping, erp_lists={})
            connection.active = True
            return connection.id

    @contextmanager
    def worker(self, *extra: str, live: bool = False) -> Iterator[subprocess.Popen[bytes]]:
        env = {
            **os.environ,
            "ERPSYNC_DATA_DIR": str(self.settings.data_dir),
            "ERPSYNC_DATABASE_URL": self.database.url,
            "ERPSYNC_REDIS_URL": REDIS_URL,
            "ERPSYNC_LIVE_SYNC": "true" if live else "false",
        }
        options = ["--namespace", self.namespace, "--lease-seconds", "2", "--poll-seconds", "0.2"]
        command = [str(ERPSYNC), "worker", *options, "--redeliver-seconds", "1", *extra]
        log = (self.settings.data_dir / f"worker-{time.monotonic_ns()}.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            log.close()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def job(self, job_id: int) -> jobs.SyncJob:
        return jobs.read_job(self.database, job_id)

    def count(self, query: object) -> int:
        with self.database.read_session() as session:
            return int(session.scalar(query) or 0)  # type: ignore[call-overload]


@contextmanager
def hub_on(url: str, tmp_path: Path) -> Iterator[Hub]:
    ensure_redis_running()
    settings = Settings(data_dir=tmp_path / "data", database_url=url, redis_url=REDIS_URL)
    database = migrated_database(url)
    clients = hub_clients(database, cipher_for(settings), timeout=10)
    with ExitStack() as stack:
        sample = stack.enter_context(running_sample(tmp_path / "sample"))
        stack.callback(database.dispose)
        stack.callback(clients.close)
        yield Hub(database, settings, clients, sample, unique_namespace())


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def seed_customers(hub: Hub, count: int) -> None:
    records = [NewRecord(values={"name": f"Customer {n:05d}", "email": f"c{n}@example.com"}) for n in range(count)]
    hub.sample.erp.insert_many(COMPANY, CUSTOMER, records)


def assert_each_actor_once(hub: Hub, count: int) -> None:
    assert hub.count(select(func.count()).select_from(Company)) == count
    assert hub.count(select(func.count(func.distinct(Company.name)))) == count
    assert hub.count(select(func.count()).select_from(ErpLink)) == count
    assert hub.count(select(func.count(func.distinct(ErpLink.entity_id)))) == count


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[Hub]:
    with hub_on(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path) as hub:
        yield hub


def test_an_import_survives_kill_9_of_its_worker(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    seed_customers(hub, 3000)
    connection_id = hub.add_connection("Main", page_size=50)
    with hub.database.session() as session:
        save_engine_settings(session, EngineSettings(running=False, interval_seconds=300))
    job_id = imports.start_import(hub.engine, connection_id, CUSTOMER).id
    with hub.worker() as first:
        wait_for(lambda: hub.job(job_id).processed >= 500, "the import to get going")
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed = hub.job(job_id)
    assert killed.status == "running"
    assert killed.processed < 3000
    with hub.worker():
        wait_for(lambda: hub.job(job_id).status == "done", "the import to resume and end")
    done = hub.job(job_id)
    assert (done.processed, done.created, done.linked, done.skipped) == (3000, 3000, 0, 0)
    assert_each_actor_once(hub, 3000)
    with hub.database.read_session() as session:
        statuses = sorted(r.status for r in session.scalars(select(SyncRun).where(SyncRun.kind == "import")))
    assert statuses == ["failed", "ok"]  # the killed attempt, closed when the next one began


def test_an_import_sent_while_redis_restarts_still_runs_once(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    seed_customers(hub, 1500)
    connection_id = hub.add_connection("Main", page_size=50)
    with hub.database.session() as session:
        save_engine_settings(session, EngineSettings(running=False, interval_seconds=300))
    dispatcher = DramatiqDispatcher(build_broker(REDIS_URL, namespace=hub.namespace))
    try:
        with hub.worker():
            job_id = imports.start_import(hub.engine, connection_id, CUSTOMER).id
            dispatch_job(hub.database, dispatcher, job_id)
            wait_for(lambda: hub.job(job_id).processed > 0, "the import to start")
            stop_redis()  # every queued message is lost with it
            ensure_redis_running()
            wait_for(lambda: hub.job(job_id).status == "done", "the import to end")
            again = imports.start_import(hub.engine, connection_id, CUSTOMER).id
            stop_redis()
            dispatch_job(hub.database, dispatcher, again)  # Redis down: the scheduler sends it once it is back
            ensure_redis_running()
            wait_for(lambda: hub.job(again).status == "done", "the second import to end")
    finally:
        ensure_redis_running()
        dispatcher.broker.close()
    assert (hub.job(again).created, hub.job(again).linked) == (0, 1500)
    assert_each_actor_once(hub, 1500)


def test_two_workers_on_postgres_never_run_a_connection_twice_at_once(tmp_path: Path) -> None:
    with postgres_database() as url, hub_on(url, tmp_path) as hub:
        seed_customers(hub, 20)
        connection_ids = [hub.add_connection(f"Connection {n}") for n in range(4)]
        with hub.database.session() as session:
            save_engine_settings(session, EngineSettings(running=True, interval_seconds=1))
        with hub.worker("--threads", "3"), hub.worker("--threads", "3"):
            wait_for(lambda: _runs_each(hub, connection_ids) >= 6, "every connection to be served several times")
        with hub.database.read_session() as session:
            rows = session.scalars(select(SyncRun).where(SyncRun.kind == "cycle").order_by(SyncRun.started_at)).all()
        for connection_id in connection_ids:
            intervals = [(r.started_at, r.finished_at) for r in rows if r.connection_id == connection_id]
            assert all(end is not None for _, end in intervals), "a run was left open"
            for (_, end), (start, _) in itertools.pairwise(intervals):
                assert end is not None
                assert end <= start, f"connection {connection_id} ran twice at once"


def _runs_each(hub: Hub, connection_ids: list[int]) -> int:
    with hub.database.read_session() as session:
        counts = dict(
            session.execute(
                select(SyncRun.connection_id, func.count())
                .where(SyncRun.kind == "cycle", SyncRun.finished_at.is_not(None))
                .group_by(SyncRun.connection_id)
            ).all()
        )
    return min(counts.get(connection_id, 0) for connection_id in connection_ids)


def test_a_scrape_of_the_hub_adds_up_the_work_of_two_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))  # the workers and the hub's scrape share it
    with postgres_database() as url, hub_on(url, tmp_path) as hub:
        seed_customers(hub, 5)
        connection_ids = [hub.add_connection(f"Connection {n}") for n in range(2)]
        with hub.database.session() as session:
            save_engine_settings(session, EngineSettings(running=True, interval_seconds=1))
        with hub.worker("--threads", "2"), hub.worker("--threads", "2"):
            wait_for(lambda: _runs_each(hub, connection_ids) >= 2, "each connection to be synced twice")
        token = "a-scraper-token-" + "s" * 32
        settings = hub.settings.model_copy(update={"metrics_token": token})
        with serve_in_thread(create_app(settings, database=hub.database)) as hub_url:
            scrape = httpx.get(f"{hub_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        with hub.database.read_session() as session:
            ok_cycles = session.scalar(
                select(func.count()).select_from(SyncRun).where(SyncRun.kind == "cycle", SyncRun.status == "ok")
            )
    assert scrape.status_code == 200, scrape.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    assert samples[("erpsync_runs_total", (("kind", "cycle"), ("outcome", "ok")))] == ok_cycles
    changes = (("connector", "Sample"), ("operation", "changes"), ("outcome", "ok"))
    assert samples[("erpsync_connector_request_seconds_count", changes)] >= ok_cycles
    for connection_id in connection_ids:
        age = [
            value
            for (name, labels), value in samples.items()
            if name == "erpsync_last_successful_sync_age_seconds" and ("connection_id", str(connection_id)) in labels
        ]
        assert len(age) == 1
        assert age[0] >= 0
    writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(writers) >= 2, f"counted by one process only: {sorted(writers)}"


def test_two_workers_on_postgres_sync_live_both_ways(tmp_path: Path) -> None:
    with postgres_database() as url, hub_on(url, tmp_path) as hub:
        connection_id = hub.add_connection("Main")
        erp_key = hub.sample.erp.create_actor(COMPANY, CUSTOMER, NewRecord(values={"name": "Live", "email": "a@x.dk"}))
        with hub.database.session() as session:
            save_engine_settings(session, EngineSettings(running=True, interval_seconds=3600))
            company_id = create_record(session, EntityType.COMPANY, {"NAME": "Live", "EMAIL": "a@x.dk"}, changed_by="t")
            links.create_link(
                session,
                connection_id=connection_id,
                entity_type=EntityType.COMPANY,
                entity_id=company_id.id,
                actor_type=CUSTOMER,
                erp_key=erp_key,
                agreed={"name": "Live", "email": "a@x.dk"},
            )
        with hub.worker(live=True), hub.worker(live=True):
            wait_for(lambda: _live(hub, connection_id), "the connection to go live")
            with hub.database.session() as session:  # this process runs no live sync: NOTIFY tells the workers
                write_record(session, EntityType.COMPANY, company_id.id, {"EMAIL": "crm@x.dk"}, changed_by="user:1")
            wait_for(lambda: _erp_email(hub, erp_key) == "crm@x.dk", "the CRM save to reach the ERP", timeout=15)
            hub.sample.erp.update_actor(COMPANY, CUSTOMER, erp_key, {"email": "erp@x.dk"})
            wait_for(lambda: _crm_email(hub, company_id.id) == "erp@x.dk", "the ERP edit to reach the CRM", timeout=15)
        with hub.database.read_session() as session:
            kinds = set(session.scalars(select(SyncRun.kind).where(SyncRun.connection_id == connection_id)))
        assert "live" in kinds


def _live(hub: Hub, connection_id: int) -> bool:
    with hub.database.read_session() as session:
        return connection_id in live.live_connection_ids(session)


def _erp_email(hub: Hub, erp_key: str) -> object:
    return hub.sample.erp.fetch(COMPANY, CUSTOMER, [erp_key], list(ORGANISATION.fields))[erp_key].fields.get("email")


def _crm_email(hub: Hub, company_id: int) -> object:
    with hub.database.read_session() as session:
        return read_record(session, EntityType.COMPANY, company_id).values.get("EMAIL")
