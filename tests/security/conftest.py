"""A hub over real HTTP (SQLite) with the sample connector, one active connection visible to one group only, and the
five callers of the access matrix: anonymous, user without licence, user outside the group, user inside, admin."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from erpsync import accounts
from erpsync.app import create_app
from erpsync.crm.fields import EntityType
from erpsync.crm.service import create_record
from erpsync.crypto import cipher_for
from erpsync.protocol.models import ActorType
from erpsync.settings import Settings
from erpsync.storage.db import Database
from erpsync.sync import configuration
from erpsync.sync.connection_visibility import Visibility
from erpsync.sync.connections import ConnectionDraft, create_connection, hub_clients
from erpsync.sync.connectors import add_connector
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping
from erpsync.sync.merge import Direction
from erpsync.testing.db import sqlite_template
from erpsync.testing.sample import RunningSample, running_sample
from erpsync.testing.server import serve_in_thread

__all__ = ["sqlite_template", "world"]

PASSWORD = "a good password"
ROLES = ("anonymous", "no_licence", "outside", "inside", "admin")
NAME_MAPPING = ActorTypeMapping(
    actor_type=ActorType.CUSTOMER,
    active=True,
    fields=(FieldMapping(erp_field="name", crm_field="NAME", direction=Direction.BOTH),),
)


@dataclass
class SecurityWorld:
    url: str
    database: Database
    sample: RunningSample
    settings: Settings
    tokens: dict[str, str]
    ids: dict[str, int]

    def client(self, role: str) -> httpx.Client:
        token = self.tokens.get(role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)


def _users(database: Database) -> tuple[dict[str, int], int]:
    with database.session() as session:
        made = {
            "no_licence": accounts.create_user(session, login="no_licence", password=PASSWORD),
            "outside": accounts.create_user(session, login="outside", password=PASSWORD, licences=["erp"]),
            "inside": accounts.create_user(session, login="inside", password=PASSWORD, licences=["erp"]),
            "admin": accounts.create_user(session, login="admin", password=PASSWORD, is_admin=True, licences=["erp"]),
            "victim_user": accounts.create_user(session, login="victim", password=PASSWORD),
        }
        group = accounts.create_group(session, name="Sales", member_ids=[made["inside"].id])
        return {role: user.id for role, user in made.items()}, group.id


def _connection(database: Database, settings: Settings, sample: RunningSample, group_id: int) -> dict[str, int]:
    clients = hub_clients(database, cipher_for(settings))
    try:
        with database.session() as session:
            connector = add_connector(session, clients, name="Sample", url=sample.url, secret=sample.secret)
            ids = {"connector": connector.id}
            for name in ("main", "victim"):
                visibility = Visibility(everyone=False, groups=(group_id,))
                draft = ConnectionDraft(
                    name=name, connector_id=connector.id, config=sample.config, visibility=visibility
                )
                connection = create_connection(session, clients, draft)
                configuration.save_mapping(session, connection, NAME_MAPPING, erp_lists={})
                connection.active = True
                ids[name] = connection.id
            for name in ("company", "victim_company"):
                ids[name] = create_record(session, EntityType.COMPANY, {"NAME": "Acme"}, changed_by="user:1").id
            return ids
    finally:
        clients.close()


def _token(url: str, login: str) -> str:
    response = httpx.post(f"{url}/api/v1/auth/token", data={"username": login, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path) -> Iterator[SecurityWorld]:
    path = tmp_path / "erpsync.sqlite"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    # The access and CSRF matrices sign in many times from this one address; the limits have their own tests.
    settings = Settings(data_dir=tmp_path / "data", secret_key=Fernet.generate_key().decode(), login_limit="600/minute")
    user_ids, group_id = _users(database)
    with running_sample(tmp_path / "sample") as sample:
        ids = {**user_ids, "group": group_id, **_connection(database, settings, sample, group_id)}
        with serve_in_thread(create_app(settings, database=database)) as url:
            tokens = {role: _token(url, role) for role in ROLES if role != "anonymous"}
            yield SecurityWorld(url, database, sample, settings, tokens, ids)
    database.dispose()
