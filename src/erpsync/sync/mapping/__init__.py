"""Mapping rules of a connection (SPEC §4 Configure): field and list mappings, defaults, validation, value translation.

Contract (pure: no database, no HTTP; the engine and the configuration use cases persist these models):

- ``ConnectionConfig`` holds, per actor type, an ``ActorTypeMapping`` (master switch + one ``FieldMapping`` per ERP
  field), the ``ListMapping`` per ERP list, the create ``FieldDefault``s, the conflict policy and the blank option.
- Validators (``validate_mapping``, ``validate_list_mapping``, ``validate_defaults``, ``validate_activation``) return
  EVERY ``Problem`` they find, empty when valid, so a save can be refused with all its reasons at once.
- Values are translated into the merge's canonical space (see ``sync.merge``): keyed by ERP field key, in ERP terms
  (text, int, float, list-item key), with datetimes reduced to ISO dates because the CRM pairs them with date fields.
  ``Translator.crm_to_erp`` and ``.erp_canonical`` bring each side's values there; ``.erp_to_crm`` turns canonical
  values (the CRM writes) into CRM values. A value that cannot be translated (unmapped list item, wrong type, too
  long) is left out and reported as a ``Problem`` on the record, never dropped silently or written raw; the merge then
  skips that field.
- Only *synced* rows take part in translation: a CRM field set and a direction other than ``none``.

One concern per module: ``models`` (the models, compatibility, merge rules), ``auto`` (auto-mapping), ``validation``
and ``translation`` (values between the sides).
"""

from erpsync.sync.mapping.auto import auto_completed, auto_map, pair_by_code
from erpsync.sync.mapping.models import (
    ENTITY_FOR_ACTOR,
    ERP_ACTIVE_FIELD,
    ActorTypeMapping,
    AutoCreate,
    AutoDirection,
    ConnectionConfig,
    CrmDeletePolicy,
    CrmItemId,
    ErpDeletePolicy,
    FieldDefault,
    FieldMapping,
    FilterRestriction,
    ListMapping,
    Problem,
    SyncFilter,
    compatible_crm_fields,
    is_compatible,
    is_read_only,
    merge_rules,
    missing_in_erp,
    winners_by_erp_field,
)
from erpsync.sync.mapping.translation import Translation, Translator, erp_value_problem
from erpsync.sync.mapping.validation import (
    effective_defaults,
    fed_from_crm,
    validate_activation,
    validate_defaults,
    validate_list_mapping,
    validate_mapping,
)

__all__ = [
    "ENTITY_FOR_ACTOR",
    "ERP_ACTIVE_FIELD",
    "ActorTypeMapping",
    "AutoCreate",
    "AutoDirection",
    "ConnectionConfig",
    "CrmDeletePolicy",
    "CrmItemId",
    "ErpDeletePolicy",
    "FieldDefault",
    "FieldMapping",
    "FilterRestriction",
    "ListMapping",
    "Problem",
    "SyncFilter",
    "Translation",
    "Translator",
    "auto_completed",
    "auto_map",
    "compatible_crm_fields",
    "effective_defaults",
    "erp_value_problem",
    "fed_from_crm",
    "is_compatible",
    "is_read_only",
    "merge_rules",
    "missing_in_erp",
    "pair_by_code",
    "validate_activation",
    "validate_defaults",
    "validate_list_mapping",
    "validate_mapping",
    "winners_by_erp_field",
]
