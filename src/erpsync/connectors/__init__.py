"""Reference connectors shipped with erpsync; each package exposes ``build_connector(settings)``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erpsync.sdk.connector import Connector
    from erpsync.settings import Settings

BUILT_IN = ("sample", "tryton")


def build_connector(name: str, settings: Settings) -> Connector:
    """Instantiate a built-in connector by name."""
    if name not in BUILT_IN:
        raise ValueError(f"unknown connector {name!r}; built-in connectors: {', '.join(BUILT_IN)}")
    module = importlib.import_module(f"erpsync.connectors.{name}")
    connector: Connector = module.build_connector(settings)
    return connector
