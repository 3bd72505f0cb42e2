"""The ``erpsync`` command line (Typer), one module per command group: ``hub`` (serve, db, users, groups),
``connections`` (connectors, connections), ``connector`` (a built-in connector), ``work`` (conformance, demo, sync,
worker, import), ``config`` (export, apply); ``common`` holds the app and what the commands share. The entry point
is ``erpsync.cli:app``."""

# The groups register their commands as they are imported, in the order ``erpsync --help`` lists them.
from erpsync.cli import connector, hub, connections, work, config  # isort: skip
from erpsync.cli.common import app

__all__ = ["app", "config", "connections", "connector", "hub", "work"]
