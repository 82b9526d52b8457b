from pathlib import Path

import pytest
import yaml

from config.loader import ConfigError, field_path, load_plant, parse_plant


def _shipped(plant_yaml: Path) -> dict:
    return yaml.safe_load(plant_yaml.read_text())


def test_shipped_plant_file_is_valid(plant_yaml: Path) -> None:
    cfg = load_plant(plant_yaml, environ={})
    assert cfg.plant.enterprise == "acme"
    assert {d.name for d in cfg.devices} == {"press-01", "oven-01"}
    assert cfg.routings[0].operations[0].workstation == "ws-10"


def test_bad_field_is_named_with_file_and_path(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["devices"][0]["tags"][5]["address"] = "forty"
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert "plant.yaml: devices[0].tags[5].address:" in str(err.value)
    assert "integer" in str(err.value)


def test_unknown_key_is_refused(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["broker"]["hostname"] = "x"
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert err.value.problems == [("broker", "unknown key 'hostname'")]


def test_cross_references_are_checked(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["routings"][0]["operations"][1]["workstation"] = "ws-99"
    data["devices"][1]["path"] = "nowhere/line1/cell1"
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    paths = [p for p, _ in err.value.problems]
    assert paths == ["devices[1].path", "routings[0].operations[1].workstation"]


def test_environment_overrides_connection_settings_and_secrets(plant_yaml: Path) -> None:
    env = {
        "SHOPFLOOR_BROKER__URL": "mqtt://broker.example:1884",
        "SHOPFLOOR_BROKER__PASSWORD": "s3cret",
        "SHOPFLOOR_DATABASE__URL": "postgresql+psycopg://mes@db/mes",
        "SHOPFLOOR_PLANT__SITE": "ignored",  # not a connection setting
    }
    cfg = load_plant(plant_yaml, environ=env)
    assert cfg.broker.url == "mqtt://broker.example:1884"
    assert cfg.broker.password is not None
    assert cfg.broker.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(cfg.broker)
    assert cfg.database.url.startswith("postgresql")
    assert cfg.plant.site == "plant1"


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("plant:\n  enterprise: [unclosed\n")
    with pytest.raises(ConfigError, match=r"p\.yaml: line \d+, column \d+: not valid YAML"):
        load_plant(f)


def test_field_path_drops_union_tags() -> None:
    assert field_path(("devices", 2, "modbus_tcp", "tags", 5, "address")) == (
        "devices[2].tags[5].address"
    )


def test_shift_times_and_time_zone_are_checked(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    shifts = {"ends": ["06:00", "25:00"], "timezone": "Europe/Nowhere"}
    data.setdefault("mes", {})["shifts"] = shifts
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    problems = dict(err.value.problems)
    assert "'25:00' is not a time of day" in problems["mes.shifts.ends[1]"]
    assert "unknown time zone 'Europe/Nowhere'" in problems["mes.shifts.timezone"]
    data["mes"]["shifts"] = {"ends": ["6:30", "14:00"], "timezone": "Europe/Berlin"}
    with pytest.raises(ConfigError):  # not HH:MM
        parse_plant(data, "plant.yaml", environ={})
    data["mes"]["shifts"]["ends"] = ["06:30", "14:00:00"]
    assert parse_plant(data, "plant.yaml", environ={}).mes.shifts.ends == ["06:30", "14:00"]


def test_duplicate_tag_names_have_one_wording_for_every_driver(plant_yaml: Path) -> None:
    """Issue 16: Modbus and OPC UA reported duplicates at the device, each in its own words."""
    data = _shipped(plant_yaml)
    for device in data["devices"]:
        device["tags"].append(dict(device["tags"][0]))
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    modbus, opcua = (len(d["tags"]) - 1 for d in data["devices"])
    assert err.value.problems == [
        (f"devices[0].tags[{modbus}].name", "duplicate tag name 'state' (also tags[0])"),
        (f"devices[1].tags[{opcua}].name", "duplicate tag name 'temperature' (also tags[0])"),
    ]


def test_duplicates_are_reported_with_the_schemas_problems(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["devices"][1]["tags"].append(dict(data["devices"][1]["tags"][0]))
    data["broker"]["url"] = "http://x"
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    dupe = len(data["devices"][1]["tags"]) - 1
    assert [p for p, _ in err.value.problems] == ["broker.url", f"devices[1].tags[{dupe}].name"]


def test_unknown_key_next_to_a_missing_one_says_which_was_meant(plant_yaml: Path) -> None:
    """Issue 16: `adress` gave "address: Field required" and "Extra inputs are not permitted"."""
    data = _shipped(plant_yaml)
    tag = data["devices"][0]["tags"][2]
    tag["adress"] = tag.pop("address")
    data["devices"][1]["security"] = {"mdoe": "Sign"}
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert err.value.problems == [
        (
            "devices[0].tags[2]",
            "tag 'spindle_speed': unknown key 'adress' (did you mean 'address'?)",
        ),
        ("devices[1].security", "device 'oven-01': unknown key 'mdoe' (did you mean 'mode'?)"),
    ]


def test_validator_messages_carry_no_pydantic_prefix(plant_yaml: Path) -> None:
    """Issue 16: "Value error, " leaked into every message a validator raised."""
    data = _shipped(plant_yaml)
    data["devices"][1]["reconnect_min_ms"] = 5000
    data["devices"][1]["reconnect_max_ms"] = 1000
    data["mes"] = {"shifts": {"timezone": "Europe/Nowhere"}}
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert err.value.problems == [
        (
            "mes.shifts.timezone",
            "unknown time zone 'Europe/Nowhere' (IANA name, e.g. Europe/Berlin)",
        ),
        ("devices[1]", "device 'oven-01': reconnect_max_ms must be >= reconnect_min_ms"),
    ]
    assert "Value error" not in str(err.value)


def test_a_union_member_tag_never_shows_in_the_path(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["devices"][0]["connection"] = {"host": "127.0.0.1", "prot": 502}
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    paths = {p for p, _ in err.value.problems}
    assert paths <= {"devices[0].connection", "devices[0].connection.port"}
    assert (
        "devices[0].connection",
        "device 'press-01': unknown key 'prot' (did you mean 'port'?)",
    ) in err.value.problems


def test_lines_and_work_centres_may_have_display_names(plant_yaml: Path) -> None:
    cfg = load_plant(plant_yaml, environ={})
    press_line = cfg.plant.areas[0].lines[0]
    assert (press_line.display_name, press_line.display_name_zh_cn) == ("Press line", "冲压线")
    assert {(c.id, c.name, c.name_zh_cn) for c in cfg.work_centres} == {
        ("PRESS", "Press work centre", "冲压工作中心"),
        ("OVEN", "Curing work centre", "固化工作中心"),
    }


def test_a_plant_file_without_display_names_stays_valid(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    del data["work_centres"]
    for area in data["plant"]["areas"]:
        for line in area["lines"]:
            line.pop("display_name")
            line.pop("display_name_zh_cn")
    cfg = parse_plant(data, "plant.yaml", environ={})
    assert cfg.work_centres == []
    assert cfg.plant.areas[0].lines[0].display_name is None


def test_named_work_centres_must_exist_once(plant_yaml: Path) -> None:
    data = _shipped(plant_yaml)
    data["work_centres"] += [{"id": "PRESS"}, {"id": "PAINT", "name": "Paint shop"}]
    with pytest.raises(ConfigError) as err:
        parse_plant(data, "plant.yaml", environ={})
    assert err.value.problems == [
        ("work_centres[2].id", "work centre 'PRESS' is named twice"),
        ("work_centres[3].id", "no workstation belongs to 'PAINT'"),
    ]
