"""Every rule of the conformance kit, in the order they run; the envelope rule runs last to judge every answer."""

from __future__ import annotations

from erpsync.testing.conformance.rule import Rule
from erpsync.testing.conformance.rules import (
    changes,
    connections,
    documents,
    fields,
    finding,
    language,
    metadata,
    reading,
    robustness,
    saving,
    search,
    signing,
    watching,
    writing,
)

RULES: tuple[Rule, ...] = (
    *metadata.RULES,
    *language.RULES,
    *connections.RULES,
    *reading.RULES,
    *search.RULES,
    *finding.RULES,
    *fields.RULES,
    *changes.RULES,
    *writing.RULES,
    *saving.RULES,
    *documents.RULES,
    *robustness.RULES,
    *signing.RULES,
    *watching.RULES,
    metadata.ENVELOPE_RULE,
)
RULES_BY_ID = {rule.id: rule for rule in RULES}
