"""The sample connector running over real loopback HTTP, for the hub's tests and the demo.

``running_sample(folder)`` yields a ``RunningSample``: its URL, shared secret, the ERP behind it (to make changes "from
the ERP side") and the config of a working connection.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from erpsync.connectors.sample import SampleConnector, SampleErp
from erpsync.connectors.sample.seed import DEMO_PASSWORD, DEMO_USER, seed_demo
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.testing.server import serve_in_thread

COMPANY = "NORDIC"
FAST_PASSWORD_ITERATIONS = 1_000  # the hash's cost is not what tests measure


@dataclass
class RunningSample:
    url: str
    secret: str
    erp: SampleErp
    connector: SampleConnector
    config: dict[str, m.Value] = field(
        default_factory=lambda: {"company": COMPANY, "user": DEMO_USER, "password": DEMO_PASSWORD}
    )


def minimal_seed(erp: SampleErp) -> None:
    """The demo user and one ERP company with no records: tests add exactly the records they need."""
    erp.add_user(DEMO_USER, DEMO_PASSWORD, iterations=FAST_PASSWORD_ITERATIONS)
    erp.add_company(COMPANY, "Nordic Trading A/S")


@contextmanager
def running_sample(folder: Path, *, demo_data: bool = False) -> Iterator[RunningSample]:
    """The sample connector with a fresh ERP in ``folder``, served on a free loopback port until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    erp = SampleErp(folder / "sample-erp.sqlite")
    if demo_data:
        seed_demo(erp)
    else:
        minimal_seed(erp)
    connector = SampleConnector(erp, connections=SqliteConnectionStore(folder / "sample-connections.sqlite"))
    secret = secrets.token_urlsafe(24)
    try:
        with serve_in_thread(create_app(connector, secret=secret)) as url:
            yield RunningSample(url=url, secret=secret, erp=erp, connector=connector)
    finally:
        erp.close()
