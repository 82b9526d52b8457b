"""Condition state on disk: which alarms are active, so a restarted agent raises nothing twice."""

import json
import logging
import os
from pathlib import Path
from typing import Any

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"v": 1, "alarms": snapshot}, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
