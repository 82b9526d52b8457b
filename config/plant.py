"""The plant configuration: one file describes hierarchy, devices, stations, routings, services."""

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from config.alarms import AlarmDefinition, AlarmSettings
from config.base import Segment, Strict
from edge.drivers.modbus.config import ModbusDevice
from edge.drivers.opcua.config import OpcUaDevice


class Cell(Strict):
    name: Segment


class Line(Strict):
    name: Segment
    cells: list[Cell] = Field(min_length=1)


class Area(Strict):
    name: Segment
    lines: list[Line] = Field(min_length=1)


class Hierarchy(Strict):
    enterprise: Segment
    site: Segment
    areas: list[Area] = Field(min_length=1)

    def cell_paths(self) -> set[str]:
        return {
            f"{a.name}/{ln.name}/{c.name}" for a in self.areas for ln in a.lines for c in ln.cells
        }


class Tls(Strict):
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


class Broker(Strict):
    url: str = Field(default="mqtt://127.0.0.1:1883", pattern=r"^mqtts?://[^/:]+(:\d+)?/?$")
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    tls: Tls | None = None
    connect_retries: int = Field(default=5, ge=0)
    embedded_fallback: bool = Field(
        default=False, description="start an embedded broker when none answers (demo only)"
    )


class Historian(Strict):
    url: str | None = Field(default=None, description="InfluxDB-protocol URL; none: embedded")
    token: SecretStr | None = None
    org: str = "shopfloor"
    bucket: str = "telemetry"
    embedded_path: str = "data/history.sqlite"
    batch_size: int = Field(default=5000, ge=1)
    flush_interval_ms: int = Field(default=500, ge=10)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    bind: str = Field(default="127.0.0.1", description="address of the /metrics endpoint")
    client_id: str | None = Field(default=None, description="MQTT client id of the historian")
    receive_maximum: int = Field(
        default=2000, ge=1, le=65535, description="unacknowledged messages the broker may send"
    )
    retry_max_s: float = Field(default=10.0, gt=0, description="longest wait between retries")
    share_group: Segment = Field(
        default="historian", description="shared-subscription group ($share/<group>/...)"
    )


class Database(Strict):
    url: str = "sqlite:///data/mes.db"


class Queue(Strict):
    path: str = "data/edge-queue.sqlite"
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_age_s: float | None = Field(default=None, gt=0)
    when_full: Literal["drop_oldest", "refuse_new"] = "drop_oldest"
    inflight_window: int = Field(default=64, ge=1, le=65535, description="unacked messages")
    synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="NORMAL", description="SQLite sync: NORMAL survives kill -9, FULL power loss"
    )


class Edge(Strict):
    agent_id: Segment = "edge-1"
    queue: Queue = Queue()
    per_tag_topics: bool = False
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    state_dir: str = "data/edge"
    bind: str = Field(default="127.0.0.1", description="address of /metrics and the write API")
    api_token: SecretStr | None = Field(
        default=None, description="bearer token of POST /api/v1/writes; none: writes refused"
    )


class Workstation(Strict):
    id: Segment
    name: str | None = None
    path: str = Field(description="area/line/cell")
    work_centre: str | None = None


class Component(Strict):
    product: str
    quantity_per_unit: float = Field(gt=0)
    unit: str = "pcs"


class RoutingOperation(Strict):
    number: str = Field(pattern=r"^\d{4}$", description='e.g. "0010"')
    name: str
    workstation: str | None = None
    work_centre: str | None = None
    cycle_time_s: float = Field(gt=0)
    setup_time_s: float = Field(default=0, ge=0)
    components: list[Component] = []


class Routing(Strict):
    id: str
    product: str
    operations: list[RoutingOperation] = Field(min_length=1)


class Product(Strict):
    code: str
    name: str | None = None
    unit: str = "pcs"


class ScanPrefixes(Strict):
    """Text that introduces each kind of station barcode (CONTRACTS.md section 9)."""

    employee: str = Field(default="EMP:", min_length=1, description="operator badge")
    work_order: str = Field(default="WO:", min_length=1, description="work order [/operation]")
    command: str = Field(default="CMD:", min_length=1, description="START, PAUSE, ...")
    quantity: str = Field(default="QTY:", min_length=1, description="good quantity")
    scrap: str = Field(default="SCRAP:", min_length=1, description="scrap quantity and reason")
    reason: str = Field(default="RSN:", min_length=1, description="downtime or pause reason")
    inspection: str = Field(
        default="INSP:", min_length=1, description="extension: inspection result"
    )


class Mes(Strict):
    bind: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    debounce_s: float = Field(default=2.0, ge=0)
    over_report_tolerance_percent: float = Field(default=0.0, ge=0)
    secret_key: SecretStr | None = None
    bootstrap_admin_password: SecretStr | None = None
    scan_prefixes: ScanPrefixes = ScanPrefixes()


Device = Annotated[ModbusDevice | OpcUaDevice, Field(discriminator="driver")]


class PlantConfig(Strict):
    version: Literal[1] = 1
    plant: Hierarchy
    broker: Broker = Broker()
    historian: Historian = Historian()
    database: Database = Database()
    edge: Edge = Edge()
    mes: Mes = Mes()
    devices: list[Device] = []
    workstations: list[Workstation] = []
    products: list[Product] = []
    routings: list[Routing] = []
    alarms: list[AlarmDefinition] = []
    alarm_settings: AlarmSettings = AlarmSettings()

    def device(self, name: str) -> ModbusDevice | OpcUaDevice:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)
