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
# # Hall operations: staff, lunch relay, a reserve pool and the back office
#
# `scenarios/panjin-operations.toml` is Panjin's hall with the operations the reform reports
# describe: cross-trained staff in two lunch groups with a relief (午间轮岗), a tidal window,
# a reserve pool that opens two windows when queues grow (应急人员), a green channel,
# appointments, and back offices with one pickup window (前台受理-后台审批-统一出件).
# We look at who is busy, when the reserve is called, how long deferred cases take, and what
# the relief and the reserve are worth.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import hallsim as hs

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path("..")
scenario = hs.load_scenario(ROOT / "scenarios" / "panjin-operations.toml")
results = hs.simulate(scenario, replications=20, seed=1)
results.summary()[["tickets", "mean_wait", "mean_wait_lo", "mean_wait_hi", "service_level"]]

# %% [markdown]
# ## Who is busy
#
# Per staff member, over the 20 replications: hours staffed a day and the share of them
# spent serving. The relief works two hours a day; the reserve only when called.

# %%
days = results.replications * scenario.hall.days
staff = results.staff.groupby("staff", observed=True)[["open_min", "busy_min", "served"]].sum()
pd.DataFrame(
    {
        "staffed h/day": staff["open_min"] / 60 / days,
        "busy": staff["busy_min"] / staff["open_min"],
        "tickets/day": staff["served"] / days,
    }
).round(2)

# %% [markdown]
# ## When the reserve is called, and why
#
# Each row of `results.reserve` is one activation: when the trigger fired, when the window
# opened (10 minutes later) and closed, and whether the queue length or the first in line's
# wait called it.

# %%
reserve = results.reserve
opened_at = (reserve["opened_min"] % 1440 // 60).astype(int).rename("hour")
reserve.groupby([opened_at, "reason"], observed=True).size().unstack(fill_value=0)

# %% [markdown]
# ## Deferred cases
#
# Lead time from ticket to result, the share ready on the day of the visit, the back
# office's work in progress, and the wait at the pickup window, per category.

# %%
office = results.back_office
office[office["deferred"] > 0].groupby("category", observed=True)[
    ["deferred", "lead_time", "same_day", "office_wip", "pickup_wait"]
].mean().round(2)

# %% [markdown]
# ## What the relief and the reserve are worth
#
# Remove the relief (windows Z.1 and Z.4 then close for their staff's lunch) or the reserve
# pool, and compare with the same seed: every variant sees the same citizens.


# %%
def without(**changes) -> hs.Scenario:
    data = scenario.model_dump(by_alias=True)
    data.update(changes)
    return hs.Scenario.model_validate(data)


no_relief = without(
    staff=[s for s in scenario.model_dump(by_alias=True)["staff"] if s["id"] != "relief"],
    rotation=[r for r in scenario.model_dump(by_alias=True)["rotation"] if r["staff"] != "relief"],
)
variants = {
    "as planned": results,
    "no relief": hs.simulate(no_relief, replications=20, seed=1),
    "no reserve": hs.simulate(without(reserve=[]), replications=20, seed=1),
}
pd.DataFrame(
    {
        name: run.summary().loc["overall", ["mean_wait", "mean_wait_lo", "mean_wait_hi"]]
        for name, run in variants.items()
    }
).T.round(2)

# %% [markdown]
# Queue length over the day, all categories together: the relief shows at lunch, the
# reserve at the peaks.

# %%
fig, ax = plt.subplots(figsize=(9, 4))
for name, run in variants.items():
    queue = run.intervals.groupby("start_min")["queue_length"].sum() / days
    ax.plot(queue.index / 60, queue.to_numpy(), label=name)
ax.set_xlabel("hour of day")
ax.set_ylabel("tickets waiting (mean)")
legend = ax.legend()

# %%
# without the relief staff member the hall waits longer
waits = {name: run.summary().loc["overall", "mean_wait"] for name, run in variants.items()}
assert waits["no relief"] > waits["as planned"]
