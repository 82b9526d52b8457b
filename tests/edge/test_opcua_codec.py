"""Pure parts of the OPC UA driver: status -> quality, value conversion, config, naming."""

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from asyncua import ua
from pydantic import ValidationError

from edge.drivers.opcua import codec
from edge.drivers.opcua.browse import FoundVariable, tag_names, to_yaml
from edge.drivers.opcua.config import OpcUaDevice
from edge.drivers.opcua.status import combine
from edge.model import Quality
from simulators.opcua.config import OvenModelConfig
from simulators.opcua.oven import Oven, OvenState


@pytest.mark.parametrize(
    ("code", "quality", "reason"),
    [
        (0x00000000, Quality.GOOD, None),
        (ua.StatusCodes.GoodNoData, Quality.GOOD, None),
        (0x00000400, Quality.GOOD, None),  # Good with info bits (limit bits) stays good
        (ua.StatusCodes.Uncertain, Quality.UNCERTAIN, "Uncertain"),
        (ua.StatusCodes.UncertainLastUsableValue, Quality.UNCERTAIN, "UncertainLastUsableValue"),
        (
            ua.StatusCodes.UncertainSensorNotAccurate | 0x0100,
            Quality.UNCERTAIN,
            "UncertainSensorNotAccurate",
        ),
        (ua.StatusCodes.Bad, Quality.BAD, "Bad"),
        (ua.StatusCodes.BadSensorFailure, Quality.BAD, "BadSensorFailure"),
        (ua.StatusCodes.BadNodeIdUnknown, Quality.BAD, "BadNodeIdUnknown"),
        (ua.StatusCodes.BadCommunicationError | 0x0400, Quality.BAD, "BadCommunicationError"),
        (0xC0000000, Quality.BAD, "0xC0000000"),  # reserved severity: treated as bad
        (0x80FF0000, Quality.BAD, "0x80FF0000"),  # unknown bad code: named by its number
    ],
)
def test_status_code_maps_to_quality(code: int, quality: Quality, reason: str | None) -> None:
    assert codec.quality_of(code) == (quality, reason)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (1.5, 1.5),
        (-3, -3),
        (2**63 - 1, 2**63 - 1),
        (True, True),
        ("RUNNING", "RUNNING"),
        (None, None),
        (ua.LocalizedText("Ofen", "de"), "Ofen"),
        (ua.QualifiedName("Temp", 2), "2:Temp"),
        (ua.NodeId.from_string("ns=2;s=Oven.Temperature"), "ns=2;s=Oven.Temperature"),
        (datetime(2026, 1, 1, tzinfo=UTC), 1767225600000),
        (b"\x01\xff", "01ff"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (ua.ServerState.Running, 0),
    ],
)
def test_variant_values_become_telemetry_values(raw: Any, value: Any) -> None:
    assert codec.to_value(raw) == value


def test_arrays_and_structures_are_bad_with_a_reason() -> None:
    r = codec.reading("t", None, [1, 2], 0, None, None, 1000)
    assert r.quality is Quality.BAD
    assert r.reason == "unsupported_type:array"
    r = codec.reading("t", None, ua.Range(0, 1), 0, None, None, 1000)
    assert r.reason == "unsupported_type:Range"


def test_reading_takes_source_then_server_timestamp_then_acquisition() -> None:
    src, srv = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert codec.reading("t", "degC", 1.0, 0, src, srv, 5).ts == 1767225600000
    assert codec.reading("t", "degC", 1.0, 0, None, srv, 5).ts == 1767312000000
    null = datetime(1601, 1, 1, tzinfo=UTC)  # OPC UA's "no timestamp"
    r = codec.reading("t", "degC", 1.0, 0, null, None, 5)
    assert r.ts == 5
    assert r.acquired_ms == 5
    assert r.unit == "degC"


def test_bad_status_drops_the_value_and_nan_is_not_finite() -> None:
    r = codec.reading("t", None, 7.0, ua.StatusCodes.BadOutOfService, None, None, 1)
    assert (r.value, r.quality, r.reason) == (None, Quality.BAD, "BadOutOfService")
    r = codec.reading("t", None, float("nan"), 0, None, None, 1)
    assert (r.value, r.quality, r.reason) == (None, Quality.BAD, "not_finite")


@pytest.mark.parametrize(
    ("value", "scale", "offset", "vtype", "raw"),
    [
        (180.0, 1.0, 0.0, "Double", 180.0),
        (3, 1.0, 0.0, "Float", 3.0),
        (212.0, 1.8, 32.0, "Double", 100.0),
        (12.0, 1.0, 0.0, "UInt16", 12),
        (-5, 1.0, 0.0, "Int16", -5),
        (True, 1.0, 0.0, "Boolean", True),
        ("RUN", 1.0, 0.0, "String", "RUN"),
        (50.0, 0.5, 0.0, "Int32", 100),
    ],
)
def test_values_for_write(value: Any, scale: float, offset: float, vtype: str, raw: Any) -> None:
    out = codec.value_for_write(value, scale, offset, vtype)
    assert out == raw
    assert type(out) is type(raw)


@pytest.mark.parametrize(
    ("value", "vtype", "message"),
    [
        (70000, "UInt16", "out of range for UInt16"),
        (-1, "UInt32", "out of range"),
        (1.5, "Int32", "not a whole number"),
        ("hot", "Double", "node is Double, got str"),
        (1, "Boolean", "node is Boolean, got int"),
        (True, "Int16", "node is Int16, got bool"),
        (None, "Double", "cannot write null"),
        (1.0, "DateTime", "not supported"),
    ],
)
def test_bad_writes_are_refused_with_the_reason(value: Any, vtype: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        codec.value_for_write(value, 1.0, 0.0, vtype)


BASE = {
    "name": "oven-01",
    "path": "a/b/c",
    "driver": "opcua",
    "endpoint": "opc.tcp://127.0.0.1:4840",
    "tags": [{"name": "t", "node_id": "ns=2;s=Oven.Temperature"}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tags": [{"name": "t", "node_id": "Oven.Temperature"}]}, "node_id"),
        (
            {"tags": [{"name": "t", "node_id": "i=1", "deadband": 1, "deadband_percent": 2}]},
            "either deadband or deadband_percent",
        ),
        ({"tags": [{"name": "t", "node_id": "i=1", "sampling_ms": 5}]}, "Extra inputs"),
        ({"security": {"mode": "None", "username": "u", "password": "p"}}, "clear text"),
        ({"security": {"mode": "Sign", "username": "u"}}, "go together"),
        ({"security": {"mode": "Encrypt"}}, "mode"),
        ({"endpoint": "http://x"}, "endpoint"),
        ({"reconnect_min_ms": 5000, "reconnect_max_ms": 1000}, "reconnect_max_ms"),
        ({"tags": []}, "tags"),
    ],
)
def test_config_errors_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OpcUaDevice.model_validate({**BASE, **change})


def test_config_defaults_live_in_the_schema() -> None:
    d = OpcUaDevice.model_validate(BASE)
    assert d.mode == "subscription"
    assert d.max_items_per_subscription == 1000
    assert d.security.mode == "None"
    assert d.security.pki_dir == "data/pki"
    assert d.tags[0].queue_size == 1


@pytest.mark.parametrize(
    ("states", "combined"),
    [
        (["connected", "connected"], "connected"),
        (["connected", "disconnected"], "degraded"),
        (["degraded"], "degraded"),
        (["connecting", "connecting"], "connecting"),
        (["connecting", "disconnected"], "disconnected"),
        (["disconnected"], "disconnected"),
    ],
)
def test_session_states_combine_into_one_device_state(states: list, combined: str) -> None:
    assert combine(states) == combined


def test_browse_names_are_short_unique_segments() -> None:
    paths = [
        ("Oven", "Temperature"),
        ("Oven", "Zone1", "Temperature"),
        ("Oven", "DoorOpen"),
        ("Oven", "Extra", "00001"),
        ("Press", "Spindle Speed (rpm)"),
    ]
    assert tag_names(paths) == [
        "oven_temperature",
        "zone1_temperature",
        "door_open",
        "extra_00001",
        "spindle_speed_rpm",
    ]
    text = to_yaml([FoundVariable(("A", "1"), 'ns=2;s=A."1"', True, "Double")], "hdr")
    assert 'node_id: "ns=2;s=A.\\"1\\"", writable: true' in text


def test_oven_heats_towards_setpoint_and_door_cools() -> None:
    cfg = OvenModelConfig(start_c=20, setpoint_c=180, time_constant_s=10, noise_c=0)
    oven, rng = Oven.from_config(cfg), random.Random(1)
    assert oven.state is OvenState.HEATING
    for _ in range(200):
        oven.step(1.0, rng)
    assert oven.temperature == pytest.approx(180, abs=0.1)
    assert oven.state is OvenState.READY
    oven.open_door(True)
    oven.step(1.0, rng)
    assert oven.temperature < 180
    assert oven.state is OvenState.DOOR_OPEN
    oven.open_door(False)
    assert oven.batch_count == 1
    oven.held = 250.0
    oven.step(1.0, rng)
    assert oven.temperature == 250.0
