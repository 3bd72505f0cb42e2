"""The code keeps its shape: no module of the package over 500 lines (migrations aside), no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

import erpsync

PACKAGE = Path(erpsync.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "migrations" not in path.relative_to(PACKAGE).parts)


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the ``def`` (its decorators left out) to the last line of its body."""
    return (node.end_lineno or node.lineno) - node.lineno + 1


def test_every_module_but_the_migrations_is_measured() -> None:
    modules = _modules()
    assert PACKAGE / "sync" / "engine.py" in modules
    assert PACKAGE / "storage" / "migrations" / "env.py" not in modules
    assert len(modules) > 100


def test_no_module_is_over_500_lines() -> None:
    too_long = {
        str(path.relative_to(PACKAGE)): lines
        for path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_no_function_is_over_60_lines() -> None:
    too_long = {
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}": _length(node)
        for path in _modules()
        for node in _functions(ast.parse(path.read_text(encoding="utf-8")))
        if _length(node) > MAX_FUNCTION_LINES
    }
    assert too_long == {}


def test_the_measure_counts_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    [function] = _functions(ast.parse(f"@decorator\ndef long() -> None:\n{body}\n"))
    assert _length(function) == MAX_FUNCTION_LINES + 1
