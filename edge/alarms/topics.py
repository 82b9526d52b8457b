"""The condition-event topic, an extension of the contracts (docs/alarms-quality.md).

`{root}/{area}/{line}/{cell}/{device}/_conditions`, QoS 1, not retained: the condition events of
one device, published by the edge agent that owns the device's tags, consumed by the MES.
"""

from uns.topics import Namespace

SUFFIX = "_conditions"


def conditions_topic(ns: Namespace, path: str, device: str) -> str:
    return f"{ns.device(path, device)}/{SUFFIX}"


def all_conditions(ns: Namespace) -> str:
    """Subscription filter for every device's condition events."""
    return f"{ns.root}/+/+/+/+/{SUFFIX}"
