"""Security settings: write limits of tags, TLS of served APIs, hashed API tokens, and
`mes.security` (request limits, login throttling, password policy, token lifetimes, which of the
MES's documentation and metrics endpoints are exposed; docs/operations.md)."""

from typing import Annotated, Literal

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


#: `off`: not served (404); `authenticated`: a bearer token is needed; `open`: anyone.
Exposure = Literal["off", "authenticated", "open"]


class LoginThrottle(Strict):
    """Backoff after failed logins, per user name and per client address."""

    free_failures_per_user: int = Field(
        default=5, ge=1, description="failed logins for one user name before the backoff"
    )
    free_failures_per_address: int = Field(
        default=20, ge=1, description="failed logins from one client address before the backoff"
    )
    base_delay_s: float = Field(default=2.0, gt=0, description="first lockout; doubles per failure")
    max_delay_s: float = Field(default=900.0, gt=0, description="longest lockout")
    forget_after_s: float = Field(
        default=3600.0, gt=0, description="failures older than this no longer count"
    )
    hash_workers: int = Field(
        default=1,
        ge=1,
        le=8,
        description="threads that verify passwords (argon2): login work cannot take more CPU",
    )
    hash_queue: int = Field(
        default=16, ge=1, description="logins waiting for a hash thread beyond this get a 429"
    )


class MesSecurity(Strict):
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest request body (413 beyond)"
    )
    body_limits: dict[str, int] = Field(
        default={"/api/v1/erp/": 1024 * 1024},
        description="larger limits for path prefixes that need them (ERP orders)",
    )
    body_timeout_s: float = Field(
        default=10.0, gt=0, description="a request body must arrive within this (408 beyond)"
    )
    max_validation_errors: int = Field(
        default=20, ge=1, description="errors listed in a 422; the rest are counted"
    )
    limit_concurrency: int = Field(
        default=200, ge=1, description="open connections before uvicorn answers 503"
    )
    timeout_keep_alive_s: float = Field(default=5.0, gt=0, description="idle keep-alive")
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="a connection must send its request head within this"
    )
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="largest request head")
    login: LoginThrottle = LoginThrottle()
    password_min_length: int = Field(default=10, ge=8, le=64)
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 7, description="login tokens last this"
    )
    station_token_days: float | None = Field(
        default=365.0, gt=0, description="station tokens expire after this (null: never)"
    )
    service_token_days: float | None = Field(
        default=180.0, gt=0, description="service tokens expire after this (null: never)"
    )
    docs: Exposure = Field(default="off", description="/docs and /redoc (Swagger UI)")
    openapi: Exposure = Field(default="authenticated", description="/openapi.json")
    metrics: Exposure = Field(default="authenticated", description="/metrics")
