"""Pure parts of the OPC UA driver: browse names to tag segments, `nsu=` node ids resolved
against a server's namespace array, which library log records are routine."""

import logging

import pytest
from asyncua import ua

from edge.drivers.opcua import liblog
from edge.drivers.opcua.browse import segment
from edge.drivers.opcua.config import OpcUaTag
from edge.drivers.opcua.liblog import RoutineEndsAtDebug, is_routine
from edge.drivers.opcua.namespaces import by_uri, needs_namespace_array, resolve
from edge.drivers.opcua.subscription import ItemSpec


@pytest.mark.parametrize(
    ("browse_name", "expected"),
    [
        ("NotANumber", "not_a_number"),
        ("HTTPServer", "http_server"),
        ("PVValue", "pv_value"),
        ("DoorOpen", "door_open"),
        ("Zone1Temperature", "zone1_temperature"),
        ("ABC", "abc"),
        ("temperature", "temperature"),
        ("Spindle Speed (rpm)", "spindle_speed_rpm"),
        ("IsAValue2", "is_a_value2"),
        ("_Hidden", "hidden"),
        ("***", "var"),
    ],
)
def test_browse_names_become_snake_case_segments(browse_name: str, expected: str) -> None:
    assert segment(browse_name) == expected


def _item(name: str, node_id: str) -> ItemSpec:
    tag = OpcUaTag(name=name, node_id=node_id)
    return ItemSpec(tag, ua.NodeId.from_string(tag.node_id))


ARRAY = ["http://opcfoundation.org/UA/", "urn:server", "urn:vendor:other", "urn:vendor:oven"]


def test_namespace_uris_resolve_to_the_servers_index() -> None:
    items = [
        _item("t", "nsu=urn:vendor:oven;s=Oven.Temperature"),
        _item("n", "nsu=urn:vendor:oven;i=1001"),
        _item("plain", "ns=2;s=Oven.Door"),
    ]
    assert needs_namespace_array(items)
    resolved, unknown = resolve(items, ARRAY)
    assert unknown == {}
    assert [r.node_id for r in resolved] == [
        ua.NodeId("Oven.Temperature", 3, ua.NodeIdType.String),
        ua.NodeId(1001, 3, ua.NodeIdType.Numeric),
        ua.NodeId("Oven.Door", 2, ua.NodeIdType.String),
    ]
    # the same plant file against a server that registered its namespaces the other way round
    resolved, _ = resolve(items[:1], [*ARRAY[:2], ARRAY[3], ARRAY[2]])
    assert resolved[0].node_id.NamespaceIndex == 2


def test_an_unknown_namespace_uri_names_the_tag() -> None:
    items = [_item("t", "nsu=urn:typo;s=Oven.Temperature"), _item("ok", "ns=2;s=X")]
    assert not needs_namespace_array(items[1:])
    resolved, unknown = resolve(items, ARRAY)
    assert [r.tag.name for r in resolved] == ["ok"]
    assert list(unknown) == ["t"]
    assert "tag t" in unknown["t"]
    assert "'urn:typo'" in unknown["t"]


def _record(name: str, msg: str, exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (), info)


def test_library_logs_of_a_handled_session_end_are_debug_not_errors() -> None:
    session = "asyncua.client.ua_session.UaSession"
    crashed = "Publish iteration crashed; retrying in 1s"
    assert is_routine(_record(session, crashed, ConnectionError("Connection is closed")))
    assert is_routine(_record("asyncua.client.client", liblog.ROUTINE[1][1], RuntimeError()))
    # a real fault of the library's publish loop stays an error
    assert not is_routine(_record(session, crashed, KeyError("x")))
    assert not is_routine(_record(session, "something else", ConnectionError()))
    assert not is_routine(_record("edge.agent", crashed, ConnectionError()))
    record = _record(session, crashed, ConnectionError())
    liblog.install()
    liblog.install()
    assert logging.getLogger(session).filters.count(liblog._FILTER) == 1
    RoutineEndsAtDebug().filter(record)
    assert record.levelno == logging.DEBUG


def test_browse_writes_node_ids_by_namespace_uri() -> None:
    assert by_uri("ns=3;s=Oven.T;x", ARRAY) == "nsu=urn:vendor:oven;s=Oven.T;x"
    assert by_uri("i=2258", ARRAY) == "i=2258"
    assert by_uri("ns=0;i=85", ARRAY) == "ns=0;i=85"
    assert by_uri("ns=9;i=1", ARRAY) == "ns=9;i=1"  # not in the array: left as it is
