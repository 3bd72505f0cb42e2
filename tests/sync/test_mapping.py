"""Mapping rules: compatibility, auto-mapping, every validation message, activation, and value translation."""

from __future__ import annotations

import pytest

from erpsync.crm.fields import CrmList, EntityType
from erpsync.protocol.models import Access, ActorType, FieldMeta, FieldType
from erpsync.sync.mapping import (
    ActorTypeMapping,
    ConnectionConfig,
    FieldDefault,
    FieldMapping,
    ListMapping,
    Problem,
    Translator,
    auto_map,
    compatible_crm_fields,
    effective_defaults,
    merge_rules,
    missing_in_erp,
    validate_activation,
    validate_defaults,
    validate_list_mapping,
    validate_mapping,
    winners_by_erp_field,
)
from erpsync.sync.merge import Direction, FieldRule, Policy, Side


def meta(key: str, type_: FieldType = FieldType.TEXT, **more: object) -> FieldMeta:
    return FieldMeta.model_validate({"key": key, "label": key.title(), "type": type_, **more})


ERP_FIELDS = [
    meta("id", access=Access.READ_ONLY),
    meta("name", access=Access.MANDATORY, max_length=10),
    meta("email"),
    meta("org_number"),
    meta("employees", FieldType.INTEGER),
    meta("turnover", FieldType.DOUBLE),
    meta("founded", FieldType.DATETIME),
    meta("country", FieldType.LIST, list_name="countries"),
    meta("blocked", FieldType.CHECKBOX),
    meta("terms", FieldType.LIST, list_name="terms", access=Access.MANDATORY),
]
COUNTRIES = ListMapping(list_name="countries", crm_list=CrmList.COUNTRY, items={"NO": 1, "SE": 2, "XX": None})


def row(erp: str, crm: str | None = None, direction: Direction = Direction.BOTH, **more: object) -> FieldMapping:
    return FieldMapping.model_validate({"erp_field": erp, "crm_field": crm, "direction": direction, **more})


def customer(*rows: FieldMapping, active: bool = True) -> ActorTypeMapping:
    return ActorTypeMapping(actor_type=ActorType.CUSTOMER, active=active, fields=rows)


SYNCED = customer(
    row("name", "NAME"),
    row("employees", "NUMBER2"),
    row("turnover", "DEPARTMENT"),
    row("founded", None, Direction.NONE),
    row("country", "COUNTRY"),
    row("email", "EMAIL", Direction.TO_CRM),
)


def messages(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in problems]


# --- compatibility and auto-mapping ---------------------------------------------------------------------------------


def test_compatible_crm_fields_follow_the_type_table() -> None:
    company_text = [f.key for f in compatible_crm_fields(meta("x", FieldType.INTEGER), EntityType.COMPANY)]
    assert "NAME" in company_text
    assert "COUNTRY" not in company_text
    assert [f.key for f in compatible_crm_fields(meta("d", FieldType.DATETIME), EntityType.PERSON)] == ["BIRTHDATE"]
    lists = compatible_crm_fields(meta("l", FieldType.LIST), EntityType.COMPANY)
    assert [f.key for f in lists] == ["COUNTRY", "BUSINESS", "CATEGORY"]
    checkbox = compatible_crm_fields(meta("c", FieldType.CHECKBOX), EntityType.COMPANY)
    assert [f.key for f in checkbox] == ["ACTIVE"]  # a checkbox pairs with the CRM's active flag
    for nothing in (FieldType.PASSWORD, FieldType.LABEL):
        assert compatible_crm_fields(meta("n", nothing), EntityType.COMPANY) == []


def test_auto_map_matches_keys_and_synonyms_without_direction() -> None:
    erp = [
        meta("Name"),
        meta("e-mail"),
        meta("org_number"),
        meta("vat_number"),
        meta("phone"),
        meta("website"),
        meta("country", FieldType.LIST, list_name="c"),
        meta("address1"),
        meta("zip"),
        meta("city"),
        meta("blocked", FieldType.CHECKBOX),
        meta("url"),
    ]
    rows = {r.erp_field: r for r in auto_map(erp, EntityType.COMPANY)}
    assert {key: r.crm_field for key, r in rows.items()} == {
        "Name": "NAME",
        "e-mail": "EMAIL",
        "org_number": "NUMBER1",
        "vat_number": "VATNO",
        "phone": "PHONE",
        "website": "URL",
        "country": "COUNTRY",
        "address1": "POSTALAD1",
        "zip": "POSTALZIP",
        "city": "POSTALCITY",
        "blocked": None,  # a checkbox pairs with nothing
        "url": None,  # URL is already taken by "website"
    }
    assert all(r.direction is Direction.NONE for r in rows.values())


def test_auto_map_per_entity_and_type() -> None:
    person = auto_map([meta("first_name"), meta("mobile"), meta("birth_date", FieldType.DATETIME)], EntityType.PERSON)
    assert [r.crm_field for r in person] == ["FIRSTNAME", "PHONE_MOBILE", "BIRTHDATE"]
    project = auto_map([meta("description"), meta("end_date", FieldType.TEXT)], EntityType.PROJECT)
    assert [r.crm_field for r in project] == ["TEXT", None]  # a text field does not pair with a date


def test_merge_rules_use_the_row_policy_over_the_connection_policy() -> None:
    mapping = customer(row("name", "NAME", policy=Policy.ERP), row("email", "EMAIL"), row("id"))
    assert merge_rules(mapping, Policy.CRM) == {
        "name": FieldRule(Direction.BOTH, Policy.ERP),
        "email": FieldRule(Direction.BOTH, Policy.CRM),
    }


def test_missing_in_erp_and_winners_by_erp_field() -> None:
    mapping = customer(row("name", "NAME"), row("gone", "EMAIL"))
    assert missing_in_erp(mapping, ERP_FIELDS) == ["gone"]
    assert winners_by_erp_field({"NAME": Side.CRM}, mapping) == {"name": Side.CRM}


# --- validation -----------------------------------------------------------------------------------------------------


def test_a_valid_mapping_has_no_problems() -> None:
    assert validate_mapping(SYNCED, erp_fields=ERP_FIELDS) == []


def test_validate_mapping_lists_every_problem() -> None:
    mapping = customer(
        row("nope", None, Direction.NONE),
        row("email", None, Direction.TO_CRM),
        row("org_number", "SHOESIZE"),
        row("founded", "NAME"),
        row("id", "NUMBER1", Direction.TO_ERP),
        row("name", "NAME", Direction.TO_CRM),
        row("turnover", "NAME", Direction.BOTH),
        row("turnover", "DEPARTMENT", Direction.NONE),
    )
    problems = validate_mapping(mapping, erp_fields=ERP_FIELDS)
    assert messages(problems) == [
        ("nope", "unknown ERP field 'nope'"),
        ("email", "a direction needs a CRM field"),
        ("org_number", "unknown company field 'SHOESIZE'"),
        ("founded", "ERP field of type datetime cannot pair with NAME of type text"),
        ("id", "a read-only ERP field cannot sync to the ERP"),
        ("turnover", "ERP field 'turnover' is mapped 2 times"),
        ("name", "CRM field NAME is written from both 'founded' and 'name'"),
        ("turnover", "CRM field NAME is written from both 'founded' and 'turnover'"),
    ]
    assert {p.scope for p in problems} == {"customer"}


def test_validate_list_mapping() -> None:
    mapping = ListMapping(
        list_name="countries", crm_list=CrmList.COUNTRY, items={"NO": 1, "SE": 1, "DK": 9, "ZZ": None}
    )
    problems = validate_list_mapping(mapping, erp_keys={"NO", "SE", "DK"}, crm_items={1, 2})
    assert messages(problems) == [
        ("SE", "CRM item 1 is paired with both 'NO' and 'SE'"),
        ("DK", "unknown CRM item 9 in list 'country'"),
        ("ZZ", "unknown ERP item 'ZZ' in list 'countries'"),
    ]
    assert validate_list_mapping(COUNTRIES, erp_keys={"NO", "SE", "XX"}, crm_items={1, 2}) == []


def test_validate_defaults() -> None:
    defaults = {
        "nope": FieldDefault(value="x"),
        "id": FieldDefault(value="1"),
        "employees": FieldDefault(value="many"),
        "name": FieldDefault(value="far too long a name"),
        "blocked": FieldDefault(value="yes"),
        "founded": FieldDefault(value="soon"),
        "email": FieldDefault(mandatory=True),
        "turnover": FieldDefault(value=1.5, ask_user=True, mandatory=True),
        "country": FieldDefault(value="NO"),
    }
    assert messages(validate_defaults(defaults, erp_fields=ERP_FIELDS)) == [
        ("nope", "unknown ERP field 'nope'"),
        ("id", "this ERP field cannot be given a value"),
        ("employees", "'many' is not a whole number"),
        ("name", "19 characters is longer than the CRM allows (10)"),
        ("blocked", "'yes' is not true or false"),
        ("founded", "'soon' is not an ISO 8601 date"),
        ("email", "a mandatory default needs a value or must ask the user"),
    ]


def test_effective_defaults_force_mandatory_for_connector_mandatory_fields() -> None:
    defaults = effective_defaults({"name": FieldDefault(ask_user=True), "email": FieldDefault()}, ERP_FIELDS)
    assert defaults["name"].mandatory
    assert not defaults["email"].mandatory


def config(**more: object) -> ConnectionConfig:
    base: dict[str, object] = {
        "mappings": {ActorType.CUSTOMER: SYNCED},
        "list_mappings": {"countries": COUNTRIES},
        "defaults": {ActorType.CUSTOMER: {"terms": FieldDefault(value="30d")}},
    }
    return ConnectionConfig.model_validate(base | more)


def activate(cfg: ConnectionConfig, country_keys: set[str] | None = None) -> list[Problem]:
    return validate_activation(
        cfg,
        erp_fields_by_type={ActorType.CUSTOMER: ERP_FIELDS},
        erp_list_keys={"countries": country_keys or {"NO", "SE", "XX"}},
        crm_list_items={CrmList.COUNTRY: {1, 2}},
    )


def test_activation_of_a_complete_config_passes() -> None:
    assert activate(config()) == []


def test_activation_lists_every_reason() -> None:
    mapping = customer(row("name", "NAME", Direction.TO_CRM), row("country", "COUNTRY"), row("email", "BUSINESS"))
    supplier = ActorTypeMapping(actor_type=ActorType.SUPPLIER, active=True)
    cfg = config(
        mappings={ActorType.CUSTOMER: mapping, ActorType.SUPPLIER: supplier},
        defaults={},
        list_mappings={"countries": COUNTRIES.model_copy(update={"items": {"NO": 1, "SE": 1}})},
    )
    problems = activate(cfg, {"NO", "SE", "XX"})
    assert [(p.scope, p.field, p.message) for p in problems] == [
        ("customer", "email", "ERP field of type text cannot pair with BUSINESS of type list"),
        ("customer", "name", "a mandatory ERP field needs a CRM→ERP direction or a default"),
        ("customer", "terms", "a mandatory ERP field needs a CRM→ERP direction or a default"),
        ("supplier", "", "the connector does not offer this actor type"),
        ("countries", "SE", "CRM item 1 is paired with both 'NO' and 'SE'"),
        ("countries", "XX", "ERP item 'XX' is not paired: choose a CRM item or no selection"),
    ]


def test_activation_needs_a_list_mapping_of_the_right_crm_list() -> None:
    missing = activate(config(list_mappings={}))
    assert messages(missing) == [("country", "list 'countries' has no list mapping")]
    wrong = COUNTRIES.model_copy(update={"crm_list": CrmList.BUSINESS})
    problems = validate_activation(
        config(list_mappings={"countries": wrong}),
        erp_fields_by_type={ActorType.CUSTOMER: ERP_FIELDS},
        erp_list_keys={"countries": {"NO", "SE", "XX"}},
        crm_list_items={CrmList.BUSINESS: {1, 2}},
    )
    assert messages(problems) == [("country", "list 'countries' is mapped to CRM list 'business', not COUNTRY's")]


def test_inactive_actor_types_are_not_validated() -> None:
    assert activate(config(mappings={ActorType.CUSTOMER: customer(row("nope", "NAME"), active=False)})) == []


# --- translation ----------------------------------------------------------------------------------------------------

TRANSLATE = Translator.of(SYNCED, ERP_FIELDS, {"countries": COUNTRIES})


def test_crm_to_erp_converts_into_erp_terms() -> None:
    crm = {"NAME": " Acme ", "NUMBER2": "42", "DEPARTMENT": "1.5", "COUNTRY": 2, "EMAIL": "a@b.c", "NUMBER1": "x"}
    result = TRANSLATE.crm_to_erp(crm)
    assert result.values == {"name": " Acme ", "employees": 42, "turnover": 1.5, "country": "SE", "email": "a@b.c"}
    assert result.problems == ()


def test_crm_to_erp_reports_what_it_cannot_translate() -> None:
    crm = {"NAME": "A name too long", "NUMBER2": "4.5", "DEPARTMENT": "lots", "COUNTRY": 7, "EMAIL": ""}
    result = TRANSLATE.crm_to_erp(crm)
    assert result.values == {"email": None}
    assert messages(list(result.problems)) == [
        ("name", "15 characters is longer than the ERP allows (10)"),
        ("employees", "'4.5' is not a whole number"),
        ("turnover", "'lots' is not a number"),
        ("country", "CRM item 7 has no ERP item in list 'countries'"),
    ]


def test_erp_canonical_checks_types_lists_and_crm_limits() -> None:
    erp = {"name": "Acme", "employees": 3.0, "turnover": 2, "country": "XX", "email": "x" * 300, "founded": "2020"}
    result = TRANSLATE.erp_canonical(erp)
    assert result.values == {"name": "Acme", "employees": 3, "turnover": 2}
    assert messages(list(result.problems)) == [
        ("country", "ERP item 'XX' of list 'countries' has no CRM item"),
        ("email", "300 characters is longer than the CRM allows (255)"),
    ]
    bad = TRANSLATE.erp_canonical({"employees": True, "turnover": "1", "name": 5})
    assert messages(list(bad.problems)) == [
        ("name", "5 is not text"),
        ("employees", "True is not a whole number"),
        ("turnover", "'1' is not a number"),
    ]


def test_dates_meet_as_iso_dates() -> None:
    mapping = customer(row("founded", "NUMBER1"))
    person = ActorTypeMapping(actor_type=ActorType.PERSON, fields=(row("born", "BIRTHDATE"),))
    fields = [meta("born", FieldType.DATETIME)]
    canonical = Translator.of(person, fields, {}).erp_canonical({"born": "1990-04-05T13:00:00Z"})
    assert canonical.values == {"born": "1990-04-05"}
    from_crm = Translator.of(person, fields, {}).crm_to_erp({"BIRTHDATE": "1990-04-05"})
    assert from_crm.values == canonical.values
    back = Translator.of(person, fields, {}).erp_to_crm(canonical.values)
    assert back.values == {"BIRTHDATE": "1990-04-05"}
    assert Translator.of(mapping, ERP_FIELDS, {}).crm_to_erp({"NUMBER1": "x"}).values == {}


def test_erp_to_crm_writes_crm_terms_only_for_rows_that_write_the_crm() -> None:
    canonical = {"name": "Acme", "employees": 42, "turnover": 2.0, "country": "NO", "email": None}
    result = TRANSLATE.erp_to_crm(canonical)
    assert result.values == {"NAME": "Acme", "NUMBER2": "42", "DEPARTMENT": "2", "COUNTRY": 1, "EMAIL": None}
    to_erp_only = customer(row("name", "NAME", Direction.TO_ERP))
    assert Translator.of(to_erp_only, ERP_FIELDS, {}).erp_to_crm({"name": "x"}).values == {}


def test_a_list_without_a_list_mapping_is_a_problem_on_the_record() -> None:
    result = Translator.of(SYNCED, ERP_FIELDS, {}).crm_to_erp({"COUNTRY": 1})
    assert messages(list(result.problems)) == [("country", "list 'countries' has no list mapping")]


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_blanks_translate_to_none_both_ways(blank: str | None) -> None:
    crm = {"NAME": blank, "COUNTRY": blank}
    assert TRANSLATE.crm_to_erp(crm).values == {"name": None, "country": None}
    erp = {"name": blank, "country": blank}
    assert TRANSLATE.erp_to_crm(erp).values == {"NAME": None, "COUNTRY": None}


def test_canonical_to_crm_gives_what_erp_to_crm_gives_for_canonical_values() -> None:
    translator = Translator.of(SYNCED, ERP_FIELDS, {"countries": COUNTRIES})
    erp = {"name": "Acme", "employees": 42.0, "turnover": 2, "country": "NO", "email": "  ", "founded": "2020"}
    canonical = translator.erp_canonical(erp).values
    assert translator.canonical_to_crm(canonical) == translator.erp_to_crm(canonical).values
    assert translator.canonical_to_crm(canonical) == {
        "NAME": "Acme",
        "NUMBER2": "42",
        "DEPARTMENT": "2",
        "COUNTRY": 1,
        "EMAIL": None,
    }


def test_auto_map_pairs_an_active_checkbox_with_the_active_flag_of_every_entity() -> None:
    for entity in EntityType:
        rows = {r.erp_field: r.crm_field for r in auto_map([meta("Active", FieldType.CHECKBOX)], entity)}
        assert rows == {"Active": "ACTIVE"}
    assert auto_map([meta("active", FieldType.TEXT)], EntityType.COMPANY)[0].crm_field is None  # text is no flag


def test_auto_map_pairs_the_delivery_address_with_the_street_address() -> None:
    erp = [meta(key) for key in ("street", "city", "delivery_street", "delivery_postal_code", "delivery_city")]
    rows = auto_map([*erp, meta("tax_identifier"), meta("fax")], EntityType.COMPANY)
    assert {r.erp_field: r.crm_field for r in rows} == {
        "street": "POSTALAD1",
        "city": "POSTALCITY",
        "delivery_street": "STREETAD1",
        "delivery_postal_code": "STREETZIP",
        "delivery_city": "STREETCITY",
        "tax_identifier": "VATNO",
        "fax": "FAX",
    }
