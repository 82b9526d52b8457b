"""One Grafana dashboard per machine, from the plant file."""

from pathlib import Path

from config.loader import load_plant
from historian.grafana import all_dashboards


def test_a_dashboard_per_machine_with_its_tags_and_quality(plant_yaml: Path) -> None:
    cfg = load_plant(plant_yaml, environ={})
    boards = all_dashboards(cfg)
    assert set(boards) == {f"{d.name}.json" for d in cfg.devices}
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
