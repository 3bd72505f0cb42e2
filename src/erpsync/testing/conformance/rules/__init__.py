"""Every rule of the conformance kit, in the order they run; the envelope rule runs last to judge every answer."""

from __future__ import annotations

from erpsync.testing.conformance.rule import Rule
from erpsync.testing.conformance.rules import (
    changes,
    connections,
    metadata,
    reading,
    robustness,
    search,
    signing,
    writing,
)

RULES: tuple[Rule, ...] = (
    *metadata.RULES,
    *connections.RULES,
    *reading.RULES,
    *search.RULES,
    *changes.RULES,
    *writing.RULES,
    *robustness.RULES,
    *signing.RULES,
    metadata.ENVELOPE_RULE,
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
