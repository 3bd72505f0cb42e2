"""Every operation of protocol v1, from the hub's client through real HTTP to an SDK connector and back."""

from __future__ import annotations

import pytest
from sdk_dict_erp import CONNECTION_ID, GOOD_CONFIG, SECRET, DictErp

from erpsync.errors import AuthError, ErrorCode, UnknownConnectionError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.document_calls import DocumentCalls

CUSTOMER = m.ActorType.CUSTOMER
PERSON = m.ActorType.PERSON


@pytest.fixture
def nordic(erp: DictErp) -> DictErp:
    erp.add(CUSTOMER, "C1", name="Fjord Fisk AS", country="NO")
    erp.add(CUSTOMER, "C2", name="Dansk Design ApS", country="DK")
    erp.add(CUSTOMER, "C3", name="Fjällräv AB", country="SE")
    erp.add(PERSON, "P1", parent_key="C1", name="Kari Nordmann")
    return erp


def test_client_has_one_method_per_operation() -> None:
    def typed(operation: str) -> bool:
        return any(callable(getattr(calls, operation, None)) for calls in (ConnectorClient, DocumentCalls))

    assert all(typed(operation) for operation in m.OPERATIONS)


def test_info_describes_the_connector(client: ConnectorClient) -> None:
    info = client.info()
    assert (info.name, info.version, info.protocol_version) == ("dict-erp", "1.2.3", "1")
    # The app declares the signing it verifies (v2), whatever the connector's class says.
    assert info.capabilities == DictErp.capabilities.model_copy(update={"signing": ["2"]})


def test_info_is_fetched_once(client: ConnectorClient, erp: DictErp) -> None:
    client.actor_types(connection_id=CONNECTION_ID)
    client.actor_types(connection_id=CONNECTION_ID)
    assert client.info().name == "dict-erp"
    assert erp.calls["actor_types"] == 2


def test_config_fields_and_test_config(client: ConnectorClient) -> None:
    assert [field.key for field in client.config_fields().fields] == ["user", "password"]
    answer = client.test_config(config=GOOD_CONFIG)
    assert (answer.ok, answer.state, answer.user_message) == (True, m.State.OK_WITH_INFO, "logged in")
    with pytest.raises(AuthError, match="wrong user or password"):
        client.test_config(config={"user": "admin", "password": "nope"})


def test_connection_lifecycle(client: ConnectorClient, erp: DictErp) -> None:
    client.save_connection(connection_id="new-connection", config=GOOD_CONFIG)
    assert erp.connections.get("new-connection") == GOOD_CONFIG
    assert client.test_connection(connection_id="new-connection").ok
    client.delete_connection(connection_id="new-connection")
    assert erp.connections.get("new-connection") is None


def test_save_connection_with_bad_credentials_stores_nothing(client: ConnectorClient, erp: DictErp) -> None:
    with pytest.raises(AuthError):
        client.save_connection(connection_id="bad", config={"user": "admin", "password": "nope"})
    assert erp.connections.get("bad") is None


def test_actor_types_fields_and_searchable_fields(client: ConnectorClient) -> None:
    assert client.actor_types(connection_id=CONNECTION_ID).actor_types == [CUSTOMER, PERSON]
    fields = client.actor_fields(connection_id=CONNECTION_ID, actor_type=CUSTOMER).fields
    assert [(f.key, f.type, f.access) for f in fields] == [
        ("name", m.FieldType.TEXT, m.Access.MANDATORY),
        ("country", m.FieldType.LIST, m.Access.NORMAL),
    ]
    assert client.searchable_fields(connection_id=CONNECTION_ID, actor_type="customer").field_keys == [
        "name",
        "country",
    ]


def test_get_actors_reports_missing_keys(client: ConnectorClient, nordic: DictErp) -> None:
    answer = client.get_actors(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_keys=["C2", "X9"], field_keys=[])
    assert [actor.erp_key for actor in answer.actors] == ["C2"]
    assert answer.actors[0].fields == {"name": "Dansk Design ApS", "country": "DK"}
    assert answer.not_found == ["X9"]


def test_searches(client: ConnectorClient, nordic: DictErp) -> None:
    simple = client.search_actors(connection_id=CONNECTION_ID, actor_type=CUSTOMER, text="fj", field_keys=["name"])
    assert sorted(actor.erp_key for actor in simple.actors) == ["C1", "C3"]
    children = client.search_by_parent(
        connection_id=CONNECTION_ID, actor_type=PERSON, parent_type=CUSTOMER, parent_key="C1", field_keys=[]
    )
    assert [(actor.erp_key, actor.parent_key) for actor in children.actors] == [("P1", "C1")]
    advanced = client.search_advanced(
        connection_id=CONNECTION_ID,
        actor_type=CUSTOMER,
        restrictions=[m.Restriction(field="country", operator=m.Operator.ONE_OF, values=["dk", "se"])],
        field_keys=[],
    )
    assert sorted(actor.erp_key for actor in advanced.actors) == ["C2", "C3"]


def test_list_items(client: ConnectorClient) -> None:
    everything = client.list_items(connection_id=CONNECTION_ID, list_name="country")
    assert [(item.key, item.label) for item in everything.items] == [
        ("NO", "Norway"),
        ("DK", "Denmark"),
        ("SE", "Sweden"),
    ]
    assert [
        item.key for item in client.list_items(connection_id=CONNECTION_ID, list_name="country", keys=["SE"]).items
    ] == ["SE"]


def test_create_actor_is_idempotent(client: ConnectorClient, erp: DictErp) -> None:
    actor = m.Actor(actor_type=CUSTOMER, fields={"name": "Ny Kunde AS", "country": "NO"})
    first = client.create_actor(connection_id=CONNECTION_ID, actor=actor, idempotency_key="intent-1")
    again = client.create_actor(connection_id=CONNECTION_ID, actor=actor, idempotency_key="intent-1")
    assert first.actor is not None
    assert first.actor.erp_key is not None
    assert again.actor == first.actor
    assert len(erp.actors) == 1


def test_iter_changes_follows_cursors(client: ConnectorClient, nordic: DictErp) -> None:
    nordic.add(CUSTOMER, "C4", name="Suomi Oy", country="FI")
    since = nordic.actors["C2"].last_modified
    nordic.remove("C1")
    pages = list(client.iter_changes(connection_id=CONNECTION_ID, actor_type=CUSTOMER, since=since, field_keys=[]))
    assert [[actor.erp_key for actor in page.actors] for page in pages] == [["C2", "C3"], ["C4"]]
    assert [page.next_cursor is None for page in pages] == [False, True]
    assert pages[-1].deleted == ["C1"]
    assert pages[-1].next_since is not None
    assert nordic.calls["changes"] == 2


def test_unknown_connection_is_resent_then_retried(client: ConnectorClient, erp: DictErp, resent: list[str]) -> None:
    erp.connections.delete(CONNECTION_ID)
    assert client.actor_types(connection_id=CONNECTION_ID).actor_types == [CUSTOMER, PERSON]
    assert resent == [CONNECTION_ID]
    assert erp.connections.get(CONNECTION_ID) == GOOD_CONFIG
    assert erp.calls["actor_types"] == 2


def test_unknown_connection_is_retried_only_once(client: ConnectorClient, erp: DictErp, resent: list[str]) -> None:
    erp.failures["actor_types"] = [UnknownConnectionError("forgot"), UnknownConnectionError("forgot again")]
    with pytest.raises(UnknownConnectionError, match="forgot again"):
        client.actor_types(connection_id=CONNECTION_ID)
    assert resent == [CONNECTION_ID]


def test_unknown_connection_without_callback_raises(connector_url: str, erp: DictErp) -> None:
    erp.connections.delete(CONNECTION_ID)
    with ConnectorClient(connector_url, SECRET) as client, pytest.raises(UnknownConnectionError) as caught:
        client.actor_types(connection_id=CONNECTION_ID)
    assert caught.value.code == ErrorCode.UNKNOWN_CONNECTION
