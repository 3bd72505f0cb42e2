"""The ``erpsync`` command line (Typer), one module per command group: ``hub`` (serve, db, users, groups, CRM lists),
``connections`` (connectors, connections), ``configure`` (activation, mappings, list mappings, defaults, ranks, policy,
priority), ``filters`` (sync filters and their preview), ``auto_create`` (automatic creation, its preview and review
list), ``operations`` (sync now, resync, health, engine, runs, imports), ``problems`` (failing and broken records,
grouped by cause), ``alerts`` (alert settings, recipients, deliveries; and ``audit``), ``resync`` (a resync in any
scope, its dry run), ``history`` (field history, revert, retention, undo of a run), ``conflicts`` (the conflict
inbox), ``crm`` (CRM merges), ``connector`` (a built-in connector), ``work`` (conformance, demo, sync, worker,
import), ``config`` (export, apply); ``common`` holds the app and what the commands share, ``output`` the JSON, tables,
request bodies and progress bars. The entry point is ``erpsync.cli:app``."""

# The groups register their commands as they are imported, in the order ``erpsync --help`` lists them.
from erpsync.cli import connector, hub, connections, configure, filters, auto_create, operations  # isort: skip
from erpsync.cli import problems, alerts, resync, history, conflicts, crm, work, config  # isort: skip
from erpsync.cli.common import app

__all__ = [
    "alerts",
    "app",
    "auto_create",
    "config",
    "configure",
    "conflicts",
    "connections",
    "connector",
    "crm",
    "filters",
    "history",
    "hub",
    "operations",
    "problems",
    "resync",
    "work",
]
