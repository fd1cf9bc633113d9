"""Benchmark: load every ASC quarter and the OPPS Addendum B files, and price whole addenda.

Run: ``RVUCALC_MIRROR=../shared/cms python benchmarks/bench_facility.py``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

MIRROR = Path(os.environ.get("RVUCALC_MIRROR", Path(__file__).resolve().parents[1].parent / "shared" / "cms"))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> int:
    from rvucalc.calc.asc import asc_payment
    from rvucalc.calc.opps import opps_payment
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.opps import read_addendum_b

    total = 0.0
    aa_last = None
    for q in sorted(p for p in (MIRROR / "asc").iterdir() if p.is_dir()):
        for name, reader in (("AA", read_addendum_aa), ("BB", read_addendum_bb)):
            f = next(iter(sorted(q.glob(f"{name}.*"))))
            dt, df = timed(lambda f=f, reader=reader: reader(f))
            total += dt
            print(f"load ASC {q.name} {f.name:<8} {len(df):>6} rows  {dt:6.3f} s")
            if name == "AA":
                aa_last = df
    print(f"all ASC quarters: {total:.3f} s")
    addb = None
    for f in sorted((MIRROR / "opps").rglob("*.csv")):
        dt, addb_i = timed(lambda f=f: read_addendum_b(f))
        print(f"load OPPS {f.parent.name}/{f.name[:40]:<40} {len(addb_i):>6} rows  {dt:6.3f} s")
        if f.parent.name == "2025-01":
            addb = addb_i
    rng = np.random.default_rng(0)
    wi = rng.uniform(0.8, 1.4, len(addb))
    dt, _ = timed(lambda: opps_payment(addb, wi, year=2025))
    print(f"price whole Addendum B (2025-01, {len(addb):,} rows, one wage index per row): {dt:.3f} s")
    dt, _ = timed(lambda: asc_payment(aa_last, 1.2699))
    print(f"price whole Addendum AA ({len(aa_last):,} rows, one wage index): {dt:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
