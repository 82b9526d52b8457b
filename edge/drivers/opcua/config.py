"""Configuration schema of the OPC UA driver (one versioned schema; unknown keys are errors)."""

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from config.base import Segment, Strict
from config.security import WriteLimits
from edge.drivers.base import stale_after_polls


class OpcUaTag(Strict):
    name: Segment
    node_id: str = Field(
        pattern=r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$",
        description='e.g. "ns=2;s=Oven.Temperature" or "nsu=urn:vendor:oven;s=Oven.Temperature"',
    )
    unit: str | None = None
    scale: float = Field(default=1.0, description="value = raw * scale + offset (numbers only)")
    offset: float = 0.0
    writable: bool = False
    limits: WriteLimits | None = None  # writes outside are refused (config/security.py)
    sampling_interval_ms: float | None = Field(
        default=None, ge=0, description="server-side sampling; none: the publishing interval"
    )
    queue_size: int = Field(default=1, ge=1, description="server-side queue of the monitored item")
    deadband: float | None = Field(
        default=None, ge=0, description="absolute deadband (server-side filter, raw units)"
    )
    deadband_percent: float | None = Field(
        default=None, ge=0, le=100, description="percent of the EURange (server-side filter)"
    )
    max_age_s: float | None = Field(default=None, gt=0, description="heartbeat for unchanged")

    @model_validator(mode="after")
    def _one_deadband(self) -> "OpcUaTag":
        if self.deadband is not None and self.deadband_percent is not None:
            raise ValueError("set either deadband or deadband_percent, not both")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self


class OpcUaSecurity(Strict):
    mode: Literal["None", "Sign", "SignAndEncrypt"] = "None"
    policy: Literal["Basic256Sha256"] = "Basic256Sha256"
    username: str | None = None
    password: SecretStr | None = None
    pki_dir: str = Field(
        default="data/pki",
        description="own/ (client cert + key, made on first start), trusted/, rejected/",
    )
    application_uri: str = Field(
        default="urn:shopfloor:edge", description="goes into the generated client certificate"
    )

    @model_validator(mode="after")
    def _credentials_need_a_secure_channel(self) -> "OpcUaSecurity":
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.mode == "None":
            raise ValueError(
                "username/password over security mode None would travel in clear text: "
                "use mode Sign or SignAndEncrypt"
            )
        return self


class OpcUaDevice(Strict):
    name: Segment
    path: str = Field(description="area/line/cell the device sits in")
    driver: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    mode: Literal["subscription", "poll"] = "subscription"
    publishing_interval_ms: int = Field(default=500, ge=10)
    poll_interval_ms: int = Field(default=1000, ge=10)
    max_items_per_subscription: int = Field(default=1000, ge=1)
    max_subscriptions_per_session: int = Field(
        default=5, ge=1, description="more subscriptions than this open another session"
    )
    max_nodes_per_read: int = Field(default=1000, ge=1, description="poll mode: nodes per Read")
    timeout_ms: int = Field(default=4000, ge=100)
    watchdog_interval_ms: int = Field(
        default=2000,
        ge=100,
        description="a connection quiet for this long is probed (a read, within timeout_ms)",
    )
    reconnect_min_ms: int = Field(default=500, ge=10)
    reconnect_max_ms: int = Field(default=30000, ge=10)
    security: OpcUaSecurity = OpcUaSecurity()
    tags: list[OpcUaTag] = Field(min_length=1)

    @model_validator(mode="after")
    def _backoff_range(self) -> "OpcUaDevice":
        if self.reconnect_max_ms < self.reconnect_min_ms:
            raise ValueError("reconnect_max_ms must be >= reconnect_min_ms")
        return self

    def stale_after_ms(self) -> Mapping[str, int | None]:
        if self.mode == "subscription":  # unchanged values legitimately do not arrive
            return dict.fromkeys((t.name for t in self.tags), None)
        period = stale_after_polls(self.poll_interval_ms, self.timeout_ms, 1)
        return dict.fromkeys((t.name for t in self.tags), period)
