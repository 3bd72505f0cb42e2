"""Files only this user may read: the data folder (0700), the SQLite database and its -wal/-shm files, keys (0600).

Public names: ``private_dir(path)``, ``private_file(path)``, ``write_private(path, text)``, ``DIR_MODE``,
``FILE_MODE``.

Files (and a folder handed to ``private_dir``) that exist with looser modes are tightened, so what an older version
left readable is closed on the next start; an existing parent folder of a file is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(current & mode)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents of it) readable by this user only; tighten it when it exists."""
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty ``path`` with mode 0600 unless it exists; tighten it when it does."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def write_private(path: Path, text: str) -> bool:
    """Write ``text`` into a new file of mode 0600; False (nothing written) when it exists: the first writer wins."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return True
