"""Engines: the same hall semantics, fed the same pre-drawn inputs.

An engine takes a compiled hall and the :class:`~hallsim.engines.inputs.TicketInputs` of one
replication and returns an :class:`~hallsim.engines.output.EngineOutput`. The rules:

**Days.** Each day starts empty and is independent of the others. Tickets are issued from the
hall's ``open`` until ``close``; arrivals of each category form a Poisson process whose rate
is constant within each of its rate intervals (by default the reporting intervals).

**Calendar.** On a day the hall is closed (``closed_weekdays``, ``holidays``) nothing
happens: no ticket is issued, no window, reserve pool, back office or pickup window works.
On a weekday with hours of its own, tickets are issued only within them, and the day's
schedule is every span (windows, staff, tidal blocks, reserve pools) cut to them: a span
reaching the day's closing time ends with it as at the hall's closing time (overtime
below), a span outside them does not open.

**Windows.** A window is open during its spans (default: the hall's hours). A window whose
span ends before closing time stops calling then; if it is serving, it finishes that ticket
and closes. A window open at closing time keeps calling tickets that were issued before
closing, and closes as soon as it is free with nothing left that it may call. A ticket still
waiting when no window that serves it will call again stays with outcome ``in_system``.

**Staff and posts.** With ``[[staff]]``, a window is open only while a staff member on duty
works it (their shift without breaks, at their home window or where a rotation block sends
them); it serves what both the window (its tidal block, if any) and the staff member can,
and a service takes the base draw times the window's factor times the staff member's speed.
Each combination of window, staff member and served categories is a *post*
(:mod:`hallsim.staffing`); without staff, a window's post changes only at tidal blocks. A
post opens and closes like a window with spans. A staff member whose post ends (a break, the
shift's end, a rotation block, a tidal switch) finishes the ticket in hand first; the next
post of that window or of that staff member waits, and opens the moment both are released:
at the end of the step that released them (step 1 or 2 below; in overtime, step 6, after
which steps 5 and 6 repeat). Waiting posts open in post order.

**Reserve pools.** A ``[[reserve]]`` pool's windows open only for the pool. In step 7 of
every round (below) each pool looks at the tickets waiting in its categories: if at most
``close_queue`` wait and the first in line (of any of them) has waited at most
``close_wait_min``, it stands down (a pending activation is dropped; its free windows close,
busy ones after the ticket in hand). Otherwise, within its hours, with no activation under
way and a window and a member free, it calls a reserve when ``open_queue`` tickets wait, or
(reason ``wait``) the first in line has waited ``open_wait_min`` (the engines wake at that
instant); ``delay_min`` later, in step 2 (a round later if the delay is zero), the pool's
first free window opens worked by its first free member, if both are still free. At the end
of its hours the pool stands down.

**Calls.** When a ticket can be matched, a free window calls it:

- among the free open windows that have a waiting ticket they serve, the window with the
  fewest categories served calls first (a specialised window before a comprehensive one),
  then the one idle longest (freed at an earlier instant, or in an earlier round of the same
  instant: see below), then the lower window number;
- a window calls, among the categories it serves, the waiting ticket with the highest
  ``priority``, then the one issued first (the lower ticket number).

So an arriving ticket goes to the most specialised free window that serves it, the longest
idle among equals; a window that becomes free calls the highest-priority, longest-waiting
ticket it serves. Service time is the ticket's base draw times the window's factor for its
category.

**Reneging.** A waiting ticket leaves (outcome ``abandoned``, ``end`` = the instant it left)
when its patience runs out before it is called.

**Refused at issue.** A ticket issued (step 4 below) leaves at once, in this order: a booked
holder who never came (outcome ``no_show``, at the slot's start); a ticket beyond its
category's daily cap, counted over all the category's ticket classes (``capped``); a citizen
who balks on seeing the queue (``balked``). The queue a citizen sees is the number of the
category's tickets waiting at that instant, all classes together (as the hall's display
shows it); the probability of balking is read from the category's table by linear
interpolation between its points and held flat before the first and after the last; the
citizen balks when the ticket's pre-drawn uniform is below it. A ticket not refused counts
towards the day's cap.

**Absent holders.** At a ticket's first call, a holder whose pre-drawn uniform is below the
category's no-show probability is absent: the window spends ``(1 + recalls) * recall_min``
minutes calling and recalling (the ticket's ``called`` time is the first call), then drops
the ticket (``no_show``, ``end`` when it gives up) or, with ``then = "requeue"``, puts it at
the back of its category's queue, behind the tickets already waiting; a requeued ticket is
not absent again.

**Simultaneous events.** Everything that happens at one instant is applied in this order:
(1) services that end now free their windows (lower window number first); (2) the schedule:
spans that end close their free windows, spans that start open their windows (in window
order), the hall's closing time switches windows open at close to overtime; (3) tickets whose
patience ends now leave; (4) tickets issued now join the queues; (5) free windows call waiting
tickets by the rules above, until no free window has a ticket it may call; (6) after closing
time, free windows close; (7) reserve pools look at their queues (steps 5 to 7 repeat while
a window released in 6 or 7 lets a waiting post open). So a window freeing at the instant a
ticket's patience ends does not call that ticket; a window freeing as a ticket arrives
chooses among all waiting tickets, the new one included, by the rules above; a span ending as
a service ends closes the window.
Events caused at the instant they happen (a zero-length service ending, a zero patience
running out) are applied in a new round of the steps at the same instant; arrivals and
the schedule always belong to an instant's first round.
"""
