"""Protocol fuzzing of what the UI shows: hypothesis-generated answers to ``actor_fields``, ``list_items`` and
``test_config`` (field metadata, list items, messages; hostile text with quotes, angle brackets, ``javascript:`` URLs,
RTL and zero-width characters; wrong types and missing members), served over real HTTP. The hub's client either
returns a typed answer or raises a typed error; a typed answer rendered into the ERP value input (with a validation
error, the path of a stored XSS once) never yields markup the template did not write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from erpsync.errors import ErpsyncError
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient
from erpsync.testing.server import serve_in_thread
from erpsync.web.i18n import Translator
from erpsync.web.pages import templates

SECRET = "fuzz-metadata-secret-long-enough-0123456789"
INFO = {"ok": True, "state": "ok", "name": "fuzzed", "version": "1", "capabilities": {}}  # the client asks first
Json = Any
PIECES = [*"\"'<>=&/ :;()\u202e\u200b\u2066abc", "javascript:", " onfocus=", " autofocus", "<script>", "&#34;"]
hostile_text = st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=20)
json_values = st.none() | st.booleans() | st.integers() | hostile_text | st.lists(hostile_text, max_size=2)
field_types = st.sampled_from([t.value for t in m.FieldType]) | json_values


def field_meta() -> st.SearchStrategy[Json]:
    required = {"key": hostile_text | json_values, "label": hostile_text, "type": field_types}
    optional = {
        "description": hostile_text | json_values,
        "list_name": hostile_text | json_values,
        "max_length": st.integers(-1, 300) | json_values,
        "access": st.sampled_from([a.value for a in m.Access]) | json_values,
    }
    return st.fixed_dictionaries(required, optional=optional) | json_values


def answers(member: str, values: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    envelope = {"ok": st.just(True) | json_values, "state": st.sampled_from(["ok", "ok_with_info"]) | json_values}
    return st.fixed_dictionaries(envelope, optional={member: values}) | json_values


fields_answers = answers("fields", st.lists(field_meta(), max_size=4) | json_values)
items_answers = answers(
    "items", st.lists(st.fixed_dictionaries({"key": hostile_text, "label": hostile_text}), max_size=3) | json_values
)
message_answers = answers("user_message", hostile_text | json_values)


class Scripted:
    """Answers each operation with its scripted JSON."""

    def __init__(self) -> None:
        self.answers: dict[str, Json] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps(self.answers.get(scope["path"].rsplit("/", 1)[-1])).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"input", "select", "option"}:
            self.problems.append(tag)
        self.problems += [name for name, _ in attrs if name.startswith("on") or name in {"autofocus", "style"}]


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, ConnectorClient]]:
    answering = Scripted()
    with serve_in_thread(answering) as url, ConnectorClient(url, SECRET, max_retries=0) as client:
        yield answering, client


def _render_inputs(fields: m.FieldsResponse, items: list[m.ListItem]) -> str:
    template = templates.env.get_template("sync/value_input.html")
    return "".join(
        template.render(
            field=meta, id=f"default-{meta.key}", value=meta.label, error="form.required", required=True,
            list_items={meta.list_name: items}, t=Translator("en"),
        )
        for meta in fields.fields
    )  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=fields_answers, items=items_answers, message=message_answers)
@example(  # a field key that closes the attribute it lands in
    fields={
        "ok": True,
        "state": "ok",
        "fields": [{"key": 'k" autofocus onfocus="alert(1)', "label": "K", "type": "text"}],
    },
    items={"ok": True, "state": "ok", "items": []},
    message={"ok": True, "state": "ok", "user_message": "<script>alert(2)</script>"},
)
def test_field_metadata_list_items_and_messages_are_typed_and_never_markup(
    scripted: tuple[Scripted, ConnectorClient], fields: Json, items: Json, message: Json
) -> None:
    answering, client = scripted
    answering.answers = {"info": INFO, "actor_fields": fields, "list_items": items, "test_config": message}
    try:
        metadata = client.actor_fields(connection_id="c", actor_type=m.ActorType.CUSTOMER)
        listed = client.list_items(connection_id="c", list_name="l").items
        said = client.test_config(config={}).user_message
    except ErpsyncError:
        return  # a typed refusal of a malformed answer
    assert isinstance(said, str | None)
    parser = Markup()
    parser.feed(_render_inputs(metadata, listed))
    assert parser.problems == []
