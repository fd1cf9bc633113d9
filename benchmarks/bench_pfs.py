"""Benchmark: load the CY2026 PFS release and price the whole fee schedule.

Run: ``RVUCALC_MIRROR=../shared/cms python benchmarks/bench_pfs.py``

Measures, in one run:
* cold load (parse the raw CMS CSVs; empty cache)            target <= 2 s
* cached load (parquet copies in the cache)                 target <= 0.2 s
* full schedule: every RVU row x 109 localities x 2 settings (~4.2 M amounts)
  with ``price_matrix`` (OPPS cap, reasons, rounding) versus a bare numpy
  broadcast of the same formula with the same rounding on the same arrays
                                                            target ratio <= 1.5
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RVUCALC_MIRROR", str(Path(__file__).resolve().parents[1].parent / "shared" / "cms"))
os.environ["RVUCALC_OFFLINE"] = "1"

import numpy as np  # noqa: E402


def best(fn, n=5):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def main() -> int:
    os.environ["RVUCALC_CACHE"] = tempfile.mkdtemp(prefix="rvucalc-bench-")
    import rvucalc
    from rvucalc import catalogue
    from rvucalc.calc.money import round_cents
    from rvucalc.calc.pfs import price_matrix

    t = time.perf_counter()
    fs = rvucalc.load(2026)
    cold = time.perf_counter() - t
    catalogue.releases.cache_clear()
    cached, _, _ = best(lambda: rvucalc.load(2026), 5)

    # the same cached load in a fresh process (no in-memory state: catalogue, mirror index)
    import subprocess

    code = ("import time, rvucalc; t = time.perf_counter(); rvucalc.load(2026); "
            "print(time.perf_counter() - t)")
    fresh = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
                                 ).stdout.strip())

    rv, g, cf = fs.rvus, fs.gpci, fs.conversion_factor
    lib, lib_med, pm = best(lambda: price_matrix(rv, g, cf), 7)
    n_amounts = sum(a.size for a in pm.amount.values())

    w, pe_nf, pe_f, mp = (rv[c].to_numpy(float) for c in ("work_rvu", "pe_nonfacility", "pe_facility", "mp_rvu"))
    wg, peg, mpg = (g[c].to_numpy(float) for c in ("work_gpci", "pe_gpci", "mp_gpci"))

    def bare():
        nf = round_cents((w[:, None] * wg + pe_nf[:, None] * peg + mp[:, None] * mpg) * cf)
        f = round_cents((w[:, None] * wg + pe_f[:, None] * peg + mp[:, None] * mpg) * cf)
        return nf, f

    ref, ref_med, _ = best(bare, 7)
    ratio = lib / ref
    print(f"release                {fs.release.id}: {len(rv):,} RVU rows x {len(g)} localities x 2 settings "
          f"= {n_amounts:,} amounts")
    print(f"cold load              {cold:8.3f} s   (target <= 2 s)")
    print(f"cached load            {cached:8.3f} s   (target <= 0.2 s)")
    print(f"cached load, new proc  {fresh:8.3f} s   (after import; target <= 0.2 s)")
    print(f"full schedule (lib)    {lib:8.3f} s   (median {lib_med:.3f})")
    print(f"bare numpy broadcast   {ref:8.3f} s   (median {ref_med:.3f})")
    print(f"ratio lib / bare       {ratio:8.2f}     (target <= 1.5)")
    ok = cold <= 2 and max(cached, fresh) <= 0.2 and ratio <= 1.5
    print("all targets met" if ok else "TARGET MISSED")
    assert np.isfinite(pm.amount["nonfacility"]).any()
    return 0


if __name__ == "__main__":
    sys.exit(main())
