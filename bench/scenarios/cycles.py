"""What the cycle scenarios share: the engine on the site's hub, and the rows a cycle wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bench.world import Site
from erpsync.crm.changes import current_watermark
from erpsync.storage.tables import ErpLink, utcnow
from erpsync.sync.work import Engine


@contextmanager
def site_engine(site: Site) -> Iterator[Engine]:
    database = site.database()
    clients = site.clients(database)
    try:
        yield Engine(database, clients)
    finally:
        clients.close()
        database.dispose()


@dataclass(frozen=True)
class Writes:
    """Where a cycle could have written: the CRM change sequence, the links, the connector's ``save_actors``."""

    crm_seq: int
    links_synced_since: datetime
    save_actors_calls: int

    @classmethod
    def now(cls, engine: Engine, site: Site) -> Writes:
        with engine.database.read_session() as session:
            seq = current_watermark(session)
        return cls(seq, utcnow(), site.calls().get("save_actors", 0))

    def since(self, engine: Engine, site: Site) -> dict[str, int]:
        """What was written after this snapshot."""
        after = Writes.now(engine, site)
        with engine.database.read_session() as session:
            links = session.scalar(
                select(func.count()).select_from(ErpLink).where(ErpLink.last_sync_at >= self.links_synced_since)
            )
        return {
            "crm_changes": after.crm_seq - self.crm_seq,
            "links_updated": int(links or 0),
            "save_actors_calls": after.save_actors_calls - self.save_actors_calls,
        }
