"""What the pipelines and the alarm observer publish through, when the agent speaks UNS JSON,
Sparkplug B or both (`edge.payloads`): each batch, device status and message goes to every
payload the agent is configured for. Sparkplug carries condition events as the device's
`_alarms/events` metric; other UNS messages (write results) exist only in UNS JSON."""

from typing import Any

import orjson

from edge.alarms.topics import SUFFIX
from edge.model import TelemetryBatch
from edge.northbound.publisher import Northbound
from edge.sparkplug.node import SparkplugNode


class Fanout:
    def __init__(self, json: Northbound | None, sparkplug: SparkplugNode | None) -> None:
        self.json = json
        self.sparkplug = sparkplug

    def put(self, batch: TelemetryBatch) -> None:
        if self.json is not None:
            self.json.put(batch)
        if self.sparkplug is not None:
            self.sparkplug.put(batch)

    def device_status(self, device: str, state: str, error: str | None = None) -> None:
        if self.json is not None:
            self.json.device_status(device, state, error)
        if self.sparkplug is not None:
            self.sparkplug.device_status(device, state, error)

    def publish_durable(
        self, topic: str, payload: bytes, retain: bool = False, qos: int = 1
    ) -> None:
        if self.json is not None:
            self.json.publish_durable(topic, payload, retain, qos)
        if self.sparkplug is not None and topic.endswith(f"/{SUFFIX}"):
            body: dict[str, Any] = orjson.loads(payload)
            self.sparkplug.conditions(str(body["device"]), list(body["events"]))
