"""What a device taught the driver about its register map, kept across restarts.

A merged read that spans a hole in the device's map (addresses it does not implement) is
refused with "illegal data address"; the driver then reads those tags one by one. Without a
memory of that, every start published one all-bad batch before relearning it. The blocks a
device refused are kept in `{state_dir}/modbus-learned/{device}.json`, keyed by the block
(area, address, count), with a fingerprint of the device's register configuration: a changed
configuration (tags, addressing, limits, unit id) forgets what was learned.
"""

import hashlib
import json
import logging
from pathlib import Path

from config.files import write_private
from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.planner import ReadRequest

log = logging.getLogger(__name__)

FOLDER = "modbus-learned"


def fingerprint(cfg: ModbusDevice) -> str:
    """Changes whenever anything that shapes the reads of `cfg` changes."""
    shape = cfg.model_dump(mode="json", include={"unit_id", "addressing", "limits", "tags"})
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


class LearnedSplits:
    """The refused blocks of one device, on disk."""

    def __init__(self, state_dir: Path, cfg: ModbusDevice) -> None:
        self.path = state_dir / FOLDER / f"{cfg.name}.json"
        self.fingerprint = fingerprint(cfg)
        self.blocks: dict[str, list[str]] = {}

    def load(self) -> set[str]:
        """The tags to read one by one from the start (empty when nothing valid is kept)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            log.warning("%s: ignoring unreadable %s: %s", self.path.stem, self.path, exc)
            return set()
        if not isinstance(data, dict) or data.get("fingerprint") != self.fingerprint:
            return set()  # another configuration: relearn
        blocks = data.get("blocks")
        if isinstance(blocks, dict):
            self.blocks = {str(k): [str(t) for t in v] for k, v in blocks.items()}
        return {t for tags in self.blocks.values() for t in tags}

    def remember(self, req: ReadRequest) -> None:
        """Keep that `req` was refused (written at once: the next start reads it)."""
        self.blocks[f"{req.area}:{req.address}+{req.count}"] = [p.tag.name for p in req.tags]
        data = {"fingerprint": self.fingerprint, "blocks": self.blocks}
        try:
            write_private(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError as exc:
            log.warning("%s: cannot keep the learned read split in %s: %s", req, self.path, exc)
