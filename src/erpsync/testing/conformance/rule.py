"""What a conformance rule is, what it can conclude, and how it records its evidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erpsync.testing.conformance.context import Context


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_CHECKED = "not checked"  # the rule could not be exercised (e.g. no hook); never counted as a pass
    NOT_APPLICABLE = "not applicable"  # the rule is about an optional operation the connector does not declare


class RuleFailedError(Exception):
    """Stops a rule at once: what the connector did makes the remaining checks meaningless."""


class CannotCheckError(Exception):
    """Stops a rule without a verdict; the message says why, so the report stays honest."""


class NotApplicableError(Exception):
    """Stops a rule about an optional operation (``watch``) the connector does not declare: nothing to conform to."""


@dataclass
class Evidence:
    """Problems found (any problem fails the rule) and notes saying what was checked."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def note(self, text: str) -> None:
        self.notes.append(text)


Check = Callable[["Context", Evidence], None]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    check: Check


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    title: str
    outcome: Outcome
    evidence: tuple[str, ...]
