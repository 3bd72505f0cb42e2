"""Run in a separate process by the kill tests: one sync cycle, or one create in the ERP, then exit.

Usage: ``python fault_child.py DATABASE_URL CIPHER_KEY cycle``, ``... create COMPANY_ID CONNECTION_ID`` or
``... record LINK_ID`` (*Sync now* of one record).
Prints ``ready`` once imported and connected, so the parent can time its ``kill -9`` from the work's start.
"""

from __future__ import annotations

import sys

from erpsync.crm.fields import EntityType
from erpsync.crypto import Cipher
from erpsync.protocol.models import Actor, ActorType
from erpsync.storage.db import Database
from erpsync.sync import creates
from erpsync.sync.connections import hub_clients
from erpsync.sync.engine import run_cycle, sync_link
from erpsync.sync.work import Engine


def main(url: str, key: str, mode: str, *ids: str) -> None:
    database = Database(url)
    clients = hub_clients(database, Cipher(key.encode()), timeout=1.0)
    print("ready", flush=True)
    if mode == "cycle":
        run_cycle(Engine(database, clients))
    elif mode == "record":
        sync_link(Engine(database, clients), int(ids[0]))
    else:
        company_id, connection_id = int(ids[0]), int(ids[1])
        creates.create_actor(
            database,
            clients,
            connection_id=connection_id,
            entity_type=EntityType.COMPANY,
            entity_id=company_id,
            actor=Actor(actor_type=ActorType.CUSTOMER, fields={"name": "Newco"}),
            agreed={"name": "Newco"},
        )
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
