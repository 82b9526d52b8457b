"""Grafana dashboards, one per machine and one for OEE and downtime, built from the plant
file. No I/O.

Each machine dashboard shows every tag of the device from the InfluxDB datasource (Flux over
the layout of `historian.points`): numeric tags as time series (with their unit), string tags
(`text` tag) as a state timeline, and one state timeline of every tag's quality. The OEE
dashboard reads the `kpi` measurement (`historian.kpi`): ratios over the chosen time range are
computed from the summed times and quantities, never averaged (docs/performance.md).
"""

from typing import Any

from config.plant import PlantConfig

DATASOURCE = {"type": "influxdb", "uid": "shopfloor-influxdb"}
QUALITY_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "0": {"text": "good", "color": "green"},
            "1": {"text": "uncertain", "color": "yellow"},
            "2": {"text": "bad", "color": "red"},
        },
    }
]


def _flux(bucket: str, device: str, tag: str | None, field: str, window: bool = True) -> str:
    tag_filter = f' and r.tag == "{tag}"' if tag else ""
    q = (
        f'from(bucket: "{bucket}")\n'
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "telemetry" and r.device == "{device}"'
        f'{tag_filter} and r._field == "{field}")\n'
    )
    if window:
        q += "  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)\n"
    return q


def _is_text(tag: Any) -> bool:
    return getattr(tag, "type", None) == "string"


def device_dashboard(cfg: PlantConfig, device_name: str) -> dict[str, Any]:
    dev = cfg.device(device_name)
    bucket = cfg.historian.bucket
    panels: list[dict[str, Any]] = []
    y = 0
    tags: list[Any] = list(dev.tags)
    for i, tag in enumerate(tags):
        x = (i % 2) * 12
        if _is_text(tag):
            query = (
                _flux(bucket, dev.name, tag.name, "quality", window=False)
                + "  |> map(fn: (r) => ({r with _value: r.text}))\n"
                + '  |> keep(columns: ["_time", "_value"])\n'
            )
            panel_type, unit = "state-timeline", None
        else:
            query = _flux(bucket, dev.name, tag.name, "value")
            panel_type, unit = "timeseries", tag.unit
        panels.append(
            {
                "id": i + 1,
                "type": panel_type,
                "title": f"{tag.name}" + (f" [{unit}]" if unit else ""),
                "datasource": DATASOURCE,
                "gridPos": {"x": x, "y": y, "w": 12, "h": 7},
                "fieldConfig": {"defaults": {"unit": unit or "none"}, "overrides": []},
                "targets": [{"refId": "A", "datasource": DATASOURCE, "query": query}],
            }
        )
        if x:
            y += 7
    y += 7 if len(tags) % 2 else 0
    quality_query = _flux(bucket, dev.name, None, "quality") + '  |> group(columns: ["tag"])\n'
    panels.append(
        {
            "id": len(tags) + 1,
            "type": "state-timeline",
            "title": "Quality per tag",
            "datasource": DATASOURCE,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 2 + len(tags)},
            "fieldConfig": {"defaults": {"mappings": QUALITY_MAPPINGS}, "overrides": []},
            "targets": [{"refId": "A", "datasource": DATASOURCE, "query": quality_query}],
        }
    )
    return {
        "uid": f"shopfloor-{dev.name}"[:40],
        "title": f"{dev.name} ({dev.path})",
        "tags": ["shopfloor", *dev.path.split("/")],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "5s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": panels,
    }


def all_dashboards(cfg: PlantConfig) -> dict[str, dict[str, Any]]:
    """File name -> dashboard, for every device of the plant, and `oee.json`."""
    boards = {f"{d.name}.json": device_dashboard(cfg, d.name) for d in cfg.devices}
    if "oee.json" in boards:
        raise ValueError("a device named `oee` would overwrite the OEE dashboard: rename it")
    boards["oee.json"] = oee_dashboard(cfg)
    return boards


#: ISO 22400-2 losses of planned busy time, in the order of the downtime panel
LOSSES = {
    "adet_fault_s": "fault",
    "adet_micro_stop_s": "micro-stop",
    "adet_idle_s": "idle with an order",
    "adot_s": "no order",
    "asut_s": "setup",
    "unknown_s": "no data",
}


def _kpi_flux(bucket: str, fields: list[str]) -> str:
    wanted = " or ".join(f'r._field == "{f}"' for f in fields)
    return (
        f'from(bucket: "{bucket}")\n'
        "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
        f'  |> filter(fn: (r) => r._measurement == "kpi" and ({wanted}))\n'
    )


def _summed(bucket: str, by: str, fields: list[str]) -> str:
    """The fields summed over the range per `by`, one row per `by` with a column per field."""
    return (
        _kpi_flux(bucket, fields)
        + f'  |> group(columns: ["{by}", "_field"])\n'
        + "  |> sum()\n"
        + "  |> group()\n"
        + f'  |> pivot(rowKey: ["{by}"], columnKey: ["_field"], valueColumn: "_value")\n'
    )


_RATIOS = (
    "  |> map(fn: (r) => {\n"
    "      base = r.pot_s - r.pdt_s - r.unknown_s\n"
    "      return {r with\n"
    "        availability: if base > 0.0 then r.apt_s / base else 0.0,\n"
    "        effectiveness: if r.apt_s > 0.0 then r.ideal_time_s / r.apt_s else 0.0,\n"
    "        quality_ratio: if r.produced > 0.0 then r.good / r.produced else 0.0,\n"
    "        oee: if base > 0.0 and r.produced > 0.0"
    " then r.ideal_time_s / base * r.good / r.produced else 0.0}\n"
    "    })\n"
)


def _panel(
    pid: int, kind: str, title: str, pos: tuple[int, int, int, int], query: str, **extra: Any
) -> dict[str, Any]:
    x, y, w, h = pos
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": extra.pop("fieldConfig", {"defaults": {}, "overrides": []}),
        "targets": [{"refId": "A", "datasource": DATASOURCE, "query": query}],
        **extra,
    }


def oee_dashboard(cfg: PlantConfig) -> dict[str, Any]:
    """OEE and downtime per line and work unit from the `_mes/kpi` points."""
    bucket = cfg.historian.bucket
    ratio = {"defaults": {"unit": "percentunit", "min": 0, "max": 1}, "overrides": []}
    sums = ["pot_s", "pdt_s", "unknown_s", "apt_s", "ideal_time_s", "good", "produced"]
    keep = '  |> keep(columns: ["{by}", "oee", "availability", "effectiveness", "quality_ratio"])\n'
    losses = list(LOSSES)
    renames = {
        "defaults": {"unit": "s"},
        "overrides": [
            {
                "matcher": {"id": "byName", "options": k},
                "properties": [{"id": "displayName", "value": v}],
            }
            for k, v in LOSSES.items()
        ],
    }
    reliability = ["failures", "ttr_s", "apt_s", "asut_s"]
    panels = [
        _panel(
            1,
            "bargauge",
            "OEE by line (the range, from summed times)",
            (0, 0, 12, 8),
            _summed(bucket, "line", sums) + _RATIOS + keep.format(by="line"),
            fieldConfig=ratio,
            options={"displayMode": "gradient", "orientation": "horizontal"},
        ),
        _panel(
            2,
            "table",
            "OEE by work unit (the range, from summed times)",
            (12, 0, 12, 8),
            _summed(bucket, "work_unit", sums) + _RATIOS + keep.format(by="work_unit"),
            fieldConfig=ratio,
        ),
        _panel(
            3,
            "timeseries",
            "OEE per shift and work unit",
            (0, 8, 24, 8),
            _kpi_flux(bucket, ["oee"]) + '  |> group(columns: ["work_unit"])\n',
            fieldConfig=ratio,
        ),
        _panel(
            4,
            "timeseries",
            "Availability, effectiveness, quality ratio per shift",
            (0, 16, 24, 8),
            _kpi_flux(bucket, ["availability", "effectiveness", "quality_ratio"])
            + '  |> group(columns: ["work_unit", "_field"])\n',
            fieldConfig=ratio,
        ),
        _panel(
            5,
            "barchart",
            "Downtime by work unit and loss (the range)",
            (0, 24, 16, 10),
            _summed(bucket, "work_unit", losses),
            fieldConfig=renames,
            options={"stacking": "normal", "orientation": "horizontal", "xField": "work_unit"},
        ),
        _panel(
            6,
            "table",
            "Failures, MTBF and MTTR by work unit (the range)",
            (16, 24, 8, 10),
            _summed(bucket, "work_unit", reliability)
            + "  |> map(fn: (r) => ({work_unit: r.work_unit, failures: r.failures,\n"
            + "      mtbf_s: if r.failures > 0.0 then (r.apt_s + r.asut_s) / r.failures else 0.0,\n"
            + "      mttr_s: if r.failures > 0.0 then r.ttr_s / r.failures else 0.0}))\n",
            fieldConfig={"defaults": {"unit": "s"}, "overrides": []},
        ),
    ]
    return {
        "uid": "shopfloor-oee",
        "title": f"OEE and downtime ({cfg.plant.site})",
        "tags": ["shopfloor", "oee"],
        "timezone": "browser",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "panels": panels,
    }
