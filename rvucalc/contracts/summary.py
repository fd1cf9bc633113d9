"""What a book of claims comes to under each contract: totals, percent of Medicare, by category,
by term, top codes, and per claim side by side.

Every sum is a sum of the lines' cents (exact). A **percent of Medicare** is the contract's
dollars over Medicare's on the lines that have both amounts (a line only one of them prices is
left out of both sides, so the ratio compares like with like), in percent points (120.0 is 120%,
declared so that a workbook shows it as a percentage); the
lines and dollars left out are counted beside it. A claim's contract total is blank (NaN, never
$0) when a line of the claim has no contract amount; ``<contract> lines not priced`` counts them
and ``<contract> reason`` gives the first such line's reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..calc.money import line_cents
from ..claims.columns import ATTR, DAYFIRST
from ..claims.contract import claim_keys
from ..claims.summary import total_charges, when_where
from ..export.formats import declare_kinds
from .categories import CATEGORIES, categories

PCT = "percent of Medicare"


def _contracts(priced: pd.DataFrame) -> list[str]:
    names = priced.attrs.get("rvucalc.contracts")
    if names:
        return list(names)
    return [str(c) for c in pd.unique(priced["contract"].astype(object))]


def _cents(priced: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    return line_cents(priced[col].to_numpy(dtype=float, na_value=np.nan))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """*num* / *den* in percent points (NaN where *den* is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1) * 100.0, np.nan)


def _frame_formats(df: pd.DataFrame, pct: tuple[str, ...] = (PCT,)) -> pd.DataFrame:
    """Declare what the columns hold (:func:`rvucalc.export.formats.declare_kinds`): percentages
    in percent points (128.18 is 128.18%; a workbook shows them as percentages), dollars, counts."""
    kinds = {c: "percent_points" for c in df.columns if c in pct or str(c).endswith(f" {PCT}")}
    kinds.update({c: "money" for c in df.columns if c not in kinds
                  and str(c).endswith(("allowed", "(lines with both)", "dollars"))})
    kinds.update({c: "count" for c in df.columns if c not in kinds and ("lines" in str(c) or c == "claims")})
    return declare_kinds(df, kinds)


def _group_table(priced: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per contract and *keys*: lines, lines priced, contract dollars, Medicare and contract dollars on
    lines with both, percent of Medicare."""
    c_cents, c_has = _cents(priced, "contract_allowed")
    m_cents, m_has = _cents(priced, "medicare_allowed")
    both = c_has & m_has
    base = pd.DataFrame({k: priced[k] for k in ["contract", *keys]})
    base["lines"] = 1
    base["lines priced"] = c_has.astype(np.int64)
    base["contract allowed"] = c_cents
    base["lines with both amounts"] = both.astype(np.int64)
    base["Medicare allowed (lines with both)"] = np.where(both, m_cents, 0)
    base["contract allowed (lines with both)"] = np.where(both, c_cents, 0)
    g = base.groupby(["contract", *keys], sort=False, observed=True, dropna=False).sum(numeric_only=True)
    g = _dollars(g.reset_index())
    for c in ("contract", *keys):
        g[c] = g[c].astype(object).astype(str)
    return g


def book_totals(priced: pd.DataFrame) -> pd.DataFrame:
    """One row per contract: lines, lines priced and not priced (with the most frequent reason),
    contract total, Medicare total on the lines with both amounts and the percent of Medicare."""
    names = _contracts(priced)
    blocks = _rows_of(priced, names) if names and len(priced) else []
    if blocks and all(isinstance(b, slice) for b in blocks):  # as price_contracts lays them out
        g = _block_table(priced, names, blocks)
        rows_of = dict(zip(names, blocks))
    else:
        g = _group_table(priced, [])
        order = {n: i for i, n in enumerate(names)}
        g = g.sort_values("contract", key=lambda s: s.map(order)).reset_index(drop=True)
        c_codes, c_names = pd.factorize(priced["contract"], use_na_sentinel=True)
        c_pos = {str(x): i for i, x in enumerate(c_names)}
        rows_of = {str(name): np.flatnonzero(c_codes == c_pos.get(str(name), -2)) for name in g["contract"]}
    g.insert(3, "lines not priced", g["lines"] - g["lines priced"])
    unpriced = priced["contract_allowed"].isna().to_numpy()
    # the unpriced lines' first reason codes, counted per distinct reason text (a categorical)
    reason = priced["reason"]
    if isinstance(reason.dtype, pd.CategoricalDtype):  # its codes as they are
        r_codes, r_text = np.asarray(reason.array.codes), list(reason.cat.categories)
    else:
        r_codes, r_text = pd.factorize(reason, use_na_sentinel=True)
    r_codes = np.where(r_codes < 0, len(r_text), r_codes)
    first_code = np.array([str(t).split("|")[0] for t in r_text] + [""], dtype=object)  # distinct texts
    top = []
    for name in g["contract"]:  # a few contracts
        sel = rows_of[str(name)]
        rows = np.flatnonzero(unpriced[sel])
        if not isinstance(sel, slice):
            rows = sel[rows]
        else:
            rows += sel.start or 0
        seen, at = np.unique(r_codes[rows], return_index=True)  # each text's first unpriced line
        seen = seen[np.argsort(at, kind="stable")]
        counts = np.bincount(r_codes[rows], minlength=len(first_code))[seen]
        vc = pd.Series(counts, index=first_code[seen]).groupby(level=0, sort=False).sum()
        vc = vc.sort_values(ascending=False, kind="stable")  # most lines first; ties as they come
        top.append("; ".join(f"{k} {v:,}" for k, v in vc.head(3).items()))
    g["main reasons not priced"] = top
    return _frame_formats(declare_kinds(g, {"lines": "count", "lines priced": "count",
                                            "lines not priced": "count", "lines with both amounts": "count"}))


def _block_table(priced: pd.DataFrame, names: list[str], blocks: list[slice]) -> pd.DataFrame:
    """:func:`_group_table` without keys for rows laid out contract after contract (*blocks*):
    the same table, summed block by block rather than grouped."""
    c_cents, c_has = _cents(priced, "contract_allowed")
    m_cents, m_has = _cents(priced, "medicare_allowed")
    cols: dict[str, list[Any]] = {c: [] for c in ("lines", "lines priced", "contract allowed",
                                                  "lines with both amounts", "Medicare allowed (lines with both)",
                                                  "contract allowed (lines with both)")}
    for sl in blocks:  # a few contracts
        cc, ch, both = c_cents[sl], c_has[sl], c_has[sl] & m_has[sl]
        cols["lines"].append(len(cc))
        cols["lines priced"].append(int(np.count_nonzero(ch)))
        cols["contract allowed"].append(int(cc.sum()))
        cols["lines with both amounts"].append(int(np.count_nonzero(both)))
        cols["Medicare allowed (lines with both)"].append(int(m_cents[sl][both].sum()))
        cols["contract allowed (lines with both)"].append(int(cc[both].sum()))
    g = pd.DataFrame({"contract": pd.Series(names, dtype=object).astype(str),
                      **{c: np.array(v, dtype=np.int64) for c, v in cols.items()}})
    return _dollars(g)


def _dollars(g: pd.DataFrame) -> pd.DataFrame:
    """The summed cents of a per-contract table as dollars (the contract total blank where no line
    was priced) and the percent of Medicare on the lines with both amounts."""
    for c in ("contract allowed", "Medicare allowed (lines with both)", "contract allowed (lines with both)"):
        g[c] = g[c].to_numpy(dtype=np.int64) / 100.0
    g["contract allowed"] = np.where(g["lines priced"] > 0, g["contract allowed"], np.nan)
    g[PCT] = _ratio(g["contract allowed (lines with both)"].to_numpy(float),
                    g["Medicare allowed (lines with both)"].to_numpy(float))
    return g


def _user(priced: pd.DataFrame, name: str) -> str:
    """The user's header of rvucalc's column *name* in contract rows (``attrs["rvucalc.columns"]``,
    :mod:`rvucalc.claims.columns`), else *name*."""
    return (priced.attrs.get(ATTR) or {}).get(name, name)


def by_category(priced: pd.DataFrame) -> pd.DataFrame:
    """Per contract and service category (:mod:`rvucalc.contracts.categories`), with an ``All
    services`` row per contract (the book's total)."""
    hc = _user(priced, "hcpcs")
    cat = categories(priced[hc] if hc in priced.columns else pd.Series([""] * len(priced)),
                     priced["fee_schedule"], priced["setting"])
    df = priced.assign(category=cat)
    g = _group_table(df, ["category"])
    allrows = _group_table(priced, []).assign(category="All services")
    out = pd.concat([g, allrows[g.columns]], ignore_index=True)
    names = _contracts(priced)
    rank = {c: i for i, c in enumerate((*CATEGORIES, "All services"))}
    out["_c"] = out["contract"].map({n: i for i, n in enumerate(names)})
    out["_k"] = out["category"].map(rank)
    out = out.sort_values(["_k", "_c"]).drop(columns=["_c", "_k"]).reset_index(drop=True)
    out = out[["category", *[c for c in out.columns if c != "category"]]]
    return _frame_formats(out)


def by_term(priced: pd.DataFrame) -> pd.DataFrame:
    """Per contract, version and term: lines and dollars, and each term's share of the contract's
    dollars ("which terms carry the money"); lines no term priced under ``(no amount)``."""
    df = priced.assign(term=priced["term"].astype(object).where(priced["contract_allowed"].notna(),
                                                                "(no amount)"))
    g = _group_table(df, ["contract_version", "term", "method"])
    tot = g.groupby("contract")["contract allowed"].transform("sum")
    g.insert(g.columns.get_loc("contract allowed") + 1, "share of the contract's dollars",
             _ratio(g["contract allowed"].fillna(0).to_numpy(float), tot.to_numpy(float)))
    names = {n: i for i, n in enumerate(_contracts(priced))}
    g = g.sort_values(["contract", "contract allowed"], key=lambda s: s.map(names) if s.name == "contract"
                      else -s.fillna(-1), kind="stable").reset_index(drop=True)
    return _frame_formats(g, (PCT, "share of the contract's dollars"))


def top_codes(priced: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """The *n* codes with the most contract dollars (all contracts together), side by side: lines,
    Medicare allowed, and per contract its dollars and percent of Medicare."""
    from ..codes import parse_code

    hc_col = _user(priced, "hcpcs")
    hc = priced[hc_col].astype(object) if hc_col in priced.columns else pd.Series([""] * len(priced))
    codes, uniq = pd.factorize(hc)
    norm = np.array([(parse_code(v) or ("",))[0] for v in uniq] + [""], dtype=object)  # distinct cells
    df = priced.assign(code=norm[codes])
    g = _group_table(df, ["code"])
    names = _contracts(priced)
    one = df[df["contract"].astype(object) == names[0]]  # each line once
    m_cents, m_has = _cents(one, "medicare_allowed")
    per = pd.DataFrame({"code": one["code"].to_numpy(), "lines": 1,
                        "lines with a Medicare amount": m_has.astype(np.int64),
                        "Medicare allowed": np.where(m_has, m_cents, 0)})
    wide = per.groupby("code", sort=False).sum()
    wide["Medicare allowed"] = np.where(wide["lines with a Medicare amount"] > 0,
                                        wide["Medicare allowed"].to_numpy(np.int64) / 100.0, np.nan)
    total = np.zeros(len(wide))
    for name in names:  # a few contracts
        part = g[g["contract"] == name].set_index("code").reindex(wide.index)
        wide[f"{name} allowed"] = part["contract allowed"].to_numpy()
        wide[f"{name} {PCT}"] = part[PCT].to_numpy()
        total += np.nan_to_num(part["contract allowed"].to_numpy(float))
    wide["_t"] = total
    wide = wide.sort_values("_t", ascending=False, kind="stable").drop(columns="_t").head(n).reset_index()
    return _frame_formats(wide)


def _rows_of(priced: pd.DataFrame, names: list[str]) -> list[np.ndarray | slice]:
    """Per contract, its rows: a block when the rows are as :func:`price_contracts` lays them out
    (contract after contract, each with every line in order), else the positions of its rows."""
    k = len(names)
    cat = priced["contract"]
    n = len(priced) // k if k else 0
    if isinstance(cat.dtype, pd.CategoricalDtype) and list(cat.cat.categories) == names and n * k == len(priced):
        codes = cat.cat.codes.to_numpy()
        if (codes.reshape(k, n) == np.arange(k)[:, None]).all():
            return [slice(j * n, (j + 1) * n) for j in range(k)]
    cc = cat.astype(object).to_numpy()
    return [np.flatnonzero(cc == name) for name in names]


def _reason_of(reason: pd.Series, sel: np.ndarray | slice, at: np.ndarray, found: np.ndarray) -> Any:
    """The reason of line *at* of the rows *sel*, per claim ("" where not *found*); a categorical
    when the rows' reasons are one (rvucalc's), so no text is copied per claim."""
    if isinstance(reason.dtype, pd.CategoricalDtype):
        cats = list(reason.cat.categories)
        codes = np.asarray(reason.array.codes)[sel][at] if len(at) else np.zeros(0, dtype=np.int64)
        if "" not in cats:
            cats.append("")
        empty = cats.index("")
        codes = np.where(found & (codes >= 0), codes, empty)
        return pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
    text = reason.astype(object).to_numpy()[sel][at] if len(at) else np.zeros(0, dtype=object)
    return np.where(found, text, "")


def claims_side_by_side(priced: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: lines, Medicare allowed (sum; blank when a line has none) and, per
    contract, its total, percent of Medicare, lines not priced and the first such line's reason.

    (:func:`rvucalc.contracts.price_book` gives the same table with the rows, without reading the
    rows' text again.)"""
    names = _contracts(priced)
    rows = _rows_of(priced, names)
    first = rows[0]
    if "claim_number" in priced.columns:
        dense = priced["claim_number"].to_numpy(dtype=np.int64)[first]
    elif _user(priced, "claim_id") in priced.columns:
        sub = priced.iloc[first]
        key, _missing = claim_keys(sub[_user(priced, "claim_id")], sub["line"].to_numpy(dtype=np.int64))
        dense = pd.factorize(key)[0].astype(np.int64)
    else:
        raise ValueError("per-claim totals need the claim_number (or claim_id) column of the priced rows")
    n_claims = int(dense.max()) + 1 if len(dense) else 0
    # when and where each claim was served, and its charges, from the user's columns repeated on
    # the rows (rvucalc.claims.summary), as the repricer's per-claim totals say them
    found = _found(priced)
    lines_once = priced.iloc[first]
    place = when_where(lines_once, found, dense, n_claims, bool(priced.attrs.get(DAYFIRST, False)))
    charges = total_charges(lines_once[found["charge"]], dense, n_claims) if "charge" in found else None
    allowed = priced["contract_allowed"].to_numpy(dtype=float, na_value=np.nan)
    medicare = priced["medicare_allowed"].to_numpy(dtype=float, na_value=np.nan)
    reason = priced["reason"]
    per = [(name, claim_sums(dense, n_claims, *line_cents(allowed[sel])), reasons_at(reason, sel))
           for name, sel in zip(names, rows)]
    claim_col = _user(priced, "claim_id")
    claim = (claim_col, priced[claim_col].array[first]) if claim_col in priced.columns else None
    m = claim_sums(dense, n_claims, *line_cents(medicare[first]), first_missing=False)
    return side_by_side(claim, dense, place, charges, m, per)


def _found(priced: pd.DataFrame) -> dict[str, str]:
    """rvucalc's name -> the user's header, for the pricing columns repeated on the rows."""
    return {c: h for c, h in (priced.attrs.get(ATTR) or {}).items() if h in priced.columns}


def reasons_at(reason: pd.Series, sel: np.ndarray | slice) -> Any:
    """*reason(at, found)* for :func:`side_by_side`: the reasons of the rows *sel*."""
    return lambda at, found: _reason_of(reason, sel, at, found)


def claim_sums(dense: np.ndarray, n_claims: int, cents: np.ndarray, has: np.ndarray, *,
               first_missing: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per claim (*dense*: each line's claim, 0-based): the sum of its lines' *cents* where *has*
    (float64, exact below 2**53 cents), how many of its lines have none and (*first_missing*)
    its first line without one (``len(dense)`` where every line has one)."""
    total = np.bincount(dense, weights=cents, minlength=n_claims)
    bad = np.flatnonzero(~has)
    at = dense[bad]
    missing = np.bincount(at, minlength=n_claims)
    if not first_missing:
        return total, missing, None
    first_bad = np.full(n_claims, len(dense), dtype=np.int64)
    np.minimum.at(first_bad, at, bad)  # the first line without an amount of each claim
    return total, missing, first_bad


def side_by_side(claim: tuple[str, Any] | None, dense: np.ndarray,
                 place: dict[str, object], charges: np.ndarray | None,
                 medicare: tuple[np.ndarray, np.ndarray, Any],
                 per: list[tuple[str, tuple[np.ndarray, np.ndarray, Any], Any]]) -> pd.DataFrame:
    """The table of :func:`claims_side_by_side` from its parts, per line: the claim id column's
    ``(header, values)`` (None: no such column), each line's claim (*dense*, 0-based in order of
    first line); per claim, its dates and place (:func:`rvucalc.claims.summary.when_where`) and
    total charges; Medicare's and, per contract, ``(name, sums, reason)`` of :func:`claim_sums`,
    *reason(at, found)* giving the reason of each claim's line *at* where *found*."""
    n_claims = int(dense.max()) + 1 if len(dense) else 0
    at = first_lines(dense)
    cols: dict[str, Any] = {}
    if claim is not None:
        cols[claim[0]] = claim[1][at] if len(at) else []
    cols["claim_number"] = np.arange(n_claims)
    cols.update(place)
    cols["lines"] = np.bincount(dense, minlength=n_claims)
    if charges is not None:
        cols["total_charges"] = charges
    m_sum, m_missing, _ = medicare
    cols["Medicare allowed"] = np.where(m_missing == 0, m_sum / 100.0, np.nan)
    cols["lines without a Medicare amount"] = m_missing.astype(np.int64)
    for name, (c_sum, c_missing, first_bad), reason_at in per:  # a few contracts
        cols[f"{name} allowed"] = np.where(c_missing == 0, c_sum / 100.0, np.nan)
        # a claim's percent needs both totals, i.e. every line with both amounts
        cols[f"{name} {PCT}"] = np.where((c_missing == 0) & (m_missing == 0), _ratio(c_sum, m_sum), np.nan)
        cols[f"{name} lines not priced"] = c_missing.astype(np.int64)
        found = first_bad < len(dense)
        cols[f"{name} reason"] = reason_at(np.where(found, first_bad, 0), found)
    out = pd.DataFrame(cols, copy=False)
    return _frame_formats(out)


def first_lines(dense: np.ndarray) -> np.ndarray:
    """The first line of each claim (*dense*: claim numbers 0, 1, 2... per line). When the claims
    are numbered in order of their first line (as pricing numbers them), those are the lines
    where a number larger than every one before appears: no scatter over the lines."""
    if not len(dense):
        return np.zeros(0, dtype=np.int64)
    n_claims = int(dense.max()) + 1
    new = np.empty(len(dense), dtype=bool)
    new[0] = True
    np.greater(dense[1:], np.maximum.accumulate(dense)[:-1], out=new[1:])
    at = np.flatnonzero(new)
    if len(at) == n_claims and (dense[at] == np.arange(n_claims)).all():
        return at
    at = np.full(n_claims, len(dense), dtype=np.int64)  # numbered otherwise (rows of a subset...)
    np.minimum.at(at, dense, np.arange(len(dense)))
    return at


def notes(priced: pd.DataFrame) -> list[str]:
    """One sentence per contract: its total and percent of Medicare, and what was not priced."""
    t = book_totals(priced)
    out = []
    for r in t.itertuples(index=False):
        row: dict[str, Any] = dict(zip(t.columns, r))
        pct = row[PCT]
        total = row["contract allowed"]
        s = (f"{row['contract']}: ${total:,.2f} on {row['lines priced']:,} of {row['lines']:,} lines"
             if total == total else f"{row['contract']}: no line priced")
        if pct == pct:
            s += (f"; {pct:.2f}% of Medicare on the {row['lines with both amounts']:,} lines with both "
                  "amounts")
        if row["lines not priced"]:
            s += f"; {row['lines not priced']:,} lines not priced ({row['main reasons not priced']})"
        out.append(s)
    return out


__all__ = ["PCT", "book_totals", "by_category", "by_term", "claim_sums", "claims_side_by_side", "notes", "side_by_side",
           "top_codes"]
