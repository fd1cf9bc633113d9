"""Which lines a contract term takes: boolean masks over whole arrays.

Every test works on the *distinct* values of a column (codes, modifier cells, places of service,
fee schedules, settings: a few thousand at most) and is then spread to the lines by their
integer codes, so a million lines cost a few array lookups per term. Terms are tried in the
contract's order, first match wins (:mod:`rvucalc.contracts.price`).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from .fees import FeeTable
from .medicare import Facts, Medicare
from .model import MatchSpec


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

    @cached_property
    def _modifier_pairs(self) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
        """Per line an index into distinct (HCPCS cell, modifiers cell) pairs; per pair its code
        and every modifier of the line."""
        m_n = len(self.m_lists)
        key = (self.h_codes.astype(np.int64) + 1) * (m_n + 1) + (self.m_codes.astype(np.int64) + 1)
        pair, _ = pd.factorize(key)
        _, first = np.unique(pair, return_index=True)  # a line of each pair
        code = self.codes[self.code_of[first]]
        mods = [tuple(self.h_lists[h]) + tuple(self.m_lists[mc])
                for h, mc in zip(self.h_codes[first].tolist(), self.m_codes[first].tolist())]  # distinct pairs
        return pair.astype(np.int64), code, mods

    def fee_rates(self, table: FeeTable) -> np.ndarray:
        """Cents per unit from *table* per line (-1 where the file lists no row for the line)."""
        pair, code, mods = self._modifier_pairs
        rate = np.array([table.lookup(str(c), m) for c, m in zip(code, mods)], dtype=np.int64)  # pairs
        return rate[pair]


__all__ = ["LineIndex", "code_mask"]
