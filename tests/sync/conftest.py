"""Fixtures: ``world`` is the sync world (tests/support/sync_world.py) on each backend of ``database``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsync.storage.db import Database
from support.sync_world import World, build_world


@pytest.fixture
def world(database: Database, tmp_path: Path) -> Iterator[World]:
    yield from build_world(database, tmp_path)
