"""Project-wide test hooks: the shared fixtures (the plugin in tests/support), the soak variants (marker ``slow``) run
only when asked for, and the fault suite's summary line. They live here because under xdist only this conftest is
loaded by the controlling process, which writes the summary; the folders' own conftests are loaded by the workers alone.
"""

from __future__ import annotations

import os

import pytest

# Tests run the scheduled-only hub unless they turn live sync on (tests/sync/test_live*.py, bench/live.py), so a live
# push never races the assertions of a test about something else. Set before any Settings is built.
os.environ.setdefault("ERPSYNC_LIVE_SYNC", "false")

pytest_plugins = ["support.plugin"]

FAULT_COUNTS = ("faults_injected", "faults_survived")
"""The user properties each fault test records (``tally`` in tests/faults/conftest.py)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``slow`` tests unless a marker expression (``-m``) chooses, or a test is named by its node id."""
    if config.option.markexpr:
        return
    named = {str(arg) for arg in config.args if "::" in str(arg)}
    slow = [item for item in items if item.get_closest_marker("slow") and not _named(item, named)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]


def _named(item: pytest.Item, named: set[str]) -> bool:
    return any(item.nodeid == arg or item.nodeid.startswith(f"{arg}[") for arg in named)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """``faults injected: N, survived: N`` over every test report (xdist sends each worker's user properties)."""
    totals = dict.fromkeys(FAULT_COUNTS, 0)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name in totals:
                    totals[name] += int(value)
    if totals["faults_injected"]:
        terminalreporter.write_sep(
            "-", f"faults injected: {totals['faults_injected']}, survived: {totals['faults_survived']}"
        )
