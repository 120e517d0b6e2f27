"""The base of the scenario's models: frozen, no unknown keys, field docstrings as their
descriptions (in the JSON Schema and the format's documentation)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    # a docstring under a field is its description in the JSON Schema and the format docs
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=False, use_attribute_docstrings=True
    )
