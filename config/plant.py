"""The plant configuration: one file describes hierarchy, devices, stations, routings, services."""

from datetime import time
from functools import cache
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, SecretStr, create_model, model_validator

from config.alarms import AlarmDefinition, AlarmSettings
from config.base import Segment, Strict
from config.performance import Performance
from config.planning import Planning
from config.security import MesSecurity, ServerTls, TokenHash
from edge.drivers.base import DeviceConfig
from edge.drivers.registry import DriverRegistry, built_in


class Cell(Strict):
    name: Segment


class Line(Strict):
    name: Segment
    display_name: str | None = Field(
        default=None,
        min_length=1,
        description="the line's name on the pages and in the API (default: area/line)",
    )
    display_name_zh_cn: str | None = Field(
        default=None, min_length=1, description="in Simplified Chinese (default: display_name)"
    )
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
    ca: str | None = Field(default=None, description="CA certificate file (PEM)")
    cert: str | None = Field(default=None, description="client certificate file (PEM)")
    key: str | None = Field(default=None, description="client key file (PEM)")


class Broker(Strict):
    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^/:]+(:\d+)?/?$",
        description="mqtt://host:port, or mqtts:// for TLS",
    )
    username: str | None = None
    password: SecretStr | None = Field(default=None, description="secret: set it from the env")
    client_id: str | None = Field(default=None, description="default: derived from the service")
    tls: Tls | None = None
    connect_retries: int = Field(
        default=5, ge=0, description="start-up attempts before a service gives up"
    )


class Historian(Strict):
    url: str | None = Field(default=None, description="InfluxDB-protocol URL; none: embedded")
    token: SecretStr | None = Field(default=None, description="InfluxDB API token (secret)")
    org: str = "shopfloor"
    bucket: str = "telemetry"
    embedded_path: str = Field(default="data/history.sqlite", description="the embedded store")
    batch_size: int = Field(default=5000, ge=1, description="points per write")
    flush_interval_ms: int = Field(default=500, ge=10, description="longest wait to fill a batch")
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Prometheus /metrics; none: off"
    )
    bind: str = Field(default="127.0.0.1", description="address of the /metrics endpoint")
    client_id: str | None = Field(default=None, description="MQTT client id of the historian")
    receive_maximum: int = Field(
        default=2000, ge=1, le=65535, description="unacknowledged messages the broker may send"
    )
    retry_max_s: float = Field(default=10.0, gt=0, description="longest wait between retries")
    share_group: Segment = Field(
        default="historian", description="shared-subscription group ($share/<group>/...)"
    )
    sparkplug_primary: bool = Field(
        default=False,
        description="the historian is the Sparkplug primary host application named "
        "edge.sparkplug.primary_host_id: it publishes that host's STATE, so edge nodes hold "
        "their data (store-and-forward) while it is away and replay it as historical",
    )


class Database(Strict):
    url: str = Field(
        default="sqlite:///data/mes.db",
        description="SQLAlchemy URL: sqlite:///file or postgresql+psycopg://user@host/db",
    )


class Queue(Strict):
    path: str = Field(default="data/edge-queue.sqlite", description="the store-and-forward file")
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, description="bound on queued data")
    max_age_s: float | None = Field(default=None, gt=0, description="drop what is older")
    when_full: Literal["drop_oldest", "refuse_new"] = Field(
        default="drop_oldest", description="what gives way at the bound (always counted)"
    )
    inflight_window: int = Field(default=64, ge=1, le=65535, description="unacked messages")
    max_pending_values: int = Field(
        default=200_000,
        ge=1000,
        description="values accepted from the devices but not yet on disk; when the agent "
        "cannot keep up, the oldest such batches are dropped and counted (memory stays bounded)",
    )
    synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        default="NORMAL", description="SQLite sync: NORMAL survives kill -9, FULL power loss"
    )


#: the telemetry payloads an agent can publish (docs/northbound.md, "Choosing a payload")
PayloadFormat = Literal["uns_json", "uns_compact", "sparkplug_b"]


class Sparkplug(Strict):
    """The agent as a Sparkplug B 3.0 edge node (docs/northbound.md, "Sparkplug B")."""

    group_id: Segment | None = Field(
        default=None,
        description="Sparkplug group of this edge node (topic spBv1.0/<group_id>/...); "
        "none: the plant's site name. Hosts (historian, MES) read the same setting",
    )
    edge_node_id: Segment | None = Field(
        default=None, description="the edge node's Sparkplug name; none: edge.agent_id"
    )
    primary_host_id: Segment | None = Field(
        default=None,
        description="the primary host application whose STATE (spBv1.0/STATE/<id>) is awaited "
        "before births and data; while it is offline, data is held in the store-and-forward "
        "queue and replayed flagged historical. None: publish as soon as connected",
    )
    queue_path: str | None = Field(
        default=None,
        description="the store-and-forward file of Sparkplug data; none: "
        "<edge.state_dir>/sparkplug-queue.sqlite (bounds: edge.queue)",
    )


class Edge(Strict):
    agent_id: Segment = Field(default="edge-1", description="the agent's name in the namespace")
    queue: Queue = Queue()
    per_tag_topics: bool = Field(default=False, description="also retained per-tag topics")
    payloads: list[PayloadFormat] = Field(
        default=["uns_json"],
        min_length=1,
        description="telemetry payloads published for every poll: `uns_json` (one object per "
        "value on `{device}/_telemetry`, the default) and/or `uns_compact` (columns: tags once, "
        "then arrays of values, on `{device}/_telemetry/compact`; about a quarter of the bytes "
        "and a third of the consumer's decode CPU) and/or `sparkplug_b` (a Sparkplug B 3.0 edge "
        "node, see `sparkplug`). Several at once serve old and new consumers while they move",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="/metrics and the write API; none: off"
    )
    state_dir: str = Field(default="data/edge", description="seq numbers, certificates, state")
    bind: str = Field(default="127.0.0.1", description="address of /metrics and the write API")
    api_token: SecretStr | None = Field(
        default=None, description="bearer token of POST /api/v1/writes; none: writes refused"
    )
    api_tokens: dict[str, TokenHash] = Field(
        default={}, description="named callers of the write API: name -> SHA-256 of its token"
    )
    sparkplug: Sparkplug = Sparkplug()


class Workstation(Strict):
    id: Segment
    name: str | None = None
    name_zh_cn: str | None = Field(default=None, description="its name in Chinese on the pages")
    path: str = Field(description="area/line/cell")
    work_centre: str | None = Field(default=None, description="stations that share operations")
    language: Literal["en", "zh-CN"] | None = Field(
        default=None, description="the station page's language (default: the browser's)"
    )
    speed: float = Field(
        default=1.0,
        gt=0,
        description="planning: speed factor against the routings' cycle times (2 = twice as fast)",
    )


class WorkCentre(Strict):
    """Display names of a work centre (the `work_centre` of workstations and operations)."""

    id: str = Field(min_length=1, description="the work centre as its workstations name it")
    name: str | None = Field(
        default=None, min_length=1, description="its name on the pages (default: the id)"
    )
    name_zh_cn: str | None = Field(
        default=None, min_length=1, description="the name in Simplified Chinese (default: name)"
    )


class Component(Strict):
    product: str
    quantity_per_unit: float = Field(gt=0)
    unit: str = "pcs"


class Alternative(Strict):
    """Planning: another workstation able to run a routing operation, at its own speed."""

    workstation: str = Field(description="a workstation id")
    speed: float = Field(
        default=1.0, gt=0, description="speed factor against the operation's cycle time"
    )


class RoutingOperation(Strict):
    number: str = Field(pattern=r"^\d{4}$", description='e.g. "0010"')
    name: str
    name_zh_cn: str | None = Field(
        default=None, description="the name in Simplified Chinese (zh-CN station pages)"
    )
    workstation: str | None = Field(default=None, description="one of workstation/work_centre")
    work_centre: str | None = None
    cycle_time_s: float = Field(gt=0, description="standard time per unit")
    setup_time_s: float = Field(default=0, ge=0)
    components: list[Component] = Field(default=[], description="bill of materials per unit")
    alternatives: list[Alternative] = Field(
        default=[],
        description="planning: other workstations able to run it (besides `workstation` or the "
        "work centre's)",
    )
    transfer_s: float = Field(
        default=0,
        ge=0,
        description="planning: minimum wait or transfer time before the next operation starts",
    )


class Routing(Strict):
    id: str
    product: str
    operations: list[RoutingOperation] = Field(min_length=1)


class Product(Strict):
    code: str
    name: str | None = None
    name_zh_cn: str | None = Field(
        default=None, description="the name in Simplified Chinese (zh-CN pages and the dashboard)"
    )
    unit: str = "pcs"
    family: str | None = Field(
        default=None,
        description="planning: setup family (`planning.setups`); default: the product code",
    )


class ScrapReason(Strict):
    code: str = Field(min_length=1, max_length=64, description="what `SCRAP:<n>:<code>` reports")
    en: str = Field(min_length=1, description="English name")
    zh_cn: str = Field(min_length=1, description="Simplified Chinese name")


class ScanPrefixes(Strict):
    """Text that introduces each kind of station barcode (docs/contracts.md section 9)."""

    employee: str = Field(default="EMP:", min_length=1, description="operator badge")
    work_order: str = Field(default="WO:", min_length=1, description="work order [/operation]")
    command: str = Field(default="CMD:", min_length=1, description="START, PAUSE, ...")
    quantity: str = Field(default="QTY:", min_length=1, description="good quantity")
    scrap: str = Field(default="SCRAP:", min_length=1, description="scrap quantity and reason")
    reason: str = Field(default="RSN:", min_length=1, description="downtime or pause reason")
    inspection: str = Field(
        default="INSP:", min_length=1, description="extension: inspection result"
    )


def _clock_time(value: str) -> str:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None
    return parsed.strftime("%H:%M")


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"unknown time zone {value!r} (IANA name, e.g. Europe/Berlin)") from None
    return value


class Shifts(Strict):
    ends: list[Annotated[str, AfterValidator(_clock_time)]] = Field(
        default=["06:00", "14:00", "22:00"],
        description="when shifts end (HH:MM in `timezone`): operators still logged in at a "
        "station are logged out",
    )
    timezone: Annotated[str, AfterValidator(_time_zone)] = Field(
        default="UTC", description="the plant's time zone for shift times (IANA name)"
    )


class ErpIntake(Strict):
    max_message_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="an ERP order message (MQTT `_erp/orders` or REST `/erp/orders`) larger "
        "than this is rejected (`MESSAGE_TOO_LARGE`) unread; a rejection keeps only a bounded "
        "excerpt, the length and the sha256 of such a payload",
    )


class Mes(Strict):
    bind: str = Field(default="127.0.0.1", description="address of the API")
    port: int = Field(default=8000, ge=1, le=65535)
    tls: ServerTls | None = Field(default=None, description="serve HTTPS; none: plain HTTP")
    debounce_s: float = Field(
        default=0.3,
        ge=0,
        description="a repeat of a code at a station within this many seconds is a double read "
        "and ignored, unless it would be refused (a refusal is always answered); reports "
        "(QTY, SCRAP, material, INSP) are never debounced: each event_id counts",
    )
    erp: ErpIntake = ErpIntake()
    over_report_tolerance_percent: float = Field(
        default=0.0, ge=0, description="reports allowed above the order quantity"
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="creates user admin on first start (secret: use the env)"
    )
    scan_prefixes: ScanPrefixes = ScanPrefixes()
    scan_writer_lanes: int = Field(
        default=1,
        ge=1,
        le=16,
        description="PostgreSQL only: scan writer threads per process (SQLite always has one). "
        "One gives the largest group commits; more only pay off when the database is far away",
    )
    scan_group_delay_ms: float | None = Field(
        default=None,
        ge=0,
        le=50,
        description="under load (the last group commit held several scans and fewer are "
        "waiting), the scan writer waits this long for more before it commits: larger group "
        "commits, fewer statements per scan. An idle station never waits. Default: 2 on "
        "PostgreSQL (measured +20-30 % scans/s), 0 (off) on SQLite, where a commit costs "
        "little and the wait only adds latency",
    )
    shifts: Shifts = Shifts()
    language: Literal["en", "zh-CN"] = Field(
        default="en",
        description="the plant's default language: the board, the owner's page and the names "
        "in the dashboard API (a request's `lang`, a station's `language` or a person's own "
        "choice on the page wins)",
    )
    outbox_retry_s: float = Field(
        default=5.0, gt=0, description="how often unpublished confirmations are retried"
    )
    outbox_keep_days: float = Field(
        default=30.0, gt=0, description="published outbox rows are deleted after this"
    )
    security: MesSecurity = MesSecurity()


if TYPE_CHECKING:
    Device = DeviceConfig
else:  # one member per registered driver's device model, told apart by `driver`
    Device = built_in().device_type()


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
    work_centres: list[WorkCentre] = Field(
        default=[],
        description="names of the work centres in English and Simplified Chinese, for the "
        "pages and the API; a work centre not listed shows as its id",
    )
    products: list[Product] = []
    routings: list[Routing] = []
    scrap_reasons: list[ScrapReason] = Field(
        default=[],
        description="names of scrap reason codes (the code a station reports with SCRAP:n:CODE) "
        "in English and Simplified Chinese, for the dashboard; a code not listed shows as itself",
    )
    alarms: list[AlarmDefinition] = []
    alarm_settings: AlarmSettings = AlarmSettings()
    performance: Performance = Field(
        default=Performance(), description="machine states, shift calendars, downtime reasons"
    )
    planning: Planning = Field(
        default=Planning(), description="finite-capacity scheduling (docs/scheduling.md)"
    )

    @model_validator(mode="after")
    def _sparkplug_primary(self) -> "PlantConfig":
        if self.historian.sparkplug_primary and self.edge.sparkplug.primary_host_id is None:
            raise ValueError(
                "historian.sparkplug_primary needs edge.sparkplug.primary_host_id: the name "
                "of the primary host the historian plays"
            )
        return self

    def device(self, name: str) -> DeviceConfig:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)


@cache
def plant_model(drivers: DriverRegistry | None = None) -> type[PlantConfig]:
    """The plant file's schema for a set of drivers: PlantConfig itself for this build's."""
    if drivers is None or drivers is built_in():
        return PlantConfig
    device = drivers.device_type()
    return create_model(
        "PlantConfig",
        __base__=PlantConfig,
        __doc__=PlantConfig.__doc__,
        devices=(list[device], []),  # type: ignore[valid-type]
    )
