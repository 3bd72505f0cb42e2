"""The actor's parent on the wire: absent keeps it, both null clear it (docs/protocol.md "Actors and values")."""

from __future__ import annotations

import json

from erpsync.protocol import models as m


def test_an_actor_without_a_parent_given_sends_no_parent_members() -> None:
    actor = m.Actor(actor_type=m.ActorType.PERSON, erp_key="P1", last_modified="2026-01-01T00:00:00Z", fields={})
    sent = json.loads(m.SaveActorsRequest(connection_id="c", actors=[actor]).model_dump_json())["actors"][0]
    assert "parent_type" not in sent
    assert "parent_key" not in sent
    assert sent["last_modified"] == "2026-01-01T00:00:00Z"


def test_a_parent_cleared_is_sent_as_nulls_and_read_as_given() -> None:
    cleared = m.Actor(actor_type=m.ActorType.PERSON, erp_key="P1", parent_type=None, parent_key=None)
    sent = json.loads(cleared.model_dump_json())
    assert (sent["parent_type"], sent["parent_key"]) == (None, None)
    assert m.Actor.model_validate_json(json.dumps(sent)).parent_given


def test_a_parent_absent_on_the_wire_is_not_given() -> None:
    read = m.Actor.model_validate_json('{"actor_type": "person", "erp_key": "P1", "fields": {"name": "Kari"}}')
    assert not read.parent_given
    assert read.parent_key is None
    moved = m.Actor.model_validate_json('{"actor_type": "person", "parent_type": "customer", "parent_key": "C1"}')
    assert moved.parent_given
    assert json.loads(moved.model_dump_json())["parent_key"] == "C1"
