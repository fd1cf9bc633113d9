"""Claim-line inputs shared by the CLFS, ASP and DMEPOS payment rules: codes, modifiers and units
as whole arrays, and the choice of a fee schedule row by code and pricing modifiers.

Pure numpy/pandas; nothing here reads a file or loops over lines in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..reasons import reason

BAD_UNITS = reason("FEE_BAD_UNITS", "units missing, not a number, or not above 0",
                   "claim line input (units of service, CMS-1500 item 24G)")

_SEP = r"[\s\-_:,/;|+]+"


def _factorize(values: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """``(inverse, uniques)`` of a 1-D object array: claim books repeat few distinct values, so the
    text work below is done once per distinct value and spread back with the inverse."""
    inv, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return inv, pd.Series(np.asarray(uniq, dtype=object), dtype=object)


def codes(hcpcs: Any) -> np.ndarray:
    """HCPCS codes as upper-case text without surrounding blanks (an object array).

    A number (``36415``, ``36415.0`` from a float column) is read as the digits it shows;
    nothing else is changed, so a mistyped code stays as typed and finds no row.
    """
    inv, s = _factorize(np.asarray(hcpcs, dtype=object).reshape(-1))
    num = s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    if num.any():
        f = pd.to_numeric(s[num], errors="coerce")
        whole = f.notna() & (f == np.floor(f.fillna(0)))
        s.loc[whole[whole].index] = f[whole].astype("int64").astype(str).str.zfill(5)
    out = s.astype(str).str.strip().str.upper()
    out = out.where(~out.isin(["NAN", "NONE", "<NA>"]) & s.notna().to_numpy(), "")
    return out.to_numpy(dtype=object)[inv]


def units(values: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(units, bad)``: float units per line (1 where *values* is None) and where they are unusable
    (missing, not a number, infinite, 0 or negative)."""
    if values is None:
        return np.ones(n), np.zeros(n, dtype=bool)
    arr = np.asarray(values).reshape(-1)
    if arr.size == 1 and n != 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise ValueError(f"units: {arr.size} values for {n} lines")
    if arr.dtype.kind in "iuf":
        u = arr.astype(float)
    else:
        inv, uniq = _factorize(arr.astype(object))
        uu = pd.to_numeric(uniq.astype(str).str.strip().str.replace(",", "", regex=False),
                           errors="coerce").to_numpy(dtype=float)
        u = uu[inv] if len(uu) else np.zeros(0)
    bad = ~np.isfinite(u) | (u <= 0)
    return np.where(bad, np.nan, u), bad


def modifier_text(modifiers: Any, n: int) -> np.ndarray:
    """One upper-case text of modifiers per line (``""`` where none); lists are joined with blanks."""
    if modifiers is None:
        return np.full(n, "", dtype=object)
    if isinstance(modifiers, str):
        items = np.full(n, modifiers, dtype=object)
    else:
        items = np.empty(len(modifiers), dtype=object)
        items[:] = list(modifiers)
        if len(items) == 1 and n != 1:
            items = np.full(n, items[0], dtype=object)
    if len(items) != n:
        raise ValueError(f"modifiers: {len(items)} values for {n} lines")
    try:
        inv, uniq = _factorize(items)
    except TypeError:  # lists of modifiers (unhashable): joined with blanks first
        s = pd.Series(items, dtype=object)
        seq = s.map(lambda v: isinstance(v, (list, tuple, np.ndarray)))
        s = s.where(~seq, s[seq].map(lambda v: " ".join(str(x) for x in v)))
        inv, uniq = _factorize(s.to_numpy(dtype=object))
    text = uniq.astype(str).str.strip().str.upper().where(uniq.notna(), "")
    text = text.where(~text.isin(["NAN", "NONE", "<NA>"]), "")
    return text.to_numpy(dtype=object)[inv] if len(text) else np.full(n, "", dtype=object)


def modifier_pairs(modifiers: Any, n: int) -> pd.DataFrame:
    """Long table ``line, mod`` of every modifier on every line.

    *modifiers* is None, one string per line (``"RR"``, ``"RR KX"``, ``"NU-KE"``, ``"26,TC"``) or
    one list/tuple of modifiers per line. Modifiers are upper-cased; blanks and separators ignored.
    """
    text = modifier_text(modifiers, n)
    inv, uniq = _factorize(text)
    parts = uniq.astype(str).str.split(_SEP, regex=True).explode()
    up = pd.DataFrame({"u": parts.index.to_numpy(dtype=np.int64), "mod": parts.to_numpy(dtype=object)})
    up = up[up["mod"].astype(str) != ""]
    lines = pd.DataFrame({"line": np.arange(n, dtype=np.int64), "u": np.asarray(inv, dtype=np.int64)})
    out = lines.merge(up, on="u", how="inner")[["line", "mod"]]
    return out.sort_values("line", kind="stable").reset_index(drop=True)


def _joined(mat: np.ndarray) -> np.ndarray:
    """Each row's non-empty cells, sorted, joined with ``+`` (``["RR", "", "KE"]`` -> ``"KE+RR"``)."""
    if mat.shape[1] == 0:
        return np.full(mat.shape[0], "", dtype=object)
    srt = np.sort(mat.astype(str), axis=1)
    key = pd.Series(srt[:, 0], dtype=object)
    for c in range(1, srt.shape[1]):
        col = pd.Series(srt[:, c], dtype=object)
        key = key.where(col == "", key.where(key == "", key + "+") + col)
    return key.to_numpy(dtype=object)


@dataclass(frozen=True)
class RowMatch:
    """Which fee schedule row each line takes.

    ``row``: index into the table (-1: none); ``key``: the line's pricing modifiers as the file
    keys them, sorted and joined with ``+`` (``""`` when none); ``known``: the code is in the table.
    """

    row: np.ndarray
    key: np.ndarray
    known: np.ndarray


def match_rows(table_hcpcs: Any, table_mods: Sequence[Any], hcpcs: np.ndarray, modifiers: Any) -> RowMatch:
    """Choose the row of a fee schedule keyed by code and modifiers for every line.

    A line's *pricing modifiers* are those of its modifiers that the file uses with that code
    (in any of the *table_mods* columns); every other modifier (KX, LT, 59 ...) does not select a
    row. The line takes the row whose modifiers are exactly its pricing modifiers, in any order:
    ``E0601 RR KX`` takes E0601's ``RR`` row, ``A4636 RR KE`` its ``RR``/``KE`` row, ``80053``
    (no modifier) the row without one. *modifiers*: as :func:`modifier_pairs` takes them. The work
    is done once per distinct code and modifier text, then spread to the lines. Raises ValueError
    if two table rows have the same key.
    """
    n = len(hcpcs)
    text = modifier_text(modifiers, n)
    ci, cu = _factorize(np.asarray(hcpcs, dtype=object))
    ti, tu = _factorize(text)
    inv, pair = pd.factorize(np.asarray(ci, dtype=np.int64) * max(len(tu), 1) + np.asarray(ti, dtype=np.int64))
    ucode = cu.to_numpy(dtype=object)[pair // max(len(tu), 1)] if len(pair) else np.zeros(0, dtype=object)
    utext = tu.to_numpy(dtype=object)[pair % max(len(tu), 1)] if len(pair) else np.zeros(0, dtype=object)
    u = _match_unique(table_hcpcs, table_mods, ucode, modifier_pairs(utext, len(pair)))
    if n == 0:
        return u
    return RowMatch(row=u.row[inv], key=u.key[inv], known=u.known[inv])


def _match_unique(table_hcpcs: Any, table_mods: Sequence[Any], hcpcs: np.ndarray, mods: pd.DataFrame) -> RowMatch:
    th = np.asarray(table_hcpcs, dtype=object)
    tm = np.column_stack([np.asarray(m, dtype=object) for m in table_mods]) if table_mods else \
        np.zeros((len(th), 0), dtype=object)
    tkey = pd.Series(th, dtype=object) + "|" + _joined(tm)
    if tkey.duplicated().any():
        dup = tkey[tkey.duplicated()].iloc[0]
        raise ValueError(f"two fee schedule rows for {dup!r} (code|modifiers)")
    vocab = pd.DataFrame({"hcpcs": np.repeat(th, tm.shape[1]), "mod": tm.reshape(-1)})
    vocab = vocab[vocab["mod"].astype(str) != ""].drop_duplicates()
    n = len(hcpcs)
    lm = mods.assign(hcpcs=hcpcs[mods["line"].to_numpy()] if len(mods) else np.zeros(0, dtype=object))
    lm = lm.merge(vocab, on=["hcpcs", "mod"], how="inner").drop_duplicates(["line", "mod"])
    if len(lm):
        lm = lm.sort_values(["line", "mod"], kind="stable")
        pos = lm.groupby("line").cumcount().to_numpy()
        mat = np.full((n, int(pos.max()) + 1), "", dtype=object)
        mat[lm["line"].to_numpy(), pos] = lm["mod"].to_numpy(dtype=object)
        key = _joined(mat)
    else:
        key = np.full(n, "", dtype=object)
    lkey = pd.Series(hcpcs, dtype=object) + "|" + pd.Series(key, dtype=object)
    row = pd.Index(tkey).get_indexer(lkey)
    known = pd.Index(pd.unique(th)).get_indexer(pd.Series(hcpcs, dtype=object)) >= 0
    return RowMatch(row=np.asarray(row, dtype=np.int64), key=key, known=np.asarray(known, dtype=bool))


def take(values: Any, row: np.ndarray, fill: Any = np.nan) -> np.ndarray:
    """``values[row]`` where ``row >= 0``, else *fill*."""
    v = np.asarray(values)
    safe = np.where(row >= 0, row, 0)
    got = v[safe] if len(v) else np.full(len(row), fill, dtype=object)
    if got.dtype.kind in "fc":
        return np.where(row >= 0, got, fill)
    out = got.astype(object)
    out[row < 0] = fill
    return out


def first_reason(*pairs: tuple[np.ndarray, str], n: int) -> np.ndarray:
    """Per line, the code of the first reason whose mask is True (``""`` where none)."""
    out = np.full(n, "", dtype=object)
    for mask, code in reversed(pairs):
        out = np.where(np.asarray(mask, dtype=bool), code, out)
    return out.astype(object)


__all__ = ["BAD_UNITS", "RowMatch", "codes", "first_reason", "match_rows", "modifier_pairs", "modifier_text",
           "take", "units"]
