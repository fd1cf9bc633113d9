"""The facility systems' stages of the claims pipeline (``system="hopd"`` and ``"asc"``).

:func:`rvucalc.claims.pipeline.price_chunk` normalises a chunk (:mod:`rvucalc.claims.normalise`,
shared with the PFS) and calls :func:`price` through :data:`HOPD` or :data:`ASC`, the two
facility systems (the same stages, OPPS or ASC rules). The stages here:

1. :func:`choose_releases` - the OPPS Addendum B / ASC Addenda release per date of service:
   the newest release at hand of the date's year effective by the date's quarter (CMS updates
   both quarterly), else the earliest of a later quarter of that year, with a note; another
   year is never used (its rates, conversion factor and deductible differ);
2. :func:`wage_index` - the facility's wage index per line, from (in this order) a
   ``wage_index`` column; a ``ccn`` column with the IPPS Table 2 given as option
   ``ipps_table2`` (OPPS: the hospital's own wage index, 42 CFR 419.43(c)); a ``cbsa`` or
   ``county_fips`` column looked up in the year's CMS wage index table (for OPPS an
   approximation of the hospital's IPPS wage index, flagged ``WI_APPROX_OPPS``); the option
   ``wage_index``; a ``zip`` column, where the ZIP's PFS locality lies in one CBSA (ZIP5 ->
   LOCCO -> county crosswalk, of the line's year: :func:`rvucalc.sites.zip_wage_index`, flagged
   ``FACILITY_PLACED_BY_ZIP``); otherwise the national rate (wage index 1), flagged
   ``FACILITY_NATIONAL_RATE`` (with the note why a ZIP given did not place it);
3. lookup, line rules, claim rules and money: :mod:`rvucalc.claims.opps` and
   :mod:`rvucalc.claims.asc`.

Prepared tables (each release's code arrays) are built once per process and reused by every
chunk; :func:`clear_cache` forgets them.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import catalogue
from ..calc import policy as P
from ..calc.edits import DENYING as EDIT_DENYING
from ..codes import QUIET
from ..errors import ChecksumError, DownloadError, MissingFileError, RvucalcError
from ..reasons import reason
from ..sites import NATIONAL_FACILITY, PLACED_BY_ZIP, ZIP_CODES, ZIP_NO_FILES, zip_wage_index
from . import asc as asc_stages
from . import normalise as N
from . import opps as opps_stages
from .normalise import Lines

#: The modifiers the facility rules read (73, 52, 74 in both systems; FB, FC in the ASC).
FACILITY_MODIFIERS = ("73", "52", "74", "FB", "FC")
#: Modifiers that do not change a facility payment: every modifier of no price effect and no
#: cost-sharing waiver (:data:`rvucalc.codes.QUIET`: informational, anatomic, laterality, GP...).
FACILITY_INFORMATIONAL = QUIET | {"LT", "RT"}

NO_RELEASE = reason("FACILITY_NO_RELEASE", "no facility fee schedule (OPPS Addendum B or ASC "
                    "Addenda) for the date of service's year is at hand; see release_note",
                    "CMS quarterly OPPS/ASC addenda (see the release catalogue)")
RELEASE_FALLBACK = reason("FACILITY_RELEASE_OTHER_QUARTER", "the addendum of the date's quarter is "
                          "not at hand: another quarter of the same year was used (release_note)",
                          "CMS quarterly OPPS/ASC addenda")
NATIONAL = NATIONAL_FACILITY  # "FACILITY_NATIONAL_RATE" (rvucalc.sites)
BAD_WAGE_INDEX = reason("FACILITY_BAD_WAGE_INDEX", "wage index not a number between 0.1 and 5",
                        "claim line input")
CCN_UNKNOWN = reason("OPPS_CCN_NOT_IN_TABLE2", "the hospital's CCN has no wage index in the IPPS "
                     "Table 2 given", "42 CFR 419.43(c) (the hospital's IPPS wage index)")
CCN_NO_TABLE = reason("OPPS_CCN_NO_TABLE2", "a CCN was given but no IPPS Table 2 "
                      "(option ipps_table2), so the hospital's wage index is unknown",
                      "42 CFR 419.43(c)")
WI_NOT_FOUND = reason("FACILITY_WAGE_INDEX_NOT_FOUND", "the CBSA or county has no single wage "
                      "index in the year's table (see the other reasons)",
                      "CMS wage index tables")

WI_NO_TABLE = reason("FACILITY_NO_WAGE_TABLE", "no wage index table for the line's year is at hand "
                     "(CMS mirror or download cache): put that year's wage index file there, or give a "
                     "wage_index column", "CMS wage index tables (42 CFR 419.43, 416.172)")

_SYSTEM = {"hopd": ("opps", ("addendum_b",)), "asc": ("asc", ("addendum_aa", "addendum_bb"))}
_TABLES: dict[tuple[str, str | None], Any] = {}
_FAILED: dict[tuple[str, str | None], str] = {}
#: (release id, mirror) -> the CMS files a prepared table was read from (for provenance).
SOURCES: dict[tuple[str, str | None], list[Any]] = {}
#: Key of the extra entry :func:`price` returns beside the columns: the files it used.
SOURCES_KEY = "rvucalc.sources"
#: Held while a release's table is prepared, so threads pricing parts at once load it once.
_LOAD = threading.RLock()


def clear_cache() -> None:
    """Forget every prepared table, wage index table and release list of this process."""
    _TABLES.clear()
    _FAILED.clear()
    SOURCES.clear()
    available.cache_clear()
    from ..loading import wage_tables

    wage_tables.cache_clear()
    _table2.cache_clear()
    _zip_schedule.cache_clear()


def _offline() -> bool:
    from ..facade import offline

    return offline()


@functools.lru_cache(maxsize=32)
def available(system: str, mirror: str | None) -> tuple[str, ...]:
    """Ids of catalogued releases of *system* (``"opps"``/``"asc"``) at hand (or downloadable)."""
    from ..fetch import locate

    out = []
    for r in catalogue.releases(system):
        tables = [t for t in _SYSTEM["hopd" if system == "opps" else "asc"][1] if t in r.files]
        if not tables:
            continue
        try:
            locate(r, tables[0], mirror=mirror, download=False, progress=False)
            out.append(r.id)
        except ChecksumError:  # at hand, but not the recorded file: its lines say so (prepare)
            out.append(r.id)
        except (MissingFileError, DownloadError):
            if r.url and not _offline():
                out.append(r.id)
    return tuple(out)


def choose_for_quarter(system: str, year: int, quarter: int, ids: tuple[str, ...]
                       ) -> tuple[str | None, str]:
    """Release id for a date in *year*/*quarter* of *system* and a note ("" when it is the one).

    The newest release of the year effective by the quarter; else the earliest later one of
    the same year (noted); never another year.
    """
    rels = [catalogue.get(i) for i in ids]
    rels = [r for r in rels if r.year == year]
    if not rels:
        return None, f"no CY{year} {system.upper()} addendum at hand"
    q = {r.id: (r.order[1] or 1) for r in rels}
    by = [r for r in rels if q[r.id] <= quarter]
    pick = max(by, key=lambda r: r.order) if by else min(rels, key=lambda r: r.order)
    if q[pick.id] == quarter:
        return pick.id, ""
    return pick.id, (f"no {system.upper()} addendum of {year} Q{quarter} at hand; priced with "
                     f"{pick.label}")


def prepare(system: str, release_id: str, mirror: str | None) -> opps_stages.OppsTable | asc_stages.AscTable:
    """The prepared table of a release (once per process); raises RvucalcError with a reason."""
    got = _TABLES.get((release_id, mirror))
    if got is not None:
        return got
    with _LOAD:
        return _prepare(system, release_id, mirror)


def _prepare(system: str, release_id: str, mirror: str | None) -> opps_stages.OppsTable | asc_stages.AscTable:
    key = (release_id, mirror)
    if key in _FAILED:
        raise RvucalcError(_FAILED[key])
    got = _TABLES.get(key)
    if got is not None:
        return got
    from ..facade import read_cached
    from ..fetch import locate
    from ..iotools import asc as asc_io
    from ..iotools import opps as opps_io

    rel = catalogue.get(release_id)
    dl = not _offline()
    from ..loading import source_of

    extra: list[Any] = []  # sources that are not a located addendum (Addendum FF's)

    try:
        if system == "opps":
            loc = locate(rel, "addendum_b", mirror=mirror, download=dl, progress=False)
            got = opps_stages.prepare_opps(read_cached(loc, opps_io.read_addendum_b), year=rel.year,
                                 release=rel.id)
            locs = [loc]
        else:
            loc = locate(rel, "addendum_aa", mirror=mirror, download=dl, progress=False)
            aa = read_cached(loc, asc_io.read_addendum_aa)
            locs = [loc]
            bb = None
            if "addendum_bb" in rel.files:
                loc_bb = locate(rel, "addendum_bb", mirror=mirror, download=dl, progress=False)
                bb = read_cached(loc_bb, asc_io.read_addendum_bb)
                locs.append(loc_bb)
            # Addendum FF's device portions when at hand (else J8 amounts away from wage index
            # 1.0 say they are approximate, and FB/FC and 73 on J8 are not priced)
            from ..loading import device_portions

            ff = device_portions(rel, mirror, dl)
            if ff is not None:
                extra.append(ff[1])
            got = asc_stages.prepare_asc(aa, bb, year=rel.year, release=rel.id,
                                         device_offset=None if ff is None else ff[0])
    except RvucalcError as exc:
        _FAILED[key] = f"{release_id} could not be loaded: {exc}"
        raise RvucalcError(_FAILED[key]) from exc
    _TABLES[key] = got
    SOURCES[key] = [*(source_of(x) for x in locs), *extra]
    return got


def _small_factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct, codes)`` of non-negative-or--1 integers with a small range (year x 10 +
    quarter): a lookup table instead of a hash."""
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    if span > 1_000_000:
        codes, uniq = pd.factorize(values)
        return np.asarray(uniq), codes
    present = np.zeros(span, dtype=bool)
    present[values - lo] = True
    uniq = np.flatnonzero(present) + lo
    where = np.cumsum(present) - 1
    return uniq, where[values - lo]


def choose_releases(lines: Lines, system: str, opts: Any
                    ) -> tuple[np.ndarray, list[str], list[Any], np.ndarray, list[str]]:
    """Stage: ``(rel_line, ids, tables, note_codes, notes)`` - the release per line.

    Named releases (``opts.releases``, e.g. ``("opps-2025-01",)``) are the only candidates;
    a release that cannot be loaded costs its lines ``FACILITY_NO_RELEASE`` with the reason in
    ``release_note``.
    """
    n = lines.n
    rb = lines.reasons
    named = tuple(i for i in (opts.releases or ()) if i in {r.id for r in catalogue.releases(system)})
    ids_at_hand = named if opts.releases is not None else available(system, opts.mirror)
    yq = np.where(lines.year >= 0, lines.year * 10 + lines.quarter, -1)
    yq_uniq, yq_codes = np.unique(yq, return_inverse=True) if len(yq) < 4096 else _small_factorize(yq)
    ids: list[str] = []
    tables: list[Any] = []
    rel_of = np.full(len(yq_uniq), -1, dtype=np.int64)
    notes = [""] * len(yq_uniq)
    for i, v in enumerate(yq_uniq):  # distinct year-quarters
        if v < 0:
            continue
        rid, note = choose_for_quarter(system, int(v) // 10, int(v) % 10, ids_at_hand)
        if rid is None and opts.releases is not None:  # the caller's list, not the files at hand
            note = (f"no CY{int(v) // 10} {system.upper()} addendum among the releases asked for "
                    f"({', '.join(map(str, opts.releases)) or 'none'})")
        if rid is not None:
            try:
                t = prepare(system, rid, opts.mirror)
            except RvucalcError as exc:
                notes[i] = str(exc)
                continue
            if rid not in ids:
                ids.append(rid)
                tables.append(t)
            rel_of[i] = ids.index(rid)
        notes[i] = note
    rel_line = rel_of[yq_codes] if n else np.zeros(0, dtype=np.int64)
    noted = np.array([bool(x) for x in notes] + [False])[yq_codes] if n else np.zeros(0, dtype=bool)
    rb.add(NO_RELEASE.code, (rel_line < 0) & (lines.year >= 0))
    rb.add(RELEASE_FALLBACK.code, (rel_line >= 0) & noted)
    return rel_line, ids, tables, yq_codes.astype(np.int64), notes


# ---------------------------------------------------------------------------------------------
# wage index


def _wage_table(year: int, setting: str, mirror: str | None) -> Any:
    """The year's wage index table and its files (:func:`rvucalc.loading.wage_tables`)."""
    from ..loading import wage_tables

    return wage_tables(year, setting, mirror, not _offline())


@functools.lru_cache(maxsize=4)
def _table2_source(path: str) -> Any:
    """The :class:`rvucalc.models.Source` of an IPPS Table 2 the user gave (file and sha256)."""
    from pathlib import Path

    from ..fetch import sha256_file
    from ..models import Source

    p = Path(path)
    return Source(release="user", release_label="IPPS Table 2 supplied by the user", table="ipps_table2",
                  file=p.name, sha256=sha256_file(p), origin="user", verified=False,
                  note="the hospitals' wage index by CCN (42 CFR 419.43(c))")


@functools.lru_cache(maxsize=4)
def _table2(path: str) -> pd.Series:
    """CCN (6 digits) -> the hospital's wage index, from CMS's IPPS Table 2 at *path*."""
    from ..iotools import opps as opps_io

    t2 = opps_io.read_ipps_table2(path)
    s = pd.Series(t2["wage_index"].to_numpy(float), index=t2["ccn"].astype(str).to_numpy())
    return s[~s.index.duplicated()]


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    text = np.array([N._text(v) for v in uniq] + [""], dtype=object)  # distinct values
    return codes.astype(np.int64), text


def wage_index(chunk: pd.DataFrame, lines: Lines, setting: str, year_line: np.ndarray,
               opts: Any, sources: list[Any] | None = None) -> np.ndarray:
    """Stage: the facility's wage index per line (see the module docstring for the order).

    Works on distinct values; lines with no single value get NaN and a reason (the rules then
    refuse them with ``OPPS_NO_WAGE_INDEX`` / ``ASC_NO_WAGE_INDEX``). The files a line's value
    was read from (wage index table, county crosswalk, IPPS Table 2) are appended to *sources*.
    """
    files: list[Any] = [] if sources is None else sources
    n = lines.n
    rb = lines.reasons
    wi = np.full(n, np.nan)
    todo = np.ones(n, dtype=bool)
    if "zip" in chunk.columns:  # the ZIP's codes in a fixed order, whatever the chunk holds
        for code in (NATIONAL.code, *ZIP_CODES):
            rb.order(code)
    if "wage_index" in chunk.columns:
        codes, text = _distinct_text(chunk["wage_index"])
        num = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(float)
        ok = np.isfinite(num) & (num >= 0.1) & (num <= 5.0)
        given = text != ""
        v = num[codes]
        rb.add(BAD_WAGE_INDEX.code, (given & ~ok)[codes])
        use = given[codes]
        wi = np.where(use & ok[codes], v, wi)
        todo &= ~use
    if setting == "opps" and "ccn" in chunk.columns:
        codes, text = _distinct_text(chunk["ccn"])
        given = (text != "")[codes] & todo
        if given.any():
            path = opts.get("ipps_table2")
            if path is None:
                rb.add(CCN_NO_TABLE.code, given)
            else:
                t2 = _table2(os.fspath(path))
                files.append(_table2_source(os.fspath(path)))
                keys = pd.Series(text, dtype=object).str.replace(r"\D", "", regex=True).str.zfill(6)
                vals = keys.map(t2).astype(float).to_numpy()
                v = vals[codes]
                rb.add(CCN_UNKNOWN.code, given & np.isnan(v))
                wi = np.where(given, v, wi)
            todo &= ~given
    for col, kind in (("cbsa", "cbsa"), ("county_fips", "county_fips")):
        if col not in chunk.columns or not todo.any():
            continue
        codes, text = _distinct_text(chunk[col])
        given = (text != "")[codes] & todo
        if not given.any():
            continue
        for y in np.unique(year_line[given]):  # distinct years
            sel = given & (year_line == y)
            if y < 0:  # no release for these lines (FACILITY_NO_RELEASE): no wage index is looked up
                continue
            got = _wage_table(int(y), setting, opts.mirror)
            if got is None:
                rb.add(WI_NO_TABLE.code, sel)
                continue
            table, table_src, county_src = got
            files.extend(table_src + (county_src if kind == "county_fips" else []))
            used = np.unique(codes[sel])
            res = table.lookup_many(**{kind: list(text[used])}, setting=setting)
            val = np.full(len(text), np.nan)
            val[used] = res["wage_index"].to_numpy(float)
            why = np.full(len(text), "", dtype=object)
            why[used] = res["reason"].to_numpy(dtype=object)
            wi = np.where(sel, val[codes], wi)
            for r in pd.unique(why[used]):  # distinct reason codes
                if r:
                    rb.add(str(r), sel & (why[codes] == r))
            rb.add(WI_NOT_FOUND.code, sel & np.isnan(val[codes]))
        todo &= ~given
    fixed = opts.get("wage_index")
    if fixed is not None and todo.any():
        wi = np.where(todo, float(fixed), wi)
        todo[:] = False
    if todo.any() and "zip" in chunk.columns:
        wi = _by_zip(lines, setting, year_line, opts, todo, wi, files)
    if todo.any():
        rb.add(NATIONAL.code, todo)
        wi = np.where(todo, 1.0, wi)
    return wi


@functools.lru_cache(maxsize=8)
def _zip_schedule(year: int, mirror: str | None) -> Any:
    """The PFS release of *year* whose ZIP5 file and LOCCO place a ZIP (once per process), or
    the one-sentence reason none is at hand (a str)."""
    from ..facade import load

    try:
        return load(year, mirror=mirror, progress=False, download=not _offline())
    except RvucalcError as exc:
        return f"no CY{year} PFS release at hand for its ZIP5 file and LOCCO: {exc}"


def _by_zip(lines: Lines, setting: str, year_line: np.ndarray, opts: Any, todo: np.ndarray,
            wi: np.ndarray, files: list[Any]) -> np.ndarray:
    """The lines still without a wage index that have a ZIP: placed by it where its PFS locality
    lies in one CBSA (:func:`rvucalc.sites.zip_wage_index`; ``FACILITY_PLACED_BY_ZIP``, and
    *todo* cleared for them), else a note why not (they keep the national rate). Works on the
    distinct ZIPs of each year (the year of the line's facility release, never another)."""
    rb = lines.reasons
    zc = np.asarray(lines.zip_codes, dtype=np.int64)
    zu = np.asarray(lines.zip_uniq, dtype=object)  # the last entry ("") is a missing ZIP
    given = todo & (zc >= 0) & (zu != "")[zc]
    for y in np.unique(year_line[given]):  # distinct years
        if y < 0:
            continue
        sel = given & (year_line == y)
        used = np.unique(zc[sel])  # distinct ZIPs of these lines
        with _LOAD:  # threads pricing parts at once load the year's release once
            fs = _zip_schedule(int(y), opts.mirror)
        if isinstance(fs, str):
            rb.add(ZIP_NO_FILES.code, sel)
            continue
        got, srcs = zip_wage_index(fs, setting, zu[used])
        val = np.full(len(zu), np.nan)
        val[used] = got["wage_index"].to_numpy(float)
        code = np.full(len(zu), "", dtype=object)
        code[used] = got["reason"].to_numpy(dtype=object)
        note = np.full(len(zu), "", dtype=object)
        note[used] = got["wi_reason"].to_numpy(dtype=object)
        placed = sel & (code == PLACED_BY_ZIP.code)[zc]
        wi = np.where(placed, val[zc], wi)
        for c in (*ZIP_CODES, *pd.unique(got["wi_reason"])):  # a few codes, in a fixed order
            if c:
                rb.add(str(c), sel & ((code == c) | (note == c))[zc])
        files.extend(srcs)
        todo &= ~placed
    return wi


# ---------------------------------------------------------------------------------------------
# modifiers


def modifiers(lines: Lines) -> dict[str, np.ndarray]:
    """The facility modifiers per line, from the ``modifiers`` column and the HCPCS cell.

    Reads every modifier as written (:attr:`Lines.modifier_lists`, parsed once per distinct
    value by the normalise stage), and replaces the PFS ``MOD_NOT_PRICED`` note by the facility
    one: modifiers neither applied by the facility rules nor informational (50, 26, TC, 62...)
    are noted.
    """
    n = lines.n
    keys = (*FACILITY_MODIFIERS, "_other")
    out = {k: np.zeros(n, dtype=bool) for k in keys}
    for codes, lists in lines.modifier_lists:  # the HCPCS cell, the modifiers column
        t = np.zeros((len(lists), len(keys)), dtype=bool)
        for i, mods in enumerate(lists):  # distinct values, not lines
            for m in mods:
                if m in FACILITY_MODIFIERS:
                    t[i, FACILITY_MODIFIERS.index(m)] = True
                elif m not in FACILITY_INFORMATIONAL:
                    t[i, -1] = True
        if t.any():
            for j, k in enumerate(keys):
                if t[:, j].any():
                    out[k] |= t[codes, j]
    rb = lines.reasons
    if N.MOD_NOT_PRICED.code in rb.codes:
        rb.bits &= ~rb.bit(N.MOD_NOT_PRICED.code)
    rb.add(N.MOD_NOT_PRICED.code, out.pop("_other"))
    return out


# ---------------------------------------------------------------------------------------------
# the system


def _dense(keys: np.ndarray) -> np.ndarray:
    """Keys usable as array positions: as they are when small (at most 4 x the lines; claim keys
    from :func:`rvucalc.claims.contract.claim_keys` are), else renumbered 0..k-1."""
    keys = np.asarray(keys, dtype=np.int64)
    if not len(keys) or (keys.min() >= 0 and keys.max() < 4 * len(keys) + 16):
        return keys
    return pd.factorize(keys)[0].astype(np.int64)


def price(chunk: pd.DataFrame, lines: Lines, system: str, opts: Any,
          schedules: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """All facility stages over one normalised chunk (*system*: ``"hopd"`` or ``"asc"``)."""
    cat_system = _SYSTEM[system][0]
    setting = "opps" if system == "hopd" else "asc"
    n = lines.n
    rb = lines.reasons
    refused = rb.any_of({P.BAD_UNITS.code, P.BAD_DATE.code, N.BAD_CODE.code, N.ERROR_CELL.code,
                         *EDIT_DENYING})
    rel_line, ids, tables, yq_codes, notes = choose_releases(lines, cat_system, opts)
    year_line = np.where(rel_line >= 0, np.array([t.year for t in tables] + [-1])[rel_line], -1)
    files: list[Any] = []
    wi = wage_index(chunk, lines, setting, year_line, opts, files)
    mods = modifiers(lines)
    L = opps_stages.opps_lines(n) if system == "hopd" else asc_stages.asc_lines(n)
    lookup = opps_stages.opps_lookup if system == "hopd" else asc_stages.asc_lookup
    for r, table in enumerate(tables):  # a handful of releases
        idx = np.flatnonzero((rel_line == r) & ~refused)
        code_u = np.append(table.hcpcs.get_indexer(lines.hcpcs_uniq), -1).astype(np.int64)
        lookup(L, table, code_u[lines.hcpcs_codes[idx]], idx, rb)  # type: ignore[arg-type]
    refused = refused | (rel_line < 0)
    claim = _dense(lines.claim)
    session = _dense(lines.group)
    rules = opps_stages.opps_rules if system == "hopd" else asc_stages.asc_rules
    cols = rules(L, claim=claim, session=session, line=lines.line, units=lines.units,  # type: ignore[arg-type]
                 wage_index=wi, rb=rb, modifiers=mods, refused=refused,
                 denied=rb.any_of(EDIT_DENYING))
    from .lines import categorical

    cols["release"] = categorical(rel_line, ids)
    cols["release_note"] = categorical(yq_codes if n else rel_line, notes)
    # the files behind the amounts besides the addenda (kept in the result's attrs)
    cols[SOURCES_KEY] = [*(s for i in ids for s in SOURCES.get((i, opts.mirror), [])), *files]
    return cols


class FacilitySystem:
    """One facility payment system as :mod:`rvucalc.claims.pipeline` sees it (``"hopd"`` or ``"asc"``)."""

    #: The columns a chunk must have (the place of service is not needed: the setting is the system).
    REQUIRED = ("claim_id", "hcpcs", "date_of_service")
    #: No place column is required: without a wage index, CBSA, county or CCN the rate is national.
    PLACE_COLUMNS: tuple[str, ...] = ()
    #: :meth:`price` reads the chunk's own columns too (wage index, CBSA, county, CCN, modifiers).
    WANTS_CHUNK = True

    def __init__(self, name: str, columns: tuple[str, ...]) -> None:
        self.name = name
        #: Columns this system adds (in this order).
        self.OUTPUT_COLUMNS = ("release", "release_note", *columns)
        #: What the numeric ones hold (workbook number formats, :data:`OUTPUT_KINDS`).
        self.OUTPUT_KINDS = {c: k for c, k in OUTPUT_KINDS.items() if c in self.OUTPUT_COLUMNS}

    def price(self, lines: Lines, opts: Any, schedules: Mapping[str, Any] | None = None, *,
              chunk: pd.DataFrame) -> dict[str, Any]:
        """All stages over one normalised chunk; returns :attr:`OUTPUT_COLUMNS` arrays."""
        return price(chunk, lines, self.name, opts, schedules)

    @staticmethod
    def clear_cache() -> None:
        clear_cache()


#: What the facility systems' numeric output columns hold (for workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
OUTPUT_KINDS = {
    "paid_units": "units", "discount_factor": "factor", "facility_wage_index": "index",
    "facility_payment": "money", "beneficiary_copay": "money", "medicare_payment": "money",
    "claim_total": "money",
}

#: Hospital outpatient claim lines (OPPS Addendum B): ``system="hopd"``.
HOPD = FacilitySystem("hopd", opps_stages.OPPS_COLUMNS)
#: Ambulatory surgical center claim lines (ASC Addenda AA/BB): ``system="asc"``.
ASC = FacilitySystem("asc", asc_stages.ASC_COLUMNS)
