"""Security: Basic256Sha256 Sign/SignAndEncrypt, user login, the server trust store."""

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import typer
from typer.testing import CliRunner

from edge.drivers.opcua import cli
from edge.drivers.opcua.driver import OpcUaDriver
from edge.drivers.opcua.pki import Pki
from edge.model import Quality
from simulators.opcua.machine import OvenMachine
from simulators.opcua.testing import RecordingHost, oven_config, oven_device
from tests.services.ports import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secure_oven(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OvenMachine]:
    pki = tmp_path_factory.mktemp("sim-pki")
    cfg = oven_config(
        free_port(),
        security={
            "modes": ["Sign", "SignAndEncrypt"],
            "pki_dir": str(pki),
            "users": {"operator": "s3cret"},
        },
    )
    machine = OvenMachine(cfg)
    await machine.start()
    yield machine
    await machine.stop()


def _device(oven: OvenMachine, pki: Path, **security: Any) -> Any:
    sec = {"mode": "SignAndEncrypt", "username": "operator", "password": "s3cret"}
    sec.update(security)
    return oven_device(oven.port, security={**sec, "pki_dir": str(pki)})


async def _run(driver: OpcUaDriver, host: RecordingHost) -> asyncio.Task[None]:
    return asyncio.create_task(driver.run(host))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_unknown_server_is_rejected_until_trusted(
    secure_oven: OvenMachine, tmp_path: Path
) -> None:
    pki = tmp_path / "pki"
    host = RecordingHost()
    task = await _run(OpcUaDriver(_device(secure_oven, pki), tmp_path), host)
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
    assert bad.reason == "BadCertificateUntrusted"
    assert host.state == "disconnected"
    error = host.statuses[-1][1] or ""
    assert "not trusted" in error
    assert "shopfloor edge trust" in error
    assert "s3cret" not in error
    # the client certificate was made on first start, its key private to us
    assert (pki / "own" / "cert.der").is_file()
    assert stat.S_IMODE((pki / "own" / "key.pem").stat().st_mode) == 0o600
    rejected = list((pki / "rejected").iterdir())
    assert len(rejected) == 1

    app = typer.Typer()
    cli.register(app)
    url = secure_oven.cfg.endpoint
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["trust", url, "--pki-dir", str(pki), "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert "trusted:" in result.output
    assert [p.name for p in (pki / "trusted").iterdir()] == [rejected[0].name]
    assert not rejected[0].exists()

    good = await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    assert isinstance(good.value, float)
    await host.until(lambda: host.state == "connected", what="connected")
    await _stop(task)


def _trusted_pki(oven: OvenMachine, root: Path) -> Path:
    Pki(root).trust(oven.cert_file.read_bytes())
    return root


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
async def test_trusted_server_with_user_login(
    secure_oven: OvenMachine, tmp_path: Path, mode: str
) -> None:
    pki = _trusted_pki(secure_oven, tmp_path / "pki")
    host = RecordingHost()
    driver = OpcUaDriver(_device(secure_oven, pki, mode=mode), tmp_path)
    task = await _run(driver, host)
    await host.until_reading("temperature", lambda r: r.quality is Quality.GOOD)
    await driver.write("setpoint", 175.0)
    assert secure_oven.value("Setpoint") == 175.0
    await _stop(task)


async def test_wrong_password_is_refused(secure_oven: OvenMachine, tmp_path: Path) -> None:
    pki = _trusted_pki(secure_oven, tmp_path / "pki")
    host = RecordingHost()
    task = await _run(OpcUaDriver(_device(secure_oven, pki, password="guess"), tmp_path), host)
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
    assert bad.reason == "BadUserAccessDenied"
    assert "guess" not in (host.statuses[-1][1] or "")
    await _stop(task)


async def test_server_without_the_mode_is_reported(
    secure_oven: OvenMachine, tmp_path: Path
) -> None:
    # the simulator offers no unsecured endpoint; a client asking for None is refused
    host = RecordingHost()
    device = oven_device(secure_oven.port, security={"pki_dir": str(tmp_path / "pki")})
    task = await _run(OpcUaDriver(device, tmp_path), host)
    bad = await host.until_reading("temperature", lambda r: r.quality is Quality.BAD)
    assert bad.reason is not None
    assert bad.reason.startswith("Bad")
    assert host.state == "disconnected"
    await _stop(task)
