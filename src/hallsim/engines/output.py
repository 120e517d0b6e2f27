"""What an engine returns for one replication: ticket outcomes and the posts' open periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

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

    For a batch of replications (:class:`~hallsim.engines.inputs.TicketInputs`) the tickets
    are those of the batch, replication after replication, and so are the periods and the
    activations: replication ``r``'s are ``period_ptr[r]:period_ptr[r + 1]`` and
    ``reserve_ptr[r]:reserve_ptr[r + 1]`` (by default, one replication).
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
    period_ptr: np.ndarray | None = None  # None: one replication (filled in on creation)
    reserve_ptr: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, entries in (("period_ptr", self.period_post), ("reserve_ptr", self.reserve_pool)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.array([0, entries.size], dtype=np.int64))

    @property
    def replications(self) -> int:
        return self.period_ptr.size - 1

    @classmethod
    def concatenate(cls, parts: Sequence[EngineOutput]) -> EngineOutput:
        """One output for the replications of ``parts``, in order."""
        if len(parts) == 1:
            return parts[0]
        arrays = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts])
            for f in fields(cls)
            if not f.name.endswith("_ptr")
        }
        return cls(
            **arrays,
            period_ptr=_joined([p.period_ptr for p in parts]),
            reserve_ptr=_joined([p.reserve_ptr for p in parts]),
        )


def _joined(ptrs: list[np.ndarray]) -> np.ndarray:
    """The boundaries of consecutive parts' entries, each part's given from 0."""
    joined = [np.zeros(1, dtype=np.int64)]
    offset = 0
    for ptr in ptrs:
        joined.append(ptr[1:] + offset)
        offset += int(ptr[-1])
    return np.concatenate(joined)
