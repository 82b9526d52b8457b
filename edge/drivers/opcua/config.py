"""Configuration schema of the OPC UA driver."""

from typing import Literal

from pydantic import Field, SecretStr

from config.base import Segment, Strict


class OpcUaTag(Strict):
    name: Segment
    node_id: str = Field(description='e.g. "ns=2;s=Oven.Temperature"')
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    writable: bool = False
    sampling_interval_ms: int | None = Field(default=None, ge=0)
    queue_size: int = Field(default=1, ge=1)
    deadband: float | None = Field(default=None, ge=0)
    deadband_percent: float | None = Field(default=None, ge=0, le=100)
    max_age_s: float | None = Field(default=None, gt=0)


class OpcUaSecurity(Strict):
    mode: Literal["None", "Sign", "SignAndEncrypt"] = "None"
    policy: Literal["Basic256Sha256"] = "Basic256Sha256"
    username: str | None = None
    password: SecretStr | None = None
    pki_dir: str = "data/pki"


class OpcUaDevice(Strict):
    name: Segment
    path: str = Field(description="area/line/cell the device sits in")
    driver: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    mode: Literal["subscription", "poll"] = "subscription"
    publishing_interval_ms: int = Field(default=500, ge=10)
    poll_interval_ms: int = Field(default=1000, ge=10)
    max_items_per_subscription: int = Field(default=1000, ge=1)
    timeout_ms: int = Field(default=4000, ge=100)
    security: OpcUaSecurity = OpcUaSecurity()
    tags: list[OpcUaTag] = Field(min_length=1)
