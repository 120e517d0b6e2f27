"""The reference engine: the hall's rules as simpy processes, readable and extensible.

It consumes the same :class:`~hallsim.engines.inputs.TicketInputs` as the fast engine and
returns the same :class:`~hallsim.engines.output.EngineOutput`; for every scenario the fast
engine supports the two agree to the float. The rules are those of :mod:`hallsim.engines`.

How the steps of an instant are kept in order: every simpy event carries, as its simpy
*priority*, the number ``(round, step, tie)`` spelt in digits. simpy processes the events of
one instant in priority order, so services ending (step 1) come before schedule changes (2),
patience (3), arrivals (4) and the calls (5, one event per round that needs it, which also
runs steps 6 and 7). Arrivals and the schedule are known in advance and belong to round 0;
an event caused at the instant it happens (a zero-length service, a zero patience, a reserve
with no delay) belongs to the next round. With reserve pools, every round runs the calls
event, since step 7 looks at the queues after every round.

Extending: :class:`Rules` holds the rule that decides which waiting ticket a free window calls.
Pass your own callable as ``simulate(..., engine="simpy", rules=Rules(call_next=...))``; see
the README section "Changing a rule".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappush

import numpy as np
import simpy

from .._kernels import balk_probability
from ..call_rules import CALL_STRICT, CALL_THRESHOLD, CALL_WEIGHTED
from ..compile import (
    ABANDONED,
    BALKED,
    CAPPED,
    HALL_CLOSE,
    IN_SYSTEM,
    NO_SHOW,
    REASON_QUEUE,
    REASON_WAIT,
    RESERVE_END,
    RESERVE_START,
    SERVED,
    SPAN_CLOSE,
    SPAN_OPEN,
    CompiledHall,
)
from .backoffice import run_stages
from .inputs import TicketInputs, check_inputs
from .output import EngineOutput

__all__ = [
    "Day",
    "Rules",
    "highest_priority_then_oldest",
    "run",
    "stage_queue",
    "window_call_rule",
]

# the steps of an instant, in the order they apply
ENDS, SCHEDULE, PATIENCE, ARRIVES, CALLS = range(1, 6)


def _priority(round_: int, step: int, tie: int) -> int:
    """``(round, step, tie)`` as one simpy priority; above simpy's own (0 and 1)."""
    return (round_ * 10 + step) * 10**11 + tie


def highest_priority_then_oldest(day: Day, window: int) -> int:
    """The default rule: the waiting ticket with the highest priority, then the one that
    joined the queue first (:meth:`Day.rank_of`), among those ``window`` may call. Only the
    head of each category's queue can win, so only those are compared."""
    heads = [queue[0] for queue in day.queues_of(window) if queue]
    return min(heads, key=lambda i: (-day.priority_of(i), day.rank_of(i)))


def window_call_rule(day: Day, window: int) -> int:
    """The default rule: the one the scenario gives the window (``call`` of its
    ``[[windows]]`` entry): strict category order, weighted round robin, a waiting-time
    threshold, or by default :func:`highest_priority_then_oldest`."""
    hall = day.hall
    group = hall.post_group[window]
    rule = hall.call_rule[group]
    listed = hall.call_idx[hall.call_ptr[group] : hall.call_ptr[group + 1]]
    if rule == CALL_STRICT:
        for c in listed:
            if day.queues[c]:
                return day.queues[c][0]
    elif rule == CALL_WEIGHTED:
        for j in range(len(listed)):
            k = (day.call_position[window] + j) % len(listed)
            if day.queues[listed[k]]:
                day.call_position[window] = (k + 1) % len(listed)
                return day.queues[listed[k]][0]
    elif rule == CALL_THRESHOLD:
        queue = day.queues[hall.call_category[group]]
        if queue and day.now - day.inputs.issued[queue[0]] > hall.call_after[group]:
            return queue[0]
    return highest_priority_then_oldest(day, window)


@dataclass(frozen=True)
class Rules:
    """Rules of the reference engine that a user may replace.

    ``call_next(day, window) -> ticket`` chooses which waiting ticket a free ``window`` calls;
    it is given the :class:`Day` (read :meth:`Day.callable_tickets`, :meth:`Day.queues_of`,
    :meth:`Day.priority_of`, ``day.now``, ``day.inputs`` for the tickets' draws and
    ``day.hall`` for the compiled hall: ``day.hall.category_ids[c]`` is the id of ticket
    class ``c``, ``day.hall.service_mean[c]`` its mean service time) and must return one of
    ``day.callable_tickets(window)``.
    ``window`` is a post (:mod:`hallsim.staffing`; ``day.hall.post_window[window]`` is the
    hall's window). With ``workers > 1`` it must be picklable: a module-level function;
    with a Dask ``client`` it is sent as Dask sends functions (cloudpickle: a lambda too).
    """

    call_next: Callable[[Day, int], int] = window_call_rule


class _HallEnvironment(simpy.Environment):
    """A simpy environment that schedules at an absolute time: ``now + (t - now)`` is not
    always ``t`` in floating point, and both engines must see the very same instants."""

    def at(self, time: float, priority: int) -> simpy.Event:
        event = simpy.Event(self)
        event._ok = True  # a triggered event, as simpy's own Timeout makes it
        event._value = None
        heappush(self._queue, (time, priority, next(self._eid), event))
        return event


class Day:
    """One day of the hall in simpy: windows, queues, and the processes that drive them."""

    def __init__(
        self, hall: CompiledHall, inputs: TicketInputs, output: dict, day: int, rules: Rules
    ) -> None:
        self.hall = hall
        self.inputs = inputs
        self.output = output
        self.rules = rules
        self.open_time = day * 1440.0 + hall.open_minute
        self.kind = hall.day_kind[day]  # which hours the day has (the calendar)
        self.env = _HallEnvironment(initial_time=self.open_time)
        self.round = (self.open_time, 0)  # (instant, round) of the event being processed
        self.mode = ["closed"] * hall.n_groups  # closed, open, overtime
        self.busy = [False] * hall.n_posts
        self.free: list[set[int]] = [set() for _ in range(hall.n_groups)]
        self.idle_since: list[tuple[float, int]] = [(0.0, 0)] * hall.n_posts
        self.period_from: list[float | None] = [None] * hall.n_posts
        # an open post holds its window (desk) and staff member; a post whose span begins
        # while another post holds them (finishing a ticket) waits until they are released
        self.desk_holder: dict[int, int] = {}
        self.staff_holder: dict[int, int] = {}
        self.waiting: set[int] = set()
        # reserve pools: within their hours, a pending activation's time, the wait timer
        self.pool_active = [False] * hall.n_pools
        self.pending = [np.inf] * hall.n_pools
        self.requested = [np.inf] * hall.n_pools
        self.reason = [0] * hall.n_pools
        self.timer = [np.inf] * hall.n_pools
        self.queues = [deque() for _ in range(hall.n_categories)]
        self.calls_pending = False
        self.call_position = [0] * hall.n_posts  # of each window in its round robin
        self.rank: dict[int, int] = {}  # requeued tickets join the queue again
        self.next_rank = inputs.n_tickets
        lo, hi = inputs.day_ptr[day], inputs.day_ptr[day + 1]
        self.env.process(self._arrivals(range(lo, hi)))
        self.env.process(self._schedule())

    # ------------------------------------------------------------------ what rules may read

    @property
    def now(self) -> float:
        return self.env.now

    def priority_of(self, ticket: int) -> int:
        return int(self.hall.category_priority[self.inputs.category[ticket]])

    def queues_of(self, window: int) -> list[deque]:
        """The queues (waiting tickets in issue order) of the categories ``window`` serves."""
        group = self.hall.post_group[window]
        return [self.queues[c] for c in np.flatnonzero(self.hall.serves[group])]

    def rank_of(self, ticket: int) -> int:
        """Order of joining the queue: the ticket number, or later for a requeued ticket."""
        return self.rank.get(ticket, ticket)

    def callable_tickets(self, window: int) -> list[int]:
        """Waiting tickets ``window`` may call, in the order they joined the queue."""
        return sorted((i for queue in self.queues_of(window) for i in queue), key=self.rank_of)

    # ------------------------------------------------------------------ events and rounds

    def _event(self, time: float, step: int, tie: int, *, caused: bool) -> simpy.Event:
        """An event at ``time`` for ``step`` of the rules. One ``caused`` at the instant it
        happens belongs to the next round of that instant."""
        instant, current = self.round
        round_ = current + 1 if caused and time == instant else 0
        event = self.env.at(time, _priority(round_, step, tie))
        event.callbacks.append(lambda _: self._enter_round(time, round_))
        return event

    def _enter_round(self, time: float, round_: int) -> None:
        self.round = (time, round_)
        if self.hall.n_pools:  # reserve pools look at the queues after every round
            self._request_calls()

    def _request_calls(self) -> None:
        """Step 5 of this round: let free windows call, once everything else has happened."""
        if not self.calls_pending:
            self.calls_pending = True
            instant, current = self.round
            self.env.at(instant, _priority(current, CALLS, 0)).callbacks.append(self._calls)

    # ------------------------------------------------------------------ processes

    def _arrivals(self, tickets):
        """Step 4: each ticket is issued at its time and joins its category's queue, unless
        it is booked and its holder never came, the day's cap refuses it or the queue's
        length makes its holder balk."""
        hall = self.hall
        admitted = [0] * hall.n_scenario_categories  # caps count a category's classes
        for i in tickets:
            yield self._event(self.inputs.issued[i], ARRIVES, i, caused=False)
            c = self.inputs.category[i]
            k = hall.class_category[c]
            if self.inputs.booked_absent.size and self.inputs.booked_absent[i]:
                self._leave(i, NO_SHOW)  # a booked holder who never came
                continue
            if 0 <= hall.category_cap[c] <= admitted[k]:
                self._leave(i, CAPPED)
                continue
            if self._balks(i, c):
                self._leave(i, BALKED)
                continue
            admitted[k] += 1
            self.queues[c].append(i)
            if self.inputs.patience[i] < np.inf:
                self.env.process(self._patience(i))
            self._request_calls()

    def _balks(self, i: int, c: int) -> bool:
        """Whether ticket ``i``'s holder leaves on seeing the queue of category ``c`` (the
        display shows all the classes of its category together)."""
        hall = self.hall
        lo, hi = hall.balk_ptr[c], hall.balk_ptr[c + 1]
        if hi == lo:
            return False
        k = hall.class_category[c]
        shown = sum(
            len(self.queues[j]) for j in hall.class_idx[hall.class_ptr[k] : hall.class_ptr[k + 1]]
        )
        probability = balk_probability(float(shown), hall.balk_queue[lo:hi], hall.balk_prob[lo:hi])
        return bool(self.inputs.balk_draw[i] < probability)

    def _leave(self, i: int, outcome: int) -> None:
        self.output["outcome"][i] = outcome
        self.output["end"][i] = self.now

    def _patience(self, i: int):
        """Step 3: a ticket still waiting when its patience runs out leaves."""
        deadline = self.inputs.issued[i] + self.inputs.patience[i]
        yield self._event(deadline, PATIENCE, i, caused=True)
        if self.output["outcome"][i] == IN_SYSTEM:
            self.queues[self.inputs.category[i]].remove(i)
            self._leave(i, ABANDONED)

    def _schedule(self):
        """Step 2: spans close and open; at closing time windows go into overtime. The
        schedule is that of the day's kind (its hours)."""
        hall = self.hall
        events = slice(hall.event_ptr[self.kind], hall.event_ptr[self.kind + 1])
        for e, (minute, kind, group) in enumerate(
            zip(
                hall.event_minute[events],
                hall.event_kind[events],
                hall.event_group[events],
                strict=True,
            )
        ):
            offset = minute - hall.open_minute
            yield self._event(self.open_time + offset, SCHEDULE, e, caused=False)
            windows = range(
                hall.group_first[group], hall.group_first[group] + hall.group_count[group]
            )
            if kind == SPAN_OPEN:
                self.mode[group] = "open"
                for w in windows:
                    if self.period_from[w] is None and not self._hold(w):
                        self.waiting.add(w)
                    elif not self.busy[w]:
                        self._set_free(w)
                self._request_calls()
            elif kind == SPAN_CLOSE:
                self.mode[group] = "closed"
                self.waiting.difference_update(windows)  # their span ended before they opened
                for w in sorted(self.free[group]):
                    self._close(w)
                self._open_waiting_after(SCHEDULE, len(hall.event_minute) + hall.n_pools)
            elif kind == RESERVE_START:
                self.pool_active[group] = True
            elif kind == RESERVE_END:
                self.pool_active[group] = False
                self.pending[group] = np.inf
                self._stand_down(group)
                self._open_waiting_after(SCHEDULE, len(hall.event_minute) + hall.n_pools)
            elif kind == HALL_CLOSE:
                self.mode[group] = "overtime"
                self._request_calls()  # its step 6 closes the free windows

    def _service(self, w: int, finish: float, absent: int | None = None):
        """Window ``w`` is busy until ``finish`` (step 1), then free, or closed if its span
        has ended. With an ``absent`` holder, the window has called and recalled in vain: it
        drops the ticket or puts it at the back of its category's queue."""
        yield self._event(finish, ENDS, w, caused=True)
        if absent is not None:
            c = self.inputs.category[absent]
            if self.hall.no_show_requeue[c]:
                self.output["outcome"][absent] = IN_SYSTEM
                self.rank[absent] = self.next_rank
                self.next_rank += 1
                self.queues[c].append(absent)
                self._request_calls()  # any free window serving it may call it
            else:
                self.output["end"][absent] = self.now
        self.busy[w] = False
        if self.mode[self.hall.post_group[w]] == "closed":
            self._close(w)
            self._open_waiting_after(ENDS, self.hall.n_posts)
        else:
            self._set_free(w)
            self._request_calls()

    # ------------------------------------------------------------------ state changes

    def _call(self, w: int, i: int) -> None:
        """Window ``w`` calls ticket ``i``: its service starts at once, unless the holder is
        absent at this first call (then the window recalls, see :class:`NoShow`)."""
        hall = self.hall
        group = hall.post_group[w]
        c = self.inputs.category[i]
        self.queues[c].remove(i)
        self.free[group].discard(w)
        self.busy[w] = True
        out = self.output
        first_call = out["recall_post"].size == 0 or out["recall_post"][i] < 0
        if first_call:
            out["called"][i] = self.now
        if first_call and hall.no_shows and self.inputs.absent_draw[i] < hall.no_show_prob[c]:
            out["recall_post"][i] = w
            out["outcome"][i] = NO_SHOW  # until a requeue brings the holder back
            self.env.process(self._service(w, self.now + hall.no_show_lost[c], absent=i))
            return
        finish = self.now + self.inputs.service[i] * hall.factor[group, c]
        out["start"][i] = self.now
        out["end"][i] = finish
        out["post"][i] = w
        out["outcome"][i] = SERVED
        self.env.process(self._service(w, finish))

    def _set_free(self, w: int) -> None:
        """``w`` is free from this instant and round on (what "idle longest" compares)."""
        self.free[self.hall.post_group[w]].add(w)
        self.idle_since[w] = self.round

    def _close(self, w: int) -> None:
        """Post ``w`` closes: its window and staff member are released."""
        self.free[self.hall.post_group[w]].discard(w)
        self.output["periods"].append((w, self.period_from[w], self.now))
        self.period_from[w] = None
        del self.desk_holder[self.hall.post_window[w]]
        self.staff_holder.pop(self.hall.post_staff[w], None)

    def _hold(self, w: int) -> bool:
        """Open post ``w`` now if its window and staff member are free, and hold them."""
        desk, staff = self.hall.post_window[w], self.hall.post_staff[w]
        if desk in self.desk_holder or staff in self.staff_holder:
            return False
        self.desk_holder[desk] = w
        if staff >= 0:
            self.staff_holder[staff] = w
        self.period_from[w] = self.now
        return True

    def _open_waiting(self) -> bool:
        """Waiting posts whose window and staff member are free open now, in post order."""
        opened = [w for w in sorted(self.waiting) if self._hold(w)]
        self.waiting.difference_update(opened)
        for w in opened:
            self._set_free(w)
        return bool(opened)

    def _open_waiting_after(self, step: int, tie: int) -> None:
        """Once every event of this ``step`` and round has happened, open waiting posts."""
        if self.waiting:
            instant, current = self.round
            event = self.env.at(instant, _priority(current, step, tie))
            event.callbacks.append(lambda _: self._open_waiting() and self._request_calls())

    def _calls(self, _event) -> None:
        """Step 5: free windows call waiting tickets, the most specialised window first, then
        the one idle longest (freed at an earlier instant, or in an earlier round of this
        one), then the lower number; step 6 after closing time."""
        self.calls_pending = False
        hall = self.hall
        while True:
            candidates = [
                (hall.group_ncat[g], self.idle_since[w], hall.post_window[w], w)
                for g in range(hall.n_groups)
                for w in self.free[g]
                if any(self.queues[c] for c in np.flatnonzero(hall.serves[g]))
            ]
            if candidates:
                w = min(candidates)[-1]
                i = self.rules.call_next(self, w)
                if not any(i in queue for queue in self.queues_of(w)):
                    raise ValueError(
                        f"Rules.call_next chose ticket {i!r}, which window {w} may not call"
                    )
                self._call(w, i)
                continue
            for g in range(hall.n_groups):  # step 6: after closing, a free window closes
                if self.mode[g] == "overtime":
                    for w in sorted(self.free[g]):
                        self._close(w)
            opened = bool(self.waiting) and self._open_waiting()
            for p in range(hall.n_pools):  # step 7
                self._check_pool(p)
            opened = (bool(self.waiting) and self._open_waiting()) or opened
            if not opened:  # else steps 5 to 7 again
                break

    # ------------------------------------------------------------------ reserve pools

    def _pool_posts(self, p: int) -> range:
        """Posts of pool ``p``: window ``i``, member ``j`` is post first + i * members + j."""
        hall = self.hall
        first = hall.pool_first_post[p]
        return range(first, first + hall.pool_n_windows[p] * hall.pool_n_members[p])

    def _pool_post(self, p: int) -> int:
        """The post a reserve of pool ``p`` would open: its first free window, worked by its
        first free member; -1 when there is none."""
        hall = self.hall
        first, members = hall.pool_first_post[p], hall.pool_n_members[p]
        for i in range(hall.pool_n_windows[p]):
            if hall.post_window[first + i * members] not in self.desk_holder:
                for j in range(members):
                    if hall.post_staff[first + j] not in self.staff_holder:
                        return first + i * members + j
                return -1
        return -1

    def _check_pool(self, p: int) -> None:
        """Step 7 for pool ``p``: stand down when its queue is calm, else call a reserve when
        the queue is long or its first in line has waited long; keep the wait timer."""
        hall = self.hall
        categories = hall.pool_cat_idx[hall.pool_cat_ptr[p] : hall.pool_cat_ptr[p + 1]]
        queues = [self.queues[c] for c in categories]
        waiting = sum(len(queue) for queue in queues)
        first = min((self.inputs.issued[queue[0]] for queue in queues if queue), default=np.inf)
        due = first + hall.pool_open_wait[p]
        now = self.now
        if waiting <= hall.pool_close_queue[p] and (
            waiting == 0 or now - first <= hall.pool_close_wait[p]
        ):
            self.pending[p] = np.inf
            self._stand_down(p)
        elif (
            self.pool_active[p]
            and self.pending[p] == np.inf
            and (waiting >= hall.pool_open_queue[p] or now >= due)
            and self._pool_post(p) >= 0
        ):
            self.pending[p] = now + hall.pool_delay[p]
            self.requested[p] = now
            self.reason[p] = REASON_QUEUE if waiting >= hall.pool_open_queue[p] else REASON_WAIT
            tie = len(hall.event_minute) + p
            event = self._event(self.pending[p], SCHEDULE, tie, caused=True)
            event.callbacks.append(lambda _, p=p, at=self.pending[p]: self._activate(p, at))
        timer = due if waiting > 0 and now < due else np.inf
        if timer != self.timer[p] and timer < np.inf:
            tie = len(hall.event_minute) + hall.n_pools + 1 + p
            event = self.env.at(timer, _priority(0, SCHEDULE, tie))
            event.callbacks.append(lambda _, p=p, at=timer: self._wake(p, at))
        self.timer[p] = timer

    def _wake(self, p: int, at: float) -> None:
        """Pool ``p``'s first in line has waited long enough: a round to look again (unless
        the timer moved since)."""
        if self.timer[p] == at:
            self._enter_round(at, 0)
            self._request_calls()

    def _activate(self, p: int, at: float) -> None:
        """Pool ``p``'s activation delay is over: a reserve opens a window, if one is free."""
        if self.pending[p] != at:
            return  # stood down in the meantime
        self.pending[p] = np.inf
        w = self._pool_post(p)
        if w < 0:
            return
        self.mode[self.hall.post_group[w]] = "open"
        self._hold(w)
        self._set_free(w)
        self.output["reserve"].append((p, self.requested[p], self.now, w, self.reason[p]))
        self._request_calls()

    def _stand_down(self, p: int) -> None:
        """Pool ``p``'s free windows close now, busy ones when their ticket is done."""
        for w in self._pool_posts(p):
            group = self.hall.post_group[w]
            if self.mode[group] != "closed":
                self.mode[group] = "closed"
                if not self.busy[w]:
                    self._close(w)


def run(
    hall: CompiledHall, inputs: TicketInputs, *, rules: Rules | None = None, check: bool = True
) -> EngineOutput:
    """Simulate one replication of ``hall`` on pre-drawn ``inputs`` with simpy."""
    if check:
        check_inputs(hall, inputs)
    n = inputs.n_tickets
    output = {
        "called": np.full(n, np.nan),
        "start": np.full(n, np.nan),
        "end": np.full(n, np.nan),
        "post": np.full(n, -1, dtype=np.int64),
        "outcome": np.full(n, IN_SYSTEM, dtype=np.int8),
        "recall_post": np.full(n if hall.no_shows else 0, -1, dtype=np.int64),
        "periods": [],
        "reserve": [],
    }
    for day in hall.open_days:  # a closed day has no tickets, and no window opens
        Day(hall, inputs, output, day, rules or Rules()).env.run()
    periods = sorted(output["periods"])  # the canonical order: window, then start
    return EngineOutput(
        called=output["called"],
        start=output["start"],
        end=output["end"],
        post=output["post"],
        outcome=output["outcome"],
        recall_post=output["recall_post"],
        period_post=np.array([p[0] for p in periods], dtype=np.int64),
        period_start=np.array([p[1] for p in periods], dtype=float),
        period_end=np.array([p[2] for p in periods], dtype=float),
        reserve_pool=np.array([a[0] for a in output["reserve"]], dtype=np.int64),
        reserve_requested=np.array([a[1] for a in output["reserve"]], dtype=float),
        reserve_opened=np.array([a[2] for a in output["reserve"]], dtype=float),
        reserve_post=np.array([a[3] for a in output["reserve"]], dtype=np.int64),
        reserve_reason=np.array([a[4] for a in output["reserve"]], dtype=np.int8),
        **run_stages(hall, inputs, output["end"], output["outcome"], stage_queue),
    )


def stage_queue(
    arrive: np.ndarray,
    service: np.ndarray,
    servers: int,
    span_start: np.ndarray,
    span_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A back office or the pickup windows as simpy processes: cases join one queue in order
    of arrival (then index); each server, when free, waits for working hours and a case, takes
    the first in line and works it to the end."""
    env = _HallEnvironment()
    start = np.full(arrive.size, np.nan)
    end = np.full(arrive.size, np.nan)
    queue: deque[int] = deque()
    signal = [env.event()]  # succeeds when a case joins the queue

    def arrivals():
        for j in np.lexsort((np.arange(arrive.size), arrive)):
            yield env.at(arrive[j], 0)
            queue.append(j)
            signal[0].succeed()
            signal[0] = env.event()

    def server():
        while True:
            if not queue:
                yield signal[0]
                continue
            span = np.searchsorted(span_end, env.now, side="right")  # first span not over
            if span == span_end.size:
                return
            if env.now < span_start[span]:
                yield env.at(span_start[span], 0)
                continue
            j = queue.popleft()
            start[j] = env.now
            end[j] = env.now + service[j]
            yield env.at(end[j], 0)

    env.process(arrivals())
    for _ in range(servers):
        env.process(server())
    env.run()
    return start, end
