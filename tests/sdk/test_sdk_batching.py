"""The client splits get_actors and save_actors into the connector's declared batch sizes and merges the answers."""

from __future__ import annotations

from sdk_dict_erp import CONNECTION_ID, DictErp

from erpsync.errors import ErrorCode
from erpsync.protocol import models as m
from erpsync.protocol.client import ConnectorClient

CUSTOMER = m.ActorType.CUSTOMER


def test_get_actors_is_split_and_merged(client: ConnectorClient, erp: DictErp) -> None:
    for number in range(1, 6):
        erp.add(CUSTOMER, f"C{number}", name=f"Kunde {number}")
    keys = ["C5", "C1", "missing-1", "C3", "C2", "missing-2", "C4"]
    answer = client.get_actors(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_keys=keys, field_keys=["name"])
    assert erp.calls["get_actors"] == 4  # seven keys in batches of two
    assert [actor.erp_key for actor in answer.actors] == ["C5", "C1", "C3", "C2", "C4"]
    assert answer.not_found == ["missing-1", "missing-2"]


def test_get_actors_without_keys_asks_nothing(client: ConnectorClient, erp: DictErp) -> None:
    answer = client.get_actors(connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_keys=[], field_keys=[])
    assert (answer.actors, answer.not_found, erp.calls["get_actors"]) == ([], [], 0)


def test_save_actors_error_indexes_refer_to_the_callers_list(client: ConnectorClient, erp: DictErp) -> None:
    for number in range(1, 4):
        erp.add(CUSTOMER, f"C{number}", name=f"Kunde {number}")
    actors = [
        m.Actor(actor_type=CUSTOMER, erp_key="C1", fields={"name": "Ny 1"}),
        m.Actor(actor_type=CUSTOMER, erp_key="C2", fields={"name": "Ny 2"}),
        m.Actor(actor_type=CUSTOMER, erp_key="C3", fields={"name": ""}),
        m.Actor(actor_type=CUSTOMER, erp_key="gone", fields={"name": "Ny 4"}),
        m.Actor(actor_type=CUSTOMER, erp_key="C2", fields={"name": "Ny 2 igen"}),
    ]
    answer = client.save_actors(connection_id=CONNECTION_ID, actors=actors)
    assert erp.calls["save_actors"] == 3
    assert [(error.index, error.erp_key, error.error_code) for error in answer.errors] == [
        (2, "C3", ErrorCode.VALIDATION),
        (3, "gone", ErrorCode.NOT_FOUND),
    ]
    assert [(actor.erp_key, actor.fields["name"]) for actor in answer.actors] == [
        ("C1", "Ny 1"),
        ("C2", "Ny 2"),
        ("C2", "Ny 2 igen"),
    ]
    assert erp.actors["C3"].fields["name"] == "Kunde 3"


def test_batches_keep_the_most_severe_state(client: ConnectorClient, erp: DictErp) -> None:
    original = erp.get_actors

    def warn_about_c3(request: m.GetActorsRequest) -> m.GetActorsResponse:
        answer = original(request)
        if "C3" in request.erp_keys:
            return answer.model_copy(update={"state": m.State.WARNING, "user_message": "C3 is archived"})
        return answer

    erp.get_actors = warn_about_c3  # type: ignore[method-assign]
    for number in range(1, 4):
        erp.add(CUSTOMER, f"C{number}", name=f"Kunde {number}")
    answer = client.get_actors(
        connection_id=CONNECTION_ID, actor_type=CUSTOMER, erp_keys=["C1", "C2", "C3"], field_keys=[]
    )
    assert (answer.state, answer.user_message, len(answer.actors)) == (m.State.WARNING, "C3 is archived", 3)
