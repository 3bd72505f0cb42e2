"""The README's set-up paragraph names only what exists: the demo's and the hub's port options with their defaults,
and how a connector of one's own gets the shared secret the hub signs with (the variable the connector reads, the file
the demo writes)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from erpsync.cli import app
from erpsync.demo import SECRET_FILE
from erpsync.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _options(*path: str) -> dict[str, object]:
    """The options of ``erpsync <path>`` and their defaults, as the command line parses them."""
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {option: param.default for param in command.params for option in param.opts if option.startswith("--")}


def test_the_port_options_the_readme_names_exist_with_the_defaults_it_names() -> None:
    demo = re.search(r"`erpsync demo (--port \d+ --connector-port \d+)` \(also `(--host)`\)", README)
    assert demo is not None, "the README names the demo's port options"
    options = _options("demo")
    for named in (*demo.group(1).split()[::2], demo.group(2)):
        assert named in options, named
    taken = re.search(r"when (\d+) or (\d+) are taken", README)
    assert taken is not None
    assert (options["--port"], options["--connector-port"]) == (int(taken.group(1)), int(taken.group(2)))
    assert f"http://127.0.0.1:{options['--port']}/" in README
    serve = re.search(r"`erpsync serve (--host) (--port)`", README)
    assert serve is not None, "the README names the hub's own port options"
    assert {serve.group(1), serve.group(2)} <= set(_options("serve"))


def test_registering_a_connector_of_ones_own_names_its_secret_as_the_product_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert re.search(r"asks for its URL and its shared\s+\*\*secret\*\*", README)
    example = re.search(r"`(ERPSYNC_CONNECTOR_SECRET)=\.\.\. erpsync connector serve sample (--port) \d+`", README)
    assert example is not None, "the README shows how to start a connector with its secret"
    assert "--port" in _options("connector", "serve")
    monkeypatch.setenv(example.group(1), "a shared secret")
    settings = Settings()
    assert settings.connector_secret == "a shared secret"
    assert f"`{settings.data_dir}/{SECRET_FILE}`" in README
