"""The Tryton connector answers in the languages its Tryton database translates (the fixture loads German), with
Tryton's own strings, and in English for any other language; the hub caches the labels per language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from erpsync.connectors.tryton import TrytonConnector, build_connector
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.language import speaking
from erpsync.sdk.app import create_app
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.settings import Settings
from erpsync.sync.connections import fetch_metadata
from erpsync.sync.metadata_languages import localized, stored
from erpsync.testing.server import serve_in_thread
from erpsync.testing.tryton import COUNTRIES, GERMAN_COUNTRIES, TrytonServer

from .conftest import CONNECTION

pytestmark = pytest.mark.tryton
SECRET = "tryton-languages-test-secret-0123456789"
T = m.ActorType


def tryton_strings(server: TrytonServer, model: str, language: str) -> dict[str, Any]:
    """Tryton's own strings of a model's fields in ``language``, as its client would show them."""
    with server.rpc() as rpc:
        answer: dict[str, Any] = rpc.model(model, "fields_get", None, context={"language": language})
    return {name: about["string"] for name, about in answer.items()}


def labels(connector: TrytonConnector, actor_type: T, language: str | None) -> dict[str, str]:
    with speaking(language):
        fields = connector.actor_fields(m.ActorTypeRequest(connection_id=CONNECTION, actor_type=actor_type)).fields
    return {field.key: field.label for field in fields}


def countries(connector: TrytonConnector, language: str | None) -> list[tuple[str, str]]:
    with speaking(language):
        answer = connector.list_items(m.ListItemsRequest(connection_id=CONNECTION, list_name="countries"))
    return [(item.key, item.label) for item in answer.items]


def test_info_declares_the_languages_the_tryton_database_translates(connector: TrytonConnector, tmp_path: Path) -> None:
    assert connector.info().capabilities.languages == ["en", "da", "de"]  # saving the connection opened its session
    restarted = TrytonConnector(connections=SqliteConnectionStore(tmp_path / "connections.sqlite"))
    try:
        assert restarted.info().capabilities.languages == ["en", "da"]  # no session yet: its own texts only
        restarted.actor_types(m.ConnectionRequest(connection_id=CONNECTION))
        assert restarted.info().capabilities.languages == ["en", "da", "de"]
    finally:
        restarted.close()
    connector.delete_connection(m.ConnectionRequest(connection_id=CONNECTION))
    assert connector.info().capabilities.languages == ["en", "da"]


def test_german_labels_are_trytons_own_strings(connector: TrytonConnector, tryton: TrytonServer) -> None:
    party, address = tryton_strings(tryton, "party.party", "de"), tryton_strings(tryton, "party.address", "de")
    english = labels(connector, T.CUSTOMER, None)
    german = labels(connector, T.CUSTOMER, "de")
    assert german["name"] == party["name"]
    assert german["code"] == party["code"] != english["code"]  # "Code Partei"
    assert german["street"] == f"{address['street']} ({address['invoice']})" == "Anschrift (Rechnung)"
    assert german["category"] == party["categories"] == "Kategorien"
    assert german["registration_number"] == english["registration_number"] == "Registration number"  # no counterpart
    assert german["delivery_country"] == f"{address['country']} ({address['delivery']})" == "Land (Lieferadresse)"
    assert labels(connector, T.PROJECT, "de-AT")["status"] == tryton_strings(tryton, "project.work", "de")["status"]


def test_english_and_an_untranslated_language_keep_the_connectors_own_labels(connector: TrytonConnector) -> None:
    english = labels(connector, T.CUSTOMER, None)
    assert english["street"] == "Street (invoice address)"
    assert english["tax_identifier"] == "Tax identifier (VAT)"
    assert labels(connector, T.CUSTOMER, "en") == english
    assert labels(connector, T.CUSTOMER, "da") == english  # Tryton ships no Danish and this database has none
    assert labels(connector, T.CUSTOMER, "fr") == english  # shipped, but not loaded in this database


def test_list_items_are_named_in_the_asked_language_in_the_same_order(connector: TrytonConnector) -> None:
    english = countries(connector, None)
    assert english == sorted(COUNTRIES, key=lambda country: country[1])
    german = countries(connector, "de")
    assert german == [(code, GERMAN_COUNTRIES[code]) for code, _name in english]
    assert countries(connector, "da") == english
    with speaking("de"):
        languages = connector.list_items(m.ListItemsRequest(connection_id=CONNECTION, list_name="languages")).items
    assert {item.key: item.label for item in languages}["de"] == "Deutsch"


def test_the_hub_caches_german_labels_and_reads_danish_in_english(tryton: TrytonServer, tmp_path: Path) -> None:
    connector = build_connector(Settings(data_dir=tmp_path))
    with serve_in_thread(create_app(connector, secret=SECRET)) as url, ConnectorClient(url, SECRET) as client:
        assert client.info().capabilities.languages == ["en", "da"]  # before any connection: its own texts only
        client.save_connection(connection_id="c1", config=tryton.config())
        metadata = fetch_metadata(client, "c1")
        assert client.capabilities.languages == ["en", "da", "de"]  # read again with the connection's labels
        rows = {item["key"]: item for item in stored(metadata.fields[T.CUSTOMER], metadata.labels[T.CUSTOMER])}
        party = tryton_strings(tryton, "party.party", "de")
        assert localized(rows["code"], "de").label == party["code"]
        assert localized(rows["code"], "da").label == "Code"
        assert localized(rows["code"], None).label == "Code"
        with speaking("de"):
            german = client.list_items(connection_id="c1", list_name="countries").items
        with speaking("da"):
            danish = client.list_items(connection_id="c1", list_name="countries").items
        assert {item.key: item.label for item in german}["DK"] == "Dänemark"
        assert {item.key: item.label for item in danish}["DK"] == "Denmark"
    connector.close()


def test_trytons_refusals_come_in_the_asked_language(connector: TrytonConnector) -> None:
    def refusal(language: str | None, key: str) -> str:
        actor = m.Actor(actor_type=T.CUSTOMER, fields={"name": "Bad VAT ApS", "tax_identifier": "DK12345"})
        request = m.CreateActorRequest(connection_id=CONNECTION, actor=actor, idempotency_key=key)
        with speaking(language), pytest.raises(ValidationError) as refused:
            connector.create_actor(request)
        return refused.value.user_message

    assert "is not valid" in refusal(None, "bad-vat-en")
    assert "ist ungültig" in refusal("de", "bad-vat-de")  # Tryton's own German message
    assert "is not valid" in refusal("da", "bad-vat-da")
    created = connector.create_actor(
        m.CreateActorRequest(
            connection_id=CONNECTION, actor=m.Actor(actor_type=T.CUSTOMER, fields={"name": "Gut"}), idempotency_key="ok"
        )
    )
    bad = created.actor.model_copy(update={"fields": {"tax_identifier": "DK12345"}, "last_modified": None})
    with speaking("de"):
        answer = connector.save_actors(m.SaveActorsRequest(connection_id=CONNECTION, actors=[bad]))
    assert [error.message for error in answer.errors if "ungültig" in error.message], answer.errors
