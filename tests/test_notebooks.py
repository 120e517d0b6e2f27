"""Planners' notebooks (``notebooks/*.ipynb``) run top to bottom in a Jupyter kernel, their
assertion cells hold, they show no stray ``<Axes ...>`` outputs, and each matches its paired
jupytext ``.py`` file (the one reviewers read)."""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", os.environ.get("TQDM_DISABLE", "1"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": FOLDER}}
    ).execute()  # raises CellExecutionError, with the cell, if a cell (or assertion) fails
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            assert not text.startswith(("<Axes", "<matplotlib", "[<matplotlib")), (
                f"{path.name}: a cell shows {text[:40]!r}; assign the plot (ax = ...)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_matches_its_paired_script(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no paired {script.name} (jupytext --sync)"
    cells = [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(path).cells]
    paired = [(cell.cell_type, cell.source.strip()) for cell in jupytext.read(script).cells]
    assert cells == paired, f"{path.name} and {script.name} differ: run jupytext --sync"
