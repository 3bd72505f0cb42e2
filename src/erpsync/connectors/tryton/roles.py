"""Who is a customer, a supplier or a person in a Tryton database, as the connection's config says.

Standard Tryton has no customer or supplier flag, so the administrator chooses per role: every party, the parties in
a party category of Tryton's own, or none. Persons are the parties with a contact relation of the type the
administrator names (``party_relationship``), to their company. The categories and the relation type must already
exist in Tryton: the connector looks them up by name when it opens the session and creates nothing in Tryton's
configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from erpsync.connectors.tryton.rpc import Domain, TrytonRpc
from erpsync.errors import ValidationError
from erpsync.protocol import models as m

EVERY_PARTY = "all"
IN_CATEGORY = "category"
NOBODY = "none"
RULE_LABELS = {
    EVERY_PARTY: "Every party",
    IN_CATEGORY: "Parties in the party category named below",
    NOBODY: "None",
}
ROLE_RULES = "role_rules"  # the list of the config fields ``customers`` and ``suppliers``


@dataclass(frozen=True)
class Rule:
    """What makes a party hold one role: every party, a category (its id), or nothing."""

    kind: str
    category: int | None = None

    def domain(self) -> Domain:
        if self.kind == IN_CATEGORY:
            return [["categories", "in", [self.category]]]
        return [] if self.kind == EVERY_PARTY else [["id", "=", -1]]

    def holds(self, category_ids: list[int]) -> bool:
        return self.kind == EVERY_PARTY or (self.kind == IN_CATEGORY and self.category in category_ids)

    def commands(self) -> list[Any]:
        """The x2many commands on ``categories`` that give a new party this role."""
        if self.kind == NOBODY:
            raise ValidationError("the connection's config gives no party this role, so none can be created")
        return [["add", [self.category]]] if self.kind == IN_CATEGORY else []


@dataclass(frozen=True)
class Roles:
    customer: Rule
    supplier: Rule
    works_for: int | None  # the contact relation type from a person to its company; None: no persons
    own_party: int = 0  # the connection's company's own party, never its own customer or supplier

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

    def domain(self, actor_type: m.ActorType) -> Domain:
        """The parties of a company actor type."""
        return [["id", "!=", self.own_party], *(clause for rule in self.rules(actor_type) for clause in rule.domain())]

    def company_type(self, category_ids: list[int]) -> m.ActorType | None:
        is_customer, is_supplier = self.customer.holds(category_ids), self.supplier.holds(category_ids)
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
    )


def _rule(config: m.Config, rpc: TrytonRpc, key: str, default: str) -> Rule:
    kind = _text(config, key) or default
    if kind not in RULE_LABELS:
        raise ValidationError(f"{key} must be one of {', '.join(RULE_LABELS)}, not {kind!r}")
    if kind != IN_CATEGORY:
        return Rule(kind)
    category_key = f"{key.removesuffix('s')}_category"
    name = _text(config, category_key)
    if not name:
        raise ValidationError(f"{key}: name the party category in {category_key}")
    return Rule(kind, _find(rpc, "party.category", name, "party category"))


def _find(rpc: TrytonRpc, model: str, name: str, what: str) -> int:
    found = rpc.search(model, [["name", "=", name]], limit=2, order=[["id", "ASC"]])
    if not found:
        raise ValidationError(f"Tryton has no {what} named {name!r}: create it in Tryton or name another")
    return found[0]


def _text(config: m.Config, key: str) -> str:
    value = config.get(key)
    return value.strip() if isinstance(value, str) else ""
