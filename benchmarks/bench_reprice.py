"""Benchmark: reprice 1,000,000 synthetic claim lines drawn from real CY2026 rows.

Codes come from the RVU26C PPRRVU file (payable rows, with their 26/TC
modifiers), ZIP codes from the CMS ZIP5 file, places of service from CMS's
facility/non-facility lists; claims hold 1-6 lines on one date. Reads the
mirror through ``$RVUCALC_MIRROR`` (default ``../shared/cms``), never
downloads.

In the same run it times a row-by-row reference loop (``FeeSchedule.quote``
per line plus the line's multipliers, in Python) on a sample and
extrapolates it to the full size, then prints the ratio.

    python3 benchmarks/bench_reprice.py [--lines 1000000] [--sample 2000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RVUCALC_MIRROR", str((ROOT.parent / "shared" / "cms").resolve()))
os.environ["RVUCALC_OFFLINE"] = "1"
os.environ.setdefault("RVUCALC_CACHE", tempfile.mkdtemp(prefix="rvucalc-bench-"))

import rvucalc  # noqa: E402
from rvucalc.calc.policy import FACILITY_POS, NONFACILITY_POS  # noqa: E402
from rvucalc.reprice import reprice  # noqa: E402


def synthetic_lines(fs: rvucalc.FeeSchedule, n: int, seed: int = 2026) -> pd.DataFrame:
    """*n* claim lines from real codes, ZIPs and POS codes (vectorised)."""
    rng = np.random.default_rng(seed)
    rv = fs.rvus[fs.rvus["status"].isin(["A", "R", "T"])]
    codes = rv["hcpcs"].to_numpy(dtype=object)
    mods = rv["modifier"].to_numpy(dtype=object)
    zips = fs.zip5["zip"].to_numpy(dtype=object)
    pos = np.array(sorted(FACILITY_POS | NONFACILITY_POS), dtype=object)
    pick = rng.integers(0, len(rv), n)
    extra = np.array(["", "", "", "", "51", "50", "LT", "RT", "80", "62", "AS", "59"], dtype=object)
    m = mods[pick].copy()
    plain = m == ""
    m[plain] = extra[rng.integers(0, len(extra), int(plain.sum()))]
    size = rng.integers(1, 7, n)  # lines per claim
    claim = np.repeat(np.arange(n), size)[:n]
    claim_zip = zips[rng.integers(0, len(zips), n)]
    claim_pos = pos[rng.integers(0, len(pos), n)]
    days = pd.Timestamp("2026-07-01") + pd.to_timedelta(rng.integers(0, 92, n), unit="D")
    return pd.DataFrame({
        "claim_id": claim,
        "hcpcs": codes[pick],
        "modifiers": m,
        "units": np.where(rng.random(n) < 0.9, 1, rng.integers(2, 5, n)),
        "pos": claim_pos[claim],
        "zip": claim_zip[claim],
        "date_of_service": days[claim],
        "charge": np.round(rng.uniform(20, 3000, n), 2),
    })


def reference_loop(fs: rvucalc.FeeSchedule, lines: pd.DataFrame) -> list[float]:
    """Row by row: quote each line and multiply units and simple modifier factors in Python."""
    out = []
    for row in lines.itertuples(index=False):
        mod = row.modifiers if row.modifiers in ("26", "TC", "53") else None
        try:
            q = fs.quote(row.hcpcs, mod, zip=row.zip)
        except rvucalc.RvucalcError:
            out.append(math.nan)
            continue
        setting = q.facility if row.pos in FACILITY_POS else q.nonfacility
        amt = setting.amount
        if amt is None:
            out.append(math.nan)
            continue
        f = {"50": 1.5, "80": 0.16, "AS": 0.136, "62": 0.625}.get(row.modifiers, 1.0)
        out.append(round(min(amt * row.units * f, row.charge), 2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2_000, help="lines timed in the row-by-row loop")
    args = ap.parse_args()
    t0 = time.perf_counter()
    fs = rvucalc.load(2026, progress=False)
    _ = fs.zip5
    t_load = time.perf_counter() - t0
    lines = synthetic_lines(fs, args.lines)
    print(f"release {fs.release.id}; {len(lines):,} lines in {lines['claim_id'].nunique():,} claims; "
          f"loading the release took {t_load:.2f} s (not timed below)")

    t0 = time.perf_counter()
    out = reprice(lines, releases=[fs])
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = reprice(lines, releases=[fs])
    t_vec = time.perf_counter() - t0
    assert len(out) == len(lines) and (out["claim_id"].to_numpy() == lines["claim_id"].to_numpy()).all()
    paid = out["payable"].mean()
    print(f"vectorised reprice: first call {t_first:.2f} s (builds the release's price matrix), "
          f"warm {t_vec:.2f} s = {len(lines) / t_vec:,.0f} lines/s; {paid:.1%} payable; "
          f"target <= 2 s: {'met' if t_vec <= 2 else 'NOT met'}")

    sample = lines.sample(n=min(args.sample, len(lines)), random_state=1)
    t0 = time.perf_counter()
    reference_loop(fs, sample)
    t_loop = time.perf_counter() - t0
    per_line = t_loop / len(sample)
    est = per_line * len(lines)
    print(f"row-by-row reference loop: {len(sample):,} lines in {t_loop:.2f} s = {per_line * 1e3:.2f} ms/line; "
          f"extrapolated to {len(lines):,} lines: {est:,.0f} s ({est / 3600:.2f} h)")
    print(f"ratio (loop / vectorised, warm): {est / t_vec:,.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
