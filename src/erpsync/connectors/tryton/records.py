"""Tryton records as actors and back: reading parties and projects, and building their creates and writes.

``last_modified`` is the latest change time (ISO 8601, naive UTC, microseconds) of the record and of the records
that hold its fields (addresses, contact mechanisms, identifiers). ``save_actors`` compares it with the current value
before writing and passes Tryton's ``_timestamp`` with the write, so a concurrent edit in Tryton is a conflict.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from erpsync.connectors.tryton import fields as f
from erpsync.connectors.tryton.dates import date_text, timesheet_dates
from erpsync.connectors.tryton.parts import (
    ADDRESS,
    IDENTIFIER,
    MECHANISM,
    address_commands,
    fill_streets,
    mechanism_commands,
    part_names,
    part_values,
    tax_commands,
    typed_identifiers,
)
from erpsync.connectors.tryton.roles import Roles, company_type
from erpsync.connectors.tryton.rpc import Context, Domain, TrytonRpc
from erpsync.errors import ConflictError, ErpsyncError, NotFoundError, ValidationError
from erpsync.protocol.models import Actor, ActorType, Value

PARTY = "party.party"
PROJECT = "project.work"
Row = dict[str, Any]


def iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _changed_at(row: Row) -> dt.datetime:
    changed: dt.datetime = row.get("write_date") or row["create_date"]
    return changed


class Records:
    """The connection's view of Tryton: its logged-in session, its company and the roles its config chooses."""

    def __init__(self, rpc: TrytonRpc, company: int, roles: Roles) -> None:
        self.rpc = rpc
        self.context: Context = {"company": company, "companies": [company]}
        self.roles = roles
        self._part_names = part_names(roles.address_roles)
        self._found: dict[tuple[str, str, str], list[int]] = {}  # lookups by key, for one request
        self._traded: dict[str, list[int]] = {}  # the parties with orders, by order model, for one request

    # --- what makes a party a customer, supplier or person --------------------------------------------------------

    def type_domain(self, actor_type: ActorType) -> Domain:
        if actor_type == ActorType.PROJECT:
            return [["type", "=", "project"], ["company", "=", self.context["company"]]]
        if actor_type == ActorType.PERSON:
            return [["relations.type", "=", self.roles.relation()]]
        return self.roles.domain(actor_type, self.traded)

    def traded(self, order_model: str) -> list[int]:
        """The parties with orders of ``order_model`` (sales, purchases) that are not cancelled: one read."""
        if order_model not in self._traded:
            domain = [["company", "=", self.context["company"]], ["state", "!=", "cancelled"]]
            rows = self.rpc.search_read(order_model, domain, ["party"], context=self.context)
            self._traded[order_model] = sorted({row["party"] for row in rows})
        return self._traded[order_model]

    # --- reading --------------------------------------------------------------------------------------------------

    def find(self, actor_type: ActorType, domain: Domain, *, limit: int | None, active_only: bool = True) -> list[int]:
        full = [*self.type_domain(actor_type), *domain]
        if not active_only and actor_type != ActorType.PROJECT:
            full.append(["active", "in", [True, False]])
        order = [["name", "ASC"], ["id", "ASC"]]
        return self.rpc.search(model_of(actor_type), full, limit=limit, order=order, context=self.context)

    def read(self, actor_type: ActorType, ids: list[int]) -> dict[int, tuple[Actor, bool]]:
        """Actors by id with whether each is active; ids that are not of ``actor_type`` are left out."""
        if not ids:
            return {}
        domain = [*self.type_domain(actor_type), ["id", "in", ids]]
        if actor_type != ActorType.PROJECT:
            domain.append(["active", "in", [True, False]])
        names = _NAMES[actor_type] + ([] if actor_type == ActorType.PROJECT else ["active"])
        rows = self.rpc.search_read(model_of(actor_type), domain, names, context=self.context)
        return self._actors(actor_type, rows)

    def page_after(self, actor_type: ActorType, after_id: int, limit: int) -> list[Actor]:
        """A full read's page: the next ``limit`` active actors of the type after the id ``after_id``, by id."""
        domain = [*self.type_domain(actor_type), ["id", ">", after_id]]
        order = [["id", "ASC"]]
        names = _NAMES[actor_type]
        rows = self.rpc.search_read(model_of(actor_type), domain, names, limit=limit, order=order, context=self.context)
        found = self._actors(actor_type, rows)
        return [found[row["id"]][0] for row in rows]

    def count(self, actor_type: ActorType) -> int:
        """How many active actors of the type there are: one count in Tryton."""
        counted: int = self.rpc.model(model_of(actor_type), "search_count", self.type_domain(actor_type))
        return counted

    def _actors(self, actor_type: ActorType, rows: list[Row]) -> dict[int, tuple[Actor, bool]]:
        if actor_type == ActorType.PROJECT:
            parent_types = self._parent_type([row["party"] for row in rows if row["party"]])
            return {row["id"]: (self._project(row, parent_types.get(row["party"])), True) for row in rows}
        return self._parties(actor_type, rows)

    def _project(self, row: Row, parent: ActorType | None) -> Actor:
        values: dict[str, Value] = {
            "name": row["name"],
            "number": row["number"],
            "status": str(row["status"]) if row["status"] else None,
            "comment": row["comment"] or "",
            "progress": row["progress"],
            "start_date": date_text(row["timesheet_start_date"]),
            "end_date": date_text(row["timesheet_end_date"]),
        }
        return _actor(ActorType.PROJECT, row["id"], iso(_changed_at(row)), values, parent, row["party"])

    def _parties(self, actor_type: ActorType, rows: list[Row]) -> dict[int, tuple[Actor, bool]]:
        ids = [row["id"] for row in rows]
        parts = {model: self._parts(model, ids) for model in self._part_names}
        taxed = typed_identifiers(parts[IDENTIFIER])
        tax = {row["id"]: row["tax_identifier"] for row in self._read(PARTY, taxed, ["tax_identifier"])}
        parents = self._person_parents(ids) if actor_type == ActorType.PERSON else {}
        parent_types = self._parent_type(list(parents.values()))
        actors = {}
        for row in rows:
            related = {model: parts[model].get(row["id"], []) for model in self._part_names}
            changed = max(
                [_changed_at(row)] + [_changed_at(part) for part_rows in related.values() for part in part_rows]
            )
            values = self._party_values(row, related, tax.get(row["id"]))
            parent = parents.get(row["id"])
            actor = _actor(actor_type, row["id"], iso(changed), values, parent_types.get(parent or 0), parent)
            actors[row["id"]] = (actor, bool(row.get("active", True)))  # a page read by id reads active ones only
        return actors

    def _parts(self, model: str, party_ids: list[int]) -> dict[int, list[Row]]:
        names = ["party", "create_date", "write_date", *self._part_names[model]]
        rows = self.rpc.search_read(model, [["party", "in", party_ids]], names, context=self.context)  # Tryton's order
        if model == ADDRESS:
            fill_streets(rows, lambda ids: {row["id"]: row["street"] for row in self._read(ADDRESS, ids, ["street"])})
        grouped: dict[int, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[row["party"]].append(row)
        return grouped

    def _read(self, model: str, ids: list[int], names: list[str]) -> list[Row]:
        rows: list[Row] = self.rpc.read(model, ids, names, context=self.context) if ids else []
        return rows

    def _party_values(self, row: Row, related: dict[str, list[Row]], tax_identifier: int | None) -> dict[str, Value]:
        roles = self.roles.categories()
        values: dict[str, Value] = {
            "name": row["name"],
            "code": row["code"],
            "category": next((str(c) for c in row["categories"] if c not in roles), None),
            "language": (row.get("lang.") or {}).get("code"),
        }
        return values | part_values(related, tax_identifier)

    def _person_parents(self, ids: list[int]) -> dict[int, int]:
        domain = [["from_", "in", ids], ["type", "=", self.roles.relation()]]
        rows = self.rpc.search_read("party.relation.all", domain, ["from_", "to"], context=self.context)
        return {row["from_"]: row["to"] for row in rows}

    def _parent_type(self, party_ids: list[int]) -> dict[int, ActorType | None]:
        """The company actor type of each party: one search per role."""
        if not party_ids:
            return {}
        ids = sorted(set(party_ids))
        held = {
            actor_type: set(self.find(actor_type, [["id", "in", ids]], limit=None, active_only=False))
            for actor_type in (ActorType.CUSTOMER, ActorType.SUPPLIER)
        }
        return {i: company_type(i in held[ActorType.CUSTOMER], i in held[ActorType.SUPPLIER]) for i in ids}

    # --- writing --------------------------------------------------------------------------------------------------

    def create(self, actor: Actor, idempotency_key: str) -> int:
        """Create the actor in one Tryton call, or return the one an earlier call with this key created.

        The key is written by that same call, in a record Tryton creates in the same transaction, so no crash or
        lost answer can leave a created actor without its key: a party gets a type-less identifier holding it, a
        project the timesheet work that makes it available on timesheets, named with it (Tryton shows that work
        under the project's name, so the key stays out of sight). Callers serialise creates of one connection.
        """
        existing = self.created_by(actor.actor_type, idempotency_key)
        if existing is not None:
            return existing
        marker = f.IDEMPOTENCY_PREFIX + idempotency_key
        if actor.actor_type == ActorType.PROJECT:
            values = self._project_values(actor, creating=True)
            work = {"name": marker, "company": self.context["company"], **timesheet_dates(actor.fields)}
            values["timesheet_works"] = [["create", [work]]]
            # After timesheet_works: Tryton runs the setters in this order, and this one, seeing the work, keeps it
            # (left out, its default False would delete it).
            values["timesheet_available"] = True
            (created,) = self.rpc.create(PROJECT, [values], context=self.context)
            return created
        values = self._party_changes(actor, current=None)
        values.setdefault("identifiers", []).append(["create", [{"type": None, "code": marker}]])
        for key, commands in self._membership(actor).items():
            values.setdefault(key, []).extend(commands)
        (created,) = self.rpc.create(PARTY, [values], context=self.context)
        return created

    def created_by(self, actor_type: ActorType, idempotency_key: str) -> int | None:
        marker = f.IDEMPOTENCY_PREFIX + idempotency_key
        if actor_type == ActorType.PROJECT:
            domain: Domain = [["name", "=", marker], ["origin", "like", f"{PROJECT},%"]]
            works = self.rpc.search_read("timesheet.work", domain, ["origin"], limit=1, context=self.context)
            return int(works[0]["origin"].split(",")[1]) if works else None
        domain = [["code", "=", marker], ["party.active", "in", [True, False]]]
        rows = self.rpc.search_read("party.identifier", domain, ["party"], limit=1, context=self.context)
        return int(rows[0]["party"]) if rows else None

    def _membership(self, actor: Actor) -> dict[str, Any]:
        """What makes a new party the asked actor type: role categories, or the relation to its parent."""
        if actor.actor_type != ActorType.PERSON:
            rules = self.roles.rules(actor.actor_type)
            return {"categories": [command for rule in rules for command in rule.commands()]}
        parent = _int_key(actor.parent_key, "parent_key")
        if not self.rpc.search(PARTY, [["id", "=", parent]], context=self.context):
            raise ValidationError(f"the parent party {actor.parent_key} does not exist in Tryton")
        return {"relations": [["create", [{"to": parent, "type": self.roles.relation()}]]]}

    def save_page(self, actors: list[Actor]) -> list[Actor | ErpsyncError]:
        """Write a page of actors of one type and read them back, in a number of calls that does not grow with the
        page: one read of what they are now, one write of all of them (each on its own only when Tryton refuses
        that write), one read back. Per actor: the saved actor, or why it was not saved (``ConflictError`` when it
        changed since ``last_modified``)."""
        if len({actor.actor_type for actor in actors}) > 1:
            return [self.save_page([actor])[0] for actor in actors]
        outcome: list[Actor | ErpsyncError] = [NotFoundError("not saved")] * len(actors)
        planned: dict[int, tuple[int, dict[str, Any]]] = {}
        ids = {index: _int_key(actor.erp_key, "erp_key") for index, actor in enumerate(actors) if _is_id(actor.erp_key)}
        actor_type = actors[0].actor_type if actors else ActorType.CUSTOMER
        current = self.read(actor_type, list(ids.values()))
        states = self._states(actor_type, [i for i in ids.values() if i in current])
        for index, actor in enumerate(actors):
            try:
                planned[index] = (ids.get(index, -1), self._planned(actor, current, states))
            except ErpsyncError as error:
                outcome[index] = error
        failed = self._write_all(model_of(actor_type), planned, states)
        outcome[:] = [failed.get(index, outcome[index]) for index in range(len(actors))]
        back = self.read(actor_type, [erp_id for index, (erp_id, _) in planned.items() if index not in failed])
        for index, (erp_id, _) in planned.items():
            if index not in failed:
                outcome[index] = back[erp_id][0] if erp_id in back else NotFoundError(f"{erp_id} vanished")
        return outcome

    def _states(self, actor_type: ActorType, ids: list[int]) -> dict[int, _State]:
        """What writing needs of each record: its ``_timestamp``, and of a party its categories, tax identifier and
        the rows of its addresses, contact mechanisms and identifiers; a few calls for all of them."""
        if not ids:
            return {}
        if actor_type == ActorType.PROJECT:
            rows = self.rpc.read(PROJECT, ids, ["_timestamp"], context=self.context)
            return {row["id"]: _State(row["_timestamp"]) for row in rows}
        rows = self.rpc.read(PARTY, ids, ["_timestamp", "categories", "tax_identifier"], context=self.context)
        parts = {model: self._parts(model, ids) for model in self._part_names}
        return {
            row["id"]: _State(
                row["_timestamp"],
                row["categories"],
                row["tax_identifier"],
                {model: parts[model].get(row["id"], []) for model in self._part_names},
            )
            for row in rows
        }

    def _planned(
        self, actor: Actor, current: dict[int, tuple[Actor, bool]], states: dict[int, _State]
    ) -> dict[str, Any]:
        erp_id = _int_key(actor.erp_key, "erp_key")
        found = current.get(erp_id)
        if found is None or erp_id not in states:
            raise NotFoundError(f"{actor.actor_type.value} {actor.erp_key} does not exist in Tryton")
        if actor.last_modified is not None and actor.last_modified != found[0].last_modified:
            raise ConflictError(
                f"{actor.actor_type.value} {actor.erp_key} was changed in Tryton since it was read",
                tech_message=f"last_modified {actor.last_modified} != {found[0].last_modified}",
            )
        if actor.actor_type == ActorType.PROJECT:
            return self._project_values(actor, creating=False)
        values = self._party_changes(actor, current=states[erp_id])
        if actor.actor_type == ActorType.PERSON and actor.parent_given:
            values["relations"] = self._parent_commands(actor, erp_id)
        return values

    def _write_all(
        self, model: str, planned: dict[int, tuple[int, dict[str, Any]]], states: dict[int, _State]
    ) -> dict[int, ErpsyncError]:
        """One write of every planned change; when Tryton refuses it, each on its own: the errors by index."""
        writes = {index: (erp_id, values) for index, (erp_id, values) in planned.items() if values}
        if not writes:
            return {}
        stamps = {f"{model},{erp_id}": states[erp_id].stamp for erp_id, _ in writes.values()}
        context = {**self.context, "_timestamp": stamps}
        if len(writes) > 1:
            try:
                self.rpc.model(
                    model, "write", *[a for erp_id, v in writes.values() for a in ([erp_id], v)], context=context
                )
                return {}
            except ErpsyncError:
                pass  # one of them is refused: find which, writing each on its own
        failed: dict[int, ErpsyncError] = {}
        for index, (erp_id, values) in writes.items():
            try:
                self.rpc.write(model, [erp_id], values, context=context)
            except ErpsyncError as error:
                failed[index] = error
        return failed

    def _project_values(self, actor: Actor, *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        fields = actor.fields
        for key in ("name", "comment", "progress"):
            if key in fields:
                values[key] = fields[key]
        if "status" in fields:
            values["status"] = _int_key(fields["status"], "status")
        if creating:  # ``create`` adds the timesheet work, with the dates on it
            values.update({"type": "project", "company": self.context["company"]})
            if actor.parent_key is not None:
                values["party"] = _int_key(actor.parent_key, "parent_key")
        elif dates := timesheet_dates(fields):
            values.update({"timesheet_available": True, **dates})
        if not creating and actor.parent_given:  # absent keeps the party; null clears it
            values["party"] = None if actor.parent_key is None else _int_key(actor.parent_key, "parent_key")
        return values

    def _party_changes(self, actor: Actor, *, current: _State | None) -> dict[str, Any]:
        """Party values with x2many commands for the addresses, contact mechanisms and tax identifier."""
        fields = actor.fields
        current = current or _State(None)
        parts = current.parts
        values: dict[str, Any] = {}
        if "name" in fields:
            values["name"] = fields["name"]
        if "language" in fields:
            values["lang"] = self._language_id(fields["language"])
        if "category" in fields:
            values["categories"] = self._category_commands(fields["category"], current.categories)
        country_id = self._country_id
        addresses = address_commands(fields, parts.get(ADDRESS, []), self.roles.address_roles, country_id)
        if addresses:
            values["addresses"] = addresses
        mechanisms = mechanism_commands(fields, parts.get(MECHANISM, []))
        if mechanisms:
            values["contact_mechanisms"] = mechanisms
        if "tax_identifier" in fields:
            identifiers = parts.get(IDENTIFIER, [])
            values["identifiers"] = tax_commands(fields["tax_identifier"], current.tax_identifier, identifiers)
        return values

    def _parent_commands(self, actor: Actor, person: int) -> list[Any]:
        """A person's parent moved: its works-for relation replaced. A person is a party that works for one, so the
        parent cannot be cleared (``validation``); absent members keep it."""
        if actor.parent_key is None:
            raise ValidationError("a person in Tryton works for a company or partner: its parent cannot be cleared")
        parent = _int_key(actor.parent_key, "parent_key")
        if not self.rpc.search(PARTY, [["id", "=", parent]], context=self.context):
            raise ValidationError(f"the parent party {actor.parent_key} does not exist in Tryton")
        works_for = self.roles.relation()
        domain = [["from_", "=", person], ["type", "=", works_for]]
        current = self.rpc.search("party.relation.all", domain, context=self.context)
        return [["delete", current], ["create", [{"to": parent, "type": works_for}]]]

    def _country_id(self, code: Value) -> int | None:
        return self._lookup("country.country", "code", code)

    def _category_commands(self, key: Value, current: list[int]) -> list[Any]:
        roles = self.roles.categories()
        commands: list[Any] = []
        others = [c for c in current if c not in roles]
        if others:
            commands.append(["remove", others])
        if key:
            category = _int_key(key, "category")
            if not self._exists("party.category", category):  # once per category in a page, not per actor
                raise ValidationError(f"party category {key} does not exist in Tryton")
            commands.append(["add", [category]])
        return commands

    def _exists(self, model: str, record_id: int) -> bool:
        memo = (model, "id", str(record_id))
        if memo not in self._found:
            self._found[memo] = self.rpc.search(model, [["id", "=", record_id]], limit=1)
        return bool(self._found[memo])

    def _language_id(self, code: Value) -> int | None:
        return self._lookup("ir.lang", "code", code) if code else None

    def _lookup(self, model: str, field: str, key: Value) -> int | None:
        if key is None or key == "":
            return None
        memo = (model, field, str(key))
        if memo not in self._found:
            self._found[memo] = self.rpc.search(model, [[field, "=", str(key)]], limit=1)
        found = self._found[memo]
        if not found:
            raise ValidationError(f"{key!r} is not a known {model} {field} in Tryton")
        return found[0]


_PARTY_NAMES = ("name", "code", "lang.code", "categories", "create_date", "write_date")  # active: when read by id
_PROJECT_NAMES = ("name", "number", "status", "comment", "progress", "party", "create_date", "write_date")
_NAMES: dict[ActorType, list[str]] = {actor_type: list(_PARTY_NAMES) for actor_type in ActorType} | {
    ActorType.PROJECT: [*_PROJECT_NAMES, "timesheet_start_date", "timesheet_end_date"]
}


@dataclass(frozen=True)
class _State:
    """What writing a record needs of it as it is now (all empty for a party being created)."""

    stamp: Any
    categories: list[int] = field(default_factory=list)
    tax_identifier: int | None = None
    parts: dict[str, list[Row]] = field(default_factory=dict)


def _is_id(key: str | None) -> bool:
    return key is not None and key.isdigit()


def model_of(actor_type: ActorType) -> str:
    return PROJECT if actor_type == ActorType.PROJECT else PARTY


def _actor(
    actor_type: ActorType,
    erp_id: int,
    last_modified: str,
    values: dict[str, Value],
    parent_type: ActorType | None,
    parent: int | None,
) -> Actor:
    known_parent = parent if parent_type is not None else None
    return Actor(
        actor_type=actor_type,
        erp_key=str(erp_id),
        last_modified=last_modified,
        parent_type=parent_type,
        parent_key=str(known_parent) if known_parent is not None else None,
        fields=values,
    )


def _int_key(key: Value, what: str) -> int:
    try:
        return int(str(key))
    except ValueError as error:
        raise ValidationError(f"{what} {key!r} is not a Tryton id") from error
