"""The criteria ERP actors are matched to CRM entities by, and each one's normalised key of a record's values.

Imports try ``CRITERIA`` in order. Automatic creation tries the criteria an administrator chose among
``AUTO_CRITERIA`` (exact: equal normalised keys), then ``SIMILAR`` (a loose name: punctuation and legal forms such as
*A/S* or *Ltd* dropped), which never links on its own but sends the record to the review list.

Apart from ``sync.matching``'s index, so that an import's page reader (``sync.crossings``) computes keys without
importing the database's layers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erpsync.crm.fields import EntityType

_DROP_SEPARATORS = str.maketrans("", "", "-./")


def _compact(text: str) -> str:
    """Without whitespace (as ``str.isspace`` and a regular expression's ``\\s`` know it) nor ``-``, ``.``, ``/``;
    case folded. ``translate`` and ``split`` rather than a regular expression: this runs per record and criterion."""
    return "".join(text.translate(_DROP_SEPARATORS).split()).casefold()


def _name(text: str) -> str:
    return " ".join(text.split()).casefold()


_LEGAL_FORMS = frozenset(
    "a s as aps ab asa oy oyj gmbh ag kg ltd limited inc llc plc bv nv sa sas sarl srl spa co corp ivs is".split()  # noqa: SIM905
)


def _loose_name(text: str) -> str:
    """A name with case, punctuation, legal forms and spacing ignored: *Acme A/S* and *ACME* agree."""
    words = "".join(char if char.isalnum() else " " for char in text.casefold()).split()
    kept = [word for word in words if word not in _LEGAL_FORMS]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Criterion:
    label: str
    crm_keys: tuple[str, ...]
    normalise: Callable[[str], str]
    erp_field: str | None = None
    """Where the ERP side's value comes from when not from the mapped CRM values: the ERP actor's own field."""

    @property
    def code(self) -> str:
        """The criterion's key in settings, reasons and the API: its label with underscores."""
        return self.label.lower().replace(" ", "_")

    def erp_key(self, erp_values: Mapping[str, Any], crm_values: Mapping[str, Any]) -> str | None:
        """The normalised value of an ERP actor: from its own field, or from its values translated to the CRM."""
        if self.erp_field is None:
            return self.key(crm_values)
        value = erp_values.get(self.erp_field)
        text = str(value).strip() if value else ""
        return self.normalise(text) if text else None

    def key(self, values: Mapping[str, Any]) -> str | None:
        parts = [str(values.get(crm_key) or "").strip() for crm_key in self.crm_keys]
        return self.normalise(" ".join(parts)) if any(parts) else None

    def keyer(self) -> Callable[[Mapping[str, Any]], str | None]:
        """``key`` as a function of the values alone: for the usual criterion of one field, without a list or a join
        (it runs once per criterion and record)."""
        if len(self.crm_keys) != 1:
            return self.key
        crm_key, normalise = self.crm_keys[0], self.normalise

        def key(values: Mapping[str, Any]) -> str | None:
            value = values.get(crm_key)
            text = str(value).strip() if value else ""
            return normalise(text) if text else None

        return key


CRITERIA: dict[EntityType, tuple[Criterion, ...]] = {
    EntityType.COMPANY: (
        Criterion("org number", ("NUMBER1",), _compact),
        Criterion("VAT number", ("VATNO",), _compact),
        Criterion("email", ("EMAIL",), _name),
        Criterion("name", ("NAME",), _name),
    ),
    EntityType.PERSON: (
        Criterion("email", ("EMAIL",), _name),
        Criterion("name", ("FIRSTNAME", "LASTNAME"), _name),
    ),
    EntityType.PROJECT: (
        Criterion("number", ("NUMBER",), _compact),
        Criterion("name", ("NAME",), _name),
    ),
}

AUTO_CRITERIA: dict[EntityType, tuple[Criterion, ...]] = {
    EntityType.COMPANY: (
        *CRITERIA[EntityType.COMPANY],
        Criterion("customer number", ("NUMBER2",), _compact, erp_field="number"),
    ),
    EntityType.PERSON: CRITERIA[EntityType.PERSON],
    EntityType.PROJECT: CRITERIA[EntityType.PROJECT],
}
"""The match keys automatic creation offers; *customer number* is the ERP actor's number against the CRM's
``NUMBER2``."""

SIMILAR: dict[EntityType, Criterion] = {
    EntityType.COMPANY: Criterion("similar name", ("NAME",), _loose_name),
    EntityType.PERSON: Criterion("similar name", ("FIRSTNAME", "LASTNAME"), _loose_name),
    EntityType.PROJECT: Criterion("similar name", ("NAME",), _loose_name),
}


def auto_criteria(entity_type: EntityType, codes: Iterable[str]) -> tuple[Criterion, ...]:
    """The chosen criteria of ``entity_type`` by code, in the offered order; unknown codes left out."""
    wanted = set(codes)
    return tuple(criterion for criterion in AUTO_CRITERIA[entity_type] if criterion.code in wanted)


PLURAL = {EntityType.COMPANY: "companies", EntityType.PERSON: "persons", EntityType.PROJECT: "projects"}


def _no_key(values: Mapping[str, Any]) -> None:
    return None


def keyed(criterion: Criterion, written: Collection[str]) -> bool:
    """Whether values holding no CRM field but those ``written`` may have a key by ``criterion``."""
    return not set(criterion.crm_keys).isdisjoint(written)


def record_keys(
    criteria: Sequence[Criterion], written: Collection[str]
) -> Callable[[Mapping[str, Any]], tuple[str | None, ...]]:
    """The normalised value of CRM values by each of ``criteria`` (as ``CrmIndex.keys`` gives them), for values that
    hold no CRM field but those ``written``: a criterion none of whose fields is among them has no key, without
    looking (an import's records hold the fields its mapping writes)."""
    keyers = [criterion.keyer() if keyed(criterion, written) else _no_key for criterion in criteria]

    def keys(values: Mapping[str, Any]) -> tuple[str | None, ...]:
        return tuple([key(values) for key in keyers])

    return keys
