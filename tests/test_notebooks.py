"""Run every notebook in notebooks/ end to end against the CMS mirror (nbclient, kernel python3).

Outputs go to a temporary folder ($RVUCALC_NOTEBOOK_OUT); the committed
notebooks must have no stored outputs, and the run must produce no error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    for want in ("01_site_of_service_20983.ipynb", "02_locality_ranking.ipynb", "03_change_2025_2026.ipynb"):
        assert want in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_without_outputs(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has stored outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch, mirror):
    import nbformat
    from nbclient import NotebookClient

    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")  # fail (not skip) without the mirror
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("RVUCALC_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # the kernel is this interpreter (the project's venv), whatever 'python' is on PATH
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    xlsx = list(tmp_path.glob("*.xlsx"))
    assert xlsx, "each notebook ends in an Excel export"
    from openpyxl import load_workbook

    for x in xlsx:
        assert "Provenance" in load_workbook(x).sheetnames
