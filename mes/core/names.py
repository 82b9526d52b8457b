"""Display names in the plant's two languages (`en`, `zh-CN`) of what the plant file names:
lines (`display_name`, `display_name_zh_cn` in `plant.areas[].lines[]`), work centres
(`work_centres[]`: `name`, `name_zh_cn`) and routing operations (`name`, `name_zh_cn`).

One fallback everywhere: a missing Chinese name is the English one; a line or work centre
without a name shows as its id."""

from dataclasses import dataclass, field
from typing import Self

from config.plant import PlantConfig


def both(en: str, zh_cn: str | None = None) -> dict[str, str]:
    """A name by language; a missing (or empty) Chinese name falls back to the English one."""
    return {"en": en, "zh-CN": zh_cn or en}


@dataclass(frozen=True)
class PlantNames:
    #: area/line (a workstation's path without its cell) -> names
    lines: dict[str, dict[str, str]] = field(default_factory=dict)
    work_centres: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (routing, operation number) -> the Chinese name
    operations_zh: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: PlantConfig) -> Self:
        lines = {
            f"{area.name}/{line.name}": both(line.display_name, line.display_name_zh_cn)
            for area in cfg.plant.areas
            for line in area.lines
            if line.display_name
        }
        centres = {c.id: both(c.name, c.name_zh_cn) for c in cfg.work_centres if c.name}
        operations = {
            (rt.id, op.number): op.name_zh_cn
            for rt in cfg.routings
            for op in rt.operations
            if op.name_zh_cn
        }
        return cls(lines=lines, work_centres=centres, operations_zh=operations)

    def line(self, path: str) -> dict[str, str]:
        """A line by its `area/line` path."""
        return dict(self.lines.get(path) or both(path))

    def work_centre(self, centre: str) -> dict[str, str]:
        return dict(self.work_centres.get(centre) or both(centre))

    def work_centre_of(self, centre: str | None) -> dict[str, str] | None:
        """A workstation's work centre (None: it has none)."""
        return self.work_centre(centre) if centre else None

    def operation(self, routing: str, number: str, stored: str) -> dict[str, str]:
        """A routing operation's names: in English the one its rows keep (`stored`: the
        routing's name when the order was released), in Chinese the routing's `name_zh_cn`."""
        return both(stored, self.operations_zh.get((routing, number)))
