"""Solving the planning models with PuLP: the solver, a quiet run, status and gap.

The default solver is HiGHS through PuLP (``highspy``), else CBC (on the path, or the one
bundled with PuLP). HiGHS prints a banner from C++ when it starts, before any option can
silence it, so the solve runs with the process's standard output (file descriptor 1) sent to
``/dev/null``; output of other threads during a solve is lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pulp

from ..errors import PlanError

__all__ = ["INFEASIBLE", "solve", "variable"]

INFEASIBLE = "Infeasible"


def variable(problem: pulp.LpProblem, name: str, cat: str, low: float | None = 0) -> Any:
    """A variable of ``problem`` (``add_variable`` where PuLP has it: PuLP 3.3 deprecates
    constructing ``LpVariable`` directly)."""
    add = getattr(problem, "add_variable", None)
    if add is not None:
        return add(name, lowBound=low, cat=cat)
    return pulp.LpVariable(name, lowBound=low, cat=cat)


_quiet = threading.Lock()
_quiet_users = 0
_saved_stdout: int | None = None


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Standard output (file descriptor 1) to ``/dev/null`` for the block. Solves in
    several threads share one redirection: the first to enter sends it away, the last to
    leave brings it back."""
    global _quiet_users, _saved_stdout
    with _quiet:
        if _quiet_users == 0:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                sys.stdout.flush()
            try:
                _saved_stdout = os.dup(1)
            except OSError:
                _saved_stdout = None
            else:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet:
            _quiet_users -= 1
            if _quiet_users == 0 and _saved_stdout is not None:
                with contextlib.suppress(Exception):  # C stdio buffers go to /dev/null too
                    ctypes.CDLL(None).fflush(None)
                os.dup2(_saved_stdout, 1)
                os.close(_saved_stdout)
                _saved_stdout = None


def solve(
    problem: pulp.LpProblem, solver: Any, time_limit_s: float, what: str, mip_gap: float = 1e-4
) -> tuple[str, bool, float]:
    """Solve ``problem`` in place: ``(status name, proved optimal, relative gap)``.

    The default solver stops when its solution is proved within ``mip_gap`` (relative) of
    the optimum; a ``solver`` given keeps its own settings.

    An infeasible program gives the status :data:`INFEASIBLE` (the caller says why); no
    solution within the time limit raises a PlanError naming ``what`` was sought. The gap is
    the one HiGHS reports, else 0.0 when optimal and NaN otherwise.
    """
    if solver is None:
        settings = {"msg": False, "timeLimit": time_limit_s, "gapRel": mip_gap}
        solver = pulp.HiGHS(**settings)
        if not solver.available():
            solver = pulp.COIN_CMD(**settings)
            if not solver.available():
                solver = pulp.PULP_CBC_CMD(**settings)
    with _quiet_stdout():
        problem.solve(solver)
    status = pulp.LpStatus[problem.status]
    if problem.status == pulp.LpStatusInfeasible:
        return INFEASIBLE, False, math.nan
    found = problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if problem.status != pulp.LpStatusOptimal or not found:
        raise PlanError(
            f"the solver found no {what} (status {status!r}, solution "
            f"{pulp.LpSolution.get(problem.sol_status)!r}) within time_limit_s={time_limit_s:g}; "
            "allow more time"
        )
    optimal = problem.sol_status == pulp.LpSolutionOptimal
    gap = 0.0 if optimal else math.nan
    model = getattr(problem, "solverModel", None)
    if model is not None and hasattr(model, "getInfo"):
        value = float(model.getInfo().mip_gap)  # infinite for a program without integers
        if math.isfinite(value):
            gap = value
    return status, optimal, gap
