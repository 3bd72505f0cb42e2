"""The ``language`` member (docs/protocol.md, *Language*): sent only to a connector that declares languages, read by
the SDK into ``erpsync.sdk.language.asked()`` for every operation (``config_fields`` too), refused when malformed."""

from __future__ import annotations

import json

import httpx
import pytest

from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.protocol.language import best_match, speaking
from erpsync.protocol.signing import signed_headers_v2
from erpsync.sdk.app import create_app
from erpsync.sdk.connector import Connector
from erpsync.sdk.language import Translations, asked
from erpsync.testing.server import serve_in_thread

SECRET = "language-test-secret-0123456789"


class _Monolingual(Connector):
    """Declares no languages, so it refuses a ``language`` member like any unknown one."""

    def config_fields(self) -> m.FieldsResponse:
        return m.FieldsResponse(fields=[m.FieldMeta(key="url", label="URL", type=m.FieldType.TEXT)])


_TEXTS = Translations("en", {"da": {"Server": "Server-adresse"}})


class _Bilingual(Connector):
    capabilities = m.Capabilities(languages=_TEXTS.languages)

    def config_fields(self) -> m.FieldsResponse:
        label = _TEXTS.text("Server")
        return m.FieldsResponse(fields=[m.FieldMeta(key="url", label=label, description=asked() or "-", type="text")])


def test_a_request_carries_language_only_when_one_is_given() -> None:
    assert "language" not in json.loads(m.ConnectionRequest(connection_id="c").model_dump_json())
    tagged = m.ConnectionRequest(connection_id="c", language="da")
    assert json.loads(tagged.model_dump_json()) == {"connection_id": "c", "language": "da"}


def test_the_hub_sends_no_language_to_a_connector_that_declares_none() -> None:
    with (
        serve_in_thread(create_app(_Monolingual(), secret=SECRET)) as url,
        ConnectorClient(url, SECRET, max_retries=0) as client,
        speaking("da"),
    ):
        assert [f.label for f in client.config_fields().fields] == ["URL"]


def test_a_connector_that_declares_languages_answers_in_the_asked_one() -> None:
    with (
        serve_in_thread(create_app(_Bilingual(), secret=SECRET)) as url,
        ConnectorClient(url, SECRET, max_retries=0) as client,
    ):
        assert client.capabilities.languages == ["en", "da"]
        default = client.config_fields().fields[0]
        with speaking("da"):
            danish = client.config_fields().fields[0]
        with speaking("sv"):
            swedish = client.config_fields().fields[0]
    assert (default.label, default.description) == ("Server", "-")
    assert (danish.label, danish.description) == ("Server-adresse", "da")
    assert (swedish.label, swedish.description) == ("Server", "sv")  # not spoken: the default, no error


@pytest.mark.parametrize("tag", ["", "d", "da_DK", "da dk", "x" * 40, "da-"])
def test_a_malformed_language_is_refused_with_422(tag: str) -> None:
    body = json.dumps({"language": tag}).encode()
    with serve_in_thread(create_app(_Bilingual(), secret=SECRET)) as url:
        headers = {"Content-Type": "application/json", **signed_headers_v2(SECRET, body, path="/v1/config_fields")}
        response = httpx.post(f"{url}/v1/config_fields", content=body, headers=headers)
    assert response.status_code == 422
    assert "language" in response.json()["user_message"]


def test_best_match_takes_the_tag_then_its_primary_language() -> None:
    assert best_match("da-DK", ["en", "da"]) == "da"
    assert best_match("EN", ["en-GB", "da"]) == "en-GB"
    assert best_match("nb", ["en", "da"]) is None
    assert best_match(None, ["en"]) is None
