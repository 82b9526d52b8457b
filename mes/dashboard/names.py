"""Display names of the figures' keys from master data, in the plant's two languages: downtime
reasons (`performance.reasons`), scrap reasons (`scrap_reasons`), products (`name`,
`name_zh_cn`) and routing operations (`name`, `name_zh_cn`). A key without a name shows as
itself; a missing Chinese name falls back to the English one."""

from dataclasses import dataclass, field

from config.plant import PlantConfig

Language = str  # "en" | "zh-CN"
UNASSIGNED = {"en": "no reason given", "zh-CN": "未填写原因"}
NO_SCRAP_REASON = {"en": "no reason given", "zh-CN": "未填写原因"}


def _both(en: str, zh_cn: str | None) -> dict[str, str]:
    return {"en": en, "zh-CN": zh_cn or en}


@dataclass(frozen=True)
class Names:
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    products: dict[str, dict[str, str]] = field(default_factory=dict)
    scrap_reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (routing, operation number) -> the Chinese name
    operations_zh: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: PlantConfig) -> "Names":
        reasons = {
            r.code: {"en": r.en, "zh-CN": r.zh_cn}
            for group in cfg.performance.reasons
            for r in [group, *group.reasons]
        }
        products = {p.code: _both(p.name or p.code, p.name_zh_cn) for p in cfg.products}
        scrap = {r.code: {"en": r.en, "zh-CN": r.zh_cn} for r in cfg.scrap_reasons}
        operations = {
            (rt.id, op.number): op.name_zh_cn
            for rt in cfg.routings
            for op in rt.operations
            if op.name_zh_cn
        }
        return cls(reasons, products, scrap, operations)

    def reason(self, code: str | None) -> dict[str, str]:
        if code is None:
            return dict(UNASSIGNED)
        return self.reasons.get(code) or {"en": code, "zh-CN": code}

    def scrap_reason(self, code: str) -> dict[str, str]:
        """A scrap reason code ("" where the event gave none)."""
        if not code:
            return dict(NO_SCRAP_REASON)
        return self.scrap_reasons.get(code) or {"en": code, "zh-CN": code}

    def product(self, code: str) -> dict[str, str]:
        return self.products.get(code) or {"en": code, "zh-CN": code}

    def operation(self, routing: str, number: str, stored: str) -> dict[str, str]:
        """A routing operation's names: in English the one its rows keep (`stored`: the
        routing's name when the order was released), in Chinese the routing's `name_zh_cn`."""
        return _both(stored, self.operations_zh.get((routing, number)))
