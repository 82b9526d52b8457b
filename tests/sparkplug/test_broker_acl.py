"""The generated broker ACL of a plant on Sparkplug B, run for real on the shipped Mosquitto
config: the agent publishes only its own node's births, data and deaths; device writes (DCMD)
only from `ops`; the historian as primary host may publish its STATE; UNS grants unchanged."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from config.broker_acl import acl_for
from config.loader import parse_plant
from tests.deploy.shipped_broker import ShippedBroker, start
from tests.deploy.test_broker_acl import PRESS, Session, refused_then_allowed

PLANT = Path(__file__).resolve().parents[2] / "config" / "plant.yaml"
BASE = "spBv1.0/plant1"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedBroker]:
    data = yaml.safe_load(PLANT.read_text())
    data.setdefault("edge", {})["payloads"] = ["uns_json", "sparkplug_b"]
    data["edge"]["sparkplug"] = {"primary_host_id": "historian-1"}
    data.setdefault("historian", {})["sparkplug_primary"] = True
    cfg = parse_plant(data, "t", environ={})
    yield from start(tmp_path_factory.mktemp("spb-broker"), acl_for(cfg))


def test_sparkplug_grants(broker: ShippedBroker) -> None:
    viewer = Session(broker, "viewer", (f"{BASE}/#", "spBv1.0/STATE/+", "uns/v1/#"))
    edge = Session(broker, "edge-1")
    own = f"{BASE}/DDATA/edge-1/press-01"
    refused_then_allowed(edge, f"{BASE}/DDATA/edge-2/press-01", own, viewer)
    refused_then_allowed(edge, f"{BASE}/DCMD/edge-1/press-01", f"{BASE}/NBIRTH/edge-1", viewer)
    refused_then_allowed(edge, "spBv1.0/STATE/historian-1", f"{BASE}/NDEATH/edge-1", viewer)
    assert edge.publish(f"{PRESS}/_telemetry") == "Success"  # the UNS grants still hold
    mes, ops = Session(broker, "mes"), Session(broker, "ops")
    refused_then_allowed(mes, f"{BASE}/DCMD/edge-1/press-01", f"{BASE}/NCMD/edge-1", viewer)
    assert ops.publish(f"{BASE}/DCMD/edge-1/press-01") == "Success"
    historian = Session(broker, "historian")
    refused_then_allowed(historian, "spBv1.0/STATE/scada", "spBv1.0/STATE/historian-1", viewer)
