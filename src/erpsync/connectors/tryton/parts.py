"""A party's parts as actor fields, and the x2many commands that write actor fields back onto the right part.

- Addresses by role: the invoice address (``street``, ``postal_code``, ``city``, ``country``) is the first address
  with Tryton's ``invoice`` flag (account_invoice), else the party's first address; the delivery address
  (``delivery_street`` ...) is the first with the ``delivery`` flag (stock), else none. An address that serves both
  roles stays the invoice address when the delivery fields are written with other values: a delivery address of their
  own is split off it (a new address with the ``delivery`` flag, the flag taken off the shared one).
- Contact mechanisms by type (email, phone, mobile, fax, website): each field is the first mechanism of its type in
  Tryton's order (sequence, then id), the one Tryton itself uses; writing the field writes that same mechanism,
  creates one when the party has none of the type, or deletes it when the value is cleared. The others are left alone.
- Identifiers: ``tax_identifier`` is Tryton's tax identifier (else the first identifier without a type),
  ``registration_number`` the first other typed identifier (a company registration number such as ``dk_cvr``).

"First" is always Tryton's order of the records (``sequence``, then id), so reading and writing pick the same one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from erpsync.connectors.tryton.fields import IDEMPOTENCY_PREFIX
from erpsync.errors import ValidationError
from erpsync.protocol.models import Value

Row = dict[str, Any]
ADDRESS = "party.address"
MECHANISM = "party.contact_mechanism"
IDENTIFIER = "party.identifier"
ADDRESS_FIELDS = ("street", "postal_code", "city", "country")
# An address's structured street parts: Tryton shows ``street`` formatted from them when any is set, else the
# unstructured street (``party.address.on_change_with_street``).
STREET_PARTS = (
    "street_name",
    "building_name",
    "building_number",
    "unit_number",
    "floor_number",
    "room_number",
    "post_box",
    "private_bag",
    "post_office",
)
ADDRESS_ROLES = {"invoice": "", "delivery": "delivery_"}  # Tryton's flag -> the prefix of its actor fields
CONTACT_TYPES = ("email", "phone", "mobile", "fax", "website")  # actor field = Tryton's contact mechanism type
# Country codes that begin EU VAT numbers (Greece is EL, Northern Ireland XI).
_EU_VAT_PREFIXES = frozenset(("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU"))
_EU_VAT_PREFIXES |= frozenset(("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"))
CountryId = Callable[[Value], int | None]  # a country's Tryton id by its ISO code


def part_names(address_roles: tuple[str, ...]) -> dict[str, list[str]]:
    """The fields read of each part model; the address role flags only where Tryton has them."""
    return {
        ADDRESS: ["street_unstructured", *STREET_PARTS, "postal_code", "city", "country.code", *address_roles],
        MECHANISM: ["type", "value"],
        IDENTIFIER: ["type", "code"],
    }


# --- reading --------------------------------------------------------------------------------------------------------


def fill_streets(rows: list[Row], formatted: Callable[[list[int]], dict[int, str | None]]) -> None:
    """Set each address row's ``street`` as Tryton shows it: the unstructured street, or for an address with
    structured parts Tryton's formatting of them, asked (``formatted``) for those addresses only. ``street`` is a
    computed field that makes a read of every address several times slower."""
    structured = [row["id"] for row in rows if any(row.get(part) for part in STREET_PARTS)]
    shown = formatted(structured) if structured else {}
    for row in rows:
        row["street"] = shown[row["id"]] if row["id"] in shown else row.get("street_unstructured")


def typed_identifiers(identifiers: dict[int, list[Row]]) -> list[int]:
    """The parties with an identifier of some type: only they can have a tax identifier (Tryton's is computed, so it is
    read for them alone)."""
    return sorted(party for party, rows in identifiers.items() if any(row["type"] for row in rows))


def part_values(related: dict[str, list[Row]], tax_identifier: int | None) -> dict[str, Value]:
    """The actor fields held by a party's parts (its rows of each part model, in Tryton's order)."""
    values: dict[str, Value] = {}
    addresses = related.get(ADDRESS, [])
    for role, prefix in ADDRESS_ROLES.items():
        address = role_address(addresses, role) or {}
        values |= {prefix + key: address.get(key) for key in ADDRESS_FIELDS[:3]}
        values[prefix + "country"] = (address.get("country.") or {}).get("code")
    mechanisms = related.get(MECHANISM, [])
    for kind in CONTACT_TYPES:
        values[kind] = next((row["value"] for row in mechanisms if row["type"] == kind), None)
    identifiers = related.get(IDENTIFIER, [])
    tax = tax_row(identifiers, tax_identifier)
    values["tax_identifier"] = (tax or {}).get("code")
    others = (row for row in identifiers if row["type"] and row is not tax)
    values["registration_number"] = next((row["code"] for row in others), None)
    return values


def role_address(addresses: list[Row], role: str) -> Row | None:
    """The address serving ``role`` (invoice or delivery); the first address serves invoices when none is flagged."""
    flagged = next((row for row in addresses if row.get(role)), None)
    if flagged is None and role == "invoice" and addresses:
        return addresses[0]
    return flagged


def tax_row(identifiers: list[Row], tax_identifier: int | None) -> Row | None:
    """The identifier shown as the actor's tax identifier: Tryton's, else the first plain one (not a create key)."""
    plain = (row for row in identifiers if not row["type"] and not str(row["code"]).startswith(IDEMPOTENCY_PREFIX))
    return next((row for row in identifiers if row["id"] == tax_identifier), None) or next(plain, None)


def tax_identifier_type(code: str) -> str | None:
    """``eu_vat`` (which Tryton validates) for an EU VAT number, else None: kept as given, as a plain identifier.

    An EU VAT number begins with an EU country code and holds digits; Norwegian, Swiss or British numbers do not,
    and Tryton would refuse them as EU VAT numbers.
    """
    compact = code.strip().upper()
    return "eu_vat" if compact[:2] in _EU_VAT_PREFIXES and any(c.isdigit() for c in compact) else None


# --- writing --------------------------------------------------------------------------------------------------------


def address_commands(
    fields: dict[str, Value], addresses: list[Row], address_roles: tuple[str, ...], country_id: CountryId
) -> list[Any]:
    """The ``addresses`` commands that write the invoice and delivery address fields given in ``fields``."""
    commands: list[Any] = []
    for role, prefix in ADDRESS_ROLES.items():
        written = {key: fields[prefix + key] for key in ADDRESS_FIELDS if prefix + key in fields}
        if not written:
            continue
        if role == "delivery" and role not in address_roles:
            raise ValidationError("this Tryton has no delivery addresses (the stock module is not activated)")
        if "country" in written:
            written["country"] = country_id(written["country"])
        commands += _role_commands(role, written, addresses, address_roles)
    return commands


def _role_commands(
    role: str, written: dict[str, Any], addresses: list[Row], address_roles: tuple[str, ...]
) -> list[Any]:
    current = role_address(addresses, role)
    flag = {role: True} if role in address_roles else {}
    if current is None:
        return [["create", [{**written, **flag}]]]
    shared = role == "delivery" and current is role_address(addresses, "invoice")
    if not shared or _same(current, written):
        return [["write", [current["id"]], written]]
    kept = {key: current.get(key) for key in ADDRESS_FIELDS[:3]}
    kept["country"] = (current.get("country.") or {}).get("id")
    return [["write", [current["id"]], {role: False}], ["create", [{**kept, **written, **flag}]]]


def _same(current: Row, written: dict[str, Any]) -> bool:
    country = (current.get("country.") or {}).get("id")
    return all((country if key == "country" else current.get(key)) == value for key, value in written.items())


def mechanism_commands(fields: dict[str, Value], mechanisms: list[Row]) -> list[Any]:
    """The ``contact_mechanisms`` commands that write each contact field on the mechanism it was read from."""
    commands: list[Any] = []
    for kind in CONTACT_TYPES:
        if kind not in fields:
            continue
        first = next((row for row in mechanisms if row["type"] == kind), None)
        value = fields[kind]
        if first is not None and not value:
            commands.append(["delete", [first["id"]]])
        elif first is not None and value != first["value"]:
            commands.append(["write", [first["id"]], {"value": value}])
        elif first is None and value:
            commands.append(["create", [{"type": kind, "value": value}]])
    return commands


def tax_commands(code: Value, tax_identifier: int | None, identifiers: list[Row]) -> list[Any]:
    current = tax_row(identifiers, tax_identifier)
    if not code:
        return [["delete", [current["id"]]]] if current else []
    values = {"type": tax_identifier_type(str(code)), "code": code}
    return [["write", [current["id"]], values]] if current else [["create", [values]]]
