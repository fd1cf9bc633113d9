"""Claim lines priced under payer contracts: :func:`price_contracts`.

For each contract, each line is priced in four vectorised steps (a loop over the contract's few
versions and terms, each a boolean mask over the lines' distinct combinations of the values terms
match on, spread to the lines by one index; never a loop over lines):

1. **version**: the version in force on the line's date of service (none before the contract's
   first effective date or after its end: ``CONTRACT_NOT_IN_FORCE``);
2. **term**: the first term of that version whose ``match`` holds (first match wins; a
   ``fee_schedule_file`` term holds only the codes its file lists; a ``per_claim`` term with
   ``covers: claim`` takes every line of a claim with a matching line); no term:
   ``CONTRACT_NO_TERM``;
3. **amount**, by the term's method (:mod:`rvucalc.calc.contracts`, whole cents):
   ``percent_of_medicare`` of the line's Medicare allowed amount under the contract's base,
   ``percent_of_charge``, ``per_unit`` x units, ``fee_schedule_file`` rate x units (each rounded
   half up to the cent once per line), ``per_claim`` (the case rate once per claim and term,
   shared among the lines it covers in proportion to their Medicare amounts, in cents that add
   up; equal shares when none of them has a Medicare amount); a yearly escalator raises the
   rate first;
4. **lesser of charge** (when the contract or term says so): a line's amount is at most its
   charge; a case rate at most the charges of the lines it covers, when each has one.

A percent of Medicare on a line with **no Medicare amount** never gives $0: when Medicare has no
rate for the service (a code of no Medicare schedule, carrier-priced, non-covered, NA in the
setting...) the version's ``fallback`` term prices it (``CONTRACT_FALLBACK``); without one, or
when the amount is missing for another reason (no release at hand, a ZIP code not found, a fee
schedule rvucalc does not price yet), the line has no amount and its reason says why
(``CONTRACT_NO_MEDICARE`` with Medicare's own codes). A line whose input cannot be read (bad
code, units, date or charge) is priced by no contract (``CONTRACT_BAD_LINE`` and the input's
reason).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .. import arguments
from ..calc import contracts as K
from ..calc.contracts import (
    BAD_LINE,
    CASE_EQUAL,
    CASE_NO_WEIGHT,
    CHARGE_LOWER,
    FALLBACK,
    NO_CHARGE,
    NO_CHARGE_TO_COMPARE,
    NO_MEDICARE,
    NO_TERM,
    NOT_IN_FEE_FILE,
    NOT_IN_FORCE,
)
from ..calc.money import line_cents
from ..claims import columns as K_
from ..claims.contract import LINE
from ..claims.lines import ReasonBits, categorical, few_distinct_codes
from . import medicare as M
from .match import LineIndex, fields_of
from .model import Contract, Term, Version, load
from .summary import claim_sums

#: Columns :func:`price_contracts` adds, in order.
OUTPUT_COLUMNS = ("contract", "contract_version", "term", "method", "fee_schedule", "setting", "base",
                  "medicare_release", "medicare_allowed", "base_allowed", "contract_allowed",
                  "percent_of_medicare", "reason")
#: What the numeric ones hold (workbook formats).
OUTPUT_KINDS = {"medicare_allowed": "money", "base_allowed": "money", "contract_allowed": "money",
                "percent_of_medicare": "percent_points"}
_ORDER = (BAD_LINE.code, NOT_IN_FORCE.code, NO_TERM.code, FALLBACK.code, NO_MEDICARE.code, NO_CHARGE.code,
          NOT_IN_FEE_FILE.code, CHARGE_LOWER.code, NO_CHARGE_TO_COMPARE.code, CASE_EQUAL.code,
          CASE_NO_WEIGHT.code)


def as_contracts(contracts: Any) -> list[Contract]:
    """Contracts from :class:`Contract` objects and/or contract file paths (one or a list)."""
    items = [contracts] if isinstance(contracts, Contract | str | os.PathLike) else list(contracts)
    out = [c if isinstance(c, Contract) else load(c) for c in items]
    if not out:
        raise ValueError("no contract given: pass a contract file or rvucalc.contracts.load(path)")
    names = [c.name for c in out]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ValueError(f"two contracts are named {dup[0]!r}: each contract needs its own name (it labels "
                         "its rows and columns)")
    return out


def price_contracts(
    lines: pd.DataFrame,
    contracts: Contract | str | os.PathLike[str] | Iterable[Contract | str | os.PathLike[str]],
    *,
    setting: str = "pfs",
    releases: Any = None,
    mirror: str | os.PathLike[str] | None = None,
    dayfirst: bool = False,
    wage_index: float | None = None,
    columns: Iterable[str] | str | None = "all",
    input_columns: Any = None,
) -> pd.DataFrame:
    """Price claim lines under payer contracts: one row per line per contract.

    Parameters
    ----------
    lines:
        Claim lines, either raw (``claim_id, hcpcs, modifiers, units, pos, zip`` or ``locality,
        date_of_service, charge``, as :func:`rvucalc.reprice` reads them; priced here under
        Medicare first) or already priced: a ``medicare_allowed`` (or ``allowed``) column and a
        ``fee_schedule`` column (``pfs``, ``clfs``, ``asp``...), e.g. the output of
        :func:`rvucalc.reprice` or lab and drug lines priced elsewhere. See
        :mod:`rvucalc.contracts.medicare`.
    contracts:
        Contract files (YAML) or :class:`rvucalc.contracts.Contract` objects
        (:func:`rvucalc.contracts.load`); each needs its own ``name``.
    setting:
        Medicare system for raw lines: ``"pfs"`` (physician fee schedule; default), ``"hopd"``
        (hospital outpatient facility, OPPS) or ``"asc"``.
    releases, mirror, dayfirst, wage_index:
        As for :func:`rvucalc.reprice` / :func:`rvucalc.reprice_opps` (the Medicare pricing).
    columns:
        The user's columns repeated on each output row, as given: ``"all"`` (default), a list of
        names, or ``None`` (the line is ``lines.iloc[out["line"]]``). Repeating them costs little:
        a text column read from a file (Arrow strings) is shared, not copied, by the rows of
        every contract. A column named like one of the columns added here (``reason``,
        ``setting``, ``fee_schedule``, ``medicare_allowed`` of lines already priced...) comes
        back as ``given_<name>``.
    input_columns:
        The lines' headers of the columns read for pricing when they are named otherwise, e.g.
        ``{"claim_id": "CLM_ID", "hcpcs": "HCPCS_CD"}`` or ``"claim_id=CLM_ID,hcpcs=HCPCS_CD"``
        (``rvucalc contract --columns``); other headers are matched ignoring case, spaces and
        underscores (:mod:`rvucalc.claims.columns`). The user's columns keep their headers;
        ``attrs["rvucalc.columns"]`` records which was read as what.

    Returns
    -------
    A frame of ``len(lines) x len(contracts)`` rows, contract after contract (the first
    contract's rows for every line in order, then the second's...; ``out[out.contract == name]``
    is one contract's book): ``line`` (the line's 0-based row in *lines*), ``claim_number`` (its
    claim's, 0-based in order of first line; a line without a claim id is a claim of its own) and
    the user's columns asked for, as given, then ``contract``,
    ``contract_version`` (effective date of the version used, "" for an undated contract),
    ``term`` and ``method`` (``""`` when no term prices the line), ``fee_schedule`` and ``setting``
    (what terms match on), ``base`` (``medicare`` or ``medicare 2025``), ``medicare_release``,
    ``medicare_allowed`` (Medicare's allowed amount for the date of service, what the percent of
    Medicare is measured against), ``base_allowed`` (the Medicare amount the contract's rate was
    computed from: the same, or the frozen year's), ``contract_allowed`` (dollars, rounded half up
    to the cent once per line; a case rate's shares add up to it exactly), ``percent_of_medicare``
    (contract_allowed / medicare_allowed x 100, unrounded; NaN without both amounts or when
    Medicare's is 0) and ``reason`` (pipe-separated codes, :func:`rvucalc.explain`). A line
    without a contract amount has NaN (never $0) and a reason. ``attrs`` carry the provenance
    (Medicare files and contract files with sha256) for :mod:`rvucalc.export`.

    A contract (or version) with ``base: medicare 2025`` prices each line as if it had been
    served on the same day of 2025 (29 February on the 28th): the Medicare run gets the moved
    dates, so the release is the one that year's pricing would choose for that quarter, never
    another year's (:mod:`rvucalc.contracts.medicare`); lines given with their Medicare amounts
    are repriced for it from their raw columns.
    """
    return _price(lines, contracts, setting=setting, releases=releases, mirror=mirror, dayfirst=dayfirst,
                  wage_index=wage_index, columns=columns, input_columns=input_columns).rows


@dataclass
class Book:
    """A book priced under contracts: :func:`price_book`'s result."""

    #: One row per line per contract (:func:`price_contracts`).
    lines: pd.DataFrame
    #: One row per claim, the contracts side by side (:func:`rvucalc.contracts.claims_side_by_side`).
    claims: pd.DataFrame


def price_book(
    lines: pd.DataFrame,
    contracts: Contract | str | os.PathLike[str] | Iterable[Contract | str | os.PathLike[str]],
    *,
    setting: str = "pfs",
    releases: Any = None,
    mirror: str | os.PathLike[str] | None = None,
    dayfirst: bool = False,
    wage_index: float | None = None,
    columns: Iterable[str] | str | None = "all",
    input_columns: Any = None,
) -> Book:
    """:func:`price_contracts` and the per-claim totals side by side, in one run.

    ``price_book(lines, contracts).claims`` is ``claims_side_by_side(price_contracts(lines,
    contracts))``, the same table, made from the lines as pricing parsed them (dates, place of
    service, charges) and each contract's amounts in cents, rather than by reading the rows' text
    again; what ``rvucalc contract --claims-out`` writes. The parameters are
    :func:`price_contracts`'.
    """
    run = _price(lines, contracts, setting=setting, releases=releases, mirror=mirror, dayfirst=dayfirst,
                 wage_index=wage_index, columns=columns, input_columns=input_columns, book=True)
    assert run.book is not None
    return Book(run.rows, run.book)


@dataclass
class _Run:
    rows: pd.DataFrame
    facts: M.Facts
    meds: dict[int | None, M.Medicare]
    parts: list[Priced]
    claims: _Claims
    book: pd.DataFrame | None = None  # the per-claim table (price_book)


#: Books of at least this many lines price their contracts on threads side by side (NumPy releases
#: the GIL in its loops over the lines; every contract reads the same facts), when priced from the
#: main thread: the streaming and Dask engines price their chunks side by side already.
PARALLEL_LINES = 200_000
#: Most threads a book's contracts are priced on (fewer when the machine has fewer cores).
THREADS = 4


def _pool(n: int) -> ThreadPoolExecutor | None:
    workers = min(THREADS, os.cpu_count() or 1)
    if workers < 2 or n < PARALLEL_LINES or threading.current_thread() is not threading.main_thread():
        return None
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rvucalc-contracts")


def _price(lines: pd.DataFrame, contracts: Any, *, setting: str, releases: Any, mirror: Any, dayfirst: bool,
           wage_index: float | None, columns: Any, input_columns: Any, book: bool = False) -> _Run:
    """The rows of :func:`price_contracts`, and with *book* the per-claim table of
    :func:`price_book` (made beside the rows on a large book's threads)."""
    arguments.frame(lines, "lines", what="claim lines")
    wage_index = arguments.wage_index(wage_index)
    contracts_ = as_contracts(contracts)
    years = tuple(dict.fromkeys(y for c in contracts_ for y in c.base_years))
    had_line = LINE in lines.columns
    mapping = K_.resolve(lines.columns, K_.parse(input_columns))  # the user's headers -> rvucalc's names
    given = lines.drop(columns=[LINE]) if had_line else lines
    names = _output_names(given, columns)
    found = {c for c, h in mapping.items() if names.get(h) == h}  # pricing columns the rows repeat
    k = len(contracts_)
    pool = _pool(len(lines))
    table = None
    with pool or contextlib.nullcontext():
        def run(fn: Callable[..., Any], *args: Any) -> Future[Any]:  # on the pool, or now
            if pool is not None:
                return pool.submit(fn, *args)
            f: Future[Any] = Future()
            f.set_result(fn(*args))
            return f

        early: list[Future[_Early]] = []

        def on_parsed(parsed: Any) -> None:  # parsed, not yet priced: what reads only the lines starts now
            if pool is not None:
                early.append(pool.submit(_early, parsed, k, found if book else None))

        facts, meds = M.price(K_.pricing_view(lines, mapping), system=setting, base_years=years, releases=releases,
                              mirror=mirror, dayfirst=dayfirst, wage_index=wage_index, on_parsed=on_parsed)
        head = early[0].result() if early else _early(facts.lines, k, found if book else None)
        index = LineIndex(facts, meds[None])
        claims = _Claims(facts, head.dense)
        amounts = _Amounts(facts.n, len(contracts_), meds[None])

        def priced(j: int, c: Contract) -> Priced:  # a contract, its rows' amounts and its claims' sums
            p = amounts.fill(j, _price_one(c, facts, meds, index, claims))
            if book:
                p.sums = claim_sums(claims.dense, claims.count, p.cents, p.has)
            return p

        # the weightiest contracts first, so that the threads finish together
        order = sorted(range(len(contracts_)), key=lambda j: -_weight(contracts_[j]))
        jobs = {j: run(priced, j, contracts_[j]) for j in order}
        parts = [jobs[j].result() for j in range(len(contracts_))]
        reason = _stacked_cat([p.reason for p in parts])
        if book:
            claim_h = mapping.get("claim_id", "claim_id")
            claim = (claim_h, given[claim_h].array) if names.get(claim_h) == claim_h else None
            table = run(_claims_table, claim, claims, head.place, meds[None], parts, reason)
        out = _assemble(given, names, parts, meds[None], claims.dense, reason, amounts, head.numbers)
        book_table = table.result() if table is not None else None
    from ..export.provenance import provenance_of

    sources = [s for m in meds.values() for s in m.sources]
    out.attrs["rvucalc.provenance"] = provenance_of(*sources, *contracts_, {"contracts": ", ".join(
        c.name for c in contracts_), "Medicare setting": setting})
    out.attrs["rvucalc.contracts"] = [c.name for c in contracts_]
    out.attrs["rvucalc.kinds"] = {**(lines.attrs.get("rvucalc.kinds") or {}), **OUTPUT_KINDS}
    out.attrs["rvucalc.kind"] = "table"
    out.attrs[K_.ATTR] = dict(mapping)
    out.attrs[K_.DAYFIRST] = bool(dayfirst)
    return _Run(out, facts, meds, parts, claims, book_table)


def _weight(contract: Contract) -> int:
    """How much work pricing *contract* is, roughly: its terms (of every version, fallbacks
    included) and the values they read (each a combination of the lines' values to make)."""
    terms = [t for v in contract.versions for t in (*v.terms, *([v.fallback] if v.fallback else []))]
    return len(terms) + 2 * len(fields_of(terms)) + sum(t.method == "fee_schedule_file" for t in terms)


@dataclass
class _Early:
    """What is made from the parsed lines alone (while Medicare prices them, on a large book)."""

    dense: np.ndarray  # claim number per line, 0-based in order of first line
    numbers: dict[str, np.ndarray]  # the rows' line and claim numbers (_numbers)
    place: Any  # (when and where, charges) per claim, for price_book; else None


def _early(parsed: Any, k: int, found: set[str] | None) -> _Early:
    """The claims' numbers, the rows' numbers (*k* contracts) and, with *found* (rvucalc's names
    of the pricing columns the rows repeat), when and where each claim was served and its
    charges, from the lines as pricing parsed them (what
    :func:`rvucalc.contracts.claims_side_by_side` reads back from the rows' columns)."""
    from ..claims.summary import charges_parsed, when_where_parsed

    dense = _dense(parsed.claim_keys())
    n_claims = int(dense.max()) + 1 if len(dense) else 0
    place = None
    if found is not None:
        when = when_where_parsed(parsed.day if "date_of_service" in found else None,
                                 (parsed.pos_codes, parsed.pos_uniq) if "pos" in found else None, dense, n_claims)
        place = (when, charges_parsed(parsed.charge, dense, n_claims) if "charge" in found else None)
    return _Early(dense, _numbers(parsed.n, k, dense), place)


def _claims_table(claim: tuple[str, Any] | None, claims: _Claims, place: Any, cur: M.Medicare,
                  parts: list[Priced], reason: pd.Categorical) -> pd.DataFrame:
    """:func:`price_book`'s per-claim table: the claims' dates, places and charges (*place*),
    Medicare's and each contract's claim sums and the contracts' stacked reasons (the rows'
    ``reason``)."""
    from .summary import reasons_at, side_by_side

    n = claims.facts.n
    stacked = pd.Series(reason, copy=False)
    per = [(p.contract.name, p.sums, reasons_at(stacked, slice(j * n, (j + 1) * n))) for j, p in enumerate(parts)]
    when, charges = place
    medicare = claim_sums(claims.dense, claims.count, cur.cents, cur.has, first_missing=False)
    return side_by_side(claim, claims.dense, when, charges, medicare, per)


# ---------------------------------------------------------------------------


#: A text column as integer codes into its labels, -1 for none (``""``): what
#: :func:`rvucalc.claims.lines.categorical` would make of it, kept as codes until the contracts'
#: rows are stacked (:func:`_stacked_cat`), so each column is turned into categories once.
Coded = tuple[np.ndarray, list[str]]


@dataclass
class Priced:
    """One contract's result per line (arrays of the lines' length)."""

    contract: Contract
    cents: np.ndarray
    has: np.ndarray
    term: Coded
    method: Coded
    version: Coded
    base: Coded
    base_cents: np.ndarray
    base_has: np.ndarray
    base_release: pd.Categorical
    reason: Coded
    #: per claim (price_book): :func:`rvucalc.contracts.summary.claim_sums` of the cents
    sums: Any = None


def _version_of(contract: Contract, day: np.ndarray) -> np.ndarray:
    """Index of the version in force per line (-1: none)."""
    if len(contract.versions) == 1 and contract.versions[0].effective is None and contract.end is None:
        return np.negative((day < 0).view(np.int8))  # undated: in force (0) whenever the date is read, else -1
    v = np.full(len(day), -1, dtype=np.int16)
    for version in contract.versions:  # a few, in order of their effective dates: count those begun
        if version.effective is None:
            v += 1
        else:
            v += day >= _day(version.effective)
    if contract.end is not None:
        np.copyto(v, -1, where=day > _day(contract.end))
    np.copyto(v, -1, where=day < 0)
    return v


def _day(d: Any) -> int:
    return int((np.datetime64(d, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))


class _Claims:
    """What every contract reads of the lines, computed once: dense claim numbers, charges in
    cents, units."""

    def __init__(self, facts: M.Facts, dense: np.ndarray | None = None) -> None:
        self.facts = facts
        self._dense = dense
        self.charge_cents, self.has_charge = line_cents(facts.lines.charge)
        self.units = np.asarray(facts.lines.units, dtype=np.int64)

    @property
    def dense(self) -> np.ndarray:
        """Claim number per line, 0-based in order of first line."""
        if self._dense is None:
            self._dense = _dense(self.facts.lines.claim)
        return self._dense

    @property
    def count(self) -> int:
        """The number of claims."""
        d = self.dense
        return int(d.max()) + 1 if len(d) else 0


def _dense(claim: np.ndarray) -> np.ndarray:
    """Claim keys numbered 0, 1, 2... in order of first line (kept when they are already)."""
    key = np.asarray(claim, dtype=np.int64)
    return key if _numbered_in_order(key) else pd.factorize(key)[0].astype(np.int64)


def _numbered_in_order(key: np.ndarray) -> bool:
    """Whether *key* is already numbered 0, 1, 2... in order of first appearance (what
    ``pd.factorize`` would give): the claim keys of a book whose every line has a claim id are
    (:func:`rvucalc.claims.contract.claim_keys`). Each new value is then one more than the
    largest before it."""
    if not len(key):
        return True
    if key[0] != 0:
        return False
    top = np.maximum.accumulate(key)
    return bool((np.diff(top) <= 1).all())


def _price_one(contract: Contract, facts: M.Facts, meds: dict[int | None, M.Medicare],
               index: LineIndex, claims: _Claims) -> Priced:
    n = facts.n
    rb = ReasonBits(n)
    for code in _ORDER:
        rb.bit(code)
    vline = _version_of(contract, facts.day)
    refused = facts.refused
    rb.add(BAD_LINE.code, refused)
    rb.add(NOT_IN_FORCE.code, (vline < 0) & ~refused)
    terms: list[Term] = []  # every term of every version (and fallbacks), numbered
    term_of = np.full(n, -1, dtype=np.int16)
    # the lines' distinct combinations of what the terms read (a fee schedule file's rates too)
    lookup = index.combos(fields_of(t for version in contract.versions
                                    for t in (*version.terms, *([version.fallback] if version.fallback else []))))
    combo, distinct = lookup
    for v, version in enumerate(contract.versions):  # a few versions
        free = (vline == v) & ~refused
        first = len(terms)
        terms += version.terms  # numbered version by version, then its fallback (see _term_versions)
        if version.fallback is not None:
            terms.append(version.fallback)
        if not free.any():
            continue
        t_line = _first_terms(version.terms, distinct)
        if combo is not None:  # per combo: spread to the lines
            t_line = t_line[combo]
        none = len(version.terms)
        for j, t in enumerate(version.terms):  # a case rate covering whole claims takes their free lines
            if t.method == "per_claim" and t.covers == "claim":
                cand = free & (t_line == j)
                if cand.any():
                    hit = np.bincount(claims.dense[cand], minlength=claims.count) > 0
                    t_line[free & hit[claims.dense] & (t_line >= j)] = j  # lines no earlier term took
        found = free & (t_line < none)
        t_line += first  # the version's own numbers -> every term's
        np.copyto(term_of, t_line, where=found)
        rb.add(NO_TERM.code, free & ~found)

    charge_cents, has_charge, units = claims.charge_cents, claims.has_charge, claims.units
    cents = np.zeros(n, dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    need_fallback = np.zeros(n, dtype=bool)
    version_of_term = _term_versions(contract, terms)
    base_years = list(dict.fromkeys(v.base_year for v in contract.versions))
    if len(base_years) == 1:
        base_year_line = np.zeros(n, dtype=np.int8)  # index into base_years
    else:
        base_year_line = np.array([base_years.index(v.base_year) for v in contract.versions] + [0],
                                  dtype=np.int8)[vline]
    for tid, t in enumerate(terms):  # a few terms
        if t.fallback:
            continue
        sel = _lines(np.flatnonzero(term_of == tid), n)  # the term's lines, in line order
        if not _count(sel, n):
            continue
        version = contract.versions[version_of_term[tid]]
        med = meds[version.base_year]
        years = _years(version, t.method, facts.day, sel)
        if t.method == "per_claim":
            amt = _per_claim(t, version, sel, years, med, claims, charge_cents, has_charge, rb)
            cents[sel], has[sel] = amt, True
            continue
        amt, ok, missing = _line_amount(t, version, sel, years, med, lookup, units, charge_cents, has_charge)
        if t.method == "percent_of_medicare":
            gap = missing & med.no_rate[sel]
            if version.fallback is not None:
                need_fallback[sel] |= gap
                missing = missing & ~gap
            rb.add(NO_MEDICARE.code, missing, sel)
        elif t.method == "percent_of_charge":
            rb.add(NO_CHARGE.code, missing, sel)
        amt, ok = _lesser(t, sel, amt, ok, charge_cents, has_charge, rb)
        _put(cents, has, sel, amt, ok)
    # the fallback: lines a percent of Medicare could not price because Medicare has no rate
    for tid, t in enumerate(terms):
        if not t.fallback:
            continue
        v = version_of_term[tid]
        sel = _lines(np.flatnonzero(need_fallback & (vline == v)), n)
        if not _count(sel, n):
            continue
        version = contract.versions[v]
        years = _years(version, t.method, facts.day, sel)
        amt, ok, missing = _line_amount(t, version, sel, years, meds[version.base_year], lookup, units,
                                        charge_cents, has_charge)
        term_of[sel] = tid
        rb.add(FALLBACK.code, np.ones(_count(sel, n), dtype=bool), sel)
        if t.method == "percent_of_charge":
            rb.add(NO_CHARGE.code, missing, sel)
        elif t.method == "fee_schedule_file":
            rb.add(NOT_IN_FEE_FILE.code, missing, sel)
        amt, ok = _lesser(t, sel, amt, ok, charge_cents, has_charge, rb)
        _put(cents, has, sel, amt, ok)

    # per line: which Medicare base the contract used
    base_labels = ["medicare" if y is None else f"medicare {y}" for y in base_years]
    in_force = vline >= 0
    if len(base_years) == 1:
        med = meds[base_years[0]]
        base_cents, base_has = med.cents, med.has & in_force
        base_codes = np.negative((~in_force).view(np.int8))  # 0 in force, else -1
        release = med.release  # the release that priced the line's Medicare amount
    else:
        base_cents = np.zeros(n, dtype=np.int64)
        base_has = np.zeros(n, dtype=bool)
        base_codes = np.full(n, -1, dtype=np.int8)
        rel_parts: list[tuple[np.ndarray, pd.Categorical]] = []
        for j, year in enumerate(base_years):
            sel = (base_year_line == j) & in_force
            med = meds[year]
            base_cents[sel], base_has[sel] = med.cents[sel], med.has[sel]
            base_codes[sel] = j
            rel_parts.append((sel, med.release))
        release = _merge_categoricals(n, rel_parts)
    # the reason: the contract's codes, then Medicare's (or the input's) where they explain a gap
    show_medicare = rb.any_of([NO_MEDICARE.code, FALLBACK.code])
    reason_cat = _reasons(rb, show_medicare, meds, base_years, base_year_line, facts)
    names = [t.name for t in terms]
    methods = [t.method for t in terms]
    vlabels = ["" if v.effective is None else v.effective.isoformat() for v in contract.versions]
    return Priced(contract=contract, cents=cents, has=has, term=(term_of, names), method=(term_of, methods),
                  version=(vline, vlabels), base=(base_codes, base_labels), base_cents=base_cents,
                  base_has=base_has, base_release=release, reason=reason_cat)


def _first_terms(terms: list[Term], distinct: LineIndex) -> np.ndarray:
    """Per combo of :meth:`LineIndex.combos` (or per line) the first of *terms* whose match holds (a
    ``fee_schedule_file`` term only for codes its file lists), ``len(terms)`` when none does."""
    out = np.full(distinct.n, len(terms), dtype=np.int16)
    for j in range(len(terms) - 1, -1, -1):  # the version's few terms, last first: the first match stays
        t = terms[j]
        m = distinct.mask(t.match)
        if t.method == "fee_schedule_file":
            m &= distinct.fee_rates(t.fee_table) >= 0
        out[m] = j
    return out


def _lines(sel: np.ndarray, n: int) -> np.ndarray | slice:
    """The lines *sel* (sorted, distinct) of *n*, or ``slice(None)`` when they are every line: a
    term taking every line (``percent_of_medicare: 100`` for all) reads and writes the lines'
    arrays as they are, not through a copy of each."""
    return slice(None) if len(sel) == n else sel


def _count(sel: np.ndarray | slice, n: int) -> int:
    return n if isinstance(sel, slice) else len(sel)


def _put(cents: np.ndarray, has: np.ndarray, sel: np.ndarray | slice, amt: np.ndarray, ok: np.ndarray) -> None:
    """The amounts *amt* of the lines *sel* where *ok*."""
    if ok.all():
        cents[sel], has[sel] = amt, True
    elif isinstance(sel, slice):  # every line
        np.copyto(cents, amt, where=ok)
        has |= ok
    else:
        at = sel[ok]
        cents[at], has[at] = amt[ok], True


def _term_versions(contract: Contract, terms: list[Term]) -> list[int]:
    """The version of each numbered term (terms are numbered version by version, then its fallback)."""
    out: list[int] = []
    for v, version in enumerate(contract.versions):
        out += [v] * (len(version.terms) + (1 if version.fallback is not None else 0))
    return out[: len(terms)]


def _years(version: Version, method: str, day: np.ndarray, sel: np.ndarray) -> np.ndarray | None:
    """Whole years of the escalator at the dates of service of the lines *sel* (None: no escalator)."""
    e = version.escalator
    if e is None or method not in e.applies_to or e.percent == 0:
        return None
    return K.anniversaries(day[sel], _day(e.start))


def _escalated(version: Version, value: Decimal, years: np.ndarray | None, quantum: Decimal
               ) -> tuple[np.ndarray, list[Decimal]]:
    """Per line an index into the escalated values (one per distinct number of years)."""
    if years is None:
        return np.zeros(0, dtype=np.int64), [value]
    ks, inv = K.small_unique(years)
    e = version.escalator
    assert e is not None
    vals = [K.escalate(value, e.percent, int(k), compound=e.compound, quantum=quantum) for k in ks]  # distinct
    return inv.astype(np.int64), vals


def _line_amount(t: Term, version: Version, sel: np.ndarray, years: np.ndarray | None, med: M.Medicare,
                 lookup: tuple[np.ndarray | None, LineIndex], units: np.ndarray, charge: np.ndarray,
                 has_charge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cents, ok, missing)`` for the lines *sel* under a per-line method (*lookup*: the
    contract's :meth:`LineIndex.combos`, which tell a fee schedule file's rate)."""
    if t.method in ("percent_of_medicare", "percent_of_charge"):
        assert t.value is not None
        inv, vals = _escalated(version, t.value, years, Decimal("0.0001"))
        pu = np.array([K.percent_units(v) for v in vals], dtype=np.int64)
        per = pu[inv] if years is not None else pu[0]
        if t.method == "percent_of_medicare":  # cents are 0 where there is no amount
            base, ok = med.cents[sel], med.has[sel]
        else:
            base, ok = charge[sel], has_charge[sel]
        return K.percent_of(base, per), ok, ~ok
    if t.method == "per_unit":
        assert t.value is not None
        inv, vals = _escalated(version, t.value, years, Decimal("0.01"))
        rc = np.array([K.cents(v) for v in vals], dtype=np.int64)
        rate = rc[inv] if years is not None else rc[0]
        u = units[sel]
        ok = np.ones(len(u), dtype=bool)
        return K.per_unit(rate, u), ok, ~ok
    if t.method == "fee_schedule_file":
        combo, distinct = lookup  # they tell the HCPCS and modifier cells apart: the rate's keys
        rate = distinct.fee_rates(t.fee_table)[sel if combo is None else combo[sel]]
        ok = rate >= 0
        if years is not None:
            e = version.escalator
            assert e is not None
            pair, uniq = pd.factorize(rate * 1000 + years)  # distinct (rate, years) pairs
            up = np.array([K.cents(K.escalate(Decimal(int(u) // 1000) / 100, e.percent, int(u) % 1000,
                                              compound=e.compound)) if u >= 0 else -1 for u in uniq],
                          dtype=np.int64)
            rate = up[pair]
        return K.per_unit(np.where(ok, rate, 0), units[sel]), ok, ~ok
    raise AssertionError(t.method)  # pragma: no cover


def _lesser(t: Term, sel: np.ndarray, amt: np.ndarray, ok: np.ndarray, charge: np.ndarray,
            has_charge: np.ndarray, rb: ReasonBits) -> tuple[np.ndarray, np.ndarray]:
    if not t.lesser_of_charge:
        return amt, ok
    given = has_charge[sel]
    amt, lowered = K.lesser_of(amt, charge[sel], given)
    rb.add(CHARGE_LOWER.code, lowered & ok, sel)
    rb.add(NO_CHARGE_TO_COMPARE.code, ok & ~given, sel)
    return amt, ok


def _per_claim(t: Term, version: Version, sel: np.ndarray, years: np.ndarray | None, med: M.Medicare,
               claims: _Claims, charge: np.ndarray, has_charge: np.ndarray, rb: ReasonBits) -> np.ndarray:
    """The case rate once per claim, shared among its lines *sel* (cents per line of *sel*)."""
    assert t.value is not None
    group, _ = pd.factorize(claims.dense[sel])
    group = group.astype(np.int64)
    n_groups = int(group.max()) + 1 if len(group) else 0
    if years is not None:  # the claim's years: from its first date of service
        first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, group, years)
        inv, vals = _escalated(version, t.value, first, Decimal("0.01"))
        total = np.array([K.cents(v) for v in vals], dtype=np.int64)[inv]
    else:
        total = np.full(n_groups, K.cents(t.value), dtype=np.int64)
    if t.lesser_of_charge:
        charged = K.group_sum(group, np.where(has_charge[sel], charge[sel], 0), n_groups)
        every = K.group_sum(group, (~has_charge[sel]).astype(np.int64), n_groups) == 0
        lowered = every & (charged < total)
        total = np.where(lowered, charged, total)
        rb.add(CHARGE_LOWER.code, lowered[group], sel)
        rb.add(NO_CHARGE_TO_COMPARE.code, ~every[group], sel)
    weight = np.where(med.has[sel], med.cents[sel], 0)
    share, equal = K.allocate(group, weight, total)
    rb.add(CASE_EQUAL.code, equal, sel)
    rb.add(CASE_NO_WEIGHT.code, ~equal & ~med.has[sel], sel)
    return share


def _merge_categoricals(n: int, parts: list[tuple[np.ndarray, pd.Categorical]]) -> pd.Categorical:
    cats: list[str] = []
    codes = np.full(n, -1, dtype=np.int64)
    for sel, cat in parts:
        names = [str(c) for c in cat.categories]
        off = len(cats)
        cats += names
        c = np.asarray(cat.codes, dtype=np.int64)[sel]
        codes[sel] = np.where(c >= 0, c + off, -1)
    return _dedupe(codes, cats)


def _dedupe(codes: np.ndarray, cats: list[str]) -> pd.Categorical:
    uniq = list(dict.fromkeys(cats))
    remap = np.array([uniq.index(c) for c in cats] + [-1], dtype=np.int64)  # categories
    return categorical(remap[codes], uniq)


def _offset_codes(cat: pd.Categorical, at: np.ndarray, cats: list[str]) -> np.ndarray:
    """The codes of *cat* at the lines *at*, numbered after the texts *cats* has (*cat*'s
    categories are appended to it); -1 stays -1."""
    off = len(cats)
    cats += [str(c) for c in cat.categories]
    table = np.append(np.arange(off, off + len(cat.categories), dtype=np.int64), -1)  # categories
    return table[np.asarray(cat.codes)[at]]  # code -1 takes the last entry


def _reasons(rb: ReasonBits, show_medicare: np.ndarray,
             meds: dict[int | None, M.Medicare], base_years: list[int | None], base_year_line: np.ndarray,
             facts: M.Facts) -> Coded:
    """The contract's reason codes per line, followed by Medicare's where the contract has no amount
    because Medicare has none, and by the input's where the line could not be read."""
    extra_cats: list[str] = []
    if not show_medicare.any() and not facts.refused.any():  # only the contract's own codes
        k, uniq_bits = few_distinct_codes(rb.bits)
        return k, ["|".join(rb.ordered(int(u))) for u in uniq_bits]
    # Medicare's (or the input's) codes, on the lines that show them only
    rows = np.flatnonzero(show_medicare | facts.refused)
    extra = np.full(len(rows), -1, dtype=np.int64)
    show = show_medicare[rows]
    for j, year in enumerate(base_years):
        med = meds[year]
        sel = show & (base_year_line[rows] == j) if len(base_years) > 1 else show
        if sel.any():
            extra[sel] = _offset_codes(med.reason, rows[sel], extra_cats)
    refused = facts.refused[rows]
    if refused.any():
        extra[refused] = _offset_codes(facts.refused_reason, rows[refused], extra_cats)
    width = len(extra_cats) + 1
    # the contract's codes are a few bits (< 2**16), the extra texts a few hundred: a small range,
    # counted rather than hashed (in 32-bit integers when the range allows)
    wide = len(rb.codes) > 16 or (1 << len(rb.codes)) * width >= 2**31
    key = rb.bits.astype(np.int64 if wide else np.int32)
    key *= width
    extra += 1
    key[rows] += extra.astype(key.dtype, copy=False)
    uniq, k = K.small_unique(key) if len(rb.codes) <= 16 else pd.factorize(key)[::-1]
    text = []
    for u in np.asarray(uniq).tolist():  # distinct (contract codes, Medicare codes) pairs
        b, e = divmod(int(u), width)
        own = rb.ordered(b)
        more = [x for x in (extra_cats[e - 1].split("|") if e >= 1 and extra_cats[e - 1] else []) if x not in own]
        text.append("|".join(own + more))
    return k, text


# ---------------------------------------------------------------------------


def _stacked_cat(items: list[pd.Categorical | Coded]) -> pd.Categorical:
    """Contract after contract (every line of the first, then of the second...) for text
    columns, each a categorical or :data:`Coded`: one set of categories (in the order the
    contracts' own categoricals would list them), codes as small integers."""
    tables: list[tuple[np.ndarray, list[str]]] = []
    names: list[str] = []
    for c in items:
        if isinstance(c, tuple):
            codes, labels = c
            labels = [str(x) for x in labels]
            names += list(dict.fromkeys([*labels, ""]))  # as categorical() lists them
        else:
            codes, labels = np.asarray(c.codes), [str(x) for x in c.categories]
            names += labels
        tables.append((codes, labels))
    uniq = list(dict.fromkeys([*names, ""]))
    pos = {x: i for i, x in enumerate(uniq)}
    small = np.int8 if len(uniq) < 127 else np.int16 if len(uniq) < 32_000 else np.int32
    n = len(tables[0][0])
    out = np.empty(n * len(tables), dtype=small)
    for j, (codes, labels) in enumerate(tables):  # a few contracts
        remap = np.array([pos[x] for x in labels] + [pos[""]], dtype=small)  # categories
        np.take(remap, codes, out=out[j * n:(j + 1) * n])  # code -1 (none) takes the last: ""
    return pd.Categorical.from_codes(out, categories=pd.Index(uniq, dtype=object),
                                     validate=False)  # every code is a position in uniq (remap)


def _output_names(lines: pd.DataFrame, columns: Any) -> dict[Any, Any]:
    """The user's columns the rows repeat (*columns*: ``"all"``, ``None`` or names), each with its
    name in the rows: its own, or ``given_<name>`` for the name of one of rvucalc's columns."""
    if isinstance(columns, str) and columns == "all":
        keep = list(lines.columns)
    elif columns is None:
        keep = []
    else:
        keep = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in keep if c not in lines.columns]
        if missing:
            raise ValueError(f"columns {', '.join(map(str, missing))} are not among the lines' columns")
    out = {}
    for c in keep:
        name = c
        while name in (*OUTPUT_COLUMNS, "line", "claim_number") or (name != c and name in lines.columns):
            name = f"given_{name}"
        out[c] = name
    return out


#: The stacked rows' amounts (dollars; NaN where none), each contract's rows written by the job
#: that priced it (:class:`_Amounts`).
_MONEY = ("medicare_allowed", "base_allowed", "contract_allowed", "percent_of_medicare")


class _Amounts:
    """The stacked rows' amount columns, made once and filled contract by contract (each
    contract's rows by the job that priced it: no temporaries of the rows' length)."""

    def __init__(self, n: int, k: int, cur: M.Medicare) -> None:
        self.n = n
        self.cur = cur
        self.medicare = np.where(cur.has, cur.cents / 100.0, np.nan)
        self.no_medicare = ~(self.medicare > 0)
        self.columns = {c: np.empty(n * k) for c in _MONEY}

    def fill(self, j: int, p: Priced) -> Priced:
        """Write contract *j*'s rows from its result *p* (returned as it is)."""
        at = slice(j * self.n, (j + 1) * self.n)
        medicare, cols = self.medicare, self.columns
        cols["medicare_allowed"][at] = medicare
        base = cols["base_allowed"][at]
        if p.base_cents is self.cur.cents:  # the date of service's Medicare: the same dollars where in force
            np.copyto(base, medicare)
        else:
            np.divide(p.base_cents, 100.0, out=base)
        np.copyto(base, np.nan, where=~p.base_has)
        allowed = cols["contract_allowed"][at]
        np.divide(p.cents, 100.0, out=allowed)
        np.copyto(allowed, np.nan, where=~p.has)
        pct = cols["percent_of_medicare"][at]
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(allowed, medicare, out=pct)
        np.multiply(pct, 100.0, out=pct)
        np.copyto(pct, np.nan, where=self.no_medicare)
        return p


def _numbers(n: int, k: int, claim_number: np.ndarray) -> dict[str, np.ndarray]:
    """The rows' ``line`` and ``claim_number``, contract after contract."""
    return {"line": np.tile(np.arange(n, dtype=np.int64), k), "claim_number": np.tile(claim_number, k)}


def _assemble(lines: pd.DataFrame, names: dict[Any, Any], parts: list[Priced], cur: M.Medicare,
              claim_number: np.ndarray, reason: pd.Categorical | None = None, amounts: _Amounts | None = None,
              numbers: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The rows of :func:`price_contracts` from each contract's result (*amounts* and *numbers*:
    those columns already made; else made here)."""
    n, k = len(lines), len(parts)
    if amounts is None:
        amounts = _Amounts(n, k, cur)
        for j, p in enumerate(parts):  # a few contracts
            amounts.fill(j, p)
    data: dict[str, Any] = dict(numbers) if numbers is not None else _numbers(n, k, claim_number)
    for c, name in names.items():  # a column of the name of one of ours comes back as given_<name>
        # the column once per contract (Arrow text: the same buffers, chunk after chunk, no copy)
        data[name] = pd.concat([lines[c]] * k, ignore_index=True).array if k > 1 else lines[c].array
    contract_names = [p.contract.name for p in parts]
    data["contract"] = pd.Categorical.from_codes(
        np.repeat(np.arange(k, dtype=np.int8 if k < 127 else np.int32), n),
        categories=pd.Index(contract_names, dtype=object))
    data["contract_version"] = _stacked_cat([p.version for p in parts])
    data["term"] = _stacked_cat([p.term for p in parts])
    data["method"] = _stacked_cat([p.method for p in parts])
    for col, cat in (("fee_schedule", cur.fee_schedule), ("setting", cur.setting)):
        data[col] = pd.Categorical.from_codes(np.tile(np.asarray(cat.codes), k), dtype=cat.dtype)
    data["base"] = _stacked_cat([p.base for p in parts])
    data["medicare_release"] = _stacked_cat([p.base_release for p in parts])
    data.update(amounts.columns)
    data["reason"] = _stacked_cat([p.reason for p in parts]) if reason is None else reason
    out = pd.DataFrame(data, copy=False)
    out.index = pd.RangeIndex(len(out))
    return out


__all__ = ["OUTPUT_COLUMNS", "Book", "as_contracts", "price_book", "price_contracts"]
