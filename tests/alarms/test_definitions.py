from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from config.loader import ConfigError, parse_plant
from tests.alarms.helpers import alarm


def test_alarm_ids_derive_from_device_tag_and_kind() -> None:
    assert alarm(kind="limit", level="HH", limit=200).alarm_id == "oven-01.temperature.hh"
    assert alarm(kind="state", tag="state", values=["FAULT"]).alarm_id == "oven-01.state.state"
    assert alarm(kind="quality", name="dead").alarm_id == "oven-01.temperature.dead"


def test_unknown_message_placeholder_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as err:
        alarm(kind="limit", level="H", limit=1, message="too hot: {temp}")
    assert "unknown placeholder(s) ['temp']" in str(err.value)
    assert "value" in str(err.value)


def test_quality_action_needs_a_workstation() -> None:
    with pytest.raises(ValidationError, match="quality_action needs the alarm's workstation"):
        alarm(kind="limit", level="H", limit=1, quality_action={"reason": "x"})


def test_plant_file_cross_references_alarms(plant_yaml: Path) -> None:
    data = yaml.safe_load(plant_yaml.read_text())
    data["alarms"] = [
        {"device": "oven-01", "tag": "temperature", "kind": "limit", "level": "H", "limit": 1},
        {"device": "oven-01", "tag": "temperature", "kind": "limit", "level": "H", "limit": 2},
        {"device": "oven-02", "tag": "temperature", "kind": "quality"},
        {"device": "oven-01", "tag": "humidity", "kind": "quality", "workstation": "ws-99"},
        {
            "device": "press-01",
            "tag": "temperature",
            "kind": "limit",
            "level": "L",
            "limit": 1,
            "suppress_when": {"tag": "mode", "values": ["SETUP"]},
        },
    ]
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert err.value.problems == [
        ("alarms[1].name", "duplicate alarm 'oven-01.temperature.h': give it another name"),
        ("alarms[2].device", "unknown device 'oven-02'"),
        ("alarms[3].tag", "device 'oven-01' has no tag 'humidity'"),
        ("alarms[3].workstation", "unknown workstation 'ws-99'"),
        ("alarms[4].suppress_when.tag", "device 'press-01' has no tag 'mode'"),
    ]


def test_bad_alarm_kind_is_named_with_its_path(plant_yaml: Path) -> None:
    data = yaml.safe_load(plant_yaml.read_text())
    data["alarms"] = [{"device": "oven-01", "tag": "temperature", "kind": "limit", "level": "X"}]
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    paths = [p for p, _ in err.value.problems]
    assert "alarms[0].limit.level" in paths
    assert "alarms[0].limit.limit" in paths
