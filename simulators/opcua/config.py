"""YAML schema of a simulated OPC UA machine (`kind: opcua` in the simulator file)."""

from typing import Literal

from pydantic import Field, SecretStr

from config.base import Segment, Strict
from simulators.behaviour import BehaviourConfig


class OvenModelConfig(Strict):
    ambient_c: float = 20.0
    start_c: float = Field(default=20.0, description="temperature at start")
    setpoint_c: float = 180.0
    time_constant_s: float = Field(default=120.0, gt=0, description="first-order heating lag")
    door_loss_c_per_s: float = Field(default=2.0, ge=0, description="cooling while door open")
    ready_band_c: float = Field(default=5.0, ge=0, description="|T - setpoint| for READY")
    noise_c: float = Field(default=0.1, ge=0, description="uniform noise amplitude")
    parts_per_min: float = Field(
        default=60.0, ge=0, description="ideal rate with `behaviour` (routing: cure 1.0 s/unit)"
    )


class SimSecurity(Strict):
    modes: list[Literal["None", "Sign", "SignAndEncrypt"]] = Field(
        default=["None"], min_length=1, description="endpoints offered (Basic256Sha256)"
    )
    pki_dir: str = Field(
        default="data/sim-pki", description="server cert.der/key.pem, made on first start"
    )
    users: dict[str, SecretStr] = Field(
        default={}, description="username -> password; when set, anonymous logins are refused"
    )


class OpcUaMachineConfig(Strict):
    kind: Literal["opcua"]
    name: Segment = "oven-01"
    endpoint: str = Field(
        default="opc.tcp://127.0.0.1:14840/shopfloor/oven", pattern=r"^opc\.tcp://[^/:]+:\d+"
    )
    namespace: str = "urn:shopfloor:sim:oven"
    prefix: str = Field(default="Oven", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    update_interval_ms: int = Field(default=500, ge=10)
    seed: int | None = None
    oven: OvenModelConfig = OvenModelConfig()
    behaviour: BehaviourConfig = Field(
        default=BehaviourConfig(), description="setups, breakdowns, micro-stops, speed loss, scrap"
    )
    extra_variables: int = Field(
        default=0, ge=0, le=100_000, description="Double nodes {prefix}.Extra.NNNNN (load tests)"
    )
    extra_change: bool = Field(default=True, description="extras change every update")
    fault_proxy: bool = Field(
        default=True, description="serve through a TCP proxy that can delay and drop"
    )
    security: SimSecurity = SimSecurity()
