"""Adding a driver is one folder plus one registry line: here a driver that exists only in this
module (a tiny line protocol over TCP: `READ name` -> `name value`) is declared, registered,
read from a plant file, checked with clear errors and run by the agent into telemetry."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Literal

import orjson
import pytest
import yaml
from pydantic import Field

from config.base import Segment, Strict
from config.loader import ConfigError, load_plant, parse_plant
from config.reference import render
from edge.agent import EdgeAgent
from edge.drivers.base import Capabilities, Driver, DriverHost, DriverSpec, WriteRefused
from edge.drivers.registry import DriverRegistry, built_in
from edge.model import Quality, Reading, Value, now_ms
from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import plant
from tests.northbound.test_agent import until
from tests.services.mosquitto import Mosquitto

PATH = "stamping/line1/cell1"


class LineTag(Strict):
    name: Segment
    key: str = Field(description="what the instrument calls the value")
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    deadband: float | None = None
    deadband_percent: float | None = None
    max_age_s: float | None = None
    writable: bool = False


class LineDevice(Strict):
    name: Segment
    path: str
    driver: Literal["line"]
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    poll_interval_ms: int = Field(default=50, ge=10)
    tags: list[LineTag] = Field(min_length=1)

    def stale_after_ms(self) -> Mapping[str, int | None]:
        return {t.name: 3 * self.poll_interval_ms for t in self.tags}


class LineDriver:
    def __init__(self, cfg: LineDevice, state_dir: Path) -> None:
        self.cfg = cfg

    async def run(self, host: DriverHost) -> None:
        reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
        host.status("connected")
        try:
            while True:
                out = []
                for tag in self.cfg.tags:
                    writer.write(f"READ {tag.key}\n".encode())
                    _, raw = (await reader.readline()).decode().split()
                    at = now_ms()
                    out.append(Reading(tag.name, float(raw), Quality.GOOD, at, at))
                host.readings(out)
                await asyncio.sleep(self.cfg.poll_interval_ms / 1000)
        finally:
            writer.close()

    async def write(self, tag: str, value: Value) -> None:
        raise WriteRefused("the line instrument is read-only")


LINE = DriverSpec(
    names=("line",),
    device=LineDevice,
    tag=LineTag,
    create=LineDriver,
    capabilities=Capabilities(),  # the pipeline scales, no subscriptions, no writes
)


def registry() -> DriverRegistry:
    return built_in().with_driver(LINE)


def line_plant(broker_url: str, tmp_path: Path, port: int) -> dict:
    data = plant(broker_url, tmp_path, devices=1)
    data["devices"] = [
        {
            "name": "gauge-01",
            "path": PATH,
            "driver": "line",
            "port": port,
            "tags": [{"name": "pressure", "key": "P1", "scale": 0.1, "unit": "bar"}],
        }
    ]
    return data


@pytest.fixture
async def instrument() -> AsyncIterator[int]:
    """The instrument: answers `READ P1` with a value that counts up per read."""
    reads = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal reads
        while line := await reader.readline():
            reads += 1
            key = line.decode().split()[1]
            writer.write(f"{key} {1000 + reads}\n".encode())
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def test_the_builtin_registry_does_not_know_the_test_driver(tmp_path: Path) -> None:
    data = line_plant("mqtt://127.0.0.1:1883", tmp_path, 9)
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert "does not match any of the expected tags: 'modbus_tcp', 'modbus_rtu', 'opcua'" in str(
        err.value
    )
    assert built_in().names() == ["modbus_rtu", "modbus_tcp", "opcua"]


def test_a_registered_driver_is_read_and_checked_like_a_built_in_one(tmp_path: Path) -> None:
    data = line_plant("mqtt://127.0.0.1:1883", tmp_path, 9)
    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(data))
    cfg = load_plant(tmp_path / "plant.yaml", environ={}, drivers=registry())
    device = cfg.device("gauge-01")
    assert isinstance(device, LineDevice)
    assert device.tags[0].key == "P1"
    tag = data["devices"][0]["tags"][0]
    tag["kye"] = tag.pop("key")
    data["devices"][0]["tags"].append({"name": "pressure", "key": "P2", "writable": True})
    data["devices"][0]["port"] = 0
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={}, drivers=registry())
    assert err.value.problems == [
        ("devices[0].port", "device 'gauge-01': Input should be greater than or equal to 1"),
        ("devices[0].tags[0]", "tag 'pressure': unknown key 'kye' (did you mean 'key'?)"),
        ("devices[0].tags[1].name", "duplicate tag name 'pressure' (also tags[0])"),
    ]
    data["devices"][0]["port"] = 9
    tag["key"] = tag.pop("kye")
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={}, drivers=registry())
    assert err.value.problems == [
        ("devices[0].tags[1].name", "duplicate tag name 'pressure' (also tags[0])"),
        ("devices[0].tags[1].writable", "tag 'pressure': driver line cannot write to its devices"),
    ]


def test_the_test_driver_in_the_configuration_reference() -> None:
    text = render(registry())
    assert "## `devices[].tags[]` (LineTag)" in text
    assert "| `key` | str | required | what the instrument calls the value |" in text
    assert "`driver: line`: scale/offset applied by the pipeline; read-only." in text
    assert "LineTag" not in render()


async def test_the_agent_runs_a_registered_driver_into_telemetry(
    mosquitto: Mosquitto, tmp_path: Path, instrument: int
) -> None:
    drivers = registry()
    cfg = parse_plant(line_plant(mosquitto.url, tmp_path, instrument), drivers=drivers)
    col = Collector(mosquitto.url, f"{NS.root}/#", client_id="col-line")
    agent = EdgeAgent(cfg, drivers=drivers)
    driver: Driver = drivers.create_driver(cfg.device("gauge-01"), tmp_path)
    assert isinstance(driver, LineDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await until(lambda: len(col.seqs("gauge-01")) >= 3, 15, "gauge-01 telemetry")
        values = [v for b in col.telemetry()["gauge-01"] for v in b["values"]]
        assert {v["tag"] for v in values} == {"pressure"}
        assert all(v["quality"] == "good" and v["unit"] == "bar" for v in values)
        # the pipeline applied the scale: the driver does not declare it scales values itself
        assert all(100.0 < v["value"] < 110.0 for v in values)
        status = NS.device_status(PATH, "gauge-01")
        assert any(
            t == status and orjson.loads(p)["state"] == "connected" for t, p, _ in col.messages
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        col.close()
