"""The outputs that a restructuring must leave byte-identical: a 100k-line claims book through
every engine and setting, and the CLI's quote, sites and schedule, reduced to sha256 digests.

``python tests/output_identity.py --write`` records the digests of the code as it stands in
``tests/output_identity.json``; :mod:`tests.test_output_identity` recomputes them and compares.
A digest changes only with a change of behaviour that a commit states (the record says which).
The claims are synthetic (codes and places chosen here; no CMS file is copied).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RECORD = HERE / "output_identity.json"

#: codes of every kind the pricers treat differently: surgery (MPPR, bilateral), PC/TC, imaging,
#: E/M, therapy, J1/T/N/Q facility codes, lab and drug codes (other fee schedules), unknown text
CODES = ["20983", "27447", "27130", "29881", "43239", "43249", "71046", "71046", "70450", "74177",
         "99213", "99214", "97110", "97140", "96523", "77013", "36415", "80053", "J1100", "G0463",
         "11042", "45378", "66984", "64483", "ZZZZZ", "C2618", "93000", "99203"]
MODS = ["", "", "", "", "26", "TC", "50", "51", "59", "LT", "RT", "73", "25", "GP", "FB"]
POS = ["11", "22", "24", "19", "11", "11"]
ZIPS = ["90012", "10001", "60601", "77002", "00601", "99501", "94103"]
CBSA = ["31084", "35614", "16984", "26420", "", "41884"]


def book(n: int = 100_000, seed: int = 19) -> pd.DataFrame:
    """*n* claim lines of about n/3 claims, as text (as a CSV reads), lines shuffled."""
    rng = np.random.default_rng(seed)
    claims = rng.integers(0, n // 3, n)
    dates = np.where(rng.random(n) < 0.5, "2025-08-04", "2026-03-10")
    df = pd.DataFrame({
        "claim_id": np.char.add("C", claims.astype(str)),
        "hcpcs": np.asarray(CODES)[rng.integers(0, len(CODES), n)],
        "modifiers": np.asarray(MODS)[rng.integers(0, len(MODS), n)],
        "units": np.asarray(["1", "1", "1", "2", "3"])[rng.integers(0, 5, n)],
        "pos": np.asarray(POS)[rng.integers(0, len(POS), n)],
        "zip": np.asarray(ZIPS)[rng.integers(0, len(ZIPS), n)],
        "cbsa": np.asarray(CBSA)[rng.integers(0, len(CBSA), n)],
        "date_of_service": dates,
        "charge": np.round(rng.random(n) * 3000, 2).astype(str),
    })
    return df


def _run(args: list[str], cwd: Path, out: Path | None = None) -> bytes:
    mirror = os.environ.get("RVUCALC_MIRROR", str(HERE.parents[1] / "shared" / "cms"))
    env = {**os.environ, "RVUCALC_OFFLINE": "1", "RVUCALC_MIRROR": mirror,
           "RVUCALC_CACHE": str(cwd / "cache"), "COLUMNS": "160"}
    r = subprocess.run([sys.executable, "-m", "rvucalc", *args], cwd=cwd, env=env,
                       capture_output=True, check=False)
    if r.returncode != 0:
        raise AssertionError(f"rvucalc {' '.join(args)} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
    return out.read_bytes() if out is not None else r.stdout


def _dataset_digest(folder: Path) -> str:
    """The rows of a parquet dataset in line order (part files may differ in layout)."""
    df = pd.read_parquet(folder)
    df = df.sort_values("seq", kind="stable").reset_index(drop=True)
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


def digests(work: Path, n: int = 100_000) -> dict[str, str]:
    """sha256 of every output, by name."""
    work.mkdir(parents=True, exist_ok=True)
    df = book(n)
    df.insert(0, "seq", np.arange(len(df)).astype(str))
    src = work / "book.csv"
    df.to_csv(src, index=False)
    pq = work / "book_parquet"
    pq.mkdir(exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[part].to_parquet(pq / f"part-{i}.parquet", index=False)
    out: dict[str, str] = {}

    def h(b: bytes) -> str:
        return hashlib.sha256(b).hexdigest()

    for setting in ("pfs", "hopd", "asc"):
        for engine in ("memory", "stream"):
            o, c = work / f"{setting}-{engine}.csv", work / f"{setting}-{engine}-claims.csv"
            extra = ["--chunk-lines", "20000"] if engine == "stream" else []
            _run(["reprice", str(src), "-o", str(o), "--claims-out", str(c), "--setting", setting,
                  "--engine", engine, "--no-progress", *extra], work)
            out[f"reprice {setting} {engine}"] = h(o.read_bytes())
            out[f"reprice {setting} {engine} claims"] = h(c.read_bytes())
        d = work / f"{setting}-dask"
        _run(["reprice", str(pq), "-o", str(d), "--setting", setting, "--engine", "dask",
              "--workers", "2", "--no-progress"], work)
        out[f"reprice {setting} dask"] = _dataset_digest(d)
    for name, args in {
        "quote": ["quote", "20983", "99213", "77013", "71046-26", "--zip", "90012"],
        "quote csv": ["quote", "20983", "99214", "--locality", "01182-18", "--csv"],
        "quote json": ["quote", "20983", "--county", "06037", "--json"],
        "sites": ["sites", "20983", "--zip", "90012", "--county", "06037"],
        "sites cbsa": ["sites", "29881", "--zip", "10001", "--cbsa", "35614"],
        "schedule": ["schedule", "99213", "20983", "0001U", "--national"],
        "anes": ["anes", "00400", "--minutes", "90", "--base-units", "7", "--zip", "90012",
                 "--modifier", "QK"],
    }.items():
        out[name] = h(_run(args, work))
    sc = work / "sites-claims.csv"
    small = work / "book-small.csv"
    df.head(20_000).to_csv(small, index=False)
    _run(["sites", "--claims", str(small), "-o", str(sc)], work)
    out["sites claims"] = h(sc.read_bytes())
    s = work / "schedule.csv"
    _run(["schedule", "99213", "20983", "71046", "--out", str(s)], work)
    out["schedule csv"] = h(s.read_bytes())
    return out


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        sys.exit("usage: python tests/output_identity.py --write   (records today's digests)")
    with tempfile.TemporaryDirectory() as tmp:
        got = digests(Path(tmp))
    RECORD.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORD} ({len(got)} digests)")
