"""The driver registry: name -> factory."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from edge.drivers.modbus.driver import ModbusDriver
from edge.drivers.registry import UnknownDriver, built_in, create_driver
from simulators.modbus.testing import press_device


def test_modbus_devices_get_the_modbus_driver(tmp_path: Path) -> None:
    tcp = press_device(1502)
    assert isinstance(create_driver(tcp, tmp_path), ModbusDriver)
    rtu = press_device(
        driver="modbus_rtu", connection={"port": "/dev/ttyUSB0", "baudrate": 9600}, tags=None
    )
    assert isinstance(create_driver(rtu, tmp_path), ModbusDriver)
    assert built_in().names() == ["modbus_rtu", "modbus_tcp", "opcua"]


def test_unknown_driver_names_the_device_and_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownDriver, match=r"device x: unknown driver 'bacnet'.*modbus_tcp"):
        create_driver(SimpleNamespace(name="x", driver="bacnet"), tmp_path)


def test_a_driver_whose_tag_model_is_not_its_devices_is_refused() -> None:
    from dataclasses import replace

    from edge.drivers.modbus import DRIVER as MODBUS
    from edge.drivers.opcua.config import OpcUaTag
    from edge.drivers.registry import DriverRegistry

    with pytest.raises(TypeError, match="`tags` must be a list of OpcUaTag"):
        DriverRegistry([replace(MODBUS, tag=OpcUaTag)])
    with pytest.raises(ValueError, match="two drivers are called 'modbus_tcp'"):
        built_in().with_driver(MODBUS)
