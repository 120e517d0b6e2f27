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
# # A first hall: Panjin's eight comprehensive windows
#
# Load the shipped Panjin scenario, simulate a working week 20 times, and look at the queue
# and the waits over the day. Then try what a planner asks next: what if only 6 windows open?

# %%
from pathlib import Path

import matplotlib.pyplot as plt

import hallsim as hs
from hallsim.plotting import plot_queue_length, plot_wait

ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path("..")
scenario = hs.load_scenario(ROOT / "scenarios" / "panjin.toml")
results = hs.simulate(scenario, replications=20, seed=1)
results.summary()[["tickets", "mean_wait", "mean_wait_lo", "mean_wait_hi", "service_level"]]

# %%
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
plot_queue_length(results, ax=top)
ax = plot_wait(results, ax=bottom)

# %% [markdown]
# ## Six windows instead of eight
#
# Scenarios are frozen: change one by validating a modified copy of its data.

# %%
data = scenario.model_dump()
data["windows"][0]["count"] = 4  # the lunch-closing group: 6 -> 4 windows
fewer = hs.Scenario.model_validate(data)
compared = {
    "8 windows": results.summary().loc["overall", ["mean_wait", "p90_wait", "utilisation"]],
    "6 windows": hs.simulate(fewer, replications=20, seed=1)
    .summary()
    .loc["overall", ["mean_wait", "p90_wait", "utilisation"]],
}
compared

# %%
# two fewer windows at the lunch-closing group: every citizen waits longer on average
assert compared["6 windows"]["mean_wait"] > compared["8 windows"]["mean_wait"]
