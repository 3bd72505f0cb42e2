"""The hub's metrics in the Prometheus text format (``prometheus-client``).

Two kinds, so that every process's work is counted wherever it ran:

- **Events**, counted by the process that saw them: runs finished (kind, outcome), records written per direction,
  errors by scope and error code, conflicts, connector operations (latency histogram per connector, operation and
  outcome) and each connector's circuit state. With ``PROMETHEUS_MULTIPROC_DIR`` set (the same empty directory for
  the hub and its Dramatiq workers on one host) they are shared through prometheus-client's multi-process files, and
  a scrape of the hub adds up every process; without it a process reports its own.
- **State**, read from the database at scrape time (``HubState``): queued and running jobs, links by state, and the
  age of each active connection's last successful run. The database is shared, so these hold across hosts too.

Public names: the metric objects (``RUNS``, ``RECORDS``, ``ERRORS``, ``CONFLICTS``, ``CONNECTOR_SECONDS``,
``CIRCUIT_STATE``), ``CIRCUIT_STATES``, ``HubState``, ``ConnectionState``, ``exposition(state)``, ``process_ended()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

RUNS = Counter("erpsync_runs", "Sync runs finished, by kind and outcome", ["kind", "outcome"])
RECORDS = Counter("erpsync_records_written", "Records written by sync, by direction (to_crm, to_erp)", ["direction"])
ERRORS = Counter(
    "erpsync_errors", "Errors in sync runs by scope (record, run) and error code (the typed reason)", ["scope", "code"]
)
CONFLICTS = Counter("erpsync_conflicts", "Fields both sides changed, settled by the conflict policy")
CONNECTOR_SECONDS = Histogram(
    "erpsync_connector_request_seconds",
    "Connector operations (retries included), by connector, operation and outcome (ok or the error code)",
    ["connector", "operation", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CIRCUIT_STATE = Gauge(
    "erpsync_connector_circuit_state",
    "A connector's circuit breaker: 0 closed, 1 half-open (one trial call), 2 open (failing fast)",
    ["connector"],
    multiprocess_mode="livemax",  # a worker that stopped no longer reports its connectors' circuits
)
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True)
class ConnectionState:
    connection_id: int
    name: str
    last_success_age_seconds: float | None  # None: never synced successfully
    links: dict[str, int] = field(default_factory=dict)  # state -> count


@dataclass(frozen=True)
class HubState:
    jobs: dict[str, int]  # status -> count, for queued and running jobs
    connections: Sequence[ConnectionState]


class _StateCollector(Collector):
    def __init__(self, state: HubState) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "erpsync_jobs", "Import and resync jobs waiting or running, by status", labels=["status"]
        )
        for status in ("queued", "running"):
            jobs.add_metric([status], self._state.jobs.get(status, 0))
        yield jobs
        age = GaugeMetricFamily(
            "erpsync_last_successful_sync_age_seconds",
            "Seconds since an active connection's last run that ended ok (absent: never)",
            labels=["connection_id", "connection"],
        )
        links = GaugeMetricFamily(
            "erpsync_links",
            "Links per active connection, by state (ok, failing, broken, filtered)",
            labels=["connection_id", "state"],
        )
        for connection in self._state.connections:
            if connection.last_success_age_seconds is not None:
                age.add_metric([str(connection.connection_id), connection.name], connection.last_success_age_seconds)
            for state in ("ok", "failing", "broken", "filtered"):
                links.add_metric([str(connection.connection_id), state], connection.links.get(state, 0))
        yield age
        yield links


def process_ended() -> None:
    """A worker process stops: its live gauges leave the shared directory (its counters stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def exposition(state: HubState) -> tuple[bytes, str]:
    """The body and content type of a scrape: every process's event metrics, then the database's state."""
    events: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)  # type: ignore[no-untyped-call]
    database = CollectorRegistry()
    database.register(_StateCollector(state))
    return generate_latest(events) + generate_latest(database), CONTENT_TYPE_LATEST
