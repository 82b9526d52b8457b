"""Topic names of the unified namespace (docs/contracts.md section 1)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Namespace:
    enterprise: str
    site: str

    @property
    def root(self) -> str:
        return f"uns/v1/{self.enterprise}/{self.site}"

    def device(self, path: str, device: str) -> str:
        return f"{self.root}/{path}/{device}"

    def telemetry(self, path: str, device: str) -> str:
        return f"{self.device(path, device)}/_telemetry"

    def telemetry_compact(self, path: str, device: str) -> str:
        """The compact (columnar) telemetry of a device (docs/contracts.md section 2b)."""
        return f"{self.telemetry(path, device)}/compact"

    def device_status(self, path: str, device: str) -> str:
        return f"{self.device(path, device)}/_status"

    def cmd_write(self, path: str, device: str) -> str:
        return f"{self.device(path, device)}/_cmd/write"

    def cmd_result(self, path: str, device: str) -> str:
        return f"{self.device(path, device)}/_cmd/result"

    def tag(self, path: str, device: str, tag: str) -> str:
        return f"{self.device(path, device)}/{tag}"

    def agent_status(self, agent_id: str) -> str:
        return f"{self.root}/_edge/{agent_id}/_status"

    @property
    def all_telemetry(self) -> str:
        return f"{self.root}/+/+/+/+/_telemetry"

    @property
    def all_telemetry_compact(self) -> str:
        return f"{self.root}/+/+/+/+/_telemetry/compact"

    @property
    def erp_orders(self) -> str:
        return f"{self.root}/_erp/orders"

    @property
    def erp_rejected(self) -> str:
        return f"{self.root}/_erp/orders/rejected"

    @property
    def erp_acks(self) -> str:
        return f"{self.root}/_erp/acks"

    @property
    def erp_stock(self) -> str:
        """Extension: stock on hand and expected receipts per material (docs/contracts.md)."""
        return f"{self.root}/_erp/stock"

    @property
    def erp_stock_rejected(self) -> str:
        """Extension: a stock message the MES could not apply, with the reason."""
        return f"{self.root}/_erp/stock/rejected"

    @property
    def schedule(self) -> str:
        """Extension: the MES's current production plan, for the ERP (docs/contracts.md)."""
        return f"{self.root}/_mes/schedule"

    @property
    def confirmations(self) -> str:
        return f"{self.root}/_mes/confirmations"

    @property
    def alarms(self) -> str:
        return f"{self.root}/_mes/alarms"

    @property
    def holds(self) -> str:
        return f"{self.root}/_mes/holds"

    @property
    def kpi(self) -> str:
        """Extension: ISO 22400 figures of a work unit at each shift end (docs/performance.md)."""
        return f"{self.root}/_mes/kpi"

    @property
    def dead_letter(self) -> str:
        """Extension: MQTT messages the MES could not apply, with the reason."""
        return f"{self.root}/_mes/deadletter"
