"""What every rule works with: the wire, the config under test, the run tag, and what the connector said about itself.

Discovery (actor types, fields) is lenient on purpose: an invalid entry is left out here and reported by the rule
that owns it, so one fault fails one rule instead of every rule downstream.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic

from erpsync.protocol import models as m
from erpsync.testing.conformance.rule import RuleFailedError
from erpsync.testing.conformance.wire import Wire

ResponseT = TypeVar("ResponseT", bound=m.Envelope)
ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


@dataclass
class ConformanceHooks:
    """Optional access to the ERP behind the connector, for what the protocol itself cannot do."""

    delete_actor: Callable[[m.ActorType, str], None] | None = None  # delete a record in the ERP, by erp_key
    adjust_sample: Callable[[m.ActorType, dict[str, m.Value]], dict[str, m.Value]] | None = None
    """Fit the kit's generated values to the ERP's own business rules (e.g. "a done project is 100% complete"),
    which field metadata cannot state."""


def delete_by_command(command: str, *, timeout: float = 60.0) -> Callable[[m.ActorType, str], None]:
    """A ``delete_actor`` hook that runs ``command ACTOR_TYPE ERP_KEY`` (no shell); a non-zero exit is a failure."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("the delete command is empty")

    def delete(actor_type: m.ActorType, erp_key: str) -> None:
        done = subprocess.run(
            [*argv, str(actor_type), erp_key], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} {actor_type} {erp_key} exited {done.returncode}: {done.stderr[-300:]}")

    return delete


@dataclass
class Context:
    wire: Wire
    config: m.Config
    hooks: ConformanceHooks
    tag: str  # in every record the kit creates, so searches can be confined to them
    connection_id: str
    created: list[tuple[m.ActorType, str]] = field(default_factory=list)
    _fields: dict[m.ActorType, list[m.FieldMeta]] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)  # what a rule found once per run (e.g. an actor with documents)

    def request(self, operation: str, payload: dict[str, Any], response_type: type[ResponseT]) -> ResponseT:
        """Call ``operation`` and demand ``ok: true`` with a valid payload; anything else stops the rule."""
        document = self.document(operation, payload)
        try:
            return strict(response_type, document)
        except pydantic.ValidationError as error:
            raise RuleFailedError(f"{operation} answered an invalid payload: {m.describe_invalid(error)}") from None

    def document(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call ``operation`` and demand ``ok: true``; the answer's JSON object, not validated further."""
        answer = self.wire.call(operation, payload)
        if not answer.ok or answer.document is None:
            raise RuleFailedError(f"{operation} did not succeed: {answer.describe()}")
        return answer.document

    def on_connection(self, **members: Any) -> dict[str, Any]:
        return {"connection_id": self.connection_id, **members}

    def info(self) -> m.InfoResponse:
        return self.request("info", {}, m.InfoResponse)

    def actor_types(self) -> list[m.ActorType]:
        """The valid actor types the connector names, in its order."""
        named = self.document("actor_types", self.on_connection()).get("actor_types")
        if not isinstance(named, list):
            return []
        valid = {str(kind) for kind in m.ActorType}
        return [m.ActorType(kind) for kind in named if isinstance(kind, str) and kind in valid]

    def fields(self, actor_type: m.ActorType) -> list[m.FieldMeta]:
        """The valid field metadata of ``actor_type``."""
        if actor_type not in self._fields:
            document = self.document("actor_fields", self.on_connection(actor_type=actor_type))
            self._fields[actor_type] = valid_field_metas(document.get("fields"))
        return self._fields[actor_type]

    def field_keys(self, actor_type: m.ActorType) -> list[str]:
        return [meta.key for meta in self.fields(actor_type)]

    def searchable(self, actor_type: m.ActorType) -> list[str]:
        payload = self.on_connection(actor_type=actor_type)
        return self.request("searchable_fields", payload, m.SearchableFieldsResponse).field_keys

    def creatable_types(self) -> list[m.ActorType]:
        create = self.info().capabilities.create
        return [kind for kind in self.actor_types() if create.get(kind)]


def strict(model: type[ModelT], document: object) -> ModelT:
    """Validate a JSON document as the wire would: no coercion of ``"5"`` into 5."""
    return model.model_validate_json(json.dumps(document), strict=True)


def valid_field_metas(raw: object) -> list[m.FieldMeta]:
    if not isinstance(raw, list):
        return []
    metas = []
    for entry in raw:
        try:
            metas.append(strict(m.FieldMeta, entry))
        except pydantic.ValidationError:
            continue
    return metas
