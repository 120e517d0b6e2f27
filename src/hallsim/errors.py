"""Errors raised for bad input, located in the file they came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Issue", "LogError", "PlanError", "ScenarioError"]


@dataclass(frozen=True)
class Issue:
    """One problem in a scenario: where it is, what is wrong, the offending value."""

    where: str
    message: str
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.has_value:
            text += f" (got {_show(self.value)})"
        return text


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ScenarioError(ValueError):
    """A scenario (file or data) is malformed.

    ``issues`` lists every problem found; ``source`` names the file, if any. ``str()`` gives one
    line per problem, e.g. ``hall.toml: windows[1] (id="W2").count: must be > 0 (got -1)``.
    """

    def __init__(self, issues: list[Issue], source: str | None = None) -> None:
        self.issues = list(issues)
        self.source = source
        super().__init__(str(self))

    def with_source(self, source: str) -> ScenarioError:
        """The same error, located in the file ``source``."""
        return ScenarioError(self.issues, source)

    def __str__(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(prefix + str(issue) for issue in self.issues)


class PlanError(ValueError):
    """A planning request that cannot be answered: a target no staffing can meet, shifts that
    cannot cover the opening hours, empty demand. The message names the part and the value."""


class LogError(ValueError):
    """A ticket log or arrival counts that cannot be read, or (with ``errors="raise"``) the
    first bad row in one. ``str()`` names the file, the row, the column and the value, e.g.
    ``tickets.csv: row 17, column 'end': end before start (got '2026-03-02 09:14')``."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        has_value: bool = False,
    ) -> None:
        self.message, self.source, self.row, self.column = message, source, row, column
        self.value, self.has_value = value, has_value
        super().__init__(str(self))

    def __str__(self) -> str:
        place = [f"row {self.row}" if self.row is not None else "", ""]
        if self.column is not None:
            place[1] = f"column {self.column!r}"
        where = ", ".join(part for part in place if part)
        text = f"{where}: {self.message}" if where else self.message
        if self.source:
            text = f"{self.source}: {text}"
        if self.has_value:
            text += f" (got {_show(self.value)})"
        return text
