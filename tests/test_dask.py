"""Dask engine (issue 10): a real LocalCluster of 2 worker processes gives the in-memory output.

The dataset is split into many parquet files with each claim's lines spread across files (the
lines are shuffled before the split), and every claim-level rule is exercised (see
``claims_data.py``). The reference is the in-memory path on the same lines.
"""

from __future__ import annotations

import dask.dataframe as dd
import distributed  # the [dask] extra; CI installs it
import pandas as pd
import pytest
from claims_data import claims_frame
from test_reprice import fee, half_up, mul

import rvucalc.dask as rdask
from rvucalc.claims.contract import LINE
from rvucalc.claims.pipeline import PricingOptions, price_frame
from rvucalc.claims.summary import summarise_claims

OPT = PricingOptions(releases=("rvu26c",))
FILES = 12


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask") / "claims"
    folder.mkdir()
    df = claims_frame(1100, seed=7)
    step = -(-len(df) // FILES)
    for i in range(FILES):
        df.iloc[i * step:(i + 1) * step].to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    return folder, df


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Values as objects: Dask hands text back as its own string dtype, categories differ per partition."""
    text = [c for c in df.columns if isinstance(df[c].dtype, (pd.CategoricalDtype, pd.StringDtype))]
    return df.astype(dict.fromkeys(text, object)).reset_index(drop=True)


def _reference(df: pd.DataFrame) -> pd.DataFrame:
    return _plain(price_frame(df.reset_index(drop=True), OPT))


def test_claims_spread_across_files(dataset):
    folder, df = dataset
    step = -(-len(df) // FILES)
    file_of = pd.Series(range(len(df))) // step
    spread = file_of.groupby(df["claim_id"].to_numpy()).nunique()
    assert (spread > 1).sum() > 300  # hundreds of claims have lines in two or more files


def test_dask_dataframe_equals_in_memory(cluster, dataset):
    _, client = cluster
    folder, df = dataset
    ddf = rdask.reprice(dd.read_parquet(str(folder)), options=OPT)
    got = client.compute(ddf).result()
    assert got[LINE].is_unique
    got = _plain(got.sort_values(LINE).drop(columns=[LINE]))
    ref = _reference(df)
    pd.testing.assert_frame_equal(got, ref)
    # claim-level rules fired across files (hand arithmetic, see test_reprice.py)
    knee = fee("27447", facility=True)
    nat = got["locality"] == "national"
    rt = got[(got.kind == "rt_lt") & nat]
    assert len(rt) and (rt.allowed == half_up(mul(knee, 0.75))).all()
    t = got[(got.kind == "status_t") & (got.hcpcs == "96523")]
    assert len(t) and (t.allowed == 0.0).all() and (t.reason == "STATUS_T_BUNDLED").all()
    mp = got[(got.kind == "mppr") & nat & (got.hcpcs == "27447")]
    assert len(mp) and (mp.allowed == half_up(mul(knee, 0.5))).all()


def test_dataset_folder_and_glob_to_dataset(cluster, dataset, tmp_path):
    _, client = cluster
    folder, df = dataset
    ref = _reference(df)
    for src in (folder, str(folder / "part-*.parquet")):
        out = tmp_path / "priced"
        n = rdask.reprice_dataset(src, out, options=OPT, client=client, progress=False)
        assert n == len(df)
        got = pd.read_parquet(out).sort_values(LINE).drop(columns=[LINE])
        pd.testing.assert_frame_equal(_plain(got), ref)
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_releases_loaded_once_per_worker(cluster, dataset):
    _, client = cluster
    folder, _ = dataset

    def loaded() -> list[int]:
        from rvucalc.claims import pfs

        return [id(v) for v in pfs._SCHEDULES.values()]

    client.compute(rdask.reprice(dd.read_parquet(str(folder)), options=OPT)).result()
    first = client.run(loaded)
    client.compute(rdask.reprice(dd.read_parquet(str(folder)), options=OPT)).result()
    again = client.run(loaded)
    assert len(first) == 2 and all(len(v) == 1 for v in first.values())  # one release, each worker
    assert again == first  # the same loaded objects: nothing reloaded for later partitions or calls


def test_cli_engine_dask_on_a_running_cluster(cluster, dataset, tmp_path):
    from rvucalc.cli import main

    c, _ = cluster
    folder, df = dataset
    out, claims = tmp_path / "cli-out", tmp_path / "cli-claims"
    rc = main(["reprice", str(folder), "-o", str(out), "--engine", "dask", "--scheduler", c.scheduler_address,
               "--release", "rvu26c", "--no-progress", "--claims-out", str(claims)])
    assert rc == 0
    got = pd.read_parquet(out).sort_values(LINE).drop(columns=[LINE])
    pd.testing.assert_frame_equal(_plain(got), _reference(df))
    # per-claim totals from the same shuffle: those of the in-memory path, claim for claim
    ref = summarise_claims(price_frame(df.reset_index(drop=True), OPT)).sort_values("claim_id")
    tot = pd.read_parquet(claims).sort_values("claim_id")
    pd.testing.assert_frame_equal(_plain(tot), _plain(ref))


def test_dataset_categories_of_any_width(cluster, dataset, tmp_path):
    """Partitions whose text outputs have 2 or 300 categories (int8 or int16 codes) make one dataset."""
    _, client = cluster
    folder, df = dataset

    def labelled(chunk: pd.DataFrame, options: object) -> pd.DataFrame:
        vals = chunk["claim_id"].astype(str)
        wide = bool((vals == "CLM000000").any())
        cats = sorted(set(vals) | ({f"extra{i}" for i in range(300)} if wide else set()))
        return chunk.assign(label=pd.Categorical(vals, categories=cats))

    n = rdask.reprice_dataset(folder, tmp_path / "out", price=labelled, options=None, client=client,
                              progress=False)
    got = pd.read_parquet(tmp_path / "out")
    assert n == len(df) == len(got) and (got["label"].astype(str) == got["claim_id"].astype(str)).all()


def test_local_cluster_does_not_log_routine_shuffle_notices(dataset, caplog):
    """The local cluster the CLI starts: distributed's per-shuffle notices (logged at WARNING by
    the in-process scheduler) are not shown; the result is the in-memory path's."""
    import logging

    folder, df = dataset
    with caplog.at_level(logging.WARNING), rdask.client_for(workers=1) as c:
        got = c.compute(rdask.reprice(dd.read_parquet(str(folder)), options=OPT)).result()
    assert len(got) == len(df)
    assert not [r for r in caplog.records if r.name.startswith("distributed.shuffle")]
    assert logging.getLogger(rdask.SHUFFLE_NOTICES).level == logging.NOTSET  # put back
