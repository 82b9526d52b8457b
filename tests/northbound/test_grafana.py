"""One Grafana dashboard per machine and one for OEE and downtime, from the plant file."""

import json
from pathlib import Path

from config.loader import load_plant
from historian.grafana import LOSSES, all_dashboards


def test_a_dashboard_per_machine_with_its_tags_and_quality(plant_yaml: Path) -> None:
    cfg = load_plant(plant_yaml, environ={})
    boards = all_dashboards(cfg)
    assert set(boards) == {f"{d.name}.json" for d in cfg.devices} | {"oee.json"}
    press = boards["press-01.json"]
    titles = [p["title"] for p in press["panels"]]
    assert "spindle_speed [rpm]" in titles
    assert titles[-1] == "Quality per tag"
    speed = next(p for p in press["panels"] if p["title"].startswith("spindle_speed"))
    query = speed["targets"][0]["query"]
    assert 'r.device == "press-01"' in query
    assert 'r.tag == "spindle_speed"' in query
    assert 'r._field == "value"' in query
    quality = press["panels"][-1]
    assert quality["fieldConfig"]["defaults"]["mappings"][0]["options"]["2"]["text"] == "bad"
    ids = [p["id"] for p in press["panels"]]
    assert len(ids) == len(set(ids))


def test_the_oee_dashboard_sums_times_over_the_range_and_is_provisioned(plant_yaml: Path) -> None:
    boards = all_dashboards(load_plant(plant_yaml, environ={}))
    oee = boards["oee.json"]
    queries = {p["title"]: p["targets"][0]["query"] for p in oee["panels"]}
    assert all('r._measurement == "kpi"' in q for q in queries.values())
    assert not any("mean()" in q for q in queries.values())  # ratios are never averaged
    by_line = queries["OEE by line (the range, from summed times)"]
    assert '|> group(columns: ["line", "_field"])\n  |> sum()' in by_line
    assert "oee: if base > 0.0 and r.produced > 0.0 then r.ideal_time_s / base" in by_line
    assert "base = r.pot_s - r.pdt_s - r.unknown_s" in by_line
    downtime = queries["Downtime by work unit and loss (the range)"]
    assert all(f'r._field == "{loss}"' in downtime for loss in LOSSES)
    assert '"oee"' in queries["OEE per shift and work unit"]
    ids = [p["id"] for p in oee["panels"]]
    assert len(ids) == len(set(ids))
    committed = plant_yaml.parent / "grafana" / "dashboards" / "oee.json"
    assert json.loads(committed.read_text()) == oee, (
        "regenerate: shopfloor historian dashboards -c config/plant.yaml"
    )
