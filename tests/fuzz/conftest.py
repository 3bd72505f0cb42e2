"""Fixtures for the fuzz suites."""

from __future__ import annotations

from erpsync.testing.db import sqlite_template

__all__ = ["sqlite_template"]
