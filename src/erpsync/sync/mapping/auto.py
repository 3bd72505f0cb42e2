"""Auto-mapping: each ERP field paired by key or an obvious synonym with a compatible, unused CRM field; the items of an
ERP list that carry standard codes paired with the CRM items of the same code."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.protocol.models import FieldMeta, ListItem
from erpsync.sync.mapping.models import (
    ENTITY_FOR_ACTOR,
    ActorTypeMapping,
    FieldMapping,
    ListMapping,
    is_compatible,
    is_read_only,
)
from erpsync.sync.merge import Direction, Side


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _postal(*, phone: str, country: str) -> dict[str, str]:
    synonyms = {"phone": phone, "telephone": phone, "tel": phone, "country": country, "countrycode": country}
    synonyms |= {f"{stem}{i}": f"POSTALAD{i}" for stem in ("address", "addressline", "street") for i in (1, 2, 3)}
    synonyms |= dict.fromkeys(("address", "zip", "zipcode", "postcode", "postalcode"), "POSTALZIP")
    synonyms |= {"address": "POSTALAD1", "street": "POSTALAD1", "city": "POSTALCITY", "town": "POSTALCITY"}
    return synonyms | {"mail": "EMAIL", "emailaddress": "EMAIL", "website": "URL", "web": "URL", "homepage": "URL"}


_SYNONYMS: dict[EntityType, dict[str, str]] = {
    EntityType.COMPANY: _postal(phone="PHONE", country="COUNTRY")
    | {"county": "POSTALCOUNTY", "state": "POSTALSTATE", "vat": "VATNO", "vatnumber": "VATNO", "taxidentifier": "VATNO"}
    | {"deliverystreet": "STREETAD1", "deliveryaddress": "STREETAD1", "deliverycity": "STREETCITY"}
    | dict.fromkeys(("deliveryzip", "deliverypostalcode", "deliverypostcode"), "STREETZIP")
    | dict.fromkeys(("orgnumber", "orgno", "organisationnumber", "organizationnumber", "registrationnumber"), "NUMBER1")
    | dict.fromkeys(("customernumber", "customerno", "suppliernumber", "number"), "NUMBER2"),
    EntityType.PERSON: _postal(phone="PHONE_DIRECT", country="POSTALCOUNTRY")
    | {"mobile": "PHONE_MOBILE", "cellphone": "PHONE_MOBILE", "givenname": "FIRSTNAME", "surname": "LASTNAME"}
    | {"familyname": "LASTNAME", "jobtitle": "TITLE", "customernumber": "NUMBER", "birthday": "BIRTHDATE"},
    EntityType.PROJECT: {"description": "TEXT", "notes": "TEXT", "projectnumber": "NUMBER", "deadline": "ENDDATE"}
    | {"website": "URL", "status": "STATUS"},
}
"""Obvious ERP field names (squashed: lower case, letters and digits only) per entity, beyond exact key matches."""


def _auto_candidates(entity: EntityType) -> dict[str, str]:
    exact = {_squash(name): crm.key for crm in CRM_FIELDS[entity].values() for name in (crm.attr, crm.key)}
    return _SYNONYMS[entity] | exact


def auto_map(erp_fields: Sequence[FieldMeta], entity: EntityType) -> tuple[FieldMapping, ...]:
    """One row per ERP field, paired by key or an obvious synonym with a compatible, unused CRM field; no direction."""
    candidates, taken = _auto_candidates(entity), set[str]()
    rows = []
    for meta in sorted(erp_fields, key=lambda m: m.rank):
        crm = CRM_FIELDS[entity].get(candidates.get(_squash(meta.key), ""))
        crm_key = crm.key if crm is not None and crm.key not in taken and is_compatible(meta, crm) else None
        if crm_key is not None:
            taken.add(crm_key)
        rows.append(FieldMapping(erp_field=meta.key, crm_field=crm_key, rank=meta.rank))
    return tuple(rows)


def pair_by_code(
    list_name: str, crm_list: CrmList, erp_items: Sequence[ListItem], crm_codes: Mapping[int, str]
) -> ListMapping | None:
    """The list mapping the hub makes itself: each ERP item paired with the CRM item of its ``code`` (ISO 3166-1 for
    countries; ``crm_codes``: CRM item id -> code), each CRM item once; items without a match get *no selection*.
    None when no ERP item's code agrees with a CRM item's (the list is then paired by hand)."""
    if not any(item.code for item in erp_items):
        return None
    by_code: dict[str, int] = {}
    for item_id, code in sorted(crm_codes.items()):
        by_code.setdefault(code.upper(), item_id)
    items: dict[str, int | None] = {}
    for item in erp_items:
        crm = by_code.pop((item.code or "").upper(), None)  # popped: a second ERP item of the code gets none
        items[item.key] = crm
    if not any(crm is not None for crm in items.values()):
        return None
    return ListMapping(list_name=list_name, crm_list=crm_list, items=items)


def auto_completed(
    mapping: ActorTypeMapping, erp_fields: Sequence[FieldMeta], *, direction: Direction = Direction.NONE
) -> ActorTypeMapping:
    """The mapping with each row that has no CRM field paired as ``auto_map`` pairs it (with a CRM field no
    other row uses), and each paired row without a direction given ``direction``. Rows already paired keep their CRM
    field; the master switch stays as it is."""
    suggested = {row.erp_field: row.crm_field for row in auto_map(erp_fields, ENTITY_FOR_ACTOR[mapping.actor_type])}
    metas = {meta.key: meta for meta in erp_fields}
    taken: set[str | None] = {None, *(row.crm_field for row in mapping.fields)}
    rows = []
    for row in mapping.fields:
        paired = row
        if row.crm_field is None and suggested.get(row.erp_field) not in taken:
            paired = row.model_copy(update={"crm_field": suggested[row.erp_field]})
            taken.add(paired.crm_field)
        rows.append(_with_direction(paired, metas.get(row.erp_field), direction))
    return mapping.model_copy(update={"fields": tuple(rows)})


def _with_direction(row: FieldMapping, meta: FieldMeta | None, direction: Direction) -> FieldMapping:
    """A paired row without a direction takes ``direction``; a read-only ERP field only flows to the CRM."""
    if row.crm_field is None or row.direction is not Direction.NONE:
        return row
    if meta is not None and is_read_only(meta) and direction.writes(Side.ERP):
        direction = Direction.TO_CRM if direction is Direction.BOTH else Direction.NONE
    return row.model_copy(update={"direction": direction})
