"""The connector conformance kit: checks every MUST of protocol v1 (docs/protocol.md) against a live connector.

``run_conformance(url, secret=..., config=...)`` returns a report with one result per rule and its evidence;
``report.exit_code`` is 0 (conforms), 1 (a rule failed) or 3 (incomplete: a rule could not be checked, e.g.
deletions without a ``delete_actor`` hook); ``render(report, console)`` shows it. ``conformance_tests()`` gives a
connector's test suite one test per rule.
"""

from __future__ import annotations

from erpsync.testing.conformance.context import ConformanceHooks, delete_by_command
from erpsync.testing.conformance.pytest_plugin import ConformanceTarget, conformance_tests
from erpsync.testing.conformance.report import as_text, render, summary
from erpsync.testing.conformance.rule import Outcome, RuleResult
from erpsync.testing.conformance.rules import RULES
from erpsync.testing.conformance.runner import ConformanceReport, run_conformance

__all__ = [
    "RULES",
    "ConformanceHooks",
    "ConformanceReport",
    "ConformanceTarget",
    "Outcome",
    "RuleResult",
    "as_text",
    "conformance_tests",
    "delete_by_command",
    "render",
    "run_conformance",
    "summary",
]
