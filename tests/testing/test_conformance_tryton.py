"""The Tryton connector passes the conformance kit against a real trytond: one test per rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erpsync.connectors.tryton import TrytonConnector
from erpsync.protocol import models as m
from erpsync.sdk.app import create_app
from erpsync.testing.conformance import RULES, ConformanceHooks, ConformanceTarget, conformance_tests
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
            hooks = ConformanceHooks(delete_actor=lambda actor_type, key: deactivate_in_tryton(server, actor_type, key))
            yield ConformanceTarget(url, SECRET, server.config(), hooks)
        connector.close()


# Known failures, tracked here (strict: the test fails once they pass, so this list must shrink), not hidden:
# - text `between` compares case-sensitively: Tryton's domains cannot lower-case a column;
# - the kit creates projects with progress 1.5, which Tryton refuses (its progress is 0..1), and field metadata
#   has no way to state a range.
KNOWN_FAILURES = {"search_operators": "text between is case-sensitive in Tryton; kit's progress 1.5 is out of range"}
_check_rule = conformance_tests()


@pytest.mark.parametrize(
    "rule_id",
    [
        pytest.param(rule.id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[rule.id]))
        if rule.id in KNOWN_FAILURES
        else rule.id
        for rule in RULES
    ],
)
def test_tryton_connector_conforms(rule_id: str, request: pytest.FixtureRequest) -> None:
    _check_rule(rule_id, request)
