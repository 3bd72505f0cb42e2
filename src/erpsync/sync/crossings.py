"""An import's actors on their way to the CRM, each on its own: whether it passes the ERP filter, its values
translated (``Translator.erp_crossing``) and its match keys (``match_keys.record_keys``).

Classifying a page needs these of every actor without a link, and nothing of the database for them, so an import's
page reader computes them on the other core: ``Crossings`` is the reader's ``shape`` (``protocol.pages``), and the
classifier takes what came with the page (``received``) or computes them itself (``one``) when nothing did. Both
are this module's code with the job's mapping, so the verdicts are the same either way.

The reader's process unpickles ``Crossings``, so this module imports no more than translating and keying need."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from erpsync.protocol import models as m
from erpsync.sync import filters
from erpsync.sync.mapping.models import FilterRestriction
from erpsync.sync.mapping.translation import Crossing, Translator
from erpsync.sync.match_keys import Criterion, keyed, record_keys

Keys = tuple[str | None, ...]
Sent = tuple[str | None, bool, dict[str, m.Value], dict[str, m.Value], dict[str, m.Value], Keys]
"""One actor as the reader sends it: its ERP key, then ``Crossed``'s values flat (plain tuples and dicts pickle
and unpickle fastest)."""


class Crossed(NamedTuple):
    """One actor: whether it passes the ERP filter, its translation and its match keys by each criterion."""

    inside: bool
    crossing: Crossing
    keys: Keys


@dataclass(frozen=True)
class Crossings:
    """``one`` actor's ``Crossed`` (or its parts, as the classifier needs them), or a whole page's document's
    (called as the reader's ``shape``)."""

    translator: Translator
    erp_filter: tuple[FilterRestriction, ...]
    criteria: tuple[Criterion, ...]

    def __reduce__(self) -> tuple[Callable[..., Crossings], tuple[Any, ...]]:
        """Pickled as what it is made of (not the steps and keyers it worked out, which are functions)."""
        return _made, (self.translator.pairings, self.erp_filter, self.criteria)

    @cached_property
    def _keys(self) -> Callable[[Mapping[str, m.Value]], Keys]:
        return record_keys(self.criteria, self.translator.written_crm_keys)

    @cached_property
    def keys_each(self) -> int:
        """How many match keys an actor may have at most: the criteria the mapping writes a field of."""
        return sum(keyed(criterion, self.translator.written_crm_keys) for criterion in self.criteria)

    def inside(self, fields: Mapping[str, m.Value]) -> bool:
        """Whether an actor's values pass the ERP filter (imports honour the ERP side)."""
        return filters.inside_erp(self.erp_filter, fields)

    def crossing(self, fields: Mapping[str, m.Value]) -> tuple[Crossing, Keys]:
        """An actor's translation and the match keys of its CRM values."""
        crossing = self.translator.erp_crossing(fields)
        return crossing, self._keys(crossing.crm)

    def one(self, fields: Mapping[str, m.Value]) -> Crossed:
        return Crossed(self.inside(fields), *self.crossing(fields))

    def __call__(self, document: dict[str, Any]) -> list[Sent | None]:
        """Each actor of a ``changes`` answer's document, in order; None for one that is not a valid actor or cannot
        be translated (the hub meets that where the actor's verdict needs it)."""
        actors = document.get("actors")
        return [self._sent(actor) for actor in actors] if isinstance(actors, list) else []

    def _sent(self, raw: Any) -> Sent | None:
        try:
            actor = m.Actor.model_validate(raw)
            inside, (canonical, agreed, crm), keys = self.one(actor.fields)
        except Exception:  # not a valid actor, or not translatable: the hub meets it where the verdict needs it
            return None
        # Usually every row writes the CRM: the same dict sent once (neither is ever changed once made).
        return actor.erp_key, inside, canonical, canonical if agreed == canonical else agreed, crm, keys

    @staticmethod
    def received(actors: Sequence[m.Actor], shaped: Any) -> list[Crossed | None]:
        """What the reader sent for ``actors`` (its shape of their page), by position; None for an actor it sent
        nothing for, or for another key."""
        if not isinstance(shaped, list) or len(shaped) != len(actors):
            return [None] * len(actors)
        return [
            Crossed(sent[1], Crossing(sent[2], sent[3], sent[4]), sent[5])
            if sent is not None and sent[0] == actor.erp_key
            else None
            for actor, sent in zip(actors, shaped, strict=True)
        ]


def _made(
    pairings: tuple[Any, ...], erp_filter: tuple[FilterRestriction, ...], criteria: tuple[Criterion, ...]
) -> Crossings:
    return Crossings(Translator(pairings), erp_filter, criteria)
