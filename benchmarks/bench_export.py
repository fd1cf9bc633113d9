"""Benchmark: write a 100,000-row schedule-like frame as a full workbook with to_excel().

    python benchmarks/bench_export.py [--rows 100000] [--repeat 3] [--real] [--no-summary]

It also times XlsxWriter writing the same rows bare (header and values, no
formats, summary or provenance) as the yardstick: to_excel() should take
little more than that.

Synthetic data by default (codes, localities and amounts made up here, in the
layout of FeeSchedule.schedule()); ``--real`` prices codes from the CMS mirror
($RVUCALC_MIRROR) in every locality until the frame has --rows rows. Prints
seconds per write, rows/s and the file size. The summary pivot and chart are
written too (a code x locality pivot, as for a real schedule).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def synthetic(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n_loc = 109
    n_codes = max(1, rows // (2 * n_loc) + 1)
    codes = [f"{10000 + i:05d}" for i in range(n_codes)]
    locs = [f"{1000 + i:05d}-{i % 100:02d}" for i in range(n_loc)]
    idx = np.arange(rows)
    amount = np.round(rng.uniform(5, 5000, rows), 2)
    amount[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "hcpcs": pd.Categorical(np.array(codes, dtype=object)[idx // (2 * n_loc)]),
        "modifier": "",
        "description": [f"Synthetic service {i % 997}" for i in idx],
        "locality_id": pd.Categorical(np.array(locs, dtype=object)[idx % n_loc]),
        "setting": pd.Categorical(np.where((idx // n_loc) % 2 == 0, "nonfacility", "facility")),
        "amount": amount,
        "nonpar_amount": np.round(amount * 0.95, 2),
        "limiting_charge": np.round(amount * 1.0925, 2),
        "opps_capped": rng.random(rows) < 0.01,
        "reason": np.where(np.isnan(amount), "PFS_STATUS_C", ""),
        "status": "A",
        "global_days": "000",
        "conversion_factor": 33.4009,
        "release": "rvu26c",
    })


def real(rows: int) -> tuple[pd.DataFrame, object]:
    import rvucalc

    fs = rvucalc.load(2026)
    codes = sorted(set(fs.rvus.loc[fs.rvus["status"] == "A", "hcpcs"]))[: rows // (2 * 109) + 1]
    return fs.schedule(codes).head(rows), fs


def bare_xlsxwriter(df: pd.DataFrame, path: Path) -> None:
    """The same rows written with XlsxWriter and nothing else (missing values left empty)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "nan_inf_to_errors": True})
    ws = wb.add_worksheet("Detail")
    ws.write_row(0, 0, [str(c) for c in df.columns])
    cols = []
    for c in df.columns:
        s = df[c].astype(object) if isinstance(df[c].dtype, pd.CategoricalDtype) else df[c]
        cols.append([None if v is None or v != v else v for v in s.astype(object).tolist()])
    for r, row in enumerate(zip(*cols), start=1):
        ws.write_row(r, 0, row)
    wb.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--no-summary", action="store_true")
    a = ap.parse_args()
    from rvucalc.export import to_excel

    df, prov = real(a.rows) if a.real else (synthetic(a.rows), None)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.xlsx"
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            to_excel(df, out, provenance=prov, summary=False if a.no_summary else None)
            times.append(time.perf_counter() - t0)
        size = out.stat().st_size
        bare = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            bare_xlsxwriter(df, out)
            bare.append(time.perf_counter() - t0)
        bare_size = out.stat().st_size
    best, bare_best = min(times), min(bare)
    print(f"to_excel: {len(df):,} rows x {df.shape[1]} columns ({'real' if a.real else 'synthetic'})"
          f"{' without summary' if a.no_summary else ''}")
    print(f"  best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s over {a.repeat} runs; "
          f"{len(df) / best:,.0f} rows/s; file {size / 1e6:.1f} MB")
    print(f"bare XlsxWriter, same rows: best {bare_best:.2f} s; file {bare_size / 1e6:.1f} MB; "
          f"to_excel / bare = {best / bare_best:.2f}")


if __name__ == "__main__":
    main()
