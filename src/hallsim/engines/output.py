"""What an engine returns for one replication: ticket outcomes and window open periods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EngineOutput"]


@dataclass(frozen=True)
class EngineOutput:
    """Per ticket (issue order): ``called``, ``start``, ``end`` (minutes, NaN when not
    applicable; ``called`` may be the very array ``start`` when every call starts a service at
    once), ``window`` (-1 when never served) and ``outcome`` (a code of
    :data:`hallsim.compile.OUTCOMES`), ``recall_window`` (the window that called an absent
    holder and recalled in vain, -1 otherwise; empty when no category has no-shows). Per open
    period of a window: ``period_window``,
    ``period_start``, ``period_end``; a window is open from the start of its span until it
    closes, or until it finishes the service it had in hand.
    """

    called: np.ndarray
    start: np.ndarray
    end: np.ndarray
    window: np.ndarray
    outcome: np.ndarray
    recall_window: np.ndarray
    period_window: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
