"""Slow, obviously correct references for every result table (hallsim issue 10, item 5).

Each function takes :class:`hallsim.Results` of a run with ``keep_tickets=True`` and
recomputes one table from the ticket table and the scenario with plain pandas and numpy,
following the definitions of :mod:`hallsim.results` word for word. Loops and groupby are fine
here: speed does not matter, clarity does (as stumpy keeps ``tests/naive.py``).

What the ticket table does not show, and where the references take it from:

- *When the windows were open.* :func:`open_periods` lays the scenario's posts out in time
  by the rules of :mod:`hallsim.engines` (spans, the ticket in hand, overtime, a post waiting
  for its window and its staff member) and the recorded reserve activations. It cannot when a
  category has no-shows: the window that recalls an absent holder is busy for the recalls,
  which may keep it open past the end of its span, and the ticket table does not say which
  window that was. Then the open minutes are taken from the documented tables
  (``results.windows``/``results.staff`` ``open_min``, ``results.intervals["open_windows"]``)
  and used only as denominators; the open minutes themselves are checked on the other halls.
- *Which window recalled an absent holder* (its lost minutes): known only when one window
  serves the ticket's class; otherwise the lost minutes are checked in total
  (:func:`lost_minutes`).
- *Which served tickets are deferred cases that no back-office server ever started*: they
  have no stage times, just like the tickets not drawn into the category's share; see
  :func:`back_office`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hallsim.results import BACK_OFFICE_METRICS, METRICS
from hallsim.staffing import build_posts

OVERALL = "overall"
CLASS_SUFFIXES = (":priority", ":appointment")


class NotDerivable(Exception):
    """The ticket table and the scenario do not determine this number."""


_MEMO: dict = {"results": None}


def memo(results, name: str, compute):
    """``compute(results)``, computed once for the last ``results`` asked about (the
    references share a few intermediate tables; results are never changed in place)."""
    if _MEMO["results"] is not results:
        _MEMO.clear()
        _MEMO["results"] = results
    if name not in _MEMO:
        _MEMO[name] = compute(results)
    return _MEMO[name]


# ---------------------------------------------------------------------------- basic facts


def tickets_of(results) -> pd.DataFrame:
    if results.tickets is None:
        raise ValueError("the references need the ticket table (keep_tickets=True)")
    return results.tickets


def classes(results) -> list[str]:
    """The ticket classes reported as categories, in table order."""
    return list(tickets_of(results)["category"].cat.categories)


def scenario_category(results, class_id: str) -> int:
    """Index in the scenario of the category a ticket class belongs to (``<id>``,
    ``<id>:priority``, ``<id>:appointment``)."""
    for suffix in CLASS_SUFFIXES:
        if class_id.endswith(suffix):
            class_id = class_id[: -len(suffix)]
    return results.scenario.category_ids.index(class_id)


def day_open(results, day) -> float:
    """Absolute minute the hall opens on ``day``."""
    return day * 1440.0 + results.scenario.hall.open_minute


def day_close(results, day) -> float:
    """Absolute minute the hall closes on ``day`` (an open day: its own hours, if any)."""
    return day * 1440.0 + results.scenario.hall.day_hours(day)[1]


def day_spans(results, post, day) -> list[tuple[int, int]]:
    """The spans of ``post`` on ``day`` (minutes of day): its spans cut to the day's hours."""
    first, last = results.scenario.hall.day_hours(day)
    cut = [(max(a, first), min(b, last)) for a, b in post.spans]
    return [(a, b) for a, b in cut if a < b]


def lost_per_recall(results) -> dict[str, float]:
    """Minutes a window spends on an absent holder of each class: the call and each recall."""
    lost = {}
    for c in classes(results):
        no_show = results.scenario.categories[scenario_category(results, c)].no_show
        lost[c] = 0.0 if no_show is None else (1 + no_show.recalls) * no_show.recall_min
    return lost


def recalled(tickets: pd.DataFrame) -> pd.Series:
    """Tickets whose holder was absent at the first call: called, and then never served, or
    served only later (after the recalls and the requeue)."""
    called = tickets["called"]
    return called.notna() & (tickets["start"].isna() | (tickets["start"] > called))


def served_tickets(tickets: pd.DataFrame) -> pd.DataFrame:
    return tickets[tickets["outcome"] == "served"]


# ---------------------------------------------------------------------------- posts


@dataclass(frozen=True)
class Post:
    """A window worked by a staff member (``None``: nobody in particular) serving some ticket
    classes during some spans (minutes of day; none for a reserve post, which its pool
    opens)."""

    window: str
    member: str | None
    classes: frozenset
    spans: tuple
    pool: str | None = None


def posts(results) -> list[Post]:
    """The scenario's staffing plan (``hallsim.staffing.build_posts``), then each reserve
    pool's windows worked by each of its members, with the ticket classes each post serves."""
    scenario = results.scenario
    windows, members = scenario.window_names, scenario.member_names

    def served(categories) -> frozenset:
        return frozenset(c for c in classes(results) if scenario_category(results, c) in categories)

    out = [
        Post(
            windows[p.window],
            None if p.member < 0 else members[p.member],
            served(set(p.served)),
            tuple(p.spans),
        )
        for p in build_posts(scenario)[0]
    ]
    for pool in scenario.reserve:
        categories = set(scenario.resolve(pool.serves))
        for x in scenario.window_indices(pool.windows):
            for member in pool.names:
                out.append(Post(windows[x], member, served(categories), (), pool.id))
    return out


def post_of(results, window: str, member, day: int, minute: float) -> Post:
    """The post that served at ``window`` with ``member`` (NaN: nobody in particular) at
    ``minute`` of ``day``: the reserve post of a reserve member, else the post of that window
    and member whose span that day holds the minute, or, after the day's closing time, whose
    span reaches it."""
    member = None if pd.isna(member) else member
    close = results.scenario.hall.day_hours(day)[1]
    found = []
    for post in posts_cached(results):
        if post.window != window or post.member != member:
            continue
        if post.pool is not None:
            found.append(post)
        elif any(
            a <= minute < b or (minute >= close and b == close)
            for a, b in day_spans(results, post, day)
        ):
            found.append(post)
    assert len(found) == 1, (window, member, minute, found)
    return found[0]


_POSTS: list = [None, None]  # the last scenario asked about, and its posts


def posts_cached(results) -> list[Post]:
    if _POSTS[0] is not results.scenario:
        _POSTS[:] = [results.scenario, posts(results)]
    return _POSTS[1]


def ticket_posts(results) -> pd.Series:
    """The post each served ticket was served at (index: the ticket table's)."""
    served = served_tickets(tickets_of(results))
    return pd.Series(
        [
            post_of(results, row.window, row.staff, row.day, row.start - row.day * 1440.0)
            for row in served.itertuples()
        ],
        index=served.index,
        dtype=object,
    )


def windows_serving(results, class_id: str | None) -> set[str]:
    """Windows with a post that serves the class at some time (``None``: any post)."""
    return {
        post.window
        for post in posts_cached(results)
        if class_id is None or class_id in post.classes
    }


# ---------------------------------------------------------------------------- open periods


def open_periods(results) -> pd.DataFrame:
    """When each post was open: one row per open period (replication, day, window, staff,
    post, start, end), laid out by the rules of :mod:`hallsim.engines`, day by day (the days
    the hall is open, each post's spans cut to the day's hours):

    - a post opens at the start of each of its spans, or later, the moment the previous post
      of its window and the previous post of its staff member have closed (never, if its
      span is over by then);
    - a span that ends before closing time closes the post then, or when it has finished
      the ticket in hand;
    - a post open at closing time keeps serving the waiting tickets and closes when it has
      finished its last one (at closing time, or when it opened, if it serves none);
    - a reserve window is open from ``opened_min`` to ``closed_min`` of each activation (the
      record of :attr:`Results.reserve`), worked by its reserve member (a post is never
      open twice at once: of two activations of one post opened at one instant, the first
      closed at once).

    Raises :class:`NotDerivable` when a category has no-shows (see the module doc)."""
    scenario = results.scenario
    if any(category.no_show is not None for category in scenario.categories):
        raise NotDerivable("which window recalled an absent holder is not in the ticket table")
    tickets = served_tickets(tickets_of(results))
    all_posts = posts_cached(results)
    rows = []
    for rep in range(results.replications):
        mine = tickets[tickets["replication"] == rep]
        reserve = results.reserve[results.reserve["replication"] == rep]
        for day in scenario.hall.open_days:
            today = mine[mine["day"] == day]
            origin = day * 1440.0
            close = scenario.hall.day_hours(day)[1]
            # (start, kind, post, span end or closing minute): spans, and recorded activations
            events = []
            for p, post in enumerate(all_posts):
                for a, b in day_spans(results, post, day):
                    events.append((origin + a, 0, p, origin + b))
            activations = reserve[reserve["day"] == day]
            # a post is never open twice at once: of two activations of one post opened at
            # one instant, the first closed at once (the record gives both the second's
            # closing time: see test_tables_reference, KNOWN BUG)
            closes_at_once = activations.duplicated(["window", "staff", "opened_min"], "last")
            for activation, at_once in zip(activations.itertuples(), closes_at_once, strict=True):
                closing = activation.opened_min if at_once else activation.closed_min
                p = next(
                    i
                    for i, post in enumerate(all_posts)
                    if post.pool == activation.pool
                    and post.window == activation.window
                    and post.member == activation.staff
                )
                events.append((activation.opened_min, 1, p, closing))
            window_free: dict[str, float] = {}
            member_free: dict[str, float] = {}
            for start, kind, p, end in sorted(events):
                post = all_posts[p]
                if kind == 1:  # a reserve activation: open as recorded
                    opened, closed = start, end
                else:
                    opened = max(
                        start,
                        window_free.get(post.window, -np.inf),
                        member_free.get(post.member, -np.inf),
                    )
                    overtime = end == origin + close
                    if not overtime and opened >= end:
                        continue  # its span ended before it could open
                    here = today[
                        (today["window"] == post.window)
                        & (
                            today["staff"].isna()
                            if post.member is None
                            else today["staff"] == post.member
                        )
                        & (today["start"] >= opened)
                        & (overtime | (today["start"] < end))
                    ]
                    last_end = here["end"].max() if len(here) else -np.inf
                    closed = max(end if not overtime else max(end, opened), last_end)
                rows.append((rep, day, post.window, post.member, p, opened, closed))
                window_free[post.window] = closed
                if post.member is not None:
                    member_free[post.member] = closed
    return pd.DataFrame(
        rows, columns=["replication", "day", "window", "staff", "post", "start", "end"]
    )


def _open_periods_or_none(results) -> pd.DataFrame | None:
    def compute(results):
        try:
            return open_periods(results)
        except NotDerivable:
            return None

    return memo(results, "open_periods", compute)


# ---------------------------------------------------------------------------- intervals


def slots(results) -> pd.DataFrame:
    """The reporting slots, minutes after opening: ``interval_min`` slots over the opening
    hours (the last may be shorter), then as many as fit in a day after closing time; the
    first also takes anything before opening, the last anything after its start. Columns:
    start, length (nominal), lo, hi (the range it collects)."""
    hall = results.scenario.hall
    hours = hall.close_minute - hall.open_minute
    step = hall.interval_min
    n_open = int(np.ceil(hours / step))
    starts = [k * step for k in range(n_open)]
    lengths = [min(step, hours - s) for s in starts]
    n_after = int(np.ceil(1440 / step))
    starts += [hours + j * step for j in range(n_after)]
    lengths += [step] * n_after
    table = pd.DataFrame({"start": np.array(starts, float), "length": np.array(lengths, float)})
    table["lo"] = table["start"]
    table["hi"] = table["start"] + table["length"]
    table.loc[0, "lo"] = -np.inf
    table.loc[len(table) - 1, "hi"] = np.inf
    table.attrs["n_open"] = n_open
    return table


def overlap(start, end, lo: float, hi: float) -> float:
    """Minutes of the spans [start, end) that fall in [lo, hi), summed."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    return float(np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None).sum())


def day_ends(results) -> dict[tuple[int, int], float]:
    """When each day's last window closed, per (replication, day): closing time, or later
    when a window was still serving or recalling (a window open after closing time closes
    when it finishes its last ticket)."""
    tickets = tickets_of(results)
    lost = lost_per_recall(results)
    out = {}
    for (rep, day), today in tickets.groupby(["replication", "day"]):
        ends = [day_close(results, day)]
        ends += served_tickets(today)["end"].tolist()
        again = today[recalled(today)]
        ends += (again["called"] + again["category"].map(lost).astype(float)).tolist()
        out[(rep, day)] = max(ends)
    return out


def waiting_spans(results) -> pd.DataFrame:
    """The spans tickets spent in the queue: from issue until called (served or absent), or
    until they left (abandoned; balked and capped at once), or, nobody ever calling them,
    until the day's last window closed; a requeued absent holder waits a second time, from
    the end of the recalls until called again, leaving, or the day's end. Columns:
    replication, day, category, issued (the ticket's), start, end."""
    tickets = tickets_of(results)
    lost = lost_per_recall(results)
    ends = day_ends(results)
    rows = []
    for t in tickets.itertuples():
        if t.outcome == "served":
            left = t.start
        elif t.outcome == "in_system":
            left = ends[(t.replication, t.day)]
        else:
            left = t.end
        was_recalled = not np.isnan(t.called) and (np.isnan(t.start) or t.start > t.called)
        key = (t.replication, t.day, t.category, t.issued)
        if not was_recalled:
            rows.append((*key, t.issued, left))
        else:
            rows.append((*key, t.issued, t.called))
            if t.outcome != "no_show":  # requeued
                rows.append((*key, t.called + lost[t.category], left))
    columns = ["replication", "day", "category", "issued", "start", "end"]
    return pd.DataFrame(rows, columns=columns)


def intervals(results) -> pd.DataFrame:
    """Per replication, day, reporting slot and category: tickets issued in the slot
    (arrivals), those of them served and abandoned, and the mean wait of those served;
    the time-average number waiting (queue_length), being served (busy_windows) and, where
    :func:`open_periods` can tell, of open windows that serve the category (open_windows),
    over the slot (its nominal length). Slots after closing time are reported up to the last
    one in which anything happened (waiting, service, recalls, open windows)."""
    tickets = tickets_of(results)
    hall = results.scenario.hall
    grid = slots(results)
    waiting = memo(results, "waiting", waiting_spans)
    served = served_tickets(tickets)
    again = tickets[recalled(tickets)]
    recall_end = again["called"] + again["category"].map(lost_per_recall(results)).astype(float)
    periods = _open_periods_or_none(results)
    ids = classes(results)

    # which slots to report: all those of the opening hours, then up to the last one used
    used = grid.attrs["n_open"]
    spans = [
        (waiting["day"], waiting["start"], waiting["end"]),
        (served["day"], served["start"], served["end"]),
        (again["day"], again["called"], recall_end),
    ]
    if periods is not None:
        spans.append((periods["day"], periods["start"], periods["end"]))
    for k, slot in grid.iterrows():
        for day, a, b in spans:
            origin = day.to_numpy() * 1440.0 + hall.open_minute
            if overlap(a - origin, b - origin, slot["lo"], slot["hi"]) > 0:
                used = max(used, k + 1)
    grid = grid.iloc[:used]

    # the tables to split by slot, each grouped by (replication, day, category)
    parts = {"tickets": tickets, "waiting": waiting, "served": served}
    if periods is not None:  # a period counts for each class its post serves
        post_classes = periods["post"].map(lambda q: sorted(posts_cached(results)[q].classes))
        parts["open"] = periods.assign(category=post_classes).explode("category")

    def columns(part: pd.DataFrame) -> dict[str, np.ndarray]:  # plain arrays: faster
        names = [name for name in ("issued", "outcome", "start", "end") if name in part]
        return {name: part[name].to_numpy() for name in names}

    keys = ["replication", "day", "category"]
    groups = {
        name: {key: columns(part) for key, part in table.groupby(keys, observed=True)}
        for name, table in parts.items()
    }
    empty = {name: columns(table.iloc[:0]) for name, table in parts.items()}
    rows = []
    for rep in range(results.replications):
        for day in hall.open_days:  # a closed day has no rows
            origin = day_open(results, day)
            for k, slot in grid.iterrows():
                lo, hi = origin + slot["lo"], origin + slot["hi"]
                for c in ids:
                    mine = {name: groups[name].get((rep, day, c), empty[name]) for name in parts}
                    issued = mine["tickets"]
                    here = (issued["issued"] >= lo) & (issued["issued"] < hi)
                    served_here = here & (issued["outcome"] == "served")
                    waits = issued["start"][served_here] - issued["issued"][served_here]
                    waiting_c, served_c = mine["waiting"], mine["served"]
                    row = {
                        "replication": rep,
                        "day": day,
                        "interval": k,
                        "start_min": hall.open_minute + slot["start"],
                        "category": c,
                        "arrivals": int(here.sum()),
                        "served": int(served_here.sum()),
                        "abandoned": int((here & (issued["outcome"] == "abandoned")).sum()),
                        "mean_wait": waits.mean() if waits.size else np.nan,
                        "queue_length": overlap(waiting_c["start"], waiting_c["end"], lo, hi)
                        / slot["length"],
                        "busy_windows": overlap(served_c["start"], served_c["end"], lo, hi)
                        / slot["length"],
                    }
                    if periods is not None:
                        open_c = mine["open"]
                        row["open_windows"] = (
                            overlap(open_c["start"], open_c["end"], lo, hi) / slot["length"]
                        )
                    rows.append(row)
    table = pd.DataFrame(rows)
    return _typed(table, {"category": ids})


def _typed(table: pd.DataFrame, categorical: dict[str, list]) -> pd.DataFrame:
    """The fast tables' dtypes: int32 keys, int64 counts, categoricals."""
    for column in ("replication", "day", "interval"):
        if column in table:
            table[column] = table[column].astype(np.int32)
    for column in ("arrivals", "served", "abandoned", "tickets", "deferred", "unfinished"):
        if column in table and table[column].notna().all():
            table[column] = table[column].astype(np.int64)
    for column, categories in categorical.items():
        table[column] = pd.Categorical(table[column], categories=categories)
    return table


# ---------------------------------------------------------------------------- windows, staff


def lost_minutes(results) -> pd.Series:
    """Per replication: minutes windows spent calling and recalling absent holders, each
    recall costing ``(1 + recalls) * recall_min`` of the holder's category."""
    tickets = tickets_of(results)
    again = tickets[recalled(tickets)]
    lost = again["category"].map(lost_per_recall(results)).astype(float)
    return (
        lost.groupby(again["replication"])
        .sum()
        .reindex(range(results.replications), fill_value=0.0)
    )


def recall_place(results, class_id: str, key: str):
    """Where an absent holder of the class was recalled in vain: the window (``key="window"``)
    or its staff member (``None``: nobody in particular), when the posts that serve the
    class are all at one window (all worked by one member); else :class:`NotDerivable`."""
    places = {
        post.window if key == "window" else post.member
        for post in posts_cached(results)
        if class_id in post.classes
    }
    if len(places) != 1:
        raise NotDerivable(f"the posts that serve {class_id} have {len(places)} {key}s")
    return places.pop()


def _per_place(results, key: str, names: list[str], open_min: pd.Series | None) -> pd.DataFrame:
    """Per replication and window (``key="window"``) or staff member: open minutes, busy
    minutes (service of the tickets served there), lost minutes (recalls of absent holders;
    the column only when :func:`recall_place` tells where every recall was), utilisation
    (busy over open) and tickets served."""
    tickets = tickets_of(results)
    served = served_tickets(tickets)
    again = tickets[recalled(tickets)]
    lost = lost_per_recall(results)
    try:
        places = [recall_place(results, t.category, key) for t in again.itertuples()]
    except NotDerivable:
        places = None  # not known: the lost minutes are checked in total (lost_minutes)
    rows = []
    for rep in range(results.replications):
        for name in names:
            here = served[(served["replication"] == rep) & (served[key] == name)]
            row = {
                "replication": rep,
                key: name,
                "open_min": open_min[(rep, name)],
                "busy_min": float((here["end"] - here["start"]).sum()),
            }
            if places is not None:
                row["lost_min"] = sum(
                    (
                        lost[t.category]
                        for t, place in zip(again.itertuples(), places, strict=True)
                        if t.replication == rep and place == name
                    ),
                    0.0,
                )
            with np.errstate(invalid="ignore", divide="ignore"):
                row["utilisation"] = np.float64(row["busy_min"]) / np.float64(row["open_min"])
            row["served"] = len(here)
            rows.append(row)
    columns = ["replication", key, "open_min", "busy_min", "lost_min", "utilisation", "served"]
    table = pd.DataFrame(
        rows, columns=[c for c in columns if places is not None or c != "lost_min"]
    )
    return _typed(table, {key: names})


def window_open_minutes(results) -> pd.Series:
    """Open minutes per (replication, window): from :func:`open_periods`, or, when it cannot
    tell, from ``results.windows["open_min"]`` (a denominator only; see the module doc)."""
    return _open_minutes(results, "window", results.scenario.window_names, results.windows)


def staff_open_minutes(results) -> pd.Series:
    return _open_minutes(results, "staff", results.scenario.member_names, results.staff)


def _open_minutes(results, key, names, fast_table) -> pd.Series:
    index = pd.MultiIndex.from_product([range(results.replications), names])
    periods = _open_periods_or_none(results)
    if periods is None:
        given = fast_table.set_index(["replication", key])["open_min"]
        return pd.Series([given[i] for i in index], index=index)
    length = (periods["end"] - periods["start"]).groupby([periods["replication"], periods[key]])
    totals = length.sum()
    return pd.Series([float(totals.get(i, 0.0)) for i in index], index=index)


def windows(results) -> pd.DataFrame:
    """Per replication and window: its ``[[windows]]`` entry (group), open minutes, busy
    minutes, lost minutes recalling absent holders, utilisation (busy over open) and tickets
    served (see :func:`_per_place`)."""
    scenario = results.scenario
    names = scenario.window_names
    table = _per_place(results, "window", names, window_open_minutes(results))
    groups = [w.id for w in scenario.windows]
    entry = dict(zip(names, [groups[e] for e in scenario.window_entries], strict=True))
    table.insert(2, "group", pd.Categorical(table["window"].map(entry), categories=groups))
    return table


def staff(results) -> pd.DataFrame:
    """The same per replication and staff member (reserve members included): minutes they
    worked an open window, busy, lost, utilisation, served; no rows without staff."""
    names = results.scenario.member_names
    return _per_place(results, "staff", names, staff_open_minutes(results))


# ---------------------------------------------------------------------------- reserve


def reserve(results, activations: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reserve activations as recorded (``activations``, default ``results.reserve``: pool,
    window, member, requested, opened, closed, reason), with what the tickets say about each:

    - ``day``: the day it opened;
    - ``served``, ``busy_min``, ``last_end``: the tickets served in it, which are those its
      member served at its window from its opening on, until the member's next activation
      there opened (activations are listed in the order they opened);
    - ``waiting_at_request``, ``longest_wait_at_request``: the tickets of the pool's classes
      waiting at the trigger's instant, and the longest wait since issue among them (those
      called at that very instant count: with no delay the reserve window itself calls them,
      in a later round of the same instant).
    """
    scenario = results.scenario
    served = served_tickets(tickets_of(results))
    waiting = memo(results, "waiting", waiting_spans)
    table = (results.reserve if activations is None else activations).copy()
    derived = []
    for a in table.itertuples():
        pool = next(p for p in scenario.reserve if p.id == a.pool)
        categories = scenario.resolve(pool.serves)
        pool_classes = [c for c in classes(results) if scenario_category(results, c) in categories]
        same_place = table[
            (table["replication"] == a.replication)
            & (table["window"] == a.window)
            & (table["staff"] == a.staff)
        ]
        # the activations are recorded in the order they opened
        later = same_place["opened_min"][same_place.index > a.Index]
        here = served[
            (served["replication"] == a.replication)
            & (served["window"] == a.window)
            & (served["staff"] == a.staff)
            & (served["start"] >= a.opened_min)
            & (served["start"] < (later.min() if len(later) else np.inf))
        ]
        queue = waiting[
            (waiting["replication"] == a.replication)
            & waiting["category"].isin(pool_classes)
            & (waiting["start"] <= a.requested_min)
            & (waiting["end"] >= a.requested_min)
        ]
        derived.append(
            {
                "day": int(a.opened_min // 1440),
                "served": len(here),
                "busy_min": float((here["end"] - here["start"]).sum()),
                "last_end": here["end"].max() if len(here) else np.nan,
                "waiting_at_request": len(queue),
                "longest_wait_at_request": (a.requested_min - queue["issued"]).max()
                if len(queue)
                else np.nan,
            }
        )
    columns = ["day", "served", "busy_min", "last_end", "waiting_at_request"]
    derived = pd.DataFrame(
        derived, index=table.index, columns=[*columns, "longest_wait_at_request"]
    )
    table["day"] = derived["day"].astype(np.int32)
    for column in derived.columns.drop("day"):
        table[column] = derived[column]
    return table


# ---------------------------------------------------------------------------- per replication


def coefficient_of_variation(values) -> float:
    """Population standard deviation over the mean (NaN when empty or the mean is not
    positive)."""
    x = np.asarray(values, float)
    if x.size == 0 or not x.mean() > 0:
        return np.nan
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)) / x.mean())


def gini(values) -> float:
    """Mean absolute difference over all ordered pairs, over twice the mean (NaN when empty
    or the mean is not positive)."""
    x = np.asarray(values, float)
    if x.size == 0 or not x.mean() > 0:
        return np.nan
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean()))


def category_open_minutes(results) -> pd.DataFrame:
    """Open minutes of the posts that serve each class, per replication (rows) and class
    (columns): from :func:`open_periods`, or, when it cannot tell, the documented
    ``results.intervals["open_windows"]`` (open windows that serve the class, a time
    average) times the slot lengths, summed (a denominator only; see the module doc)."""
    ids = classes(results)
    periods = _open_periods_or_none(results)
    table = pd.DataFrame(0.0, index=range(results.replications), columns=ids)
    if periods is not None:
        for period in periods.itertuples():
            for c in posts_cached(results)[period.post].classes:
                table.loc[period.replication, c] += period.end - period.start
        return table
    lengths = slots(results).set_index("start")["length"]
    given = results.intervals
    minutes = given["open_windows"] * (given["start_min"] - results.scenario.hall.open_minute).map(
        lengths
    )
    for (rep, c), value in minutes.groupby(
        [given["replication"], given["category"]], observed=True
    ):
        table.loc[rep, c] = value.sum()
    return table


def replication_stats(results) -> pd.DataFrame:
    """Per replication, per category and ``"overall"`` (all tickets, all posts):

    - tickets issued; mean and P90 (linear interpolation) of the waits ``start - issued`` of
      served tickets;
    - shares of issued tickets served within ``sla_wait_min``, abandoned, balked, capped,
      no-show;
    - utilisation: minutes serving (any class) at the posts that serve the category, over
      those posts' open minutes;
    - over the windows with a post that serves the category, those ever open: CV and Gini of
      their utilisation (a window's busy over open minutes, all its posts);
    - tickets served per window that serves the category, per open day;
    - the peak day (most tickets issued; the first of equals): its tickets and the mean wait of
      its served tickets.
    """
    scenario = results.scenario
    tickets = tickets_of(results)
    ids = classes(results)
    sla = scenario.hall.sla_wait_min
    days = scenario.hall.days
    open_days = len(scenario.hall.open_days)
    post = memo(results, "posts", ticket_posts)
    served_all = served_tickets(tickets)
    category_open = category_open_minutes(results)
    window_open = window_open_minutes(results)
    rows = []
    for rep in range(results.replications):
        here = tickets[tickets["replication"] == rep]
        served_here = served_all[served_all["replication"] == rep]
        busy = served_here["end"] - served_here["start"]
        window_busy = busy.groupby(served_here["window"], observed=False).sum()
        window_utilisation = {
            w: window_busy.get(w, 0.0) / window_open[(rep, w)]
            for w in scenario.window_names
            if window_open[(rep, w)] > 0
        }
        for c in [*ids, None]:
            mine = here if c is None else here[here["category"] == c]
            n = len(mine)
            served = mine[mine["outcome"] == "served"]
            waits = served["start"] - served["issued"]

            def share(mask, n=n):
                return mask.sum() / n if n else np.nan

            if c is None:
                at_posts = served_here
                open_minutes = sum(window_open[(rep, w)] for w in scenario.window_names)
            else:
                serves_c = [c in p.classes for p in post[served_here.index]]
                at_posts = served_here[np.array(serves_c, dtype=bool)]
                open_minutes = category_open.loc[rep, c]
            busy_here = float((at_posts["end"] - at_posts["start"]).sum())
            serving = windows_serving(results, c)
            used = [
                window_utilisation[w]
                for w in scenario.window_names
                if w in serving and w in window_utilisation
            ]
            per_day = mine.groupby("day").size().reindex(range(days), fill_value=0)
            peak = int(per_day.idxmax())
            peak_served = served[served["day"] == peak]
            rows.append(
                {
                    "replication": rep,
                    "category": OVERALL if c is None else c,
                    "tickets": n,
                    "mean_wait": waits.mean() if len(waits) else np.nan,
                    "p90_wait": waits.quantile(0.9) if len(waits) else np.nan,
                    "service_level": share(waits <= sla),
                    "abandonment": share(mine["outcome"] == "abandoned"),
                    "balking": share(mine["outcome"] == "balked"),
                    "capped": share(mine["outcome"] == "capped"),
                    "no_show": share(mine["outcome"] == "no_show"),
                    "utilisation": busy_here / open_minutes if open_minutes > 0 else np.nan,
                    "utilisation_cv": coefficient_of_variation(used),
                    "utilisation_gini": gini(used),
                    "tickets_per_window_day": len(served) / len(serving) / open_days,
                    "peak_day_tickets": float(per_day[peak]),
                    "peak_day_mean_wait": (peak_served["start"] - peak_served["issued"]).mean()
                    if len(peak_served)
                    else np.nan,
                }
            )
    table = pd.DataFrame(rows, columns=["replication", "category", *METRICS])
    return _typed(table, {"category": [*ids, OVERALL]})


# ---------------------------------------------------------------------------- back office


def back_office(results) -> pd.DataFrame:
    """Per replication and category, its deferred cases (served tickets sent to a back
    office; a case arrives there when its window service ends):

    - deferred: how many; unfinished: those no back-office server finished;
    - office_wait: mean minutes from arrival to the back office starting on it, lead_time:
      mean minutes from the ticket's issue to the result, same_day: share ready on the day
      the ticket was issued (all three over finished cases);
    - office_wip and office_queue: time-average cases in the back office (from arrival until
      finished) and waiting there (until started), from the first opening to the end of the
      last day;
    - pickups: citizens who collected at the pickup windows, pickup_wait: their mean wait.

    A case no server ever started has no stage times, like a ticket that was not deferred:
    the ticket table tells them apart only when the category defers every served ticket
    (share 1), or none, or when the back office (first come, first served) started a case
    that arrived later than every such ticket (then none of them was a case). Otherwise
    (``cases_known`` False) deferred, unfinished, office_wip and office_queue are NaN; the
    columns ``finished`` (finished cases) and ``office_busy`` (time-average cases being
    worked on, office_wip - office_queue) are known in every row.
    """
    scenario = results.scenario
    columns = ["replication", "category", *BACK_OFFICE_METRICS, "cases_known", "finished"]
    columns.append("office_busy")
    ids = classes(results)
    if not any(category.deferred is not None for category in scenario.categories):
        return pd.DataFrame(columns=columns)
    tickets = tickets_of(results)
    served = served_tickets(tickets)
    t0 = float(scenario.hall.open_minute)
    t1 = scenario.hall.days * 1440.0
    horizon = t1 - t0

    def time_average(arrive, leave):
        """Cases present from ``arrive`` to ``leave`` (NaN: still there at the end)."""
        return overlap(arrive, np.nan_to_num(leave, nan=t1), t0, t1) / horizon

    office = {}  # each class's back office (None: it defers nothing)
    for c in ids:
        deferred = scenario.categories[scenario_category(results, c)].deferred
        office[c] = None if deferred is None else deferred.back_office
    rows = []
    for rep in range(results.replications):
        here = served[served["replication"] == rep]
        started_all = here[here["office_start"].notna()]
        for c in ids:
            deferred = scenario.categories[scenario_category(results, c)].deferred
            mine = here[here["category"] == c]
            started = mine[mine["office_start"].notna()]
            finished = started[started["office_end"].notna()]
            if deferred is None or deferred.share == 0:
                cases, known = mine.iloc[:0], True
            elif deferred.share == 1:
                cases, known = mine, True
            else:
                same_office = started_all[started_all["category"].map(office).eq(office[c])]
                latest = same_office["end"].max() if len(same_office) else -np.inf
                unclear = mine[mine["office_start"].isna() & (mine["end"] >= latest)]
                cases, known = started, len(unclear) == 0
            came = started[started["pickup_start"].notna()]
            rows.append(
                {
                    "replication": rep,
                    "category": c,
                    "deferred": len(cases) if known else np.nan,
                    "office_wait": (finished["office_start"] - finished["end"]).mean()
                    if len(finished)
                    else np.nan,
                    "lead_time": (finished["office_end"] - finished["issued"]).mean()
                    if len(finished)
                    else np.nan,
                    "same_day": ((finished["office_end"] // 1440) == finished["day"]).mean()
                    if len(finished)
                    else np.nan,
                    "office_wip": time_average(cases["end"], cases["office_end"])
                    if known
                    else np.nan,
                    "office_queue": time_average(cases["end"], cases["office_start"])
                    if known
                    else np.nan,
                    "unfinished": int(cases["office_end"].isna().sum()) if known else np.nan,
                    "pickups": len(came),
                    "pickup_wait": (came["pickup_start"] - came["pickup_arrive"]).mean()
                    if len(came)
                    else np.nan,
                    "cases_known": known,
                    "finished": len(finished),
                    "office_busy": time_average(started["office_start"], started["office_end"]),
                }
            )
    table = pd.DataFrame(rows, columns=columns)
    table["pickups"] = table["pickups"].astype(np.int64)
    return _typed(table, {"category": ids})


# ---------------------------------------------------------------------------- summary


def summary(results, confidence: float = 0.95, replication_table=None) -> pd.DataFrame:
    """Per category and overall, for each metric of :func:`replication_stats` (or of
    ``replication_table``): the mean over the replications where it is defined and the
    Student-t interval ``scipy.stats.t.interval(confidence, n - 1, mean, sem)`` (NaN with
    fewer than two replications; of width zero when all replications agree), cut to the
    metric's range: shares and the Gini between 0 and 1, every other metric >= 0."""
    shares = {"service_level", "abandonment", "balking", "capped", "no_show", "utilisation"}
    shares |= {"utilisation_gini"}
    table = replication_stats(results) if replication_table is None else replication_table
    labels = [c for c in table["category"].cat.categories if (table["category"] == c).any()]
    rows = {}
    for label in labels:
        values = table[table["category"] == label]
        row = {}
        for metric in METRICS:
            sample = values[metric].dropna().to_numpy(dtype=float)
            mean = sample.mean() if sample.size else np.nan
            if sample.size < 2:
                low = high = np.nan
            elif np.all(sample == sample[0]):
                low = high = mean
            else:
                low, high = stats.t.interval(
                    confidence, sample.size - 1, loc=mean, scale=stats.sem(sample)
                )
            low, high = max(low, 0.0), min(high, 1.0 if metric in shares else np.inf)
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = mean, low, high
        rows[label] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "category"
    return out


def observed_warnings(results) -> list[str]:
    """The warnings a run's tickets call for: tickets still waiting when the last window that
    serves them closed (outcome in_system), and more than 5 % of tickets called after closing
    time (their service started at or after their day's close)."""
    tickets = tickets_of(results)
    close = tickets["day"].map(lambda day: day_close(results, day))
    unserved = int((tickets["outcome"] == "in_system").sum())
    late = int(((tickets["outcome"] == "served") & (tickets["start"] >= close)).sum())
    messages = []
    if unserved:
        messages.append(
            f"{unserved} of {len(tickets)} tickets were still waiting when the last window that "
            "serves them closed (outcome in_system): check the windows' open spans"
        )
    if len(tickets) and late / len(tickets) > 0.05:
        messages.append(
            f"{late / len(tickets):.0%} of tickets were called after closing time: the hall "
            "cannot clear its queue within opening hours"
        )
    return messages
