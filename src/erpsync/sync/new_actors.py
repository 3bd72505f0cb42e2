"""The fields of an actor created in the ERP, by the ERP tab and by automatic creation alike: the connection's fixed
defaults, overridden by the mapped CRM values that flow to the ERP, overridden by the answers to the defaults that
ask (their pre-filled values where no answer is given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from erpsync.errors import ValidationError
from erpsync.protocol import models as m
from erpsync.sync.mapping import FieldDefault, validate_defaults
from erpsync.sync.merge import Side, is_blank
from erpsync.sync.work import Pass


class NewActorRefusedError(ValidationError):
    """The actor cannot be created; ``problems`` holds each reason as (location, message)."""

    def __init__(self, problems: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("the actor cannot be created: " + "; ".join(message for _, message in problems))
        self.problems = list(problems)


def new_actor_fields(p: Pass, crm: Mapping[str, m.Value], answers: Mapping[str, m.Value]) -> dict[str, m.Value]:
    """Fixed defaults, overridden by the mapped CRM values that flow to the ERP, overridden by the user's answers;
    ``NewActorRefusedError`` naming each unknown answer, wrong value and mandatory field left blank."""
    defaults, metas = p.config.defaults.get(p.actor_type, {}), {meta.key: meta for meta in p.erp_fields}
    asked = {key for key, default in defaults.items() if default.ask_user}
    given = {key: answers.get(key, defaults[key].value) for key in asked}
    writes_erp = {key for key, rule in p.rules.items() if rule.direction.writes(Side.ERP)}
    fields = {key: d.value for key, d in defaults.items() if not d.ask_user}
    fields |= {key: value for key, value in crm.items() if key in writes_erp}
    fields |= given
    fields = {key: value for key, value in fields.items() if not is_blank(value)}
    problems: list[tuple[tuple[str | int, ...], str]] = [
        (("values", key), f"{key!r} is not a value this create asks for") for key in answers if key not in asked
    ]
    wrong = validate_defaults(
        {key: FieldDefault(value=given[key]) for key in given if key in fields}, erp_fields=p.erp_fields
    )
    problems += [(("values", problem.field), f"{problem.field}: {problem.message}") for problem in wrong]
    mandatory = {key for key, d in defaults.items() if d.mandatory}
    mandatory |= {key for key, meta in metas.items() if meta.access is m.Access.MANDATORY}
    problems += [(("values", key), f"{key} is mandatory") for key in sorted(mandatory) if key not in fields]
    if problems:
        raise NewActorRefusedError(problems)
    return fields
