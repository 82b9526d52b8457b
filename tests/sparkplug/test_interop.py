"""The agent as a Sparkplug B edge node against an independent host application (paho and a
hand-written protobuf reader, tests/sparkplug/scada.py) on a real Mosquitto, with the Modbus
press simulator: births, data by exception, rebirth, DCMD writes (allowed and refused), the
primary host going away and coming back (store-and-forward, historical data), and bdSeq
across kill -9 of an agent process."""

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

from config.loader import parse_plant
from edge.agent import EdgeAgent
from simulators.modbus.machine import ModbusSimulator
from simulators.modbus.testing import press_config, press_tags
from tests.northbound.helpers import NS, Collector
from tests.northbound.synthetic import SyntheticDriver, plant, write_plant
from tests.northbound.test_agent import until
from tests.services.mosquitto import Mosquitto
from tests.services.ports import free_port
from tests.sparkplug import wire
from tests.sparkplug.scada import ScadaHost

INT64, DOUBLE = 4, 10


def _spb_plant(url: str, tmp_path: Path, host: str | None) -> dict:  # type: ignore[type-arg]
    data = plant(url, tmp_path, devices=1)
    data["edge"]["payloads"] = ["sparkplug_b"]
    data["edge"]["sparkplug"] = {"primary_host_id": host} if host else {}
    return data


async def test_edge_node_against_an_independent_host(mosquitto: Mosquitto, tmp_path: Path) -> None:
    port = free_port()
    data = _spb_plant(mosquitto.url, tmp_path, "scada")
    data["devices"][0].update(
        connection={"host": "127.0.0.1", "port": port},
        poll_interval_ms=100,
        timeout_ms=300,
        tags=press_tags(),
    )
    cfg = parse_plant(data)
    host = ScadaHost(mosquitto.url)
    host.state(False)  # the host is not there yet: the node must wait
    async with ModbusSimulator([press_config(port, name="press-01")]) as sim:
        agent = EdgeAgent(cfg)
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        await asyncio.wait_for(agent.started.wait(), 10)
        node = agent.sparkplug
        assert node is not None
        await until(lambda: node.stats.queue_depth >= 2, 10, "data held while no host")
        assert host.of("NBIRTH") == []
        host.state(True)
        (nbirth,) = await host.until("NBIRTH")
        bdseq = nbirth.by_name()["bdSeq"].value
        assert nbirth.seq == 0
        (dbirth,) = await host.until("DBIRTH", device="press-01")
        metrics = dbirth.by_name()
        assert {t["name"] for t in press_tags()} <= set(metrics)
        temperature = metrics["temperature"]
        assert temperature.datatype == DOUBLE or temperature.datatype == 9
        assert temperature.properties["engUnit"] == "degC"
        assert temperature.properties["Quality"] in (0, 64, 192)
        # data held before the births is replayed, flagged historical
        history = await host.until("DDATA", device="press-01")
        await until(lambda: node.stats.queue_depth == 0, 10, "held data replayed")
        flagged = [m for p in host.of("DDATA") for m in p.metrics if m.historical]
        assert flagged, "replayed values are historical"
        assert all(m.name is None and m.alias for p in history for m in p.metrics)
        seqs = [p.seq for p in [dbirth, *host.of("DDATA")]]
        assert seqs == [(seqs[0] + i) % 256 for i in range(len(seqs))]
        # live values reach DDATA: the running press counts cycles
        counter = metrics["cycle_count"].alias
        await until(
            lambda: any(m.alias == counter for p in host.of("DDATA") for m in p.metrics),
            10,
            "cycle_count in DDATA",
        )

        # rebirth on NCMD, same session: same bdSeq, seq from 0
        host.command(
            "spBv1.0/plant1/NCMD/edge-t", wire.command(1, [("Node Control/Rebirth", None, 11, 1)])
        )
        await host.until("NBIRTH", 2)
        again = host.of("NBIRTH")[-1]
        assert (again.seq, again.by_name()["bdSeq"].value) == (0, bdseq)
        await host.until("DBIRTH", 2, device="press-01")

        # DCMD: an allowed write reaches the press; a tag not writable is refused and audited
        setpoint = metrics["stroke_rate_setpoint"].alias
        host.command(
            "spBv1.0/plant1/DCMD/edge-t/press-01",
            wire.command(2, [(None, setpoint, INT64, 42)]),
        )
        machine = sim.machine("press-01")
        await until(lambda: machine.press.stroke_rate_spm == 42, 10, "the press took it")
        before = machine.press.temperature_c if hasattr(machine.press, "temperature_c") else None
        host.command(
            "spBv1.0/plant1/DCMD/edge-t/press-01",
            wire.command(3, [("temperature", None, DOUBLE, 999.0)]),
        )
        audit = Path(cfg.edge.state_dir) / "write-audit.jsonl"

        def entries() -> list[dict]:  # type: ignore[type-arg]
            if not audit.exists():
                return []
            return [orjson.loads(line) for line in audit.read_bytes().splitlines()]

        await until(lambda: len(entries()) >= 2, 10, "both writes audited")
        ok, refused = entries()[:2]
        assert (ok["tag"], ok["ok"], ok["by"]) == ("stroke_rate_setpoint", True, "sparkplug-dcmd")
        assert (refused["tag"], refused["ok"]) == ("temperature", False)
        assert "not writable" in refused["error"]
        if before is not None:
            assert machine.press.temperature_c != 999.0

        # the primary host goes away: NDEATH with this session's bdSeq, then a new session
        # waits; data meanwhile is held and replayed historical after the next births
        host.state(False)
        (death,) = await host.until("NDEATH")
        assert death.by_name()["bdSeq"].value == bdseq
        await until(lambda: node.stats.queue_depth >= 2, 10, "data held while the host is away")
        ddata_before = len(host.of("DDATA"))
        host.state(True)
        await host.until("NBIRTH", 3)
        assert host.of("NBIRTH")[-1].by_name()["bdSeq"].value == (bdseq + 1) % 256
        await host.until("DDATA", ddata_before + 1)
        await until(lambda: node.stats.queue_depth == 0, 10, "held data replayed")
        replayed = [m for p in host.of("DDATA")[ddata_before:] for m in p.metrics]
        assert any(m.historical for m in replayed)

        stop.set()
        await asyncio.wait_for(task, 15)
    deaths = host.of("NDEATH")
    assert deaths[-1].by_name()["bdSeq"].value == (bdseq + 1) % 256  # clean stop: NDEATH
    host.close()


def test_ndeath_will_and_bdseq_across_kill_9(mosquitto: Mosquitto, tmp_path: Path) -> None:
    cfg = write_plant(tmp_path / "plant.yaml", _spb_plant(mosquitto.url, tmp_path, None))
    host = ScadaHost(mosquitto.url)
    log = (tmp_path / "agent.log").open("ab")
    cmd = [sys.executable, "-m", "tests.northbound.synthetic", str(cfg)]
    agent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    try:
        (birth,) = host.wait("NBIRTH", timeout=30)
        first = birth.by_name()["bdSeq"].value
        host.wait("DDATA", 3, device="press-01")
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        (will,) = host.wait("NDEATH", timeout=60)  # the broker publishes the will
        assert will.by_name()["bdSeq"].value == first
        agent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        births = host.wait("NBIRTH", 2, timeout=30)
        assert births[-1].by_name()["bdSeq"].value == (first + 1) % 256
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(15) == 0
        deaths = host.wait("NDEATH", 2)
        assert deaths[-1].by_name()["bdSeq"].value == (first + 1) % 256
    finally:
        if agent.poll() is None:
            agent.kill()
        host.close()


async def test_broker_restart_new_session_with_the_next_bdseq(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    broker = mosquitto_factory().start()
    cfg = parse_plant(_spb_plant(broker.url, tmp_path, None))
    host = ScadaHost(broker.url)
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        (birth,) = await host.until("NBIRTH")
        first = birth.by_name()["bdSeq"].value
        await host.until("DDATA", 3, device="press-01")
        broker.kill()
        node = agent.sparkplug
        assert node is not None
        await until(lambda: not node.online.is_set(), 10, "the node noticed")
        await until(lambda: node.stats.queue_depth >= 5, 10, "polls held while no broker")
        await asyncio.to_thread(broker.start)
        births = await host.until("NBIRTH", 2, timeout=30)
        assert births[-1].by_name()["bdSeq"].value != first  # a new session, a new bdSeq
        assert births[-1].seq == 0
        await until(lambda: node.stats.queue_depth == 0, 10, "held polls replayed")
        assert any(m.historical for p in host.of("DDATA") for m in p.metrics)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        host.close()
    seq_file = Path(cfg.edge.state_dir) / "sparkplug-bdseq"
    assert int(seq_file.read_text()) == births[-1].by_name()["bdSeq"].value


async def test_both_payloads_at_once_with_a_configured_client_id(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    data = _spb_plant(mosquitto.url, tmp_path, None)
    data["edge"]["payloads"] = ["uns_json", "sparkplug_b"]
    data["broker"]["client_id"] = f"edge-both-{free_port()}"  # two sessions: two ids
    cfg = parse_plant(data)
    col = Collector(mosquitto.url, f"{NS.root}/+/+/+/+/_telemetry", client_id="col-spb-both")
    host = ScadaHost(mosquitto.url)
    agent = EdgeAgent(cfg, driver_factory=SyntheticDriver)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await host.until("DDATA", 150, device="press-01")  # 3 s of polls at 20 ms
        await until(lambda: len(col.seqs("press-01")) >= 150, 10, "UNS JSON telemetry")
        # the sessions did not take each other over (paho reconnects within a second)
        assert len(host.of("NBIRTH")) == 1
        assert agent.northbound is not None
        assert agent.northbound.stats.reconnects == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        host.close()
        col.close()
