"""What an engine returns for one replication: ticket outcomes and the posts' open periods."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EngineOutput"]


@dataclass(frozen=True)
class EngineOutput:
    """Engines serve at *posts* (:mod:`hallsim.staffing`: a window, its staff member and what
    it serves; numbered as in :class:`~hallsim.compile.CompiledHall`, whose ``post_window``
    and ``post_staff`` say where and who).

    Per ticket (issue order): ``called``, ``start``, ``end`` (minutes, NaN when not
    applicable; ``called`` may be the very array ``start`` when every call starts a service at
    once), ``post`` (-1 when never served) and ``outcome`` (a code of
    :data:`hallsim.compile.OUTCOMES`), ``recall_post`` (the post that called an absent
    holder and recalled in vain, -1 otherwise; empty when no category has no-shows). Per open
    period of a post: ``period_post``, ``period_start``, ``period_end``; a post is open from
    the start of its span until it closes, or until it finishes the service it had in hand.
    Per reserve activation, in the order they opened: ``reserve_pool``, when the trigger
    fired (``reserve_requested``) and the window opened (``reserve_opened``), the post it
    opened (``reserve_post``) and why (``reserve_reason``, a code of
    :data:`hallsim.compile.RESERVE_REASONS`); it closes with that post's period. Per ticket,
    for deferred cases (:mod:`hallsim.engines.backoffice`; empty when no category defers):
    ``office_start``, ``office_end``, ``pickup_arrive``, ``pickup_start``, ``pickup_end``.
    """

    called: np.ndarray
    start: np.ndarray
    end: np.ndarray
    post: np.ndarray
    outcome: np.ndarray
    recall_post: np.ndarray
    period_post: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
    reserve_pool: np.ndarray
    reserve_requested: np.ndarray
    reserve_opened: np.ndarray
    reserve_post: np.ndarray
    reserve_reason: np.ndarray
    office_start: np.ndarray
    office_end: np.ndarray
    pickup_arrive: np.ndarray
    pickup_start: np.ndarray
    pickup_end: np.ndarray
