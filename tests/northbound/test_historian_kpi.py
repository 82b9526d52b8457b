"""The MES's `_mes/kpi` messages into the time-series store through the historian (issue 13
item 5): the payload is the one `mes.performance.figures.kpi_message` builds, so the test also
holds the MES and the historian to the same contract."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from historian.kpi import BadKpi, kpi_line, kpi_points
from historian.service import Historian
from historian.stores import query_history
from mes.performance.figures import kpi_message
from mes.performance.kpi import Quantities, TimeModel
from mes.performance.states import MachineState, Rule, StateMapping
from mes.performance.units import Unit
from tests.northbound.test_historian import historian_cfg
from tests.services.mosquitto import Mosquitto
from tests.services.ports import wait_for
from tests.services.victoria import Victoria

TOPIC = "uns/v1/acme/plant1/_mes/kpi"
# recent: VictoriaMetrics drops points older than its retention (a month by default)
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
END = START + timedelta(hours=8)
PRESS = Unit(
    workstation="ws-20",
    device="press-01",
    path="stamping/line1/cell1",
    work_centre="PRESS",
    mapping=StateMapping(rules=(Rule("speed", "gt", 0, MachineState.RUNNING),)),
    micro_stop_threshold=timedelta(seconds=60),
    silence_timeout=timedelta(seconds=120),
)


def m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def shift(apt_min: float = 360) -> TimeModel:
    """8 h shift, 30 min break; the rest of the 450 min planned busy time is a fault."""
    return TimeModel(
        pot=m(480),
        pdt=m(30),
        apt=m(apt_min),
        adet_fault=m(450 - apt_min),
        ttr=m(450 - apt_min),
        failures=1,
        quantities=Quantities(
            produced=600, good=570, scrap=30, inspected=600, first_pass_good=570, ideal_time=m(300)
        ),
    )


def payload(model: TimeModel, end: datetime = END) -> bytes:
    return orjson.dumps(kpi_message(PRESS, START, end, "early", model))


def test_a_kpi_message_is_one_point_at_the_shift_end_with_its_times_and_ratios() -> None:
    tags, fields, ts = kpi_points(TOPIC, payload(shift()))
    assert ts == int(END.timestamp() * 1000)
    assert tags == {
        "enterprise": "acme",
        "site": "plant1",
        "area": "stamping",
        "line": "line1",
        "work_unit": "ws-20",
        "work_centre": "PRESS",
        "shift": "early",
    }
    assert fields["apt_s"] == 21_600.0
    assert fields["pot_s"] == 28_800.0
    assert fields["failures"] == 1.0
    assert fields["availability"] == pytest.approx(360 / 450)
    assert fields["oee"] == pytest.approx(300 / 450 * 570 / 600)
    line = kpi_line(TOPIC, payload(shift())).decode()
    assert line.startswith("kpi,enterprise=acme,site=plant1,area=stamping,line=line1,")
    assert line.endswith(f" {ts}\n")


def test_an_undefined_kpi_is_left_out_never_stored_as_zero() -> None:
    idle = TimeModel(pot=m(480), pdt=m(30), adot=m(450))  # no order all shift: no APT
    _, fields, _ = kpi_points(TOPIC, payload(idle))
    assert fields["availability"] == 0.0
    assert "effectiveness" not in fields
    assert "oee" not in fields
    assert fields["adot_s"] == 27_000.0


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"end_at": "2026-03-03T13:00:00"}, "`end_at` must be an ISO 8601 time with its offset"),
        ({"end_at": None}, "`end_at`"),
        ({"work_unit": ""}, "`work_unit` must be a non-empty string"),
        ({"line": 7}, "`line` must be a non-empty string"),
        ({"kpis": [1]}, "`kpis` must be an object"),
        ({"times": {"apt_s": "long"}}, "times.apt_s must be a number or null"),
        ({"times": {"oee": 1.0}}, "oee appears in both"),
    ],
)
def test_a_message_that_breaks_the_contract_says_what(change: dict[str, object], says: str) -> None:
    body = kpi_message(PRESS, START, END, "early", shift()) | change
    with pytest.raises(BadKpi, match=says):
        kpi_points(TOPIC, orjson.dumps(body))
    with pytest.raises(BadKpi, match="not a _mes/kpi topic"):
        kpi_points("uns/v1/acme/plant1/_mes/alarms", payload(shift()))


def publish(broker: Mosquitto, messages: list[bytes]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kpi-pub")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    for info in [pub.publish(TOPIC, body, qos=1) for body in messages]:
        info.wait_for_publish(10)
    pub.disconnect()
    pub.loop_stop()


def test_kpi_points_land_in_victoria_metrics(
    mosquitto: Mosquitto, victoria: Victoria, tmp_path: Path
) -> None:
    cfg = historian_cfg(mosquitto.url, tmp_path, url=victoria.url, client_id="hist-kpi")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv5)
    hist.start()
    try:
        wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
        later = END + timedelta(hours=8)
        publish(mosquitto, [payload(shift()), b"{not json", payload(shift(405), later)])
        wait_for(lambda: hist.stats.kpi_messages == 3, 10, "three _mes/kpi messages received")
        series = victoria.wait_export(
            'kpi_oee{work_unit="ws-20",line="line1",shift="early"}',
            lambda s: sum(len(x["timestamps"]) for x in s) == 2,
        )
        assert series[0]["timestamps"] == [
            int(END.timestamp() * 1000),
            int(later.timestamp() * 1000),
        ]
        assert series[0]["values"] == pytest.approx([300 / 450 * 0.95, 300 / 450 * 0.95])
        apt = victoria.wait_export('kpi_apt_s{work_unit="ws-20"}')
        assert apt[0]["values"] == [21_600.0, 24_300.0]
        assert apt[0]["metric"]["work_centre"] == "PRESS"
        assert hist.stats.bad_messages == 1
    finally:
        hist.stop()


def test_kpi_points_land_in_the_embedded_store(mosquitto: Mosquitto, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    cfg = historian_cfg(mosquitto.url, tmp_path, embedded_path=str(db), client_id="hist-kpi-emb")
    hist = Historian(cfg, MQTTProtocolVersion.MQTTv311)
    hist.start()
    try:
        wait_for(lambda: hist.stats.subscribed, 10, "historian subscribed")
        publish(mosquitto, [payload(shift())])
        wait_for(lambda: hist.stats.points_written > 0, 10, "the KPI samples stored")
    finally:
        hist.stop()
    samples = query_history(db, "kpi.availability", 0, device="ws-20")
    assert [(s.ts, s.value) for s in samples] == [(int(END.timestamp() * 1000), 360 / 450)]
