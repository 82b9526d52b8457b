"""Display names of the figures' keys from master data, in the plant's two languages: downtime
reasons (`performance.reasons`), scrap reasons (`scrap_reasons`), products (`name`,
`name_zh_cn`), and from `PlantNames` lines, work centres and routing operations. A key without
a name shows as itself; a missing Chinese name falls back to the English one."""

from dataclasses import dataclass, field, replace
from typing import Self

from config.plant import PlantConfig
from mes.core.names import PlantNames, both

UNASSIGNED = {"en": "no reason given", "zh-CN": "未填写原因"}
NO_SCRAP_REASON = {"en": "no reason given", "zh-CN": "未填写原因"}


@dataclass(frozen=True)
class Names(PlantNames):
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    products: dict[str, dict[str, str]] = field(default_factory=dict)
    scrap_reasons: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: PlantConfig) -> Self:
        reasons = {
            r.code: {"en": r.en, "zh-CN": r.zh_cn}
            for group in cfg.performance.reasons
            for r in [group, *group.reasons]
        }
        products = {p.code: both(p.name or p.code, p.name_zh_cn) for p in cfg.products}
        scrap = {r.code: {"en": r.en, "zh-CN": r.zh_cn} for r in cfg.scrap_reasons}
        return replace(super().of(cfg), reasons=reasons, products=products, scrap_reasons=scrap)

    def reason(self, code: str | None) -> dict[str, str]:
        if code is None:
            return dict(UNASSIGNED)
        return self.reasons.get(code) or both(code)

    def scrap_reason(self, code: str) -> dict[str, str]:
        """A scrap reason code ("" where the event gave none)."""
        if not code:
            return dict(NO_SCRAP_REASON)
        return self.scrap_reasons.get(code) or both(code)

    def product(self, code: str) -> dict[str, str]:
        return self.products.get(code) or both(code)
