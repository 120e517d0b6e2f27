"""hallsim: simulate and optimise government administrative service halls.

Load a hall with :func:`load_scenario`, run it with :func:`simulate`, read the tables of the
returned :class:`Results` and its :meth:`Results.summary`.
"""

from .errors import ScenarioError
from .results import HallWarning, Results
from .runner import simulate
from .scenario import Scenario, load_scenario, save_scenario

__all__ = [
    "HallWarning",
    "Results",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "save_scenario",
    "simulate",
]
__version__ = "0.1.0"
