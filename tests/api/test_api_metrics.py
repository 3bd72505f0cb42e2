"""``GET /metrics`` over real HTTP, on SQLite and PostgreSQL: after a sync run it counts the run, the connector's
operations (latency histogram) and the connection's last success; only the scraper's token or an administrator reads
it."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from erpsync.app import create_app
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.testing.server import serve_in_thread

from .conftest import Hub, Synced, ok


def _samples(answer: httpx.Response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_sync_shows_in_the_metrics(synced: Synced) -> None:
    admin, metrics = synced.admin, f"{synced.hub.url}/metrics"
    before = _samples(admin.get(metrics))
    ok(admin.patch(f"/companies/{synced.company_id}", json={"email": "new@acme.example"}))
    run = ok(synced.sync())
    assert run["status"] == "ok", run
    after = _samples(admin.get(metrics))

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("erpsync_runs_total", kind=run["kind"], outcome="ok") == 1
    assert grew("erpsync_records_written_total", direction="to_erp") >= 1
    assert grew("erpsync_connector_request_seconds_count", connector="S", operation="changes", outcome="ok") >= 1
    assert _value(after, "erpsync_connector_circuit_state", connector="S") == 0
    age = _value(
        after, "erpsync_last_successful_sync_age_seconds", connection_id=str(synced.connection_id), connection="Main"
    )
    assert 0 <= age < 60
    assert _value(after, "erpsync_links", connection_id=str(synced.connection_id), state="ok") == 1
    assert ("erpsync_jobs", (("status", "queued"),)) in after


def test_only_the_scraper_or_an_administrator_reads_the_metrics(
    hub: Hub, user: httpx.Client, anon: httpx.Client
) -> None:
    metrics = f"{hub.url}/metrics"
    assert anon.get(metrics).status_code == 401
    assert anon.get(metrics, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert user.get(metrics).status_code == 403


def test_the_scrapers_token_reads_the_metrics(database: Database, tmp_path: Path) -> None:
    token = "a-scraper-token-" + "x" * 32
    settings = Settings(data_dir=tmp_path / "data", metrics_token=token)
    with serve_in_thread(create_app(settings, database=database)) as url:
        scraped = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
        wrong = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token[:-1]}y"})
    assert ("erpsync_jobs", (("status", "running"),)) in _samples(scraped)
    assert wrong.status_code == 401
    assert token not in scraped.text
