"""Security settings shared by several parts: write limits of tags, TLS of served APIs,
hashed API tokens."""

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from config.base import Strict

#: SHA-256 of an API token, 64 lowercase hex digits (`shopfloor edge token NAME` prints one)
TokenHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class WriteLimits(Strict):
    """Engineering limits of a writable tag: a write outside them is refused with the reason."""

    min: float = Field(description="lowest value a write may set (engineering units)")
    max: float = Field(description="highest value a write may set (engineering units)")
    max_rate_per_s: float | None = Field(
        default=None,
        gt=0,
        description="largest change per second against the previous write to the tag "
        "through this agent, kept across restarts (none: any step within min/max)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "WriteLimits":
        if self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class ServerTls(Strict):
    """TLS of a served HTTP API: the certificate chain and its private key (PEM)."""

    certfile: str = Field(description="certificate (chain) file, PEM")
    keyfile: str = Field(description="private key file, PEM (mode 0600)")
