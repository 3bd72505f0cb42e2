"""What an import computes of each actor on its own (``sync.crossings``): the page reader's process computes it from
the page's document with the job's mapping sent to it, and it is exactly what the hub computes itself; whatever the
reader sent that does not fit the page (another length, another key, an actor it could not read) is computed by
the hub instead, and the verdicts are the same either way."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest

from erpsync.protocol import models as m
from erpsync.protocol import pages
from erpsync.sync.crossings import Crossed, Crossings
from erpsync.sync.imports.classification import Classifier
from erpsync.sync.mapping.models import FilterRestriction
from erpsync.sync.matching import CrmIndex
from erpsync.sync.work import active_connection, pass_of
from support.sync_world import CUSTOMER, World

ACTORS: list[dict[str, Any]] = [
    {"actor_type": "customer", "erp_key": "1", "fields": {"name": "Acme A/S", "country": "DK", "email": "A@Acme.dk"}},
    {"actor_type": "customer", "erp_key": "2", "fields": {"name": "  ", "country": "FI", "phone": "+45 1234"}},
    {"actor_type": "customer", "erp_key": "3", "fields": {"name": "Nordic Oy", "country": "SE", "number": "42"}},
    {"actor_type": "customer", "erp_key": "4", "fields": {"name": ["not", "a", "value"]}},  # no valid actor
]


def classifier(world: World) -> Classifier:
    with world.database.read_session() as session:
        p = pass_of(world.engine, session, active_connection(session, world.connection_id), CUSTOMER)
    assert p is not None
    return Classifier(p, CrmIndex(p.entity_type))


def in_another_process(crossings: Crossings) -> Crossings:
    """What the reader's process makes of the crossings the hub sends it."""
    return pickle.loads(pickle.dumps(crossings))


def test_what_the_reader_computes_of_a_page_is_what_the_hub_computes(world: World) -> None:
    crossings = classifier(world).crossings
    valid = [m.Actor.model_validate(raw) for raw in ACTORS[:3]]
    sent = in_another_process(crossings)({"actors": ACTORS})
    assert sent[3] is None  # the hub meets the invalid actor when it reads the page
    received = Crossings.received(valid, sent[:3])
    assert received == [crossings.one(actor.fields) for actor in valid]
    acme = received[0]
    assert acme is not None
    assert acme.inside
    assert acme.crossing.crm["COUNTRY"] == world.countries["DK"]  # through the list mapping
    assert "a@acme.dk" in acme.keys  # the email criterion's normalised key
    # The mapping writes a name and an e-mail: two of the four criteria can have a key, the numbers never.
    assert crossings.keys_each == 2
    assert sum(key is not None for key in acme.keys) == 2


def test_the_erp_filter_travels_to_the_reader(world: World) -> None:
    crossings = classifier(world).crossings
    only_danish = (FilterRestriction(field="country", operator=m.Operator.EQ, values=("DK",)),)
    filtered = in_another_process(Crossings(crossings.translator, only_danish, crossings.criteria))
    assert [sent[1] if sent else None for sent in filtered({"actors": ACTORS})] == [True, False, False, None]


def test_what_does_not_fit_the_page_is_left_for_the_hub_to_compute(world: World) -> None:
    crossings = classifier(world).crossings
    actors = [m.Actor.model_validate(raw) for raw in ACTORS[:3]]
    sent = crossings({"actors": ACTORS[:3]})
    assert Crossings.received(actors, sent[:2]) == [None, None, None]  # another length
    assert Crossings.received(actors, "garbage") == [None, None, None]
    swapped = [sent[1], sent[0], sent[2]]
    assert Crossings.received(actors, swapped)[:2] == [None, None]  # another key at the place
    assert Crossings.received(actors, swapped)[2] == crossings.one(actors[2].fields)


def test_a_page_classified_with_what_the_reader_sent_or_without_gets_the_same_verdicts(world: World) -> None:
    world.crm_company(NAME="Acme A/S", EMAIL="a@acme.dk")
    actors = [m.Actor.model_validate(raw) for raw in ACTORS[:3]]
    sent = in_another_process(classifier(world).crossings)({"actors": ACTORS[:3]})
    crossed: list[Crossed | None] = list(Crossings.received(actors, sent))
    verdicts = []
    for given in (crossed, []):
        with world.database.read_session() as session:
            verdicts.append(
                [
                    (v.erp_key, v.verb, v.entity_id, v.why, dict(v.crm_values))
                    for v in classifier(world).page(session, actors, given)
                ]
            )
    assert verdicts[0] == verdicts[1]
    assert [verb for _, verb, *_ in verdicts[0]] == ["link", "skip", "create"]


def test_a_shape_that_fails_sends_the_page_without(caplog: pytest.LogCaptureFixture) -> None:
    def broken(document: dict[str, Any]) -> Any:
        raise ValueError("no")

    with caplog.at_level(logging.WARNING, logger=pages.__name__):
        assert pages._shaped(broken, {"actors": []}) is None
        assert pages._shaped(None, {"actors": []}) is None
    assert "could not shape a page" in caplog.text


def test_values_that_all_write_the_crm_travel_once(world: World) -> None:
    crossings = classifier(world).crossings
    [sent] = pickle.loads(pickle.dumps(crossings({"actors": ACTORS[:1]})))
    assert sent is not None
    assert sent[2] == sent[3]
    assert sent[3] is sent[2]
