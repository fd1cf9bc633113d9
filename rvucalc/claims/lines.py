"""Small array helpers shared by the claims stages: reasons as bits, categorical text outputs."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """Text column as a categorical from integer codes; code -1 gives "" (never NaN)."""
    cats = [str(c) for c in categories]
    uniq = list(dict.fromkeys([*cats, ""]))
    where = {c: i for i, c in enumerate(uniq)}
    remap = np.array([where[c] for c in cats] + [where[""]], dtype=np.int64)  # distinct categories
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(remap[np.where(codes >= 0, codes, len(cats))],
                                     categories=pd.Index(uniq, dtype=object))


class ReasonBits:
    """Reason codes per line as bits of a uint64; turned into "A|B" strings at the end."""

    def __init__(self, n: int) -> None:
        self.bits = np.zeros(n, dtype=np.uint64)
        self.codes: list[str] = []

    def bit(self, code: str) -> np.uint64:
        if code not in self.codes:
            if len(self.codes) >= 64:
                raise RuntimeError("more than 64 distinct reason codes in one repricing")
            self.codes.append(code)
        return np.uint64(1) << np.uint64(self.codes.index(code))

    def add(self, code: str, mask: np.ndarray, idx: np.ndarray | None = None) -> None:
        if not mask.any():
            return
        b = self.bit(code)
        if idx is None:
            self.bits[mask] |= b
        else:
            self.bits[idx[mask]] |= b

    def add_codes(self, codes: np.ndarray, idx: np.ndarray) -> None:
        """Add a code per element of *idx* ("" for none), e.g. PFS status/NA reasons."""
        k, uniq = pd.factorize(codes)
        for j, c in enumerate(uniq):  # distinct codes, not lines
            if c:
                self.add(str(c), k == j, idx)

    def any_of(self, codes: Iterable[str]) -> np.ndarray:
        m = np.uint64(0)
        for c in codes:
            if c in self.codes:
                m |= self.bit(c)
        return (self.bits & m) != 0

    def categorical(self) -> pd.Categorical:
        """The "A|B" reason strings as a categorical (codes hashed once, text built per distinct set)."""
        inv, uniq = pd.factorize(self.bits)
        text = ["|".join(c for j, c in enumerate(self.codes) if int(u) >> j & 1) for u in uniq]
        return categorical(inv, text)
