"""Contracts on the streaming engine: a file of any length, the same figures as in memory.

Claims of :mod:`claims_data` (lines of each claim scattered through the file) are priced under a
contract with a case rate covering whole claims: streamed in parts far smaller than the file,
every claim must still be whole in one part, so the output equals pricing the whole file at once.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from claims_data import claims_frame

from rvucalc.claims.io import read_claims, write_claims
from rvucalc.contracts import engine, price_contracts

CONTRACT = """\
name: episodes
lesser_of_charge: true
terms:
  - name: joint episode
    match: {codes: ["27447", "27130"]}
    pay: {per_claim: 30000, covers: claim}
  - name: professional
    pay: {percent_of_medicare: 125}
"""
HUNDRED = """\
name: at-medicare
terms:
  - name: all
    pay: {percent_of_medicare: 100}
"""


def test_stream_equals_in_memory(tmp_path, mirror):
    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    (tmp_path / "episodes.yaml").write_text(CONTRACT)
    (tmp_path / "hundred.yaml").write_text(HUNDRED)
    src = tmp_path / "claims.csv"
    claims_frame(300).to_csv(src, index=False)
    opts = engine.options([tmp_path / "episodes.yaml", tmp_path / "hundred.yaml"], releases=["rvu26c"])
    whole = engine.price_chunk(read_claims(src), opts)  # the whole file as one chunk
    write_claims(whole, tmp_path / "memory.csv")
    n = engine.price_contracts_file(src, tmp_path / "stream.csv", opts, claims_out=tmp_path / "totals.csv",
                                    chunk_lines=60)
    assert n == len(whole) > 8 * 60
    assert (tmp_path / "stream.csv").read_bytes() == (tmp_path / "memory.csv").read_bytes()
    got = pd.read_csv(tmp_path / "stream.csv", dtype=str, keep_default_na=False)
    # the case rate's shares of each claim add up to $30,000.00 (the claim was whole in its part)
    ep = got[got["episodes term"] == "joint episode"]
    totals = ep.assign(c=pd.to_numeric(ep["episodes allowed"]).mul(100).round().astype(int)) \
        .groupby("claim_id")["c"].sum()
    assert len(totals) > 10 and (totals == 3_000_000).all()
    # the same figures as the long layout of price_contracts
    long = price_contracts(read_claims(src).drop(columns=["_line"]), [tmp_path / "episodes.yaml",
                                                                     tmp_path / "hundred.yaml"], releases=["rvu26c"])
    first = long[long["contract"] == "episodes"]["contract_allowed"].to_numpy()
    np.testing.assert_array_equal(whole["episodes allowed"].to_numpy(dtype=float), first)
    claims = pd.read_csv(tmp_path / "totals.csv", dtype={"claim_id": str})
    assert len(claims) == 300
    assert (claims.dropna(subset=["at-medicare allowed"])["at-medicare allowed"]
            == claims.dropna(subset=["at-medicare allowed"])["Medicare allowed"]).all()


def test_a_changed_contract_file_is_refused(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(HUNDRED)
    opts = engine.options([p])
    engine._LOADED.clear()  # as in a new worker process
    p.write_text(textwrap.dedent(HUNDRED).replace("100", "101"))
    import pytest

    with pytest.raises(Exception, match="changed"):
        engine.contracts_of(opts)


def test_dask_equals_in_memory(tmp_path, mirror):
    import dask
    import dask.dataframe as dd

    import rvucalc.dask

    mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv")
    (tmp_path / "episodes.yaml").write_text(CONTRACT)
    frame = claims_frame(120)
    opts = engine.options([tmp_path / "episodes.yaml"], releases=["rvu26c"])
    whole = engine.price_chunk(frame.assign(_line=np.arange(len(frame), dtype=np.int64)), opts)
    ddf = dd.from_pandas(frame, npartitions=4)
    with dask.config.set(scheduler="sync"):
        got = rvucalc.dask.reprice(ddf, price=engine.price_chunk, options=opts).compute()
    got = got.sort_values("_line").reset_index(drop=True)
    np.testing.assert_array_equal(got["episodes allowed"].to_numpy(dtype=float),
                                  whole["episodes allowed"].to_numpy(dtype=float))
    assert got["episodes term"].astype(str).tolist() == whole["episodes term"].astype(str).tolist()
