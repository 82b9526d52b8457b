"""Shared building blocks for the plant configuration schema."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

#: A topic path segment: `[a-zA-Z0-9_-]`, never starting with `_` (reserved for contracts).
Segment = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9-][a-zA-Z0-9_-]*$", max_length=64)]


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
