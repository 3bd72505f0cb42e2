"""Auto-mapping: each ERP field paired by key or an obvious synonym with a compatible, unused CRM field; the items of an
ERP list that carry standard codes paired with the CRM items of the same code."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from erpsync.crm.fields import CRM_FIELDS, CrmList, EntityType
from erpsync.protocol.models import FieldMeta, ListItem
from erpsync.sync.mapping.models import FieldMapping, ListMapping, is_compatible


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
