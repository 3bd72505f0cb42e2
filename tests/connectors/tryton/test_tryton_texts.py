"""The Tryton connector's own texts (its config fields, the names of its role rules and its messages) come in Danish
when the hub asks for Danish, and in English otherwise; no Tryton server is needed to ask for them, as before a
connection exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.connectors.tryton import TrytonConnector, fields
from erpsync.connectors.tryton.roles import ROLE_RULES, RULE_LABELS
from erpsync.connectors.tryton.texts import DANISH
from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.protocol.language import speaking
from erpsync.sdk.store import SqliteConnectionStore
from erpsync.testing.server import free_port


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[TrytonConnector]:
    connector = TrytonConnector(connections=SqliteConnectionStore(tmp_path / "connections.sqlite"))
    yield connector
    connector.close()


def _config(connector: TrytonConnector, language: str | None) -> dict[str, m.FieldMeta]:
    with speaking(language):
        return {field.key: field for field in connector.config_fields().fields}


def _refusal(connector: TrytonConnector, language: str | None, config: m.Config) -> str:
    with speaking(language), pytest.raises(ValidationError) as refused:
        connector.test_config(m.TestConfigRequest(config=config))
    return refused.value.user_message


def test_it_declares_danish_beside_english_before_any_connection(connector: TrytonConnector) -> None:
    assert connector.info().capabilities.languages == ["en", "da"]


def test_the_config_fields_and_the_role_rules_come_in_danish_with_the_same_keys(connector: TrytonConnector) -> None:
    english, danish = _config(connector, None), _config(connector, "da-DK")
    assert danish.keys() == english.keys()
    assert (english["url"].label, danish["url"].label) == ("Tryton server URL", "Tryton-serverens URL")
    assert danish["customers"].description == "Hvilke parter der er kunder"
    assert [meta.model_copy(update={"label": "", "description": ""}) for meta in danish.values()] == [
        meta.model_copy(update={"label": "", "description": ""}) for meta in english.values()
    ], "only the texts differ"
    assert _config(connector, "fr") == english
    for language in (None, "da"):
        with speaking(language):
            rules = connector.list_items(m.ListItemsRequest(connection_id="none-yet", list_name=ROLE_RULES)).items
        assert {item.key: item.label for item in rules}["all"] == ("Alle parter" if language else "Every party")


def test_the_messages_of_a_test_connection_come_in_danish(connector: TrytonConnector) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config: m.Config = {"url": closed, "database": "erp", "user": "admin", "password": "secret"}
    assert _refusal(connector, None, config) == f"{closed} does not answer as a Tryton server: check the server URL"
    assert _refusal(connector, "da", config) == f"{closed} svarer ikke som en Tryton-server: kontrollér serverens URL"
    assert _refusal(connector, "da", {**config, "url": ""}) == "Tryton-forbindelsen skal have en url"


def test_every_danish_text_names_the_same_values_as_its_english_one() -> None:
    def names(text: str) -> set[str]:
        return {part.split("}")[0] for part in text.split("{")[1:]}

    assert {english: names(english) for english in DANISH} == {english: names(DANISH[english]) for english in DANISH}


def test_every_config_text_and_role_rule_has_its_danish() -> None:
    metas = fields.config_fields()
    texts = {meta.label for meta in metas} | {meta.description for meta in metas if meta.description}
    assert (texts | set(RULE_LABELS.values())) - DANISH.keys() == set()
