"""Lists that map themselves: when a mapping first syncs an ERP list field with a CRM country field, the ERP's items
that carry ISO codes are paired with the CRM countries of the same code (``mapping.auto.pair_by_code``), so country
syncs without an administrator pairing every country by hand. A list that has a list mapping already is left as the
administrator made it; other lists, and ERP items without codes, are paired by hand.

Public names: ``lists_to_pair``, ``pair_lists``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from erpsync.crm.countries import country_codes
from erpsync.crm.fields import CRM_FIELDS, CrmList
from erpsync.protocol import models as m
from erpsync.storage.tables import ErpConnection
from erpsync.sync import configuration, configuration_loading
from erpsync.sync.configuration import ErpLists
from erpsync.sync.mapping import ENTITY_FOR_ACTOR, ActorTypeMapping, pair_by_code

PAIRED_BY_CODE = frozenset({CrmList.COUNTRY})  # the CRM lists whose items the hub knows the standard code of


def lists_to_pair(session: Session, connection: ErpConnection, mapping: ActorTypeMapping) -> dict[str, CrmList]:
    """The ERP lists of the list fields ``mapping`` syncs with a CRM country field, without a list mapping yet."""
    mapped = configuration_loading.load_config(session, connection).list_mappings
    metas = {meta.key: meta for meta in configuration_loading.erp_fields_of(session, connection, mapping.actor_type)}
    crm_fields = CRM_FIELDS[ENTITY_FOR_ACTOR[mapping.actor_type]]
    wanted: dict[str, CrmList] = {}
    for row in mapping.fields:
        meta, crm = metas.get(row.erp_field), crm_fields.get(row.crm_field or "")
        if not row.synced or meta is None or meta.type is not m.FieldType.LIST or crm is None:
            continue
        if meta.list_name and meta.list_name not in mapped and crm.list_name in PAIRED_BY_CODE:
            wanted[meta.list_name] = crm.list_name
    return wanted


def pair_lists(
    session: Session, connection: ErpConnection, wanted: dict[str, CrmList], *, erp_lists: ErpLists
) -> list[str]:
    """Save the list mappings ``pair_by_code`` makes for ``wanted`` beside the connection's others (``erp_lists``
    must hold the items of every list with a list mapping, and of ``wanted``); the names of the lists paired."""
    if not wanted:
        return []
    crm_items = configuration_loading.crm_list_items(session)
    made = {}
    for name, crm_list in wanted.items():
        paired = pair_by_code(name, crm_list, erp_lists.get(name, []), country_codes(crm_items[crm_list]))
        if paired is not None:
            made[name] = paired
    if made:
        existing = configuration_loading.load_config(session, connection).list_mappings
        configuration.save_list_mappings(session, connection, {**existing, **made}, erp_lists=erp_lists)
    return sorted(made)
