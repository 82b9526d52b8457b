"""What the MES alarm consumer makes of each message (no broker needed: `handle` is the
function the MQTT callback feeds), on a real SQLite database."""

from pathlib import Path

import orjson
import pytest
import yaml
from sqlmodel import Session

from config.loader import parse_plant
from config.plant import Broker
from mes.alarms.consumer import BadMessage, ConditionConsumer
from mes.alarms.models import AlarmCurrent
from mes.alarms.service import AlarmService
from tests.quality.db import database
from uns.topics import Namespace

NS = Namespace("acme", "plant1")
ROOT = NS.root


@pytest.fixture
def consumer(plant_yaml: Path, tmp_path: Path) -> ConditionConsumer:
    cfg = parse_plant(yaml.safe_load(plant_yaml.read_text()), "t", environ={})
    engine = database(f"sqlite:///{tmp_path}/mes.db")
    return ConditionConsumer(engine, Broker(), NS, AlarmService(cfg), client_id="t")


@pytest.mark.parametrize(
    ("topic", "payload", "error"),
    [
        (f"{ROOT}/finishing/line1/oven1/oven-01/_conditions", b"{nope", "not JSON"),
        (f"{ROOT}/finishing/line1/oven1/oven-01/_conditions", b"[1]", "not a JSON object"),
        (f"{ROOT}/finishing/line1/oven1/oven-01/_conditions", b"{}", "`events` must be a list"),
        (
            f"{ROOT}/finishing/line1/oven1/oven-01/_conditions",
            b'{"events": [{"alarm": "a.b.c", "tag": "b", "condition": "raised"}]}',
            "events[0]: missing 'ts'",
        ),
        (
            f"{ROOT}/finishing/line1/oven1/oven-01/_conditions",
            b'{"events": [{"alarm": "a.b.c", "tag": "b", "condition": "boom", "ts": 1}]}',
            "events[0]: 'boom' is not a valid Condition",
        ),
        (
            f"{ROOT}/finishing/line1/oven1/oven-01/_conditions",
            b'{"events": [{"alarm": "a", "tag": "b", "condition": "raised", "ts": 1e30}]}',
            "events[0]:",
        ),
        (f"{ROOT}/_edge/edge-1/_status", b'{"online": "yes"}', "without boolean `online`"),
        (f"{ROOT}/a/b/c/press-01/_status", b'{"state": 3}', "device status without `state`"),
        ("elsewhere/_conditions", b"{}", "outside our namespace"),
        (f"{ROOT}/_erp/orders", b"{}", "not a topic the alarm service reads"),
    ],
)
def test_bad_messages_are_refused_naming_what_is_wrong(
    consumer: ConditionConsumer, topic: str, payload: bytes, error: str
) -> None:
    with Session(consumer.engine) as s, pytest.raises(BadMessage) as err:
        consumer.handle(s, topic, payload)
    assert error in str(err.value)


def test_device_disconnect_raises_and_reconnect_clears(consumer: ConditionConsumer) -> None:
    topic = f"{ROOT}/stamping/line1/cell1/press-01/_status"
    down = {
        "v": 1,
        "device": "press-01",
        "state": "disconnected",
        "since": 1764064800000,
        "error": "connection refused",
    }
    with Session(consumer.engine) as s:
        assert consumer.handle(s, topic, orjson.dumps(down)) == 1
        row = s.get(AlarmCurrent, "press-01._status.disconnected")
        assert row is not None
        assert (row.state, row.priority, row.area, row.message) == (
            "active_unacked",
            "high",
            "stamping",
            "device press-01 disconnected: connection refused",
        )
        up = {**down, "state": "connected", "since": 1764064805000, "error": None}
        assert consumer.handle(s, topic, orjson.dumps(up)) == 1
        assert row.state == "rtn_unacked"

        # the retained `disconnected` comes again (a reconnect, a QoS 1 redelivery) in the same
        # transaction: it is journalled already, so it changes nothing and the commit holds
        assert consumer.handle(s, topic, orjson.dumps(down)) == 0
        s.commit()
        assert row.state == "rtn_unacked"
