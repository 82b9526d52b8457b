"""Our thin Modbus TCP client against the simulator's server over a real socket."""

import struct

import pytest

from edge.drivers.modbus.tcp import ModbusTcpClient
from simulators.modbus.pdu import RegisterBank
from simulators.modbus.server import ModbusTcpServer
from tests.services.ports import free_port


async def test_a_late_answer_is_never_taken_for_the_next_request() -> None:
    bank = RegisterBank(size=100)
    bank.holding_registers[:4] = [11, 22, 33, 44]
    server = ModbusTcpServer("127.0.0.1", free_port(), {1: bank})
    await server.start()
    client = ModbusTcpClient("127.0.0.1", server.port, 1, timeout=0.2, retries=0)
    try:
        await client.connect()
        assert await client.request(struct.pack(">BHH", 3, 0, 2)) == bytes((3, 4, 0, 11, 0, 22))
        server.faults.delay_s = 0.3
        with pytest.raises(TimeoutError):
            await client.request(struct.pack(">BHH", 3, 0, 1))
        server.faults.delay_s = 0.0
        # the answer to the timed-out request (register 0) arrives while this one waits
        assert await client.request(struct.pack(">BHH", 3, 3, 1)) == bytes((3, 2, 0, 44))
        assert await client.request(struct.pack(">BHH", 3, 200, 1)) == bytes((0x83, 2))
        assert client.connected
        server.drop_connections()
        with pytest.raises(ConnectionError):
            await client.request(struct.pack(">BHH", 3, 0, 1))
        assert not client.connected
    finally:
        client.close()
        await server.stop()
