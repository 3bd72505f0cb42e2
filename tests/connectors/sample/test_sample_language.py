"""The sample connector answers in English or Danish as the hub asks (docs/protocol.md, *Language*), over real HTTP
through the hub's client: labels, descriptions, list item names and messages; any other language is English."""

from __future__ import annotations

import pytest

from erpsync.errors import AuthError, ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.language import speaking

CONNECTION = "conn-acme"  # the connection the fixtures save
CONFIG: m.Config = {"company": "ACME", "user": "erpsync", "password": "demo"}


def _labels(client: ConnectorClient, actor_type: str) -> dict[str, str]:
    return {f.key: f.label for f in client.actor_fields(connection_id=CONNECTION, actor_type=actor_type).fields}


def test_it_declares_english_first_then_danish(client: ConnectorClient) -> None:
    assert client.capabilities.languages == ["en", "da"]


def test_field_labels_and_descriptions_come_in_danish_when_asked(client: ConnectorClient) -> None:
    english = _labels(client, "customer")
    with speaking("da"):
        danish = _labels(client, "customer")
        config = {f.key: f for f in client.config_fields().fields}
    assert english["name"] == "Name"
    assert danish["name"] == "Navn"
    assert danish["postal_zip"] == "Postnummer"
    assert danish["country"] == "Land"
    assert english.keys() == danish.keys()
    assert config["company"].label == "ERP-firma"
    assert config["company"].description.startswith("Det firma")
    assert config["credentials_hint"].default == "Demo-ERP'ets bruger er erpsync med adgangskoden demo."


def test_list_items_are_named_in_danish_with_the_same_keys(client: ConnectorClient) -> None:
    english = client.list_items(connection_id=CONNECTION, list_name="project_status").items
    with speaking("da-DK"):  # a regional tag asks for its language
        danish = client.list_items(connection_id=CONNECTION, list_name="project_status").items
    assert [i.key for i in danish] == [i.key for i in english]
    assert {i.key: i.label for i in danish}["ACTIVE"] == "I gang"
    assert {i.key: i.label for i in english}["ACTIVE"] == "In progress"


def test_messages_come_in_danish(client: ConnectorClient) -> None:
    with speaking("da"):
        assert client.test_config(config=CONFIG).user_message == "Forbundet til eksempel-ERP'et."
        with pytest.raises(AuthError, match="ERP-systemet afviste brugernavnet"):
            client.test_config(config={**CONFIG, "password": "wrong"})
        with pytest.raises(ValidationError, match="user skal udfyldes"):
            client.test_config(config={**CONFIG, "user": ""})


def test_a_language_it_does_not_speak_is_answered_in_english_without_error(client: ConnectorClient) -> None:
    english = _labels(client, "person")
    with speaking("fr"):
        assert _labels(client, "person") == english
        assert client.test_config(config=CONFIG).user_message == "Connected to the sample ERP."
