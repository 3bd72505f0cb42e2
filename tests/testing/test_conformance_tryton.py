"""The Tryton connector passes the conformance kit against a real trytond: one test per rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.testing.conformance import ConformanceHooks, ConformanceTarget, conformance_tests
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton import TrytonServer, cache_dir, ensure_template, ensure_venv, tryton_server

pytestmark = pytest.mark.tryton
SECRET = "tryton-conformance-secret-0123456789"


def deactivate_in_tryton(server: TrytonServer, actor_type: m.ActorType, erp_key: str) -> None:
    """What "deleted in the ERP" means in Tryton: a party is deactivated, a project (which cannot be) deleted."""
    with server.rpc() as rpc:
        if actor_type == m.ActorType.PROJECT:
            rpc.model("project.work", "delete", [int(erp_key)])
        else:
            rpc.write("party.party", [int(erp_key)], {"active": False})


def fit_tryton_rules(actor_type: m.ActorType, values: dict[str, m.Value]) -> dict[str, m.Value]:
    """Tryton refuses a project in a closing status below 100% progress: the kit's projects all stay complete."""
    if actor_type == m.ActorType.PROJECT and "progress" in values:
        return {**values, "progress": 1.0}
    return values


@pytest.fixture(scope="module")
def conformance_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConformanceTarget]:
    """One trytond and one served connector for the module: each rule's run works on records it creates itself."""
    cache = cache_dir()
    bin_dir = ensure_venv(cache)
    workdir = tmp_path_factory.mktemp("tryton-conformance")
    with tryton_server(bin_dir=bin_dir, template=ensure_template(cache, bin_dir), workdir=workdir) as server:
        with server.rpc() as rpc:  # a database in use has party categories; the kit wants items in every list
            rpc.create("party.category", [{"name": "Retail"}, {"name": "Wholesale"}])
        connector = TrytonConnector()
        with serve_in_thread(create_app(connector, secret=SECRET)) as url:
            hooks = ConformanceHooks(
                delete_actor=lambda actor_type, key: deactivate_in_tryton(server, actor_type, key),
                adjust_sample=fit_tryton_rules,
            )
            yield ConformanceTarget(url, SECRET, server.config(), hooks)
        connector.close()


test_tryton_connector_conforms = conformance_tests()
