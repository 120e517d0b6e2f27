"""Sweep a scenario over a grid of values: one tidy table, a row per point and category.

A grid maps *paths* into the scenario to the values they take, for example::

    {"windows[Z].count": range(4, 9), "categories[*].service.mean_min": [8, 10, 12]}

A path is keys separated by dots; a list is entered with ``[id]`` (the entry with that
``id``), ``[k]`` (the k-th entry, from 0) or ``[*]`` (every entry). Every point of the grid
(every combination of values, in the grid's order) is the base scenario with those values
set, validated like any scenario, and simulated with the same seed, so points that share
their demand run on common random numbers.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import ScenarioError
from .results import METRICS
from .runner import simulate_many
from .scenario import Scenario

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["sweep"]

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]+)\])?$")


def sweep(
    base: Scenario,
    grid: Mapping[str, Iterable[Any]],
    *,
    replications: int = 10,
    seed: int | None = None,
    confidence: float = 0.95,
    workers: int = 1,
    client: Client | str | None = None,
    progress: bool = True,
    max_memory: int | float | str | None = None,
) -> pd.DataFrame:
    """Simulate ``base`` at every point of ``grid`` (see the module doc).

    Returns a table with one row per point and category (and ``"overall"``): a column per
    path holding the point's value, ``category``, then each metric of
    :meth:`Results.summary` with its interval (``metric``, ``metric_lo``, ``metric_hi``).
    A path that does not exist in ``base`` raises ``ValueError`` naming it, and a point whose
    scenario does not validate raises its ``ScenarioError`` prefixed with the point, before
    anything runs. With ``client`` (a ``dask.distributed.Client`` or a scheduler address)
    the batches of every point are submitted to the cluster at once; the table is the same
    as with local processes. The other arguments are those of :func:`hallsim.simulate`.
    """
    if not isinstance(base, Scenario):
        raise TypeError(f"base must be a hallsim.Scenario (got {type(base).__name__})")
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must map paths to lists of values (got {grid!r})")
    data = base.model_dump(by_alias=True, exclude_none=True)
    values = {}
    for path, options in grid.items():
        _locations(data, path)  # the path exists, or a clear error now
        values[path] = list(options)
        if not values[path]:
            raise ValueError(f"grid[{path!r}] has no values")
    settings = [
        dict(zip(values, point, strict=True)) for point in itertools.product(*values.values())
    ]
    scenarios = [_at_point(data, setting) for setting in settings]
    summaries: list[pd.DataFrame | None] = [None] * len(settings)
    runs = simulate_many(
        scenarios,
        [seed] * len(scenarios),
        replications=replications,
        workers=workers,
        client=client,
        progress=progress,
        max_memory=max_memory,
        desc=f"sweep of {len(scenarios)} points",
        summary=confidence,
        validated=True,  # each point by _at_point
    )
    for index, summary in runs:
        summaries[index] = summary
    # one table of the points' summaries, each point's values repeated over its rows
    table = pd.concat(summaries).reset_index()
    table["category"] = table["category"].astype(str)
    rows = [len(summary) for summary in summaries]
    for path in reversed(values):
        repeated = [
            setting[path] for setting, n in zip(settings, rows, strict=True) for _ in range(n)
        ]
        table.insert(0, path, repeated)
    columns = [*values, "category"]
    columns += [f"{m}{suffix}" for m in METRICS for suffix in ("", "_lo", "_hi")]
    return table[columns]


def _at_point(data: dict[str, Any], setting: dict[str, Any]) -> Scenario:
    """The scenario with the point's values set, validated."""
    changed = copy.deepcopy(data)
    for path, value in setting.items():
        for parent, key in _locations(changed, path):
            parent[key] = value
    try:
        return Scenario.model_validate(changed)
    except ScenarioError as error:
        where = ", ".join(f"{path} = {value!r}" for path, value in setting.items())
        raise error.with_source(f"sweep point {where}") from None


def _locations(data: dict[str, Any], path: str) -> list[tuple[Any, Any]]:
    """Every (container, key) that ``path`` names in ``data``; ValueError if one is missing."""
    nodes: list[Any] = [data]
    parts = path.split(".")
    for depth, part in enumerate(parts):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"sweep path {path!r}: cannot read {part!r}")
        key, selector = match.groups()
        last = depth == len(parts) - 1 and selector is None
        found: list[Any] = []
        for node in nodes:
            if not isinstance(node, dict) or key not in node:
                known = sorted(node) if isinstance(node, dict) else []
                raise ValueError(
                    f"sweep path {path!r}: no key {key!r} at {'.'.join(parts[:depth]) or 'top'}"
                    + (f" (keys there: {', '.join(known)})" if known else "")
                )
            if last:
                found.append((node, key))
            elif selector is None:
                found.append(node[key])
            else:
                found.extend(_selected(node[key], selector, path, key))
        nodes = found
    if parts and _PART.match(parts[-1]).group(2) is not None:  # ends on a list entry
        raise ValueError(f"sweep path {path!r}: must end on a key, not a list entry")
    return nodes


def _selected(items: Any, selector: str, path: str, key: str) -> list[Any]:
    if not isinstance(items, list):
        raise ValueError(f"sweep path {path!r}: {key} is not a list")
    if selector == "*":
        return list(items)
    if selector.isdigit():
        if int(selector) >= len(items):
            raise ValueError(f"sweep path {path!r}: {key} has {len(items)} entries")
        return [items[int(selector)]]
    chosen = [item for item in items if isinstance(item, dict) and item.get("id") == selector]
    if not chosen:
        ids = [str(item.get("id")) for item in items if isinstance(item, dict)]
        raise ValueError(f"sweep path {path!r}: no {key} entry with id {selector!r} ({ids})")
    return chosen
