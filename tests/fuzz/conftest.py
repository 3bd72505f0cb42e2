"""Fixtures for the fuzz suites."""

from erpsync.testing.db import sqlite_template

__all__ = ["sqlite_template"]
