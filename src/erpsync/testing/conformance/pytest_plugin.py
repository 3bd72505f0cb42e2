"""One pytest test per conformance rule, so a connector's own test file is a few lines.

from erpsync.testing.conformance import ConformanceTarget, conformance_tests

@pytest.fixture
def conformance_target() -> Iterator[ConformanceTarget]:
    with serve_in_thread(create_app(MyConnector(), secret="s3cret")) as url:
        yield ConformanceTarget(url=url, secret="s3cret", config={...})

test_conformance = conformance_tests()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from erpsync.protocol import models as m
from erpsync.testing.conformance.context import ConformanceHooks
from erpsync.testing.conformance.report import as_text
from erpsync.testing.conformance.rule import Outcome
from erpsync.testing.conformance.rules import RULES
from erpsync.testing.conformance.runner import run_conformance


@dataclass(frozen=True)
class ConformanceTarget:
    """A live connector to check, as a pytest fixture provides it."""

    url: str
    secret: str
    config: m.Config
    hooks: ConformanceHooks = field(default_factory=ConformanceHooks)


def conformance_tests(*, target_fixture: str = "conformance_target") -> Callable[..., None]:
    """A test parametrized by rule id: fails on a failed rule, skips an unchecked or not applicable one with the
    reason."""
    import pytest  # only test code calls this; the kit itself runs without pytest

    @pytest.mark.parametrize("rule_id", [rule.id for rule in RULES])
    def test_conformance(rule_id: str, request: pytest.FixtureRequest) -> None:
        target: ConformanceTarget = request.getfixturevalue(target_fixture)
        report = run_conformance(
            target.url, secret=target.secret, config=target.config, hooks=target.hooks, rule_ids=[rule_id]
        )
        if report.outcome(rule_id) in (Outcome.NOT_CHECKED, Outcome.NOT_APPLICABLE):
            pytest.skip(as_text(report))
        assert report.ok, as_text(report)

    return test_conformance
