"""Contracts on the claims engines: a chunk pricer for files of any length and Dask clusters.

The claims engines (:mod:`rvucalc.claims.stream`, :mod:`rvucalc.dask`) price chunks that hold
every line of their claims, with a *chunk pricer* that returns the chunk's rows with columns added
(:mod:`rvucalc.claims.engine`). :func:`price_chunk` is that pricer for payer contracts: one row
per line (the engines keep rows and their order), with the contracts side by side in columns:

- ``medicare_allowed``, ``fee_schedule``, ``setting``, ``medicare_release`` (as
  :func:`rvucalc.price_contracts` gives them), then per contract ``<name> term``,
  ``<name> method``, ``<name> allowed`` (its ``contract_allowed``), ``<name> base_allowed``,
  ``<name> percent_of_medicare`` and ``<name> reason``.

The figures are those of :func:`rvucalc.price_contracts` on the whole book (one chunk holds every
line of its claims, so case rates and claim rules see whole claims). :class:`ContractOptions`
carries the contract files' paths and sha256 (picklable, hashable): each process reads a contract
once, and a file whose bytes changed since the options were made is refused.

    >>> opts = rvucalc.contracts.engine.options(["acme.yaml", "beta.yaml"])
    >>> rvucalc.contracts.price_contracts_file("book.csv", "priced.csv", opts, claims_out="claims.csv")
    >>> rvucalc.dask.reprice(ddf, price=rvucalc.contracts.engine.price_chunk, options=opts)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..claims.columns import ATTR, header, of, parse
from ..claims.contract import LINE
from .model import Contract, load
from .source import ContractFileError

#: Columns added for every line, then per contract (``<name> <column>``).
SHARED_COLUMNS = ("medicare_allowed", "fee_schedule", "setting", "medicare_release")
PER_CONTRACT = ("term", "method", "allowed", "base_allowed", "percent_of_medicare", "reason")


@dataclass(frozen=True)
class ContractOptions:
    """What to price a chunk with: contract files (path, sha256) and the Medicare options."""

    contracts: tuple[tuple[str, str], ...]
    setting: str = "pfs"
    releases: tuple[str, ...] | None = None
    mirror: str | None = None
    dayfirst: bool = False
    wage_index: float | None = None
    #: the columns the user named (:func:`rvucalc.claims.columns.parse`)
    columns: tuple[tuple[str, str], ...] = ()


def options(contracts: Iterable[Contract | str | os.PathLike[str]], *, setting: str = "pfs",
            releases: Iterable[str] | None = None, mirror: str | os.PathLike[str] | None = None,
            dayfirst: bool = False, wage_index: float | None = None, columns: Any = None) -> ContractOptions:
    """:class:`ContractOptions` for contract files (or contracts read from files), each read now."""
    items: list[tuple[str, str]] = []
    for c in contracts:
        con = c if isinstance(c, Contract) else load(c)
        if con.file is None:
            raise ValueError(f"contract {con.name!r} was not read from a file: the engines read contracts "
                             "from their files (rvucalc.contracts.load(path))")
        items.append((str(Path(con.file).resolve()), con.sha256))
        _LOADED[items[-1]] = con
    if not items:
        raise ValueError("no contract given")
    return ContractOptions(tuple(items), setting=setting,
                           releases=None if releases is None else tuple(str(r) for r in releases),
                           mirror=None if mirror is None else os.fspath(mirror), dayfirst=dayfirst,
                           wage_index=wage_index, columns=parse(columns))


_LOADED: dict[tuple[str, str], Contract] = {}
_LOCK = threading.Lock()


def contracts_of(opts: ContractOptions) -> list[Contract]:
    """The contracts of *opts*, read once per process (a file changed since is refused)."""
    out = []
    with _LOCK:
        for key in opts.contracts:
            con = _LOADED.get(key)
            if con is None:
                con = load(key[0])
                if con.sha256 != key[1]:
                    raise ContractFileError(key[0], "the contract file changed after the run started (its "
                                            "sha256 is not the one read first): run again")
                _LOADED[key] = con
            out.append(con)
    return out


def price_chunk(chunk: pd.DataFrame, opts: ContractOptions) -> pd.DataFrame:
    """Price one chunk (whole claims) under the contracts of *opts*: the chunk's rows, in order,
    with the columns of the module docstring added."""
    from .price import price_contracts

    contracts = contracts_of(opts)
    lines = chunk.drop(columns=[LINE]) if LINE in chunk.columns else chunk
    clash = [c for c in wide_columns([c.name for c in contracts]) if c in chunk.columns]
    if clash:
        raise ValueError(f"the claim lines already have column(s) {', '.join(clash)}, which the contract "
                         "pricing adds; rename or drop them")
    long = price_contracts(lines, contracts, setting=opts.setting, releases=opts.releases, mirror=opts.mirror,
                           dayfirst=opts.dayfirst, wage_index=opts.wage_index, columns=None,
                           input_columns=opts.columns)
    n = len(chunk)
    added: dict[str, Any] = {c: _first(long[c], n) for c in SHARED_COLUMNS}
    for j, con in enumerate(contracts):  # a few contracts: rows j*n .. (j+1)*n
        part = long.iloc[j * n:(j + 1) * n]
        for col, src in zip(PER_CONTRACT, ("term", "method", "contract_allowed", "base_allowed",
                                           "percent_of_medicare", "reason")):
            added[f"{con.name} {col}"] = _first(part[src], n)
    out = pd.concat([chunk, pd.DataFrame(added, index=chunk.index, copy=False)], axis=1)
    out.attrs = dict(chunk.attrs)
    out.attrs["rvucalc.provenance"] = long.attrs.get("rvucalc.provenance")
    out.attrs[ATTR] = long.attrs.get(ATTR)
    kinds = {"medicare_allowed": "money"}
    for con in contracts:
        kinds.update({f"{con.name} allowed": "money", f"{con.name} base_allowed": "money",
                      f"{con.name} percent_of_medicare": "percent_points"})
    out.attrs["rvucalc.kinds"] = {**(chunk.attrs.get("rvucalc.kinds") or {}), **kinds}
    return out


def _first(col: pd.Series, n: int) -> Any:
    """The first *n* values of a column, as an array of their own."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.array[:n]
    return col.to_numpy()[:n].copy()


def wide_columns(names: Iterable[str]) -> list[str]:
    """The columns :func:`price_chunk` adds for contracts named *names*."""
    return [*SHARED_COLUMNS, *(f"{n} {c}" for n in names for c in PER_CONTRACT)]


def summarise_wide(priced: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of a chunk priced by :func:`price_chunk`, in order of its first line:
    ``claim_id``, lines, Medicare allowed (blank when a line has none) and per contract its total
    (blank when a line has none) and lines not priced. Sums of the lines' cents."""
    from ..calc.money import line_cents
    from ..claims.contract import claim_keys

    names = [c[: -len(" allowed")] for c in priced.columns if c.endswith(" allowed")
             and not c.endswith(" base_allowed") and c != "medicare_allowed"]
    line = priced[LINE].to_numpy(dtype=np.int64) if LINE in priced.columns else np.arange(len(priced))
    claim_col = header(of(priced), "claim_id")  # the user's header of the claim id
    key, _ = claim_keys(priced[claim_col], line)
    dense, _u = pd.factorize(key)
    dense = dense.astype(np.int64)
    n_claims = int(dense.max()) + 1 if len(dense) else 0
    first = np.full(n_claims, len(dense), dtype=np.int64)
    np.minimum.at(first, dense, np.arange(len(dense)))
    out = pd.DataFrame({claim_col: priced[claim_col].array[first]})  # keeps its type, also when empty
    out["lines"] = np.bincount(dense, minlength=n_claims)
    for label, col in (("Medicare allowed", "medicare_allowed"), *((f"{n} allowed", f"{n} allowed") for n in names)):
        cents, has = line_cents(priced[col].to_numpy(dtype=float, na_value=np.nan))
        total = np.bincount(dense, weights=cents, minlength=n_claims)
        missing = np.bincount(dense, weights=~has, minlength=n_claims)
        out[label] = np.where(missing == 0, total / 100.0, np.nan)
        out[f"{label[: -len(' allowed')]} lines not priced" if label != "Medicare allowed"
            else "lines without a Medicare amount"] = missing.astype(np.int64)
    return out


def price_contracts_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    contracts: ContractOptions | Iterable[Contract | str | os.PathLike[str]],
    *,
    claims_out: str | os.PathLike[str] | None = None,
    setting: str = "pfs",
    releases: Iterable[str] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    dayfirst: bool = False,
    wage_index: float | None = None,
    chunk_lines: int | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> int:
    """Price the claims file *src* (CSV or Parquet, any length) under *contracts* into *dst* (.csv or
    .parquet) in bounded memory (:func:`rvucalc.claims.stream.reprice_file`): every line once, in
    order, its columns as given, the contracts side by side (see the module docstring);
    *claims_out* gets the per-claim totals (:func:`summarise_wide`). Returns the lines written."""
    from ..claims import stream

    opts = contracts if isinstance(contracts, ContractOptions) else options(
        contracts, setting=setting, releases=releases, mirror=mirror, dayfirst=dayfirst, wage_index=wage_index)
    kw: dict[str, Any] = {} if chunk_lines is None else {"chunk_lines": chunk_lines}
    return stream.reprice_file(src, dst, options=opts, price=price_chunk, claims_out=claims_out,
                               summarise=summarise_wide, progress=progress, workers=workers, **kw)


__all__ = ["PER_CONTRACT", "SHARED_COLUMNS", "ContractOptions", "contracts_of", "options", "price_chunk",
           "price_contracts_file", "summarise_wide", "wide_columns"]
