"""Who is a customer, a supplier or a person in a Tryton database, as the connection's config says.

Standard Tryton has no customer or supplier flag, so the administrator chooses per role: every party, the parties in
a party category of Tryton's own, the parties with sales (customers) or purchases (suppliers) that are not
cancelled, the parties with a customer (supplier) payment term, or none. Persons are the parties with a contact
relation of the type the administrator names (``party_relationship``), to their company. The categories and the
relation type must already exist in Tryton: the connector looks them up by name when it opens the session and creates
nothing in Tryton's configuration. A party found by its orders or its payment term gets the role in Tryton (with its
first order, or a payment term), so the connector does not create parties under those rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from erpsync.connectors.tryton.rpc import Domain, TrytonRpc
from erpsync.errors import ValidationError
from erpsync.protocol import models as m

EVERY_PARTY = "all"
IN_CATEGORY = "category"
TRADED = "traded"  # parties with sales (customers) or purchases (suppliers)
PAYMENT_TERM = "payment_term"  # parties with a customer (supplier) payment term
NOBODY = "none"
RULE_LABELS = {
    EVERY_PARTY: "Every party",
    IN_CATEGORY: "Parties in the party category named below",
    TRADED: "Parties with sales (customers) or purchases (suppliers)",
    PAYMENT_TERM: "Parties with a customer (supplier) payment term",
    NOBODY: "None",
}
# Per role: Tryton's model of its orders (sale, purchase) and the party's payment term field.
ORDERS = {"customers": "sale.sale", "suppliers": "purchase.purchase"}
PAYMENT_TERMS = {"customers": "customer_payment_term", "suppliers": "supplier_payment_term"}
TradedParties = Callable[[str], list[int]]  # the parties with orders of a model (sale.sale, purchase.purchase)
ROLE_RULES = "role_rules"  # the list of the config fields ``customers`` and ``suppliers``


@dataclass(frozen=True)
class Rule:
    """What makes a party hold one role (``role``: customers or suppliers): its ``kind``, and the category's id."""

    kind: str
    category: int | None = None
    role: str = "customers"

    def domain(self, traded: TradedParties) -> Domain:
        """The party domain of the rule; ``traded`` answers the parties with orders (one read, when asked)."""
        if self.kind == IN_CATEGORY:
            return [["categories", "in", [self.category]]]
        if self.kind == TRADED:
            return [["id", "in", traded(ORDERS[self.role])]]
        if self.kind == PAYMENT_TERM:
            return [["payment_terms", "where", [[PAYMENT_TERMS[self.role], "!=", None]]]]
        return [] if self.kind == EVERY_PARTY else [["id", "=", -1]]

    def commands(self) -> list[Any]:
        """The x2many commands on ``categories`` that give a new party this role."""
        if self.kind == IN_CATEGORY:
            return [["add", [self.category]]]
        if self.kind == EVERY_PARTY:
            return []
        if self.kind == NOBODY:
            raise ValidationError("the connection's config gives no party this role, so none can be created")
        made_by = "its first order" if self.kind == TRADED else "a payment term"
        raise ValidationError(f"a party gets this role in Tryton with {made_by}, so erpsync cannot create one as such")


@dataclass(frozen=True)
class Roles:
    customer: Rule
    supplier: Rule
    works_for: int | None  # the contact relation type from a person to its company; None: no persons
    own_party: int = 0  # the connection's company's own party, never its own customer or supplier
    address_roles: tuple[str, ...] = ()  # the flags Tryton's addresses have here: invoice, delivery

    def categories(self) -> set[int]:
        """The categories that carry a role (kept apart from the ``category`` field)."""
        return {rule.category for rule in (self.customer, self.supplier) if rule.category is not None}

    def actor_types(self) -> list[m.ActorType]:
        return [t for t in m.ActorType if t != m.ActorType.PERSON or self.works_for is not None]

    def rules(self, actor_type: m.ActorType) -> list[Rule]:
        if actor_type == m.ActorType.CUSTOMER:
            return [self.customer]
        if actor_type == m.ActorType.SUPPLIER:
            return [self.supplier]
        return [self.customer, self.supplier]

    def relation(self) -> int:
        if self.works_for is None:
            raise ValidationError("persons need the contact relation type named in the connection's config")
        return self.works_for

    def domain(self, actor_type: m.ActorType, traded: TradedParties) -> Domain:
        """The parties of a company actor type."""
        rules = self.rules(actor_type)
        return [["id", "!=", self.own_party], *(clause for rule in rules for clause in rule.domain(traded))]


def company_type(is_customer: bool, is_supplier: bool) -> m.ActorType | None:
    """The company actor type of a party with these roles."""
    if is_customer and is_supplier:
        return m.ActorType.PARTNER
    return m.ActorType.CUSTOMER if is_customer else m.ActorType.SUPPLIER if is_supplier else None


def load_roles(config: m.Config, rpc: TrytonRpc, company: int) -> Roles:
    """The roles ``config`` chooses, their categories and relation type looked up in Tryton; ``ValidationError``
    names a value that is wrong or a record that does not exist."""
    relation = _text(config, "person_relation")
    (own,) = rpc.read("company.company", [company], ["party"])
    return Roles(
        _rule(config, rpc, "customers", EVERY_PARTY),
        _rule(config, rpc, "suppliers", NOBODY),
        _find(rpc, "party.relation.type", relation, "contact relation type") if relation else None,
        int(own["party"]),
        _address_roles(rpc),
    )


def _address_roles(rpc: TrytonRpc) -> tuple[str, ...]:
    """The role flags of Tryton's addresses: ``invoice`` (account_invoice) and ``delivery`` (stock), where active."""
    found = rpc.model("party.address", "fields_get", ["invoice", "delivery"])
    return tuple(flag for flag in ("invoice", "delivery") if flag in found)


def _rule(config: m.Config, rpc: TrytonRpc, key: str, default: str) -> Rule:
    kind = _text(config, key) or default
    if kind not in RULE_LABELS:
        raise ValidationError(f"{key} must be one of {', '.join(RULE_LABELS)}, not {kind!r}")
    if kind in _NEEDS:
        _check_module(rpc, _NEEDS[kind][key], key)
    if kind != IN_CATEGORY:
        return Rule(kind, role=key)
    category_key = f"{key.removesuffix('s')}_category"
    name = _text(config, category_key)
    if not name:
        raise ValidationError(f"{key}: name the party category in {category_key}")
    return Rule(kind, _find(rpc, "party.category", name, "party category"), key)


_NEEDS = {TRADED: ORDERS, PAYMENT_TERM: dict.fromkeys(ORDERS, "party.party.payment_term")}


def _check_module(rpc: TrytonRpc, model: str, key: str) -> None:
    """The rule reads ``model``: its Tryton module (sale, purchase, account_invoice) must be activated."""
    if not rpc.search("ir.model", [["name", "=", model]], limit=1):
        raise ValidationError(f"{key}: Tryton has no {model} (activate its module in Tryton or choose another rule)")


def _find(rpc: TrytonRpc, model: str, name: str, what: str) -> int:
    found = rpc.search(model, [["name", "=", name]], limit=2, order=[["id", "ASC"]])
    if not found:
        raise ValidationError(f"Tryton has no {what} named {name!r}: create it in Tryton or name another")
    return found[0]


def _text(config: m.Config, key: str) -> str:
    value = config.get(key)
    return value.strip() if isinstance(value, str) else ""
