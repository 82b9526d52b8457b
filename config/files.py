"""Files that hold plant data or secrets: readable by the owning user only.

New files are created 0600; an existing file is brought down to at most 0640 (group read kept
for a backup group an administrator chose, nothing for others)."""

import os
from pathlib import Path

PRIVATE = 0o600


def private_file(path: str | Path) -> Path:
    """Make sure `path` exists and is not readable by others (SQLite gives its -wal and -shm
    files the mode of the database file, so one call before connecting covers them)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE)
    try:
        mode = os.fstat(fd).st_mode & 0o777
        if mode & 0o037:
            os.fchmod(fd, mode & 0o740)
    finally:
        os.close(fd)
    return path


def write_private(path: str | Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, as a file of mode 0600 whatever the old mode was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, PRIVATE)  # a leftover tmp file keeps its old mode through O_CREAT
        f.write(data)
        f.flush()
        os.fsync(fd)
    os.replace(tmp, path)
