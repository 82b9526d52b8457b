"""Condition state on disk: which alarms are active, so a restarted agent raises nothing twice."""

import json
import logging
from pathlib import Path
from typing import Any

from config.files import write_private

log = logging.getLogger(__name__)


class ConditionStateFile:
    """A small JSON file, replaced atomically (write, fsync, rename) on every change."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.error("condition state %s unreadable (%s): starting from normal", self.path, exc)
            return {}
        alarms = data.get("alarms") if isinstance(data, dict) else None
        return alarms if isinstance(alarms, dict) else {}

    def save(self, snapshot: dict[str, dict[str, Any]]) -> None:
        data = json.dumps({"v": 1, "alarms": snapshot}, separators=(",", ":"))
        write_private(self.path, data.encode())  # atomic, fsynced, 0600
