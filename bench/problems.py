"""Problems grouped by cause and the alerts' check at many failing records (``python -m bench.problems``).

N failing links of one connection, spread over ``CAUSES`` causes (the biggest holding half), are written in bulk
(setup, not measured); then ``problems.connection_problems`` (the health page's groups with their examples and the
broken links) and ``alerts.notify`` (the causes compared with those told before, with no recipient to send to) are
timed, the median of several rounds each. One JSON line per measurement; the target is in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import insert

from bench.measure import median, result
from erpsync.crypto import Cipher
from erpsync.errors import ErrorCode, cause_key
from erpsync.storage.db import Database
from erpsync.storage.tables import ErpConnection, ErpLink, SyncConnector, utcnow
from erpsync.sync import alerts, problems
from erpsync.testing.db import migrated_database, postgres_database

CAUSES = 20
ROUNDS = 5
BATCH = 10_000


def _message(n: int) -> tuple[str, str]:
    """Half the records fail for cause 0, the rest spread over the others; each message names its own record."""
    cause = 0 if n % 2 == 0 else 1 + n % (CAUSES - 1)
    field = "field_" + chr(ord("a") + cause)  # no digit: the field names the cause, the rest is normalised away
    return ErrorCode.VALIDATION.value, f"{field} of customer {n} refused value 'V{n}'"


def _fill(database: Database, n: int) -> int:
    with database.session() as session:
        connector = SyncConnector(name="bench", url="http://127.0.0.1:1", secret_encrypted="x")
        session.add(connector)
        session.flush()
        connection = ErpConnection(uuid="bench", name="Bench", connector_id=connector.id)
        session.add(connection)
        session.flush()
        connection_id = connection.id
    now = utcnow()
    for start in range(0, n, BATCH):
        rows: list[dict[str, Any]] = []
        for i in range(start, min(n, start + BATCH)):
            code, message = _message(i)
            rows.append(
                {
                    "connection_id": connection_id,
                    "entity_type": "company",
                    "entity_id": i,
                    "actor_type": "customer",
                    "erp_key": f"C{i}",
                    "agreed_json": {},
                    "state": "failing",
                    "last_error": message,
                    "error_reason": code,
                    "error_cause": cause_key(code, message),
                    "failing_since": now,
                    "last_error_at": now,
                    "attempts": 5,
                    "created_at": now,
                }
            )
        with database.session() as session:
            session.execute(insert(ErpLink), rows)
    return connection_id


def _timed(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(database: Database, n: int, label: str) -> list[dict[str, Any]]:
    connection_id = _fill(database, n)
    cipher = Cipher(Fernet.generate_key())

    def groups() -> None:
        with database.read_session() as session:
            found = problems.connection_problems(session, connection_id, user=None)
        if sum(group.records for group in found.groups) != n or len(found.groups) != CAUSES:
            raise RuntimeError(f"grouped {len(found.groups)} causes over the wrong number of records")

    grouping = [_timed(groups) for _ in range(ROUNDS)]
    first_check = _timed(lambda: alerts.notify(database, cipher, connection_id))  # opens the 20 causes
    checks = [_timed(lambda: alerts.notify(database, cipher, connection_id)) for _ in range(ROUNDS)]
    return [
        result("problem_groups", n, median(grouping), database=label, causes=CAUSES, rounds=ROUNDS),
        result("alerts_check", n, median(checks), database=label, first_check_seconds=round(first_check, 4)),
    ]


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[Database]:
    if kind == "sqlite":
        database = migrated_database(f"sqlite:///{folder / 'bench.sqlite'}")
        try:
            yield database
        finally:
            database.dispose()
        return
    with postgres_database() as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000", help="numbers of failing records, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    args = parser.parse_args(argv)
    for kind in args.databases.split(","):
        for n in (int(size) for size in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as folder, _database(kind, Path(folder)) as database:
                for row in measure(database, n, kind):
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
