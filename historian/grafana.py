"""Grafana dashboards, one per machine, built from the plant file. No I/O.

Each dashboard shows every tag of the device from the InfluxDB datasource (Flux over the
layout of `historian.points`): numeric tags as time series (with their unit), string tags
(`text` tag) as a state timeline, and one state timeline of every tag's quality.
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
    """File name -> dashboard, for every device of the plant."""
    return {f"{d.name}.json": device_dashboard(cfg, d.name) for d in cfg.devices}
