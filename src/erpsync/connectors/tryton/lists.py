"""The items of the connector's lists, read from Tryton: countries, languages, party categories, project statuses.

Their order is Tryton's order of the names in English, whatever the language asked, so the keys come in the same
order in every language; asked in a language the database translates (``languages.py``), the names are read again
in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from erpsync.connectors.tryton import fields as f
from erpsync.connectors.tryton.languages import tryton_code
from erpsync.connectors.tryton.records import Records
from erpsync.connectors.tryton.rpc import Domain
from erpsync.errors import ValidationError
from erpsync.protocol import models as m

Row = dict[str, Any]


@dataclass(frozen=True)
class _List:
    model: str
    label: str  # the Tryton field that names an item
    keyed_by_code: bool  # the key is the item's code (else its id)
    ordered: bool = True  # by name (else Tryton's own order)


_LISTS = {
    f.COUNTRIES: _List("country.country", "name", keyed_by_code=True),
    f.LANGUAGES: _List("ir.lang", "name", keyed_by_code=True),
    f.CATEGORIES: _List("party.category", "rec_name", keyed_by_code=False),
    f.PROJECT_STATUSES: _List("project.work.status", "name", keyed_by_code=False, ordered=False),
}


def list_items(records: Records, list_name: str, language: str | None) -> list[m.ListItem]:
    """The items of ``list_name``, named in ``language`` (a language the database translates; None: English)."""
    spec = _LISTS.get(list_name)
    if spec is None:
        raise ValidationError(f"the Tryton connector has no list named {list_name!r}")
    names = ["code", spec.label] if spec.keyed_by_code else [spec.label]
    order = [["name", "ASC"]] if spec.ordered else None
    rows = records.rpc.search_read(spec.model, _domain(records, list_name), names, order=order, context=records.context)
    if language is not None and rows:
        context = {**records.context, "language": tryton_code(language)}
        translated = records.rpc.read(spec.model, [row["id"] for row in rows], [spec.label], context=context)
        labels = {row["id"]: row[spec.label] for row in translated}
        rows = [{**row, spec.label: labels.get(row["id"], row[spec.label])} for row in rows]
    return [_item(spec, list_name, row) for row in rows if not spec.keyed_by_code or row["code"]]


def _domain(records: Records, list_name: str) -> Domain:
    if list_name == f.CATEGORIES:  # the categories that make a party a customer or supplier are not offered
        return [["id", "not in", sorted(records.roles.categories())]]
    if list_name == f.PROJECT_STATUSES:
        return [["types", "in", ["project"]]]
    return []


def _item(spec: _List, list_name: str, row: Row) -> m.ListItem:
    label = str(row[spec.label])
    if not spec.keyed_by_code:
        return m.ListItem(key=str(row["id"]), label=label)
    code = str(row["code"])
    return m.ListItem(key=code, label=label, code=code if list_name == f.COUNTRIES else None)
