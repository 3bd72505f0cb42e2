"""Output safety by construction: every template is autoescaped and none of them, nor any Python module of the hub,
marks text as safe HTML. Text from a connector or a user can then only ever reach a page escaped.

The check reads the templates' syntax trees (not their text), so ``|safe`` written any way, ``{% autoescape false %}``,
``{% filter safe %}`` or a ``Markup(...)`` call all fail it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

import erpsync
from erpsync.web.pages import templates

SOURCE = Path(erpsync.__file__).parent
TEMPLATE_DIR = SOURCE / "web" / "templates"
TEMPLATES = sorted(path.relative_to(TEMPLATE_DIR).as_posix() for path in TEMPLATE_DIR.rglob("*.html"))
UNSAFE_FILTERS = {"safe"}
UNSAFE_NAMES = {"Markup", "markupsafe"}


def _unsafe_spots(source: str, environment: Environment) -> list[str]:
    tree = environment.parse(source)
    spots = [f"line {node.lineno}: |{node.name}" for node in tree.find_all(nodes.Filter) if node.name in UNSAFE_FILTERS]
    spots += [f"line {node.lineno}: {node.name}" for node in tree.find_all(nodes.Name) if node.name in UNSAFE_NAMES]
    for modifier in tree.find_all((nodes.ScopedEvalContextModifier, nodes.EvalContextModifier)):
        spots += [f"line {modifier.lineno}: autoescape {kw.value}" for kw in modifier.options if kw.key == "autoescape"]
    return spots


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_template_marks_text_as_safe_html(name: str) -> None:
    source = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    assert _unsafe_spots(source, templates.env) == [], f"{name} bypasses autoescaping"


@pytest.mark.parametrize(
    "source",
    [
        "{{ field.key|safe }}",
        '{% set x = (" a=" ~ key) | safe %}{{ x }}',
        "{% filter safe %}{{ key }}{% endfilter %}",
        "{% autoescape false %}{{ key }}{% endautoescape %}",
        "{{ Markup(key) }}",
    ],
)
def test_the_check_catches_every_way_of_bypassing_escaping(source: str) -> None:
    assert _unsafe_spots(source, templates.env)


def test_every_template_is_autoescaped() -> None:
    assert TEMPLATES, "the templates are found"
    for name in TEMPLATES:
        assert templates.env.autoescape is True or templates.env.autoescape(name), name
    hostile = '"><script>alert(1)</script>'
    rendered = templates.env.from_string('<p title="{{ v }}">{{ v }}</p>').render(v=hostile)
    assert "<script>" not in rendered
    assert "&#34;&gt;&lt;script&gt;" in rendered


def _markup_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"markupsafe", "jinja2"}:
            found += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names if a.name == "Markup"]
        if isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} imports markupsafe" for a in node.names if a.name == "markupsafe"]
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name == "Markup":
                found.append(f"{path.name}:{node.lineno} uses Markup")
        if isinstance(node, ast.keyword) and node.arg == "autoescape" and not _is_true(node.value):
            found.append(f"{path.name}:{node.lineno} turns autoescaping off")
    return found


def _is_true(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def test_no_python_module_builds_markup_past_the_escaping() -> None:
    modules = sorted((SOURCE / "web").rglob("*.py")) + sorted((SOURCE / "api").rglob("*.py"))
    assert modules
    found = [use for path in modules for use in _markup_uses(path)]
    assert found == []


def test_the_python_check_catches_markup(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from markupsafe import Markup\nx = Markup('<b>' + key)\n", encoding="utf-8")
    assert len(_markup_uses(module)) == 2
