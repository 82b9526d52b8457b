"""The alarm observer inside a real DevicePipeline, publishing through the real durable queue to
a real Mosquitto; state survives an agent restart with no duplicate raise."""

from pathlib import Path
from typing import Any

import orjson
import yaml

from config.loader import parse_plant
from config.plant import PlantConfig
from edge.alarms.observer import build_alarm_observer
from edge.alarms.topics import all_conditions
from edge.model import Quality, Reading, now_ms
from edge.northbound.publisher import Northbound
from edge.pipeline.device import DevicePipeline
from tests.northbound.helpers import Collector
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from uns.topics import Namespace

NS = Namespace("acme", "plant1")


def plant(plant_yaml: Path, broker_url: str, tmp_path: Path) -> PlantConfig:
    data = yaml.safe_load(plant_yaml.read_text())
    data["broker"] = {"url": broker_url}
    data["edge"] = {
        "agent_id": "edge-a",
        "state_dir": str(tmp_path / "state"),
        "queue": {"path": str(tmp_path / "q.sqlite")},
    }
    data["alarms"] = [
        {
            "device": "oven-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "HH",
            "limit": 200,
            "deadband": 2,
            "priority": "critical",
            "workstation": "ws-20",
            "message": "Oven at {value} {unit}, limit {limit}",
        }
    ]
    return parse_plant(data, "test", environ={})


class Agent:
    """The pieces of an edge agent that alarms need: northbound, pipeline, observer."""

    def __init__(self, cfg: PlantConfig) -> None:
        paths = {d.name: d.path for d in cfg.devices}
        self.nb = Northbound(cfg.broker, NS, cfg.edge.agent_id, paths, cfg.edge.queue)
        self.nb.start()
        observer = build_alarm_observer(cfg, self.nb)
        assert observer is not None
        self.observer = observer
        self.pipe = DevicePipeline(
            cfg.device("oven-01"), self.nb, lambda *a: None, observers=[observer]
        )

    def temperature(self, value: float) -> None:
        t = now_ms()
        self.pipe.readings([Reading("temperature", value, Quality.GOOD, t, t)])

    def stop(self) -> None:
        self.nb.stop()


def conditions(col: Collector) -> list[dict[str, Any]]:
    with col.lock:
        msgs = list(col.messages)
    out = []
    for topic, payload, _ in msgs:
        assert topic == f"{NS.root}/finishing/line1/oven1/oven-01/_conditions"
        body = orjson.loads(payload)
        assert (body["v"], body["agent"], body["device"]) == (1, "edge-a", "oven-01")
        out += body["events"]
    return out


def test_condition_events_ride_the_durable_queue_and_survive_restart(
    mosquitto: Mosquitto, plant_yaml: Path, tmp_path: Path
) -> None:
    cfg = plant(plant_yaml, mosquitto.url, tmp_path)
    col = Collector(mosquitto.url, all_conditions(NS), client_id="col-conditions")
    agent = Agent(cfg)
    agent.temperature(180.0)
    agent.temperature(203.5)
    agent.temperature(204.0)
    wait_for(lambda: len(conditions(col)) == 1, 10, "the raise")
    (raised,) = conditions(col)
    assert raised["alarm"] == "oven-01.temperature.hh"
    assert raised["condition"] == "raised"
    assert raised["message"] == "Oven at 203.5 degC, limit 200.0"
    assert raised["priority"] == "critical"
    agent.stop()

    agent = Agent(cfg)  # restarted: the alarm is known to be active already
    agent.temperature(205.0)
    agent.temperature(199.0)  # inside the deadband: still active
    agent.temperature(190.0)
    wait_for(lambda: len(conditions(col)) == 2, 10, "the clear")
    agent.stop()
    events = conditions(col)
    assert [e["condition"] for e in events] == ["raised", "cleared"]
    assert events[1]["value"] == 190.0
    assert events[1]["event_id"] != events[0]["event_id"]
    col.close()
