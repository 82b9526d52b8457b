"""The birth/death sequence number on disk, written ahead of every MQTT session.

`next()` increments (0-255, wrapping), writes and fsyncs the file, then returns the value the
new session uses in its NDEATH will and NBIRTH: after a kill -9 the next start takes the
following number, so a host never sees one bdSeq for two sessions.
"""

import os
from pathlib import Path

from config.files import private_file

FILE = "sparkplug-bdseq"


class BdSeq:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / FILE

    def current(self) -> int | None:
        """The value of the last session started, None before the first."""
        try:
            return int(self.path.read_text(encoding="ascii").strip()) % 256
        except (FileNotFoundError, ValueError):
            return None

    def next(self) -> int:
        last = self.current()
        value = 0 if last is None else (last + 1) % 256
        tmp = self.path.with_suffix(".tmp")
        private_file(tmp)
        with tmp.open("w", encoding="ascii") as f:
            f.write(f"{value}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return value
