"""Sparkplug B topic names: `spBv1.0/<group>/<type>/<edge node>[/<device>]` and
`spBv1.0/STATE/<host>`. No I/O."""

from dataclasses import dataclass
from typing import Literal

NAMESPACE = "spBv1.0"
MessageType = Literal["NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD"]
TYPES: frozenset[str] = frozenset(
    ("NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD")
)


class NotSparkplug(ValueError):
    """A topic outside the Sparkplug B namespace."""


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    type: MessageType
    node: str
    device: str | None = None

    def __str__(self) -> str:
        tail = "" if self.device is None else f"/{self.device}"
        return f"{NAMESPACE}/{self.group}/{self.type}/{self.node}{tail}"


def node_topic(group: str, kind: MessageType, node: str) -> str:
    return f"{NAMESPACE}/{group}/{kind}/{node}"


def device_topic(group: str, kind: MessageType, node: str, device: str) -> str:
    return f"{NAMESPACE}/{group}/{kind}/{node}/{device}"


def state_topic(host_id: str) -> str:
    """Where the primary host application announces itself (retained JSON)."""
    return f"{NAMESPACE}/STATE/{host_id}"


def group_filter(group: str) -> str:
    """Every message of one group (a host's subscription)."""
    return f"{NAMESPACE}/{group}/#"


def parse(topic: str) -> SparkplugTopic:
    """The parts of an edge node or device topic; NotSparkplug for anything else."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in TYPES:
        raise NotSparkplug(f"{topic}: not a Sparkplug B edge node or device topic")
    kind: MessageType = parts[2]  # type: ignore[assignment]
    device = parts[4] if len(parts) == 5 else None
    if (device is None) != kind.startswith("N"):
        raise NotSparkplug(f"{topic}: {kind} {'needs' if device is None else 'has no'} device")
    return SparkplugTopic(parts[1], kind, parts[3], device)
