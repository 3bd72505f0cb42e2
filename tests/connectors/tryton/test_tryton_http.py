"""The Tryton connector served over HTTP by the SDK app and called through the hub's ConnectorClient."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpsync.connectors.tryton import build_connector
from erpsync.errors import AuthError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.sdk.app import create_app
from erpsync.settings import Settings
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton import TrytonServer

pytestmark = pytest.mark.tryton
SECRET = "tryton-http-test-secret-0123456789"


def test_served_connector_creates_and_reads_customers(tryton: TrytonServer, tmp_path: Path) -> None:
    connector = build_connector(Settings(data_dir=tmp_path))
    with serve_in_thread(create_app(connector, secret=SECRET)) as url, ConnectorClient(url, SECRET) as client:
        assert client.info().name == "tryton"
        with pytest.raises(AuthError):
            client.test_config(config={**tryton.config(), "password": "wrong"})
        client.save_connection(connection_id="c1", config=tryton.config())
        actor = m.Actor(actor_type=m.ActorType.PARTNER, fields={"name": "Over HTTP", "country": "SE"})
        created = client.create_actor(connection_id="c1", actor=actor, idempotency_key="http-1").actor
        assert created is not None
        read = client.get_actors(
            connection_id="c1", actor_type="partner", erp_keys=[created.erp_key or ""], field_keys=["country"]
        )
        assert [a.fields for a in read.actors] == [{"country": "SE"}]
    connector.close()
    # the connection survives a restart of the connector: it lives in data_dir
    restarted = build_connector(Settings(data_dir=tmp_path))
    assert restarted.config("c1")["database"] == tryton.database
