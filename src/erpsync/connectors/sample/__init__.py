"""The sample connector: a small ERP of its own on SQLite (with demo data) and its connector, built on the SDK."""

from __future__ import annotations

import datetime as dt

from erpsync.sdk.store import SqliteConnectionStore
from erpsync.settings import Settings

from .connector import SampleConnector
from .erp import SampleErp
from .sales_seed import seed_documents
from .seed import seed_demo

ERP_FILE = "sample-erp.sqlite"
CONNECTIONS_FILE = "sample-connections.sqlite"

__all__ = ["SampleConnector", "SampleErp", "build_connector", "open_erp"]


def open_erp(settings: Settings) -> SampleErp:
    """The ERP in the data folder, created and filled with the demo data the first time."""
    erp = SampleErp(settings.data_dir / ERP_FILE)
    if erp.is_empty():
        seed_demo(erp)
    elif not erp.has_documents():  # an ERP seeded before it kept sales documents
        seed_documents(erp, today=dt.date.today())
    return erp


def build_connector(settings: Settings) -> SampleConnector:
    connections = SqliteConnectionStore(settings.data_dir / CONNECTIONS_FILE)
    return SampleConnector(open_erp(settings), connections=connections)
