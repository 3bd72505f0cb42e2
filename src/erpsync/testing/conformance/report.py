"""Shows a conformance report: a Rich table on a terminal, the same table as plain text elsewhere."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from erpsync.testing.conformance.rule import Outcome
from erpsync.testing.conformance.runner import ConformanceReport

_STYLES = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.NOT_CHECKED: "yellow",
    Outcome.NOT_APPLICABLE: "dim",
}


def render(report: ConformanceReport, console: Console) -> None:
    table = Table(title=f"Conformance of {report.url}", show_lines=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Evidence")
    for result in report.results:
        outcome = Text(result.outcome.upper(), style=_STYLES[result.outcome])
        table.add_row(Text(result.rule_id), outcome, Text("\n".join(result.evidence)))
    console.print(table)
    for note in report.notes:
        console.print(f"- {note}", markup=False)
    console.print(summary(report), style="green" if report.conforms else ("bold red" if not report.ok else "yellow"))


def summary(report: ConformanceReport) -> str:
    counts = {outcome: sum(r.outcome == outcome for r in report.results) for outcome in Outcome}
    if not report.ok:
        verdict = f"does NOT conform (failed: {', '.join(report.failed)})"
    elif not report.complete:
        verdict = f"INCOMPLETE: no rule failed, but not checked: {', '.join(report.not_checked)}"
    else:
        verdict = "conforms"
    return (
        f"{report.url} {verdict}: {counts[Outcome.PASS]} passed, {counts[Outcome.FAIL]} failed, "
        f"{counts[Outcome.NOT_CHECKED]} not checked"
        + (f", {counts[Outcome.NOT_APPLICABLE]} not applicable" if counts[Outcome.NOT_APPLICABLE] else "")
    )


def as_text(report: ConformanceReport, *, width: int = 160) -> str:
    """The rendered report as plain text (pytest failure messages, logs)."""
    console = Console(width=width, record=True, force_terminal=False, color_system=None, file=io.StringIO())
    render(report, console)
    return console.export_text()
