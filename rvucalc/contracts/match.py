"""Which lines a contract term takes: boolean masks over whole arrays.

Every test works on the *distinct* values of a column (codes, modifier cells, places of service,
fee schedules, settings: a few thousand at most) and is then spread to the lines by their
integer codes, so a million lines cost a few array lookups per term. Terms are tried in the
contract's order, first match wins (:mod:`rvucalc.contracts.price`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .fees import FeeTable
from .medicare import Facts, Medicare
from .model import MatchSpec, Term


def code_mask(specs: list[str], codes: np.ndarray) -> np.ndarray:
    """Per code of *codes* (distinct, normalised: five letters/digits, "" for none): does any
    spec hold it? A spec is a code (``99213``) or a range (``10004-69990``, ``J0120-J9999``,
    ``0001T-0999T``): a code is in a range when it has the range's letters in the same places,
    digits elsewhere, and lies between the bounds."""
    u = np.asarray([str(c) for c in codes], dtype="U5")
    out = np.zeros(len(u), dtype=bool)
    if not len(u):
        return out
    chars = u.view("U1").reshape(len(u), 5)
    digit = (chars >= "0") & (chars <= "9")
    full = np.char.str_len(u) == 5
    for spec in specs:  # the term's few specs
        if "-" not in spec:
            out |= u == spec
            continue
        lo, hi = spec.split("-")
        ok = full & (u >= lo) & (u <= hi)
        for i, ch in enumerate(lo):  # five positions
            ok &= digit[:, i] if ch.isdigit() and hi[i].isdigit() else chars[:, i] == ch
        out |= ok
    return out


#: What terms can match on, as :meth:`LineIndex.combos` combines it.
FIELDS = frozenset({"hcpcs", "modifiers", "pos", "fee_schedule", "setting"})


def fields_of(terms: Iterable[Term]) -> frozenset[str]:
    """The values *terms* read to decide which lines they take (:data:`FIELDS`): a code list
    reads the HCPCS cell, a modifier list or a fee schedule file both modifier cells."""
    out: set[str] = set()
    for t in terms:
        m = t.match
        if m.codes or m.not_codes:
            out.add("hcpcs")
        if m.modifiers or t.method == "fee_schedule_file":
            out |= {"hcpcs", "modifiers"}
        if m.pos:
            out.add("pos")
        if m.fee_schedule:
            out.add("fee_schedule")
        if m.setting:
            out.add("setting")
    return frozenset(out)


#: Combos are used when there are at most this share of the lines (else the lines themselves).
FEW_COMBOS = 0.25
#: The largest range of combined values renumbered by counting (an array of this many counts).
COUNTED_RANGE = 1 << 22


def dense_pairs(a: np.ndarray, a_n: int, b: np.ndarray, b_n: int, *, into: np.ndarray | None = None
                ) -> tuple[np.ndarray, int]:
    """The pairs ``(a, b)`` (``0 <= a < a_n``, ``0 <= b < b_n``) numbered ``0..k-1``, equal pairs
    alike, and *k*: by counting the pairs' combined values when their range is small
    (:data:`COUNTED_RANGE`), else by hashing them. *into*: an int64 array the numbers may be
    written to (*a* itself, when the caller no longer needs it: no new array of the lines' size)."""
    key = np.multiply(a, b_n, out=into, dtype=np.int64) if into is not None else a.astype(np.int64) * b_n
    key += b
    return _renumbered(key, a_n * b_n)


def _renumbered(key: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """*key* (int64, ``0 <= key < k``) numbered ``0..m-1``, equal values alike, and *m*: in place
    by counting when the range is small (:data:`COUNTED_RANGE`), else by hashing."""
    if k <= COUNTED_RANGE:
        present = np.bincount(key, minlength=k) > 0
        number = np.cumsum(present) - 1
        return np.take(number, key, out=key), int(number[-1]) + 1 if len(number) else 0
    codes, uniq = pd.factorize(key)
    return codes.astype(np.int64), len(uniq)


class LineIndex:
    """Per-line codes into small tables of distinct values, shared by every term of every contract."""

    def __init__(self, facts: Facts, medicare: Medicare) -> None:
        L = facts.lines
        self.n = L.n
        self.facts = facts
        self.code_of = np.asarray(L.hcpcs_codes, dtype=np.int64)  # index into self.codes
        self.codes = np.asarray(L.hcpcs_uniq, dtype=object)
        (self.h_codes, self.h_lists), (self.m_codes, self.m_lists) = L.modifier_lists
        self.pos_of = np.asarray(L.pos_codes, dtype=np.int64)
        self.pos_uniq = np.asarray(L.pos_uniq, dtype=object)
        self.schedule_of = np.asarray(medicare.fee_schedule.codes, dtype=np.int64)
        self.schedules = [str(c) for c in medicare.fee_schedule.categories]
        self.setting_of = np.asarray(medicare.setting.codes, dtype=np.int64)
        self.settings = [str(c) for c in medicare.setting.categories]
        self._fees: dict[int, np.ndarray] = {}
        self._combos: dict[frozenset[str], tuple[np.ndarray | None, LineIndex]] = {}

    def combos(self, fields: frozenset[str] = FIELDS) -> tuple[np.ndarray | None, LineIndex]:
        """``(combo, distinct)``: lines share a combo exactly when they share every value of
        *fields* (:func:`fields_of` the terms: HCPCS and modifier cells, place of service, fee
        schedule, setting; the code is the HCPCS cell's, :mod:`rvucalc.claims.normalise`), and
        *distinct* is this index over one line of each combo, so a term's mask over the lines is
        ``distinct.mask(match)[combo]``. When the combos are not few (over a quarter of the
        lines) a mask over them would save nothing, and when *fields* is empty every mask is all
        lines or none: ``(None, self)``, the lines themselves.
        Computed once per *fields*, by counting rather than hashing (:func:`dense_pairs`)."""
        got = self._combos.get(fields)
        if got is None:
            got = self._combos[fields] = self._combine(fields)
        return got

    def _combine(self, fields: frozenset[str]) -> tuple[np.ndarray | None, LineIndex]:
        if not fields & FIELDS:  # terms that read no value (e.g. one term for every line): a mask is all or none
            return None, self
        combo: np.ndarray | None = None
        k = 1 if self.n else 0
        for name, arr, size in (("hcpcs", self.h_codes, len(self.h_lists)), ("modifiers", self.m_codes, len(self.m_lists)),
                                ("pos", self.pos_of, len(self.pos_uniq)),
                                ("fee_schedule", self.schedule_of, len(self.schedules)),
                                ("setting", self.setting_of, len(self.settings))):
            if name not in fields:
                continue
            if combo is None:  # the first value: its codes (+1, for -1) are the key, renumbered below
                combo = np.add(arr, 1, dtype=np.int64)
                k = size + 1
                continue
            if k * (size + 1) <= COUNTED_RANGE:  # still a small range: combined, not yet renumbered
                combo *= size + 1
                combo += arr
                combo += 1
                k *= size + 1
                continue
            combo, k = dense_pairs(*_renumbered(combo, k), np.asarray(arr) + 1, size + 1, into=combo)
            if k > FEW_COMBOS * self.n:
                return None, self
        assert combo is not None
        combo, k = _renumbered(combo, k)
        if k > FEW_COMBOS * self.n:
            return None, self
        rep = np.empty(k, dtype=np.int64)
        rep[combo] = np.arange(self.n, dtype=np.int64)  # a line of each combo (any: they share every value)
        return combo, self._subset(rep)

    def _subset(self, rows: np.ndarray) -> LineIndex:
        sub = object.__new__(LineIndex)
        sub.__dict__.update(self.__dict__)
        sub.n = len(rows)
        for name in ("code_of", "h_codes", "m_codes", "pos_of", "schedule_of", "setting_of"):
            setattr(sub, name, getattr(self, name)[rows])
        sub._fees = {}
        sub._combos = {}
        return sub

    @staticmethod
    def _spread(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``table[codes]`` with code -1 giving False."""
        return np.append(table, False)[codes]

    def mask(self, match: MatchSpec) -> np.ndarray:
        """The lines *match* holds (every key given must hold)."""
        m = np.ones(self.n, dtype=bool)
        if match.fee_schedule:
            m &= self._spread(np.isin(self.schedules, match.fee_schedule), self.schedule_of)
        if match.setting:
            m &= self._spread(np.isin(self.settings, match.setting), self.setting_of)
        if match.codes:
            m &= code_mask(match.codes, self.codes)[self.code_of]
        if match.not_codes:
            m &= ~code_mask(match.not_codes, self.codes)[self.code_of]
        if match.modifiers:
            want = set(match.modifiers)
            h = np.array([bool(want.intersection(t)) for t in self.h_lists], dtype=bool)  # distinct cells
            mm = np.array([bool(want.intersection(t)) for t in self.m_lists], dtype=bool)
            m &= h[self.h_codes] | mm[self.m_codes]
        if match.pos:
            m &= np.isin(self.pos_uniq, match.pos)[self.pos_of]
        return m

    # -- the payer's fee schedule file: the rate of each line's code and modifiers --------------

    def fee_rates(self, table: FeeTable) -> np.ndarray:
        """Cents per unit from *table* per line (-1 where the file lists no row for the line).

        The rate of the code's row without a modifier, looked up once per distinct code; the
        lines of the codes that also have rows for a modifier are looked up once per distinct
        (HCPCS cell, modifiers cell) pair."""
        got = self._fees.get(id(table))
        if got is not None:
            return got
        plain = np.array([table.rates.get((str(c), ""), -1) for c in self.codes], dtype=np.int64)  # codes
        rate = plain[self.code_of]
        special = table.modifier_codes
        if special:
            sel = np.flatnonzero(np.isin(self.codes, list(special))[self.code_of])
            if len(sel):
                m_n = len(self.m_lists)
                key = (self.h_codes[sel].astype(np.int64) + 1) * (m_n + 1) + (self.m_codes[sel].astype(np.int64) + 1)
                pair, _ = pd.factorize(key)
                _, first = np.unique(pair, return_index=True)  # a line of each pair
                at = sel[first]
                r = np.array([table.lookup(str(self.codes[c]), tuple(self.h_lists[h]) + tuple(self.m_lists[m]))
                              for c, h, m in zip(self.code_of[at].tolist(), self.h_codes[at].tolist(),
                                                 self.m_codes[at].tolist())], dtype=np.int64)  # pairs
                rate[sel] = r[pair]
        self._fees[id(table)] = rate
        return rate


__all__ = ["FIELDS", "LineIndex", "code_mask", "dense_pairs", "fields_of"]
