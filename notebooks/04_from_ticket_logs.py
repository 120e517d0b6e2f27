# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From ticket logs to next month's staffing plan
#
# A hall's queue system already records every ticket: when it was issued, called, served,
# at which window, and how it ended. This notebook goes the whole way from such an export
# to a staffing plan: read the log and see what was rejected, fit a hall to it, check the
# fitted hall against its own history, forecast next month's arrivals, and staff that
# month to a target, verified by simulation.
#
# The export is a year of the Panjin hall (2025-12-01 to 2026-11-30), made by
# `hallsim.examples.hall_history` as a Chinese queue system writes it: Chinese headers and
# status words, GB18030 text, public holidays, one afternoon's outage and a few broken rows.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import hallsim as hs
import hallsim.plan as hp
from hallsim.examples import EXPORT_COLUMNS, EXPORT_OUTCOMES, HOLIDAYS, hall_history
from hallsim.plotting import plot_staffing

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path("..")
panjin = hs.load_scenario(ROOT / "scenarios" / "panjin.toml")
export = Path(tempfile.mkdtemp()) / "panjin-tickets.csv"
hall_history(panjin).to_csv(export, index=False, encoding="gb18030")
print(export.read_text(encoding="gb18030").splitlines()[0])  # the export's own headers

# %% [markdown]
# ## 1. Read the log
#
# `columns` maps the export's headers to the log schema, `outcomes` its status words.
# Nothing is dropped silently: every row that cannot be used is listed with its reason.

# %%
log = hs.read_log(export, columns=EXPORT_COLUMNS, outcomes=EXPORT_OUTCOMES)
log.summary()

# %%
log.rejected

# %%
assert len(log.tickets) + len(log.rejected) == log.rows_read
assert len(log.rejected) == 6  # the export's broken rows, and only those

# %% [markdown]
# ## 2. Fit a hall
#
# Arrival rates per category, weekday and half hour (with exact Poisson intervals), service
# time families chosen by AIC, patience from the waits of those who gave up *and* of those
# who were called (censored: the naive mean of the leavers' waits is far too low), the
# windows and opening hours. Holidays get a day type of their own; the outage afternoon is
# an outlier day and is left out.

# %%
calendar = {day: "holiday" for day in HOLIDAYS}
fitted = hs.fit(log, calendar=calendar, exclude_outliers=True)
fitted.outliers[["date", "reason"]]

# %%
fitted.service[fitted.service["chosen"]][
    ["category", "family", "n", "mean", "mean_lo", "mean_hi", "cv"]
]

# %%
fitted.patience[["category", "family", "mean", "mean_lo", "mean_hi", "naive_mean"]]

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
fitted.plot_arrivals("business", day_type="mon", ax=axes[0])
fitted.plot_service("business", ax=axes[1])
fitted.plot_patience("business", ax=axes[2])
fig.tight_layout()

# %% [markdown]
# The fitted hall is a scenario like any other; `fitted.save("hall.toml")` writes it with
# comments saying where each number came from.

# %%
hall = fitted.scenario
# the export was made from Panjin's business registration: lognormal, mean 18 min, at
# comprehensive windows 10 % slower (so 19.8 min at the window), before demand growth
business = next(c for c in hall.categories if c.id == "business")
assert business.service.dist == "lognormal"
assert abs(business.service.mean_min / 19.8 - 1) < 0.03

# %% [markdown]
# ## 3. Does the fitted hall reproduce its history?
#
# Simulate the fitted hall over the last eight weeks of the log and compare, per category and
# hour, what the log shows with the spread of 20 simulated histories. The fit found the
# lunch relay from when each window began services (six windows never start one between
# 12:00 and 13:30); without it the fitted hall would wait far less at lunch than the log
# shows. Tickets per day sit high in the band: the fit averages the year, and demand grew
# through it (the forecast below follows the trend).

# %%
recent = hs.TicketLog(log.tickets[log.tickets["issued"] >= "2026-10-05"].reset_index(drop=True))
check = hs.backtest(hall, recent, replications=20, seed=1)
check.summary()

# %%
assert [w.open for w in hall.windows if w.count == 6] == [[["08:30", "12:00"], ["13:30", "17:00"]]]
assert check.summary().loc["mean_wait", "inside_share"] > 0.75

# %%
ax = check.plot("mean_wait", category="business")
# %% [markdown]
# ## 4. Forecast next month
#
# A negative-binomial model per category (weekday x half-hour profile, a trend), back-tested
# on the last weeks of the history against "same day last week". On this history the model
# beats it (`forecast.beats_naive`); where it does not, the report says so.

# %%
forecast = hs.forecast(log, "2026-12-01", days=28, calendar=calendar, backtest_weeks=2)
print(forecast.report())
assert forecast.beats_naive
forecast.backtest

# %%
ax = forecast.plot("business")
# %% [markdown]
# ## 5. Staff next month to a target
#
# The forecast becomes a scenario for December (the fitted hall's service, patience and
# windows, the forecast's arrivals); the requirement per half hour comes from Erlang A, and
# the simulator checks every half hour of every day, raising the plan where it misses.

# %%
december = forecast.to_scenario(hall)
target = hp.Target(wait_min=15, share=0.8)
required = hp.requirements(december, target, method="erlang_a")
check_plan = hp.verify(required, target, scenario=december, replications=30, seed=1)
check_plan.iterations

# %%
plan = check_plan.plan
ax = plot_staffing(
    plan.rename(columns={"staff": "staffed"}).assign(required=required["staff"].to_numpy()), day=0
)
# %%
results = hs.simulate(check_plan.scenario[0], replications=20, seed=2, progress=False)
assert check_plan.ok, check_plan.missed
results.summary()[["mean_wait", "service_level", "abandonment"]]
