"""Streaming engine (issue 10): any file length in bounded memory, same output as in memory.

The reference is the in-memory path on the same file: read it (every CSV cell as text), price
it as one chunk, write it with pyarrow. Streaming must give the same bytes although each claim's
lines are scattered through the file and the chunk size is far smaller than the file. The
hand-arithmetic checks use the RVUs of ``test_reprice.py`` (checked against the mirror there).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from claims_data import claims_frame
from test_reprice import fee, half_up, mul

from rvucalc.claims.contract import LINE
from rvucalc.claims.io import ClaimsFileError, read_claims, write_claims
from rvucalc.claims.pipeline import PricingOptions, price_frame
from rvucalc.claims.stream import iter_priced, reprice_file

OPT = PricingOptions(releases=("rvu26c",))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def claims_csv(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("stream") / "claims.csv"
    claims_frame(1200).to_csv(p, index=False)  # about 2,200 lines, claims scattered
    return p


def in_memory(src: Path, dst: Path) -> pd.DataFrame:
    out = price_frame(read_claims(src), OPT)
    write_claims(out, dst)
    return out


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({c: str for c in df.select_dtypes("category").columns})


def test_stream_csv_equals_in_memory_bytes(claims_csv, tmp_path):
    ref = in_memory(claims_csv, tmp_path / "mem.csv")
    n = reprice_file(claims_csv, tmp_path / "stream.csv", options=OPT, chunk_lines=150, progress=False)
    assert n == len(ref) > 10 * 150
    assert (tmp_path / "stream.csv").read_bytes() == (tmp_path / "mem.csv").read_bytes()
    # the claim-level rules did fire across the scattered lines (hand arithmetic)
    knee = fee("27447", facility=True)
    got = pd.read_csv(tmp_path / "stream.csv", dtype={"note": str, "units": str})
    nat = got["locality"] == "national"
    rt_lt = got[(got.kind == "rt_lt") & nat]
    assert (rt_lt.allowed == half_up(mul(knee, 0.75))).all() and (rt_lt.reason == "BILAT_RT_LT").all()
    mppr = got[(got.kind == "mppr") & nat & (got.hcpcs == 27447)]
    assert (mppr.allowed == half_up(mul(knee, 0.5))).all() and (mppr.reason == "MPPR_SURGERY").all()
    t = got[(got.kind == "status_t") & (got.hcpcs == 96523)]
    assert (t.allowed == 0.0).all() and (t.reason == "STATUS_T_BUNDLED").all()
    alone = got[got.kind == "status_t_alone"]
    assert (alone.allowed > 0).all() and (alone.reason.isna()).all()
    endo = got[(got.kind == "endoscopy") & nat & (got.hcpcs == 43235)]
    assert (endo.allowed == 0.0).all() and (endo.reason == "ENDO_BASE_INCLUDED").all()
    # user cells come back as written
    src = pd.read_csv(claims_csv, dtype=str, keep_default_na=False)
    assert got["note"].tolist() == src["note"].tolist()


def test_stream_parquet_in_and_out_and_iterator(claims_csv, tmp_path):
    ref = _plain(in_memory(claims_csv, tmp_path / "mem.parquet"))
    reprice_file(claims_csv, tmp_path / "s.parquet", options=OPT, chunk_lines=200, progress=False)
    a = _plain(pq.read_table(tmp_path / "mem.parquet").to_pandas())
    b = _plain(pq.read_table(tmp_path / "s.parquet").to_pandas())
    pd.testing.assert_frame_equal(a, b)
    # parquet input, its column types kept (units as integers)
    src_pq = tmp_path / "claims.parquet"
    claims_frame(700, seed=3, text=False).to_parquet(src_pq, index=False)
    ref2 = _plain(in_memory(src_pq, tmp_path / "mem2.parquet"))
    reprice_file(src_pq, tmp_path / "s2.parquet", options=OPT, chunk_lines=100, progress=False)
    out2 = _plain(pq.read_table(tmp_path / "s2.parquet").to_pandas())
    pd.testing.assert_frame_equal(_plain(pq.read_table(tmp_path / "mem2.parquet").to_pandas()), out2)
    assert out2["units"].dtype == np.int64 and len(ref2) == len(out2)
    # the iterator: batches in input order, LINE included
    batches = list(iter_priced(claims_csv, options=OPT, chunk_lines=300))
    assert len(batches) > 5 and all(len(b) <= 300 for b in batches)
    it = _plain(pd.concat(batches, ignore_index=True))
    assert it[LINE].tolist() == list(range(len(ref)))
    pd.testing.assert_frame_equal(it, ref)


def test_temp_parts_removed_on_success_error_and_early_close(claims_csv, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    reprice_file(claims_csv, tmp_path / "o.csv", options=OPT, chunk_lines=300, progress=False, tmp_dir=work)
    assert list(work.iterdir()) == []

    def boom(chunk, options):
        raise RuntimeError("pricer failed")

    with pytest.raises(RuntimeError, match="pricer failed"):
        reprice_file(claims_csv, tmp_path / "bad.csv", price=boom, options=OPT, chunk_lines=300,
                     progress=False, tmp_dir=work)
    assert list(work.iterdir()) == [] and not (tmp_path / "bad.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bad.csv")]
    it = iter_priced(claims_csv, options=OPT, chunk_lines=300, tmp_dir=work)
    next(it)
    assert list(work.iterdir())  # parts exist while iterating
    it.close()
    assert list(work.iterdir()) == []
    # a broken CSV: a clear error naming the file, nothing left behind
    broken = tmp_path / "broken.csv"
    broken.write_text("claim_id,hcpcs\n1,99213\n2,99213,extra\n")
    with pytest.raises(ClaimsFileError, match="broken.csv"):
        reprice_file(broken, tmp_path / "b.csv", options=OPT, progress=False, tmp_dir=work)
    assert list(work.iterdir()) == []
    with pytest.raises(ClaimsFileError, match="claim_id"):
        no_id = tmp_path / "noid.csv"
        no_id.write_text("hcpcs\n99213\n")
        reprice_file(no_id, tmp_path / "b.csv", options=OPT, progress=False, tmp_dir=work)


def test_workers_do_not_change_the_output_and_their_errors_surface(claims_csv, tmp_path):
    """Parts priced on 1, 2 or 3 threads give the same bytes; a failure on a later part (priced on
    a worker thread, not the first part) is raised with nothing left behind."""
    outs = []
    for w in (1, 2, 3):
        dst = tmp_path / f"w{w}.csv"
        reprice_file(claims_csv, dst, options=OPT, chunk_lines=240, progress=False, workers=w,
                     claims_out=tmp_path / f"w{w}-claims.csv")
        outs.append((dst.read_bytes(), (tmp_path / f"w{w}-claims.csv").read_bytes()))
    assert outs[0] == outs[1] == outs[2]
    with pytest.raises(ValueError, match="workers"):
        reprice_file(claims_csv, tmp_path / "x.csv", options=OPT, progress=False, workers=0)

    from rvucalc.claims.pipeline import price_chunk

    seen = []

    def fails_later(chunk, options):
        seen.append(len(chunk))
        if len(seen) == 4:
            raise RuntimeError("part four failed")
        return price_chunk(chunk, options)

    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(RuntimeError, match="part four failed"):
        reprice_file(claims_csv, tmp_path / "bad.csv", price=fails_later, options=OPT, chunk_lines=240,
                     progress=False, workers=2, tmp_dir=work)
    assert list(work.iterdir()) == [] and not (tmp_path / "bad.csv").exists()
    # an iterator closed early stops its background merge and removes its parts
    it = iter_priced(claims_csv, options=OPT, chunk_lines=100, tmp_dir=work, workers=2)
    next(it)
    it.close()
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("alias", [False, True])
def test_output_columns_are_the_results_own(alias, monkeypatch):
    """rvucalc's columns are handed to the result without a copy only when nothing else holds them:
    writing into one changes no other column, not the user's frame, not a later call's result.
    With *alias*, the PFS stages return one array for two columns (as a future stage might)."""
    if alias:
        from rvucalc.claims import pfs

        price = pfs.price

        def aliased(*args, **kwargs):
            cols = price(*args, **kwargs)
            cols["team_factor"] = cols["assistant_factor"]  # both 1.0 on these claims
            return cols

        monkeypatch.setattr(pfs, "price", aliased)
    lines = claims_frame(80, text=False)
    lines["units"] = lines["units"].astype(float)  # a float column: read without a copy
    lines["charge"] = np.linspace(10.0, 5000.0, len(lines))
    given = lines.copy(deep=True)
    first = price_frame(lines, OPT)
    before = first.copy(deep=True)
    numeric = [c for c in first.columns[len(lines.columns):] if first[c].dtype.kind in "fib"]
    assert {"allowed", "units_factor", "base_amount", "payable"} <= set(numeric)
    for c in numeric:  # in place, column by column, each checked against every other
        first.iloc[:, first.columns.get_loc(c)] = first[c].dtype.type(7)
        others = [o for o in first.columns if o != c and o not in numeric[:numeric.index(c)]]
        pd.testing.assert_frame_equal(first[others], before[others])
    pd.testing.assert_frame_equal(lines, given)
    pd.testing.assert_frame_equal(price_frame(lines, OPT), before)


def test_only_arrays_the_result_may_own_are_handed_over():
    from rvucalc.claims.pipeline import _handed_over

    seen: set[int] = set()
    fresh, table = np.arange(5.0), np.arange(10.0)
    assert _handed_over(fresh, seen) is fresh
    again = _handed_over(fresh, seen)  # a second column made of the same array gets its own copy
    assert again is not fresh and not np.shares_memory(again, fresh)
    view = _handed_over(table[:5], seen)  # a view of something else (a prepared table, the input)
    assert not np.shares_memory(view, table)
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    assert _handed_over(frozen, seen) is not frozen


def test_parsed_lines_let_go_after_the_lookup(monkeypatch):
    """The stages after the lookup run without the lines as first parsed (their line numbers,
    claim keys and code indices): nothing in the call chain, price_chunk included, holds them."""
    import gc
    import weakref

    from rvucalc.claims import normalise as nm
    from rvucalc.claims import pfs

    parsed: list[weakref.ref] = []
    alive: list[bool] = []
    after_lookup, line_rules = nm.Lines.after_lookup, pfs.line_rules

    def spy_after_lookup(self):
        parsed.append(weakref.ref(self))
        return after_lookup(self)

    def spy_line_rules(lines, b):
        gc.collect()
        alive.append(parsed[-1]() is not None)
        return line_rules(lines, b)

    monkeypatch.setattr(nm.Lines, "after_lookup", spy_after_lookup)
    monkeypatch.setattr(pfs, "line_rules", spy_line_rules)
    price_frame(claims_frame(30), OPT)
    assert alive == [False]


def test_result_keeps_the_frames_column_names_and_attrs():
    """What ``DataFrame.copy`` plus one new column per output gave: the columns' name, attrs that
    share nothing with the caller's, a MultiIndex of columns with rvucalc's as ``(name, "")``."""
    from rvucalc.claims.pipeline import price_chunk

    lines = claims_frame(6).rename_axis(columns="field")
    lines.attrs = {"source": {"file": "claims.csv"}}
    out = price_chunk(lines, OPT)
    assert out.columns.name == "field"
    out.attrs["source"]["file"] = "changed through the result"
    assert lines.attrs == {"source": {"file": "claims.csv"}}
    wide = lines.copy()
    wide.columns = pd.MultiIndex.from_tuples([(c, "") for c in wide.columns])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns on tuples picked by their first level
        cols = price_chunk(wide, OPT).columns
    assert isinstance(cols, pd.MultiIndex)
    assert list(cols[len(lines.columns):len(lines.columns) + 3]) == [("fee_schedule", ""), ("release", ""),
                                                                      ("release_note", "")]


def test_empty_file_keeps_its_header(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("claim_id,hcpcs,modifiers,units,pos,locality,date_of_service\n")
    in_memory(src, tmp_path / "mem.csv")
    assert reprice_file(src, tmp_path / "s.csv", options=OPT, progress=False) == 0
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "mem.csv").read_bytes()


def test_cli_engine_stream_with_claim_totals(claims_csv, tmp_path):
    from rvucalc.cli import main

    for how in ("memory", "stream"):
        rc = main(["reprice", str(claims_csv), "-o", str(tmp_path / f"{how}.csv"), "--engine", how,
                   "--chunk-lines", "250", "--release", "rvu26c", "--no-progress",
                   "--claims-out", str(tmp_path / f"{how}-claims.csv")])
        assert rc == 0
    assert (tmp_path / "stream.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()
    assert (tmp_path / "stream-claims.csv").read_bytes() == (tmp_path / "memory-claims.csv").read_bytes()
    claims = pd.read_csv(tmp_path / "stream-claims.csv", dtype={"claim_id": str})
    assert len(claims) == 1200 and claims["claim_id"].is_unique
    # a two-line RT/LT claim: 2 x round(knee x 0.75), the claim total is the sum of its lines
    knee = fee("27447", facility=True)
    lines = pd.read_csv(tmp_path / "stream.csv", dtype={"claim_id": str})
    rt = lines[(lines.kind == "rt_lt") & (lines.locality == "national")].claim_id.iloc[0]
    assert claims.set_index("claim_id").loc[rt, "allowed"] == 2 * half_up(mul(knee, 0.75))


_MEASURE = r"""
import json, resource, sys, tracemalloc
import pandas as pd
import pyarrow as pa
from rvucalc.claims.io import read_claims, write_claims
from rvucalc.claims.pipeline import PricingOptions, price_frame
from rvucalc.claims.stream import reprice_file
opt = PricingOptions(releases=("rvu26c",))
price_frame(pd.DataFrame({"claim_id": ["1"], "hcpcs": ["99213"], "pos": ["11"], "locality": ["national"],
                          "date_of_service": ["2026-08-03"]}), opt)  # releases loaded, tables built
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pool = pa.jemalloc_memory_pool()  # a pool of its own: counts only what is allocated from now on
pa.set_memory_pool(pool)
tracemalloc.start()
src, dst, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
if chunk:
    n = reprice_file(src, dst, options=opt, chunk_lines=chunk, progress=False, block_bytes=64 << 10)
else:  # the in-memory path, for scale
    out = price_frame(read_claims(src), opt)
    write_claims(out, dst)
    n = len(out)
print(json.dumps({"lines": n, "peak": tracemalloc.get_traced_memory()[1] + pool.max_memory(),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0}), flush=True)
"""


def _measure(src: Path, dst: Path, chunk: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-c", _MEASURE, str(src), str(dst), str(chunk)], env=env,
                       capture_output=True, text=True, check=True, timeout=600)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_memory_does_not_grow_with_the_input(tmp_path):
    """Twice the lines, > 20 x the chunk size: about the same peak memory.

    Peak = Python heap (tracemalloc sees numpy/pandas buffers) + Arrow's allocations (a proxy pool's
    high-water mark), each measured in a fresh process after the release tables are built. A
    memory that grew with the input would show 2x the small run's peak, as the in-memory path does.
    The small residual growth is the open part writers of the partition pass (at most
    :data:`rvucalc.claims.stream.MAX_PARTS` parts).

    CSV blocks of 64 KiB: Arrow's streaming CSV reader reads a bounded number of blocks ahead
    (about 40), so with the default blocks these small files would be read ahead whole and the
    reader's buffer would seem to grow with the file; on a real file it stops at its bound.
    """
    chunk = 2000
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    claims_frame(12_000, seed=1).to_csv(small, index=False)  # ~22k lines, > 10 chunks
    claims_frame(24_000, seed=2).to_csv(big, index=False)  # ~44k lines, > 20 chunks
    s = _measure(small, tmp_path / "s.csv", chunk)
    b = _measure(big, tmp_path / "b.csv", chunk)
    m = _measure(big, tmp_path / "m.csv", 0)
    assert b["lines"] == m["lines"] > 20 * chunk and s["lines"] > 10 * chunk
    assert b["lines"] > 1.95 * s["lines"]
    # 2x the lines: the peak grows by under a tenth of what pricing the extra lines in memory needs
    extra_in_memory = m["peak"] * (1 - s["lines"] / b["lines"])
    assert b["peak"] - s["peak"] < 0.1 * extra_in_memory, (s, b, m)
    assert b["peak"] < 1.3 * s["peak"] and b["peak"] < 0.25 * m["peak"], (s, b, m)
    assert (tmp_path / "b.csv").read_bytes() == (tmp_path / "m.csv").read_bytes()


def test_a_ragged_csv_row_is_named_by_its_line(tmp_path):
    """A row with more or fewer cells than the header is named by its line in the file (header
    = line 1; a quoted value over two lines and a blank line counted), whether the file is read
    whole, in batches, or the bad row lies beyond the first batch."""
    from rvucalc.claims.io import iter_claims

    head = "claim_id,hcpcs,pos,zip,date_of_service\n"
    good = "A,99213,11,10001,2026-08-03\n"
    early = tmp_path / "early.csv"
    early.write_text(head + good + '"B\nmulti",99213,11,10001,2026-08-03\n\nC,99213,11,10001\n' + good)
    want = re.escape("line 6 has 4 cell(s), the header has 5")
    with pytest.raises(ClaimsFileError, match=want):
        read_claims(early)
    with pytest.raises(ClaimsFileError, match=want):
        list(iter_claims(early))
    late = tmp_path / "late.csv"  # the bad row far past the first 4 KiB batch
    late.write_text(head + good * 2000 + "D,99213,11,10001,2026-08-03,extra\n" + good)
    with pytest.raises(ClaimsFileError, match="late.csv: line 2,002 has 6 cell"):
        list(iter_claims(late, block_bytes=4096))
    with pytest.raises(ClaimsFileError, match="line 2,002 has 6 cell"):
        read_claims(late)


def test_streaming_refuses_an_excel_output_before_any_work(claims_csv, tmp_path):
    """reprice_file writes .csv or .parquet: an .xlsx target (or totals target) is refused up
    front, and nothing is written."""
    for kw in ({"dst": tmp_path / "out.xlsx"}, {"dst": tmp_path / "out.csv", "claims_out": tmp_path / "t.xlsx"}):
        dst = kw.pop("dst")
        with pytest.raises(ClaimsFileError, match="streaming writes .csv or .parquet"):
            reprice_file(claims_csv, dst, options=OPT, progress=False, **kw)
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".xlsx", ".csv") and p.name != claims_csv.name]
