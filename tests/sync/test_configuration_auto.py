"""``mapping.auto_completed``: what ``erpsync mappings auto`` saves (pure, no database)."""

from __future__ import annotations

from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType
from erpsync.sync.mapping import ActorTypeMapping, FieldMapping, auto_completed
from erpsync.sync.merge import Direction


def _meta(key: str, **more: object) -> FieldMeta:
    return FieldMeta.model_validate({"key": key, "label": key.title(), "type": FieldType.TEXT, **more})


ERP_FIELDS = [_meta("name"), _meta("email"), _meta("number", access=Access.READ_ONLY), _meta("colour")]


def _rows(mapping: ActorTypeMapping) -> dict[str, tuple[str | None, Direction]]:
    return {row.erp_field: (row.crm_field, row.direction) for row in mapping.fields}


def test_unpaired_rows_are_paired_and_given_the_direction_read_only_ones_only_to_the_crm() -> None:
    mapping = ActorTypeMapping(
        actor_type=ActorType.CUSTOMER,
        fields=tuple(FieldMapping(erp_field=meta.key) for meta in ERP_FIELDS),
    )
    done = auto_completed(mapping, ERP_FIELDS, direction=Direction.BOTH)
    assert _rows(done) == {
        "name": ("NAME", Direction.BOTH),
        "email": ("EMAIL", Direction.BOTH),
        "number": ("NUMBER2", Direction.TO_CRM),
        "colour": (None, Direction.NONE),
    }
    assert done.active is False
    to_erp = _rows(auto_completed(mapping, ERP_FIELDS, direction=Direction.TO_ERP))
    assert (to_erp["name"], to_erp["number"]) == (("NAME", Direction.TO_ERP), ("NUMBER2", Direction.NONE))


def test_rows_already_paired_keep_their_field_and_direction_and_no_crm_field_is_used_twice() -> None:
    mapping = ActorTypeMapping(
        actor_type=ActorType.CUSTOMER,
        active=True,
        fields=(
            FieldMapping(erp_field="email", crm_field="NAME", direction=Direction.TO_CRM),
            FieldMapping(erp_field="name"),
            FieldMapping(erp_field="number", crm_field="EMAIL"),
        ),
    )
    done = auto_completed(mapping, ERP_FIELDS, direction=Direction.BOTH)
    assert _rows(done) == {
        "email": ("NAME", Direction.TO_CRM),
        "name": (None, Direction.NONE),
        "number": ("EMAIL", Direction.TO_CRM),
    }
    assert done.active is True
    assert auto_completed(done, ERP_FIELDS) == done
