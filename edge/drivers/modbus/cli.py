"""`shopfloor edge probe`: read a register block a few times, print every byte/word order's
decoding and the orders ranked by plausibility, with a recommendation."""

import asyncio
from typing import Literal

import typer
from pydantic import ValidationError

from config.problems import problems_of
from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.modbus.link import DeviceException, LinkDown, ModbusLink
from edge.drivers.modbus.probe import probe_table, ranking_lines


def probe(
    host: str = typer.Option("127.0.0.1", help="Modbus TCP host (or gateway)"),
    port: int = typer.Option(502, help="TCP port"),
    serial: str | None = typer.Option(None, help="serial device for Modbus RTU, e.g. /dev/ttyUSB0"),
    baudrate: int = typer.Option(19200, help="RTU baud rate"),
    parity: str = typer.Option("E", help="RTU parity: N, E or O"),
    unit: int = typer.Option(1, help="unit id (slave address)"),
    area: str = typer.Option("holding", help="holding or input registers"),
    address: int = typer.Option(0, help="first register (see --one-based)"),
    count: int = typer.Option(4, min=1, max=125, help="registers to read"),
    one_based: bool = typer.Option(False, "--one-based", help="register numbers start at 1"),
    timeout_ms: int = typer.Option(2000, help="answer timeout"),
    reads: int = typer.Option(5, min=1, max=100, help="reads to judge the byte order over"),
    interval_ms: int = typer.Option(200, min=0, help="pause between reads"),
) -> None:
    """Read COUNT registers at ADDRESS, print each type in every byte/word order and rank the
    orders by plausibility over READS reads (give the first register of a value)."""
    if area not in ("holding", "input"):
        raise typer.BadParameter("use holding or input", param_hint="--area")
    base = 1 if one_based else 0
    connection: dict[str, object]
    if serial:
        connection = {"port": serial, "baudrate": baudrate, "parity": parity.upper()}
    else:
        connection = {"host": host, "port": port}
    area_name: Literal["holding_register", "input_register"] = (
        "holding_register" if area == "holding" else "input_register"
    )
    try:
        cfg = ModbusDevice.model_validate(
            {
                "name": "probe",
                "path": "probe/probe/probe",
                "driver": "modbus_rtu" if serial else "modbus_tcp",
                "connection": connection,
                "unit_id": unit,
                "addressing": base,
                "timeout_ms": timeout_ms,
                "retries": 0,
                "tags": [
                    {"name": "block", "area": area_name, "address": address, "type": "uint16"}
                ],
            }
        )
    except ValidationError as exc:
        said = "; ".join(
            f"{path}: {msg}" if path else msg for path, msg in problems_of(ModbusDevice, exc)
        )
        typer.echo(f"probe: bad options: {said}", err=True)
        raise typer.Exit(2) from None

    async def read() -> list[list[int]]:
        link = ModbusLink(cfg)
        out: list[list[int]] = []
        try:
            await link.connect()
            for i in range(reads):
                if i:
                    await asyncio.sleep(interval_ms / 1000)
                out.append([int(r) for r in await link.read(area_name, address - base, count)])
            return out
        finally:
            link.close()

    try:
        blocks = asyncio.run(read())
    except DeviceException as exc:
        typer.echo(f"probe: the device answered with exception {exc.code} ({exc.reason})", err=True)
        raise typer.Exit(1) from None
    except LinkDown as exc:
        typer.echo(f"probe: {exc.reason}: {exc}", err=True)
        raise typer.Exit(1) from None
    where = serial or f"{host}:{port}"
    typer.echo(f"{where} unit {unit}, {area} registers {address}..{address + count - 1}")
    typer.echo("\n".join(probe_table(address, blocks[-1]) + ranking_lines(address, blocks)))


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `edge` command group."""
    app.command("probe")(probe)
