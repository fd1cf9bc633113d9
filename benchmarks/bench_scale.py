"""Benchmark (issue 10): claims at scale, each target printed as a ratio measured in the same run.

1. ``memory``: in-memory repricing (``rvucalc.claims.pipeline.price_frame``) at 100k, 1M and 10M
   lines against a bare vectorised lookup of the same base amounts: time ratio (target <= 1.5x)
   and peak memory ratio (target <= 2x), against two lookups. The *fancy-index* lookup reads
   the release's prepared arrays by code row x setting x locality (four factorizations and one
   gather: the fastest we could write). The *pandas-merge* lookup joins the lines to the same
   amounts laid out as a table of code x modifier x locality rows (as CMS's per-locality fee
   schedule files lay them out) with ``DataFrame.merge``, as a pandas user writes it. Both give
   the same amounts (checked). Each size runs in a fresh process; the tables are built before
   timing. Times and memory are measured in
   separate processes. Peak memory is the rise of the process's resident high-water mark
   during a call (reset just before it; the highest of the runs), with glibc told to give freed blocks back at once
   and Arrow allocating through malloc, so resident size follows what Python, NumPy and Arrow
   hold at the same moment. Also printed: the heap's peak (tracemalloc) plus Arrow's peak,
   measured apart and added: an upper bound, and the figure this benchmark printed first.
   And a *floor*: the fancy-index lookup's time plus, timed alone in the same rotation, what no
   repricer giving this output can skip beyond it (read units, charges and dates; make the 24
   output columns), with no payment rule and no reason; and the time to hash the claim ids,
   which the claim rules wait for (the repricer does it on a second core). What the 1.5x
   target leaves for every rule is the target minus that floor.
1b. ``calibrate``: which lookup the issue's own figures were measured against. The issue gives the
   repricer of its day 1.3x the lookup's time at 1M lines (1.9x at 10M) and 3.4x its memory
   (830 against 220 MiB per million lines); this part runs that repricer (commit
   :data:`PRE_ISSUE`, from git) beside both lookups on the same lines.
2. ``cli``: ``rvucalc reprice in.csv -o out.csv`` on 1M lines against a ten-line script that reads
   the CSV with pyarrow (all columns text), calls ``rvucalc.reprice`` and writes with pyarrow's
   CSV writer (target <= 1.5x). Both are whole processes (start-up and release loading included).
3. ``stream``: ``rvucalc reprice big.csv -o out.csv --engine stream`` on a generated 50M-line CSV
   (claims of 1-6 lines, their lines scattered through the file): peak RSS (target <= 2 GiB) and
   lines/s against the in-memory path's (target >= 60%; the in-memory figure is the CLI's on 1M
   lines, CSV to CSV, and the bare repricing call's from part 1 is printed too).
4. ``dask``: ``rvucalc reprice dataset/ -o out/ --engine dask`` on a 20M-line parquet dataset on a
   local cluster of 2 worker processes against 1 worker; lines of a sample of claims are
   re-priced in memory and compared.

Data are generated here from real CY2026 rows (codes from the RVU26C PPRRVU file, ZIP codes from
the ZIP5 file) into a scratch folder and deleted afterwards; nothing is committed. Each
measurement is repeated (``--runs``, default 3) and min and median are printed.

    python3 benchmarks/bench_scale.py --only memory --sizes 100000,1000000
    python3 benchmarks/bench_scale.py --only stream --stream-lines 2000000 --runs 1
    python3 benchmarks/bench_scale.py            # everything at the issue's sizes (long)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# absolute, as some children run in another folder (part 1b)
os.environ["RVUCALC_MIRROR"] = os.path.abspath(os.environ.get("RVUCALC_MIRROR") or ROOT.parent / "shared" / "cms")
os.environ["RVUCALC_OFFLINE"] = "1"  # the benchmark never downloads
#: The parsed-table cache this run made for itself (removed at the end), if none was given.
OWN_CACHE = None if os.environ.get("RVUCALC_CACHE") else tempfile.mkdtemp(prefix="rvucalc-bench-")
os.environ.setdefault("RVUCALC_CACHE", OWN_CACHE or "")
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
RELEASE = "rvu26c"


# ---------------------------------------------------------------------------
# data


def _pools() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes (with their pricing modifier), ZIPs and places of service from the mirror's files."""
    from rvucalc.calc.policy import FACILITY_POS, NONFACILITY_POS
    from rvucalc.claims.pfs import schedule

    fs = schedule(RELEASE, None)
    rv = fs.rvus[fs.rvus["status"].isin(["A", "R", "T"])]
    return (rv["hcpcs"].to_numpy(dtype=str), rv["modifier"].to_numpy(dtype=str),
            fs.zip5["zip"].drop_duplicates().to_numpy(dtype=str),
            np.array(sorted(FACILITY_POS | NONFACILITY_POS), dtype=str))


def write_claims(path: Path, n: int, seed: int = 2026, files: int = 1, block: int = 1_000_000) -> None:
    """*n* claim lines as CSV (*path* .csv, all text) or a parquet dataset of *files* files (folder).

    Claims have 1-6 lines; each line's place in the file is random, so a claim's lines are
    scattered through the file (and across files). Generated a block at a time.
    """
    rng = np.random.default_rng(seed)
    codes, mods, zips, pos = _pools()
    sizes = rng.integers(1, 7, n // 3 + 10)
    claim_of_logical = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)[:n]
    claim = claim_of_logical[rng.permutation(n).astype(np.int64)]  # file position -> claim
    del claim_of_logical
    nclaims = int(claim.max()) + 1
    claim_zip = rng.integers(0, len(zips), nclaims).astype(np.int32)
    claim_pos = rng.integers(0, len(pos), nclaims).astype(np.int16)
    claim_day = rng.integers(0, 92, nclaims).astype(np.int16)
    days = pd.date_range("2026-07-01", periods=92).strftime("%Y-%m-%d").to_numpy(dtype=str)
    extra = np.array(["", "", "", "", "51", "50", "LT", "RT", "80", "62", "AS", "59"], dtype=str)
    schema = pa.schema([(c, pa.string()) for c in ("claim_id", "hcpcs", "modifiers", "units", "pos", "zip",
                                                    "date_of_service", "charge")])
    writer = None
    per_file = -(-n // files)
    if path.suffix == ".csv":
        writer = pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
    else:
        path.mkdir(parents=True, exist_ok=True)
    try:
        for f in range(files if writer is None else 1):
            lo, hi = (f * per_file, min(n, (f + 1) * per_file)) if writer is None else (0, n)
            pw = None if writer is not None else pq.ParquetWriter(path / f"part-{f:04d}.parquet", schema)
            for a in range(lo, hi, block):
                b = min(hi, a + block)
                c = claim[a:b]
                pick = rng.integers(0, len(codes), b - a)
                m = mods[pick].astype(object)
                plain = m == ""
                m[plain] = extra[rng.integers(0, len(extra), int(plain.sum()))]
                t = pa.table({
                    "claim_id": pa.array(np.char.add("C", c.astype(str))),
                    "hcpcs": pa.array(codes[pick]),
                    "modifiers": pa.array(m.astype(str)),
                    "units": pa.array(np.where(rng.random(b - a) < 0.9, 1, rng.integers(2, 5, b - a)).astype(str)),
                    "pos": pa.array(pos[claim_pos[c]]),
                    "zip": pa.array(zips[claim_zip[c]]),
                    "date_of_service": pa.array(days[claim_day[c]]),
                    "charge": pa.array(np.char.mod("%.2f", np.round(rng.uniform(20, 3000, b - a), 2))),
                }, schema=schema)
                (writer or pw).write_table(t)  # type: ignore[union-attr]
            if pw is not None:
                pw.close()
    finally:
        if writer is not None:
            writer.close()


# ---------------------------------------------------------------------------
# 1. in memory vs a bare lookup (each size in its own process)

#: The two bare lookups of the same base amounts, as the children run them (``TABLES``: what
#: :func:`_lookup_tables` wrote). Neither imports rvucalc, so the pre-issue code can run beside them.
_LOOKUPS = r"""
MODS, long, zip_loc, hcpcs, rows, amount, fac_pos = (
    TABLES[k] for k in ("mods", "long", "zip_loc", "hcpcs", "rows", "amount", "fac_pos"))

def bare(df):  # fancy-index: code row x setting x locality from the release's prepared arrays
    hc, hu = pd.factorize(df["hcpcs"])
    ci = hcpcs.get_indexer(hu)[hc]
    mc, mu = pd.factorize(df["modifiers"])
    mi = np.maximum(MODS.get_indexer(mu), 0)[mc]
    zc, zu = pd.factorize(df["zip"])
    li = zip_loc.reindex(zu).fillna(-1).astype(np.int64).to_numpy()[zc]
    pc, pu = pd.factorize(df["pos"])
    fac = np.isin(np.asarray(pu, dtype=object), fac_pos)[pc].astype(np.int64)
    row = np.where(ci >= 0, rows[np.maximum(ci, 0), mi], -1)
    ok = (row >= 0) & (li >= 0)
    amt = np.full(len(df), np.nan)
    amt[ok] = amount[fac[ok], row[ok], li[ok]]
    return amt

def merge(df):  # pandas-merge: the same amounts as (code, modifier, locality) rows, joined
    keys = pd.DataFrame({"hcpcs": df["hcpcs"], "modifier": df["modifiers"].where(df["modifiers"].isin(MODS), ""),
                         "loc": df["zip"].map(zip_loc)})
    r = keys.merge(long, on=["hcpcs", "modifier", "loc"], how="left")
    return np.where(df["pos"].isin(fac_pos).to_numpy(), r["fac"].to_numpy(), r["nonfac"].to_numpy())
"""


def _lookup_tables(work: Path) -> Path:
    """The release's prepared arrays, and the same amounts as a table of (code, modifier,
    locality) rows (as CMS's per-locality fee schedule files lay them out), pickled once into
    *work* for the children's :data:`_LOOKUPS`."""
    path = work / "lookup-tables.pkl"
    if path.exists():
        return path
    from rvucalc.calc.policy import FACILITY_POS
    from rvucalc.claims import pfs

    t = pfs.tables(pfs.schedule(RELEASE, None))
    mods = pd.Index(["", "26", "TC", "53"])
    code_i, mod_i = np.nonzero(t.rows >= 0)
    row_i, nl = t.rows[code_i, mod_i], t.amount.shape[2]
    long = pd.DataFrame({
        "hcpcs": np.repeat(np.asarray(t.hcpcs, dtype=object)[code_i], nl),
        "modifier": np.repeat(np.asarray(mods, dtype=object)[mod_i], nl),
        "loc": np.tile(np.arange(nl), len(row_i)),
        "nonfac": t.amount[0][row_i].ravel(), "fac": t.amount[1][row_i].ravel()})
    pd.to_pickle({"mods": mods, "long": long, "zip_loc": t.zip_loc, "hcpcs": t.hcpcs, "rows": t.rows,
                  "amount": t.amount, "fac_pos": sorted(FACILITY_POS)}, path)
    return path


_CHILD_MEMORY = r"""
import gc, json, statistics, sys, time, tracemalloc
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.compute, pyarrow.parquet as pq
from rvucalc.claims.pipeline import PricingOptions, price_frame

src, runs, kind, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]  # 5: the lookup tables
if mode == "memory":
    pa.set_memory_pool(pa.system_memory_pool())  # Arrow through malloc, as NumPy
lines = pq.read_table(src).to_pandas()
if kind == "typed":  # as a DataFrame built in Python would hold them
    lines["units"] = lines["units"].astype(np.int64)
    lines["charge"] = lines["charge"].astype(float)
    lines["date_of_service"] = pd.to_datetime(lines["date_of_service"], format="%Y-%m-%d")
opts = PricingOptions(releases=("rvu26c",))
TABLES = pd.read_pickle(sys.argv[5])
@LOOKUPS@

def reprice(df):
    return price_frame(df, opts)

def status():  # resident now and the resident high-water mark, bytes
    d = dict(ln.split(":", 1) for ln in open("/proc/self/status") if ln.startswith(("VmRSS", "VmHWM")))
    return int(d["VmRSS"].split()[0]) * 1024, int(d["VmHWM"].split()[0]) * 1024

def floor(df):  # beyond the lookup, what no repricer of this output can skip (one core, no rule)
    n = len(df)
    if kind == "text":  # units and charges as the priced amounts need them; dates choose the release
        u = pa.compute.cast(pa.array(df["units"]), pa.float64()).to_numpy()
        c = pa.compute.cast(pa.array(df["charge"]), pa.float64()).to_numpy()
    else:
        u, c = np.asarray(df["units"], dtype=float), np.asarray(df["charge"], dtype=float)
    dc, du = pd.factorize(df["date_of_service"])
    d = np.asarray(pd.to_datetime(du, format="%Y-%m-%d") if kind == "text" else du, dtype="datetime64[D]")[dc]
    # the output columns: 15 numbers, 2 flags, 7 categorical codes
    cols = [np.full(n, 1.0) for _ in range(15)] + [np.ones(n, bool) for _ in range(2)]
    return u, c, d, cols + [np.zeros(n, np.int8) for _ in range(7)]

def keys(df):  # the claim ids hashed, which claim rules need (the repricer does it on a second core)
    return pd.factorize(df["claim_id"])

FNS = (("bare", bare), ("reprice", reprice), ("merge", merge))  # merge last: its leftovers would shrink the others' rise
TIMED = FNS + (("floor", floor), ("keys", keys))
for name, fn in TIMED if mode == "time" else FNS:  # tables built, code paths warm, every allocation size seen once
    r = fn(lines); del r; gc.collect()
out = {name: {"times": []} for name, _ in (TIMED if mode == "time" else FNS)}
for _ in range(runs if mode == "time" else 0):  # alternated, so a busy spell hits all of them alike
    for name, fn in TIMED:
        t0 = time.perf_counter(); r = fn(lines); out[name]["times"].append(time.perf_counter() - t0); del r
for name, fn in FNS if mode == "memory" else ():
    # 1. resident peak of the call: the high-water mark reset just before it (this process runs
    # with malloc returning freed blocks at once and Arrow allocating through malloc, so the
    # resident size follows what is held: Python, NumPy and Arrow memory at the same moment)
    rss = 0
    for _ in range(runs):  # the highest of the runs
        open("/proc/self/clear_refs", "w").write("5")
        before = status()[0]
        r = fn(lines)
        rss = max(rss, status()[1] - before)
        del r; gc.collect()
    # 2. the heap's peak (tracemalloc) plus Arrow's, each measured alone and added: an upper
    # bound, as it counts twice what one held and let go before the other's peak
    pool = pa.proxy_memory_pool(pa.system_memory_pool())  # its own peak, from zero
    pa.set_memory_pool(pool)
    tracemalloc.start()
    r = fn(lines)
    summed = tracemalloc.get_traced_memory()[1] + pool.max_memory()
    tracemalloc.stop()
    del r
    pa.set_memory_pool(pa.system_memory_pool())
    out[name] = {"peak": rss, "summed": summed}
assert np.array_equal(bare(lines), merge(lines), equal_nan=True)  # the same base amounts both ways
print(json.dumps(out), flush=True)
"""

_CHILD_MEMORY = _CHILD_MEMORY.replace("@LOOKUPS@", _LOOKUPS)

#: Environment of the memory child: glibc gives blocks of 128 KiB and more back to the system
#: when freed (no adaptive threshold, no trimming delay), so resident size tracks live memory.
_MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def _ratio(a: float, b: float) -> float:
    """*a* / *b*; NaN when *b* is 0 (a memory rise too small to see, on a tiny input)."""
    return a / b if b else float("nan")


def _verdict(r: float, target: float) -> str:
    return "n/a" if r != r else "met" if r <= target else "NOT met"


def _stats(ts: list[float]) -> str:
    return f"min {min(ts):.2f} s, median {statistics.median(ts):.2f} s"


def bench_memory(sizes: list[int], runs: int, work: Path, kinds: list[str]) -> dict[int, float]:
    """Part 1; returns in-memory lines/s (best run) per size (of the first input kind).

    Input kinds: ``text`` (every column text, as a CSV is read) and ``typed`` (units int, charge
    float, date datetime64, as a DataFrame built in Python holds them).
    """
    print("\n== 1. in-memory reprice vs a bare vectorised lookup of the same base amounts ==")
    rates: dict[int, float] = {}
    for n in sizes:
        src = work / f"mem-{n}.parquet"
        write_claims(src.with_suffix(""), n, files=1)
        shutil.move(src.with_suffix("") / "part-0000.parquet", src)
        shutil.rmtree(src.with_suffix(""))
        for kind in kinds:
            _bench_memory_one(src, n, runs, kind, rates)
        src.unlink()
    return rates


def _child(src: Path, runs: int, kind: str, mode: str) -> dict[str, Any] | str:
    """The child's measurements (``mode``: ``time`` with the default allocators, ``memory`` with
    :data:`_MEMORY_ENV`), or its error text."""
    env = {**ENV, **_MEMORY_ENV} if mode == "memory" else ENV
    r = subprocess.run([sys.executable, "-c", _CHILD_MEMORY, str(src), str(runs), kind, mode,
                        str(_lookup_tables(src.parent))], env=env,
                       capture_output=True, text=True)
    if r.returncode:
        return r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _bench_memory_one(src: Path, n: int, runs: int, kind: str, rates: dict[int, float]) -> None:
    t, m = _child(src, runs, kind, "time"), _child(src, runs, kind, "memory")
    if isinstance(t, str) or isinstance(m, str):
        print(f"{n:>11,} lines ({kind}): FAILED\n{t if isinstance(t, str) else m}")
        return
    p = t["reprice"]
    rates.setdefault(n, n / min(p["times"]))
    mib = {k: {q: v / 2**20 for q, v in d.items()} for k, d in m.items()}
    print(f"{n:>11,} lines, {kind} input: reprice {_stats(p['times'])} ({n / min(p['times']):,.0f} lines/s), "
          f"peak {mib['reprice']['peak']:,.0f} MiB")
    for base, label in (("bare", "fancy-index lookup"), ("merge", "pandas-merge lookup")):
        b = t[base]
        tr = _ratio(statistics.median(p["times"]), statistics.median(b["times"]))
        mr = _ratio(m["reprice"]["peak"], m[base]["peak"])
        print(f"{'':>18}{label}: {_stats(b['times'])}, peak {mib[base]['peak']:,.0f} MiB; time ratio (median) "
              f"{tr:.2f}x [target <= 1.5x: {_verdict(tr, 1.5)}]; peak memory ratio {mr:.2f}x "
              f"[target <= 2x: {_verdict(mr, 2)}]")
    fl = statistics.median(t["floor"]["times"])
    lo = statistics.median(t["bare"]["times"]) + fl
    print(f"{'':>18}floor: the fancy-index lookup plus what no repricer of this output can skip "
          f"(read units, charges and dates; make the 24 output columns; no rule, no reason), timed alone: "
          f"{fl:.3f} s, so at least {_ratio(lo, statistics.median(t['bare']['times'])):.2f}x the lookup "
          f"(the claim ids, hashed alone: {statistics.median(t['keys']['times']):.3f} s, on the second core)")
    print(f"{'':>18}(heap peak + Arrow peak, added: reprice {mib['reprice']['summed']:,.0f} MiB, "
          f"fancy-index {mib['bare']['summed']:,.0f} MiB = {_ratio(m['reprice']['summed'], m['bare']['summed']):.2f}x, "
          f"merge {mib['merge']['summed']:,.0f} MiB = {_ratio(m['reprice']['summed'], m['merge']['summed']):.2f}x)")


# ---------------------------------------------------------------------------
# 1b. which lookup the issue's figures were measured against

#: The last commit before the issue's work began: its repricer is the one the issue measured.
PRE_ISSUE = "780c07b"

_CHILD_CALIBRATE = r"""
import gc, json, statistics, sys, time, tracemalloc
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
import rvucalc
from rvucalc.reprice import reprice  # the pre-issue repricer (this child runs that commit's code)
assert "pre-issue" in rvucalc.__file__, rvucalc.__file__
src, runs, TABLES = sys.argv[1], int(sys.argv[2]), pd.read_pickle(sys.argv[3])
lines = pq.read_table(src).to_pandas()  # typed, as a DataFrame built in Python holds them
lines["units"] = lines["units"].astype(np.int64)
lines["charge"] = lines["charge"].astype(float)
lines["date_of_service"] = pd.to_datetime(lines["date_of_service"], format="%Y-%m-%d")
fs = rvucalc.load(2026, "rvu26c", progress=False)
@LOOKUPS@

def old(df):
    return reprice(df, releases=[fs])

fns = {"bare": bare, "merge": merge, "old": old}
for fn in fns.values():
    fn(lines.iloc[:1000])
out = {k: {"times": []} for k in fns}
for _ in range(runs):  # alternated, so a busy spell hits all three alike
    for k, fn in fns.items():
        t0 = time.perf_counter(); r = fn(lines); out[k]["times"].append(time.perf_counter() - t0); del r
base_pool = pa.default_memory_pool()
for k, fn in fns.items():  # the heap's peak plus Arrow's (text columns are Arrow-backed), added
    pool = pa.proxy_memory_pool(base_pool); pa.set_memory_pool(pool)
    gc.collect(); tracemalloc.start(); r = fn(lines)
    out[k]["heap"] = tracemalloc.get_traced_memory()[1] + pool.max_memory(); tracemalloc.stop(); del r
print(json.dumps(out), flush=True)
"""


_CHILD_CALIBRATE = _CHILD_CALIBRATE.replace("@LOOKUPS@", _LOOKUPS)


def bench_calibrate(sizes: list[int], runs: int, work: Path) -> None:
    """Part 1b: the pre-issue repricer against both lookups, to tell which one the issue measured.

    The issue gives the repricer of its day at 830 MiB of memory per million lines against the
    lookup's 220 MiB, and at 1.3x the lookup's time at 1M lines, 1.9x at 10M. This part runs that
    repricer (commit :data:`PRE_ISSUE`, taken from git into the scratch folder) on the same
    lines as part 1, alternating with both lookups in one process; memory is the heap's peak
    (tracemalloc) plus Arrow's peak, added. Needs a git clone with the history.
    """
    print(f"\n== 1b. the repricer before the issue ({PRE_ISSUE}) against both lookups ==")
    old = work / "pre-issue"
    old.mkdir(exist_ok=True)
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", PRE_ISSUE, "rvucalc", "data"], capture_output=True)
    if arch.returncode:
        print(f"skipped: git archive {PRE_ISSUE} failed: {arch.stderr.decode()[-500:]}")
        return
    subprocess.run(["tar", "-x", "-C", str(old)], input=arch.stdout, check=True)
    tabs = _lookup_tables(work)
    env = {**ENV, "PYTHONPATH": str(old), "RVUCALC_CACHE": str(work / "pre-issue-cache")}  # its own cache format
    for n in sizes:
        src = work / f"cal-{n}.parquet"
        write_claims(src.with_suffix(""), n, files=1)
        shutil.move(src.with_suffix("") / "part-0000.parquet", src)
        shutil.rmtree(src.with_suffix(""))
        r = subprocess.run([sys.executable, "-c", _CHILD_CALIBRATE, str(src), str(runs), str(tabs)], env=env,
                           capture_output=True, text=True, cwd=old)  # "-c" puts the working folder first
        src.unlink()
        if r.returncode:
            print(f"{n:>11,} lines: FAILED\n{r.stderr[-2000:]}")
            continue
        m = json.loads(r.stdout.strip().splitlines()[-1])
        med = {k: statistics.median(v["times"]) for k, v in m.items()}
        heap = {k: v["heap"] / 2**20 for k, v in m.items()}
        print(f"{n:>11,} lines, typed input (memory: heap peak + Arrow peak, added): pre-issue repricer "
              f"{_stats(m['old']['times'])}, {heap['old']:,.0f} MiB | fancy-index lookup {_stats(m['bare']['times'])}, "
              f"{heap['bare']:,.0f} MiB | pandas-merge lookup {_stats(m['merge']['times'])}, {heap['merge']:,.0f} MiB")
        print(f"{'':>18}pre-issue repricer / fancy-index lookup: time {med['old'] / med['bare']:.2f}x, "
              f"memory {heap['old'] / heap['bare']:.2f}x; / pandas-merge lookup: time {med['old'] / med['merge']:.2f}x, "
              f"memory {heap['old'] / heap['merge']:.2f}x (the issue: time 1.3x at 1M lines, 1.9x at 10M; "
              f"memory 830 vs 220 MiB per million lines)")


# ---------------------------------------------------------------------------
# 2. CLI vs a ten-line pyarrow script

TEN_LINES = r"""
import sys, pyarrow as pa, pyarrow.csv as pacsv, rvucalc
src, dst = sys.argv[1], sys.argv[2]
names = pacsv.open_csv(src).schema.names
co = pacsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=False)
lines = pacsv.read_csv(src, convert_options=co).to_pandas()
out = rvucalc.reprice(lines, releases=["rvu26c"])
table = pa.Table.from_pandas(out, preserve_index=False)
table = pa.table([c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns],
                 names=table.column_names)
pacsv.write_csv(table, dst)
"""


def _timed(cmd: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (bytes) of a child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode() if p.stderr else ""
    if status:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return wall, ru.ru_maxrss * 1024


def bench_cli(n: int, runs: int, work: Path) -> float:
    """Part 2; returns the CLI's lines/s (best run)."""
    print(f"\n== 2. CLI, {n:,} lines CSV -> CSV, vs a ten-line pyarrow script ==")
    src = work / "cli.csv"
    write_claims(src, n)
    cli = [sys.executable, "-m", "rvucalc", "reprice", str(src), "-o", str(work / "cli-out.csv"),
           "--release", RELEASE, "--no-progress", "--engine", "memory"]
    script = [sys.executable, "-c", TEN_LINES, str(src), str(work / "script-out.csv")]
    tc, ts = [], []
    for _ in range(runs):
        tc.append(_timed(cli)[0])
        ts.append(_timed(script)[0])
    r = statistics.median(tc) / statistics.median(ts)
    print(f"rvucalc reprice: {_stats(tc)} | ten-line script: {_stats(ts)}")
    print(f"ratio (median) {r:.2f}x [target <= 1.5x: {'met' if r <= 1.5 else 'NOT met'}]")
    src.unlink()
    return n / min(tc)


# ---------------------------------------------------------------------------
# 3. streaming


def bench_stream(n: int, runs: int, work: Path, chunk: int | None, cli_rate: float | None,
                 mem_rate: float | None) -> None:
    print(f"\n== 3. streaming {n:,} lines CSV -> CSV (claims of 1-6 lines, scattered) ==")
    src = work / "big.csv"
    t0 = time.perf_counter()
    write_claims(src, n)
    print(f"generated {src.stat().st_size / 2**30:.2f} GiB in {time.perf_counter() - t0:.0f} s")
    cmd = [sys.executable, "-m", "rvucalc", "reprice", str(src), "-o", str(work / "big-out.csv"),
           "--engine", "stream", "--release", RELEASE, "--no-progress"]
    if chunk:
        cmd += ["--chunk-lines", str(chunk)]
    walls, rss = [], []
    for _ in range(runs):
        w, r = _timed(cmd)
        walls.append(w)
        rss.append(r)
    with open(work / "big-out.csv", "rb") as fh:
        rows = sum(1 for _ in fh) - 1
    rate = n / min(walls)
    print(f"stream: {_stats(walls)} = {rate:,.0f} lines/s (best); peak RSS max {max(rss) / 2**30:.2f} GiB "
          f"[target <= 2 GiB: {'met' if max(rss) <= 2**31 else 'NOT met'}]; {rows:,} lines written")
    if cli_rate:
        print(f"vs in-memory CLI CSV->CSV ({cli_rate:,.0f} lines/s): {rate / cli_rate:.0%} "
              f"[target >= 60%: {'met' if rate >= 0.6 * cli_rate else 'NOT met'}]")
    if mem_rate:
        print(f"vs the in-memory pricing call alone, no I/O ({mem_rate:,.0f} lines/s): {rate / mem_rate:.0%}")
    src.unlink()
    (work / "big-out.csv").unlink()


# ---------------------------------------------------------------------------
# 4. Dask


def bench_dask(n: int, runs: int, work: Path, files: int) -> None:
    print(f"\n== 4. Dask: {n:,}-line parquet dataset ({files} files), local cluster 2 workers vs 1 ==")
    src = work / "dataset"
    write_claims(src, n, files=files)
    times: dict[int, list[float]] = {}
    for workers in (1, 2):
        times[workers] = []
        for _ in range(runs):
            out = work / f"dask-out-{workers}"
            cmd = [sys.executable, "-m", "rvucalc", "reprice", str(src), "-o", str(out), "--engine", "dask",
                   "--workers", str(workers), "--release", RELEASE, "--no-progress"]
            times[workers].append(_timed(cmd)[0])
        print(f"{workers} worker(s): {_stats(times[workers])} = {n / min(times[workers]):,.0f} lines/s (best)")
    print(f"2 workers vs 1 (median): {statistics.median(times[1]) / statistics.median(times[2]):.2f}x faster")
    _check_dask(src, work / "dask-out-2", n)
    shutil.rmtree(src)
    for w in (1, 2):
        shutil.rmtree(work / f"dask-out-{w}", ignore_errors=True)


def _check_dask(src: Path, out: Path, n: int) -> None:
    """Correctness: every line once; 2,000 claims re-priced in memory give the same amounts."""
    from rvucalc.claims.pipeline import PricingOptions, price_frame

    got = pq.read_table(out, columns=["claim_id", "_line", "allowed", "reason"]).to_pandas()
    assert len(got) == n and got["_line"].is_unique, "lines lost or duplicated"
    ids = pd.Series(got["claim_id"].unique()).sample(2000, random_state=1)
    sub = got[got["claim_id"].isin(ids)].sort_values("_line")
    lines = pq.read_table(src, filters=[("claim_id", "in", list(ids))]).to_pandas()
    ref = price_frame(lines, PricingOptions(releases=(RELEASE,)))
    same = np.array_equal(np.nan_to_num(sub["allowed"].to_numpy(), nan=-1),
                          np.nan_to_num(ref["allowed"].to_numpy(), nan=-1)) and \
        (sub["reason"].astype(str).to_numpy() == ref["reason"].astype(str).to_numpy()).all()
    print(f"correctness: {n:,} lines, each once; {len(sub):,} lines of 2,000 claims re-priced in memory: "
          f"{'identical' if same else 'DIFFERENT'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=("memory", "calibrate", "cli", "stream", "dask"))
    ap.add_argument("--sizes", default="100000,1000000,10000000", help="in-memory sizes (comma-separated)")
    ap.add_argument("--calibrate-sizes", default="1000000,10000000", help="sizes of part 1b (comma-separated)")
    ap.add_argument("--inputs", default="text,typed", help="in-memory input kinds: text, typed or both")
    ap.add_argument("--cli-lines", type=int, default=1_000_000)
    ap.add_argument("--stream-lines", type=int, default=50_000_000)
    ap.add_argument("--chunk-lines", type=int, help="streaming chunk size (default: the CLI's)")
    ap.add_argument("--dask-lines", type=int, default=20_000_000)
    ap.add_argument("--dask-files", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--stream-runs", type=int, help="runs of the streaming part (default: --runs)")
    ap.add_argument("--dask-runs", type=int, help="runs of each Dask cluster size (default: --runs)")
    ap.add_argument("--work", help="scratch folder (default: a temporary folder, removed afterwards)")
    args = ap.parse_args()
    parts = args.only or ["memory", "calibrate", "cli", "stream", "dask"]
    work = Path(args.work or tempfile.mkdtemp(prefix="rvucalc-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"rvucalc bench_scale: {os.cpu_count()} cores; scratch {work}; {args.runs} run(s) each")
    try:
        rates: dict[int, float] = {}
        cli_rate = None
        if "memory" in parts:
            rates = bench_memory([int(s) for s in args.sizes.split(",") if s], args.runs, work,
                                 [k for k in args.inputs.split(",") if k])
        if "calibrate" in parts:
            bench_calibrate([int(s) for s in args.calibrate_sizes.split(",") if s], args.runs, work)
        if "cli" in parts or "stream" in parts:
            cli_rate = bench_cli(args.cli_lines, args.runs, work)
        if "stream" in parts:
            bench_stream(args.stream_lines, args.stream_runs or args.runs, work, args.chunk_lines, cli_rate,
                         rates[max(rates)] if rates else None)
        if "dask" in parts:
            bench_dask(args.dask_lines, args.dask_runs or args.runs, work, args.dask_files)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
        if OWN_CACHE:
            shutil.rmtree(OWN_CACHE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
