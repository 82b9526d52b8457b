"""Display names of lines, work centres and routing operations (mes.core.names) and the
dashboard's names built on them: with and without names, and the one fallback."""

from typing import Any

from config.plant import PlantConfig
from mes.core.names import PlantNames, both
from mes.dashboard.names import Names


def _plant(**extra: Any) -> PlantConfig:
    data: dict[str, Any] = {
        "plant": {
            "enterprise": "acme",
            "site": "p1",
            "areas": [
                {
                    "name": "stamping",
                    "lines": [
                        {
                            "name": "line1",
                            "display_name": "Press line",
                            "display_name_zh_cn": "冲压线",
                            "cells": [{"name": "c1"}],
                        },
                        {"name": "line2", "display_name": "Spare line", "cells": [{"name": "c1"}]},
                        {"name": "line3", "cells": [{"name": "c1"}]},
                    ],
                }
            ],
        },
        "workstations": [
            {"id": "ws-1", "path": "stamping/line1/c1", "work_centre": "PRESS"},
            {"id": "ws-2", "path": "stamping/line2/c1", "work_centre": "SPARE"},
            {"id": "ws-3", "path": "stamping/line3/c1", "work_centre": "BARE"},
        ],
        "work_centres": [
            {"id": "PRESS", "name": "Presses", "name_zh_cn": "冲压工作中心"},
            {"id": "SPARE", "name": "Spare presses"},
            {"id": "BARE"},
        ],
        "products": [{"code": "P1"}],
        "routings": [
            {
                "id": "RT-1",
                "product": "P1",
                "operations": [
                    {
                        "number": "0010",
                        "name": "Stamp",
                        "name_zh_cn": "冲压",
                        "workstation": "ws-1",
                        "cycle_time_s": 1,
                    },
                    {"number": "0020", "name": "Deburr", "workstation": "ws-2", "cycle_time_s": 1},
                ],
            }
        ],
        **extra,
    }
    return PlantConfig.model_validate(data)


def test_a_missing_chinese_name_is_the_english_one() -> None:
    assert both("Press line", "冲压线") == {"en": "Press line", "zh-CN": "冲压线"}
    assert both("Press line", None) == {"en": "Press line", "zh-CN": "Press line"}
    assert both("Press line", "") == {"en": "Press line", "zh-CN": "Press line"}
    assert both("wc-press") == {"en": "wc-press", "zh-CN": "wc-press"}


def test_lines_by_area_and_line_with_and_without_names() -> None:
    names = PlantNames.of(_plant())
    assert names.line("stamping/line1") == {"en": "Press line", "zh-CN": "冲压线"}
    assert names.line("stamping/line2") == {"en": "Spare line", "zh-CN": "Spare line"}
    assert names.line("stamping/line3") == {"en": "stamping/line3", "zh-CN": "stamping/line3"}
    assert names.line("nowhere/x") == {"en": "nowhere/x", "zh-CN": "nowhere/x"}


def test_work_centres_with_and_without_names() -> None:
    names = PlantNames.of(_plant())
    assert names.work_centre("PRESS") == {"en": "Presses", "zh-CN": "冲压工作中心"}
    assert names.work_centre("SPARE") == {"en": "Spare presses", "zh-CN": "Spare presses"}
    assert names.work_centre("BARE") == {"en": "BARE", "zh-CN": "BARE"}  # listed, unnamed
    assert names.work_centre("OTHER") == {"en": "OTHER", "zh-CN": "OTHER"}
    assert names.work_centre_of("PRESS") == names.work_centre("PRESS")
    assert names.work_centre_of(None) is None  # a workstation without a work centre


def test_a_returned_name_is_a_copy() -> None:
    names = PlantNames.of(_plant())
    names.line("stamping/line1")["en"] = "changed"
    names.work_centre("PRESS")["en"] = "changed"
    assert names.line("stamping/line1")["en"] == "Press line"
    assert names.work_centre("PRESS")["en"] == "Presses"


def test_operations_keep_their_stored_english_name_and_fall_back_in_chinese() -> None:
    names = PlantNames.of(_plant())
    assert names.operation("RT-1", "0010", "Stamp") == {"en": "Stamp", "zh-CN": "冲压"}
    assert names.operation("RT-1", "0010", "Stamp (old)") == {"en": "Stamp (old)", "zh-CN": "冲压"}
    assert names.operation("RT-1", "0020", "Deburr") == {"en": "Deburr", "zh-CN": "Deburr"}
    assert names.operation("RT-GONE", "0010", "Weld") == {"en": "Weld", "zh-CN": "Weld"}


def test_a_plant_without_names_shows_ids() -> None:
    bare = PlantConfig.model_validate(
        {
            "plant": {
                "enterprise": "acme",
                "site": "p1",
                "areas": [{"name": "a", "lines": [{"name": "l", "cells": [{"name": "c"}]}]}],
            },
            "workstations": [{"id": "ws-1", "path": "a/l/c", "work_centre": "wc-press"}],
        }
    )
    names = Names.of(bare)
    assert (names.lines, names.work_centres) == ({}, {})
    assert names.line("a/l") == {"en": "a/l", "zh-CN": "a/l"}
    assert names.work_centre("wc-press") == {"en": "wc-press", "zh-CN": "wc-press"}


def test_the_dashboards_names_carry_lines_and_work_centres_too() -> None:
    names = Names.of(_plant(scrap_reasons=[{"code": "BURR", "en": "Burr", "zh_cn": "毛刺"}]))
    assert names.line("stamping/line1")["zh-CN"] == "冲压线"
    assert names.work_centre("PRESS")["zh-CN"] == "冲压工作中心"
    assert names.scrap_reason("BURR") == {"en": "Burr", "zh-CN": "毛刺"}
    assert names.product("P1") == {"en": "P1", "zh-CN": "P1"}
    assert names.operation("RT-1", "0010", "Stamp")["zh-CN"] == "冲压"
