"""The mutation score of the conformance kit, printed at the end of a run that includes its broken connectors."""

from __future__ import annotations

import pytest

MUTATION_TEST = "test_a_broken_connector_fails_the_rule_it_breaks"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reports = [
        report
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", "") == "call" and MUTATION_TEST in report.nodeid
    ]
    if not reports:
        return
    caught = sum(report.passed for report in reports)
    terminalreporter.write_line(
        f"conformance kit mutation score: {caught}/{len(reports)} broken connectors failed with the right rule named"
    )
