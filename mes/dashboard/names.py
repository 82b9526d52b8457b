"""Display names of the figures' keys from master data, in the plant's two languages."""

from dataclasses import dataclass, field

from config.plant import PlantConfig

Language = str  # "en" | "zh-CN"
UNASSIGNED = {"en": "no reason given", "zh-CN": "未填写原因"}


@dataclass(frozen=True)
class Names:
    """Downtime reasons have en and zh-CN names; products a name; scrap reasons only codes."""

    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: PlantConfig) -> "Names":
        reasons = {
            r.code: {"en": r.en, "zh-CN": r.zh_cn}
            for group in cfg.performance.reasons
            for r in [group, *group.reasons]
        }
        products = {p.code: p.name for p in cfg.products if p.name}
        return cls(reasons, products)

    def reason(self, code: str | None) -> dict[str, str]:
        if code is None:
            return dict(UNASSIGNED)
        return self.reasons.get(code) or {"en": code, "zh-CN": code}

    def product(self, code: str) -> dict[str, str]:
        name = self.products.get(code, code)
        return {"en": name, "zh-CN": name}
