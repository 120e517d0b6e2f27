"""hallsim: simulate and optimise government administrative service halls.

Load a hall with :func:`load_scenario`, run it with :func:`simulate`, read the tables of the
returned :class:`Results` and its :meth:`Results.summary`.
"""

from .backtest import Backtest, backtest
from .compare import Comparison, compare
from .errors import LogError, ScenarioError
from .fit import Fit, fit
from .forecast import Forecast, forecast
from .logs import ArrivalCounts, TicketLog, read_counts, read_log, write_log
from .results import HallWarning, PrecisionWarning, Results
from .runner import simulate
from .scenario import Scenario, load_scenario, save_scenario
from .sweep import sweep

__all__ = [
    "ArrivalCounts",
    "Backtest",
    "Comparison",
    "Fit",
    "Forecast",
    "HallWarning",
    "PrecisionWarning",
    "LogError",
    "Results",
    "Scenario",
    "ScenarioError",
    "TicketLog",
    "backtest",
    "compare",
    "fit",
    "forecast",
    "load_scenario",
    "read_counts",
    "read_log",
    "save_scenario",
    "simulate",
    "sweep",
    "write_log",
]
__version__ = "0.1.0"
