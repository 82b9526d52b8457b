"""The historian's fast path: line protocol cut straight from the JSON, without I/O.

Whatever it accepts must give the lines the general path (`Converter.lines`) gives; whatever
is not a plain batch of good values must be left to the general path."""

from pathlib import Path

import orjson
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from edge.model import Quality, Reading, TelemetryBatch, now_ms
from edge.northbound.encode import telemetry_payload
from historian.fastlines import good_values_lines
from historian.points import BadTelemetry, Converter
from historian.service import Historian
from tests.northbound.helpers import northbound
from tests.northbound.test_historian import historian_cfg
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from tests.services.victoria import Victoria

TOPIC = "uns/v1/acme/plant1/stamping/line1/cell1/press-01/_telemetry"
SERIES = (
    b"telemetry,enterprise=acme,site=plant1,area=stamping,line=line1,cell=cell1,"
    b"device=press-01,tag="
)


def parsed(block: bytes) -> list[tuple[str, float | None, str, int]]:
    """Lines as (series key, value, quality field, ts): `value=7` and `value=7.0` are the same
    float to the store."""
    out = []
    for line in block.decode().splitlines():
        key, fields, ts = line.rsplit(" ", 2)
        kv = dict(f.split("=", 1) for f in fields.split(","))
        value = float(kv["value"]) if "value" in kv else None
        out.append((key, value, kv["quality"], int(ts)))
    return out


def general(topic: str, payload: bytes) -> bytes:
    return "".join(f"{ln}\n" for ln in Converter().lines(topic, payload)).encode()


def test_a_poll_of_good_values_is_cut_from_the_json_as_the_general_path_writes_it() -> None:
    values = [0.0, -1.5, 1e-7, 123456789.125, 3.4028234663852886e38, -0.0, 7, 0, -12]
    readings = [
        Reading(f"t{i}", v, Quality.GOOD, 1795604923305 + i, 1795604923305)
        for i, v in enumerate(values)
    ]
    readings.append(Reading("Temp_Zone-1.pv/°C", 21.5, Quality.GOOD, 5, 5, unit="°C"))
    payload = telemetry_payload("edge-1", TelemetryBatch("press-01", readings), 41)

    fast = good_values_lines(SERIES, payload)

    assert fast is not None
    block, n = fast
    assert n == len(readings) == block.count(b"\n")
    assert parsed(block) == parsed(general(TOPIC, payload))
    assert Converter().encode(TOPIC, payload) == fast
    assert block.splitlines()[-1] == SERIES + "Temp_Zone-1.pv/°C value=21.5,quality=0i 5".encode()


def body(
    values: str, head: str = '{"v":1,"agent":"a","device":"press-01","seq":1,"ts":1,'
) -> bytes:
    return f'{head}"values":[{values}]}}'.encode()


GOOD = '{"tag":"t","value":1.5,"quality":"good","ts":10}'


@pytest.mark.parametrize(
    "payload",
    [
        body(GOOD + "," + '{"tag":"u","value":2,"quality":"uncertain","ts":10,"reason":"stale"}'),
        body('{"tag":"state","value":"RUNNING","quality":"good","ts":10}'),
        body('{"tag":"run","value":true,"quality":"good","ts":10}'),
        body('{"tag":"oil","value":null,"quality":"bad","ts":10,"reason":"comm_timeout"}'),
        body('{"tag":"a b","value":1.0,"quality":"good","ts":10}'),  # needs escaping
        body('{"tag":"a,b=c","value":1.0,"quality":"good","ts":10}'),
        body('{"tag":"\\u00e9","value":1.0,"quality":"good","ts":10}'),  # a JSON escape
        body(GOOD + ", " + GOOD),  # whitespace
        body(GOOD) + b" ",
        body('{"tag":"t","value":1.5,"quality":"good","ts":10,"stale":true}'),
        body('{"value":1.5,"tag":"t","quality":"good","ts":10}'),  # other key order
        body(GOOD, head='{"v":1,"device":"press-01","seq":1,"ts":1,'),  # other header
        # the odd value after good ones: tags are checked wherever they stand
        body(GOOD + "," + '{"tag":"a b","value":1.0,"quality":"good","ts":10}'),
        body(GOOD + "," + '{"tag":"a=b","value":1.0,"quality":"good","ts":10}' + "," + GOOD),
        body(GOOD + "," + '{"tag":"tab\\tx","value":1.0,"quality":"good","ts":10}'),
        body(GOOD + "," + '{"tag":"t","value":"RUNNING","quality":"good","ts":10}'),
        body(GOOD + "," + '{"tag":"t","value":1.5,"quality":"good","ts":10,"unit":"a\\"b"}'),
    ],
)
def test_anything_else_takes_the_general_path_with_the_same_result(payload: bytes) -> None:
    assert good_values_lines(SERIES, payload) is None
    block, n = Converter().encode(TOPIC, payload)
    assert block == general(TOPIC, payload)
    assert n == block.count(b"\n")


@pytest.mark.parametrize(
    "payload",
    [
        body('{"tag":"t","value":01.5,"quality":"good","ts":10}'),  # leading zero
        body('{"tag":"t","value":1.,"quality":"good","ts":10}'),
        body('{"tag":"t","value":1.5,"quality":"good","ts":010}'),
        body(GOOD + ","),  # trailing comma
        body(GOOD + GOOD),  # no comma
        body(GOOD)[:-1],  # truncated
        body('{"tag":"t","value":1.5e,"quality":"good","ts":10}'),
        body('{"tag":"","value":1.5,"quality":"good","ts":10}'[:-1]),  # truncated, no tag
        body(GOOD + ',{"tag":"'),  # a value cut after its tag key
        body(GOOD + ',{"tag":"t","value":1.5,"quality":"good","ts":10},{"tag":"u",}'),
        body(GOOD + "," + GOOD.replace('"value":1.5', '"value":01.5')),
    ],
)
def test_malformed_json_is_never_accepted_by_the_fast_path(payload: bytes) -> None:
    assert good_values_lines(SERIES, payload) is None
    with pytest.raises(BadTelemetry, match="not a telemetry batch"):
        Converter().encode(TOPIC, payload)


def test_an_empty_poll_has_no_lines() -> None:
    payload = orjson.dumps({"v": 1, "agent": "a", "device": "d", "seq": 1, "ts": 1, "values": []})
    assert good_values_lines(SERIES, payload) == (b"", 0)
    assert Converter().encode(TOPIC, payload) == (b"", 0)


def test_a_bad_topic_is_named_even_for_a_good_payload() -> None:
    with pytest.raises(BadTelemetry, match="not a telemetry topic"):
        Converter().encode("uns/v1/acme/plant1/x/_telemetry", body(GOOD))


def test_fast_path_values_land_in_victoriametrics_as_sent(
    mosquitto: Mosquitto, victoria: Victoria, tmp_path: Path
) -> None:
    """Numbers copied from the JSON (`7`, `-0.0`, `1e-07`) are stored as the floats they are,
    next to a message that took the general path."""
    t = now_ms()
    values = [7, -0.0, 1e-07, 123456789.125, -12.5]
    readings = [Reading(f"fp{i}", v, Quality.GOOD, t, t, unit="bar") for i, v in enumerate(values)]
    odd = Reading("fp-state", "RUNNING", Quality.GOOD, t, t)  # a string: the general path
    hist = Historian(
        historian_cfg(mosquitto.url, tmp_path, url=victoria.url, client_id="hist-fastlines"),
        MQTTProtocolVersion.MQTTv5,
    )
    hist.start()
    wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
    nb = northbound(mosquitto.url, str(tmp_path / "q.sqlite"))
    nb.start()
    nb.put(TelemetryBatch("press-01", readings))
    nb.put(TelemetryBatch("press-01", [odd]))
    wait_for(lambda: hist.stats.messages_acked == 2, 15, "both messages acknowledged")
    nb.stop()
    hist.stop()
    assert hist.stats.points_written == len(values) + 1
    assert hist.stats.bad_messages == 0
    got = victoria.wait_export(
        'telemetry_value{device="press-01",tag=~"fp[0-9]"}', lambda s: len(s) == len(values)
    )
    stored = {s["metric"]["tag"]: s["values"] for s in got}
    assert stored == {f"fp{i}": [float(v)] for i, v in enumerate(values)}
    state = victoria.wait_export('telemetry_quality{device="press-01",tag="fp-state"}')
    assert state[0]["metric"]["text"] == "RUNNING"
