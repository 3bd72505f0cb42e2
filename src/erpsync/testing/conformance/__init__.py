"""The connector conformance kit: checks every rule of protocol v1 (SPEC §6) against a live connector over HTTP.

``run_conformance(url, secret=..., config=...)`` returns a report with one result per rule and its evidence;
``render(report, console)`` shows it. ``conformance_tests()`` gives a connector's test suite one test per rule.
"""

from __future__ import annotations

from erpsync.testing.conformance.context import ConformanceHooks
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
    "render",
    "run_conformance",
    "summary",
]
