"""Small array helpers shared by the claims stages: reasons as bits, categorical text outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa


def arrow_text(values: object) -> pa.ChunkedArray | None:
    """The Arrow strings behind a pandas text column or index (``str`` dtype, pyarrow storage),
    without copying; ``None`` for anything else (object columns, numbers, Python storage)."""
    dtype = getattr(values, "dtype", None)
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    arr = pa.chunked_array(pa.array(getattr(values, "array", values)))
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def text_bytes(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lengths, data)``: each string's length in bytes and all their bytes, concatenated (uint8).

    For whole-column checks of the characters used (e.g. "only ASCII digits") without a Python
    loop; ``None`` when the array has nulls (callers then take their general path).
    """
    if arr.null_count:
        return None
    lengths, data = [], []
    for chunk in arr.chunks:
        bufs = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        off = np.frombuffer(bufs[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1] \
            if bufs[1] is not None and len(chunk) else np.zeros(1, dtype=width)
        lengths.append(np.diff(off).astype(np.int64))
        raw = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        data.append(raw[int(off[0]):int(off[-1])])
    if not lengths:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    return np.concatenate(lengths), np.concatenate(data) if len(data) > 1 else data[0]


def few_distinct_codes(values: np.ndarray, block: int = 1 << 16) -> tuple[np.ndarray, list]:
    """``pd.factorize`` for a long array of few distinct values (codes in order of first
    appearance, the same as ``pd.factorize`` gives), a block at a time: the hash table stays the
    size of a block (factorizing a million values at once allocates about 30 MB for it)."""
    n = len(values)
    if n <= block:
        codes, uniq = pd.factorize(values)
        return codes, list(uniq)
    codes = np.empty(n, dtype=np.int32)
    seen: dict = {}
    for a in range(0, n, block):  # blocks, not values
        k, u = pd.factorize(values[a:a + block])
        remap = np.array([seen.setdefault(x, len(seen)) for x in u.tolist()], dtype=np.int32)
        codes[a:a + block] = remap[k]
    return codes, list(seen)


def only_bytes(lengths: np.ndarray, data: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per string of :func:`text_bytes` ``(lengths, data)``: every byte of it is one *table*
    (:func:`byte_table`) allows (True for an empty string)."""
    outside = np.concatenate([[0], np.cumsum(~table[data])])  # bytes not allowed, so far
    ends = np.cumsum(lengths)
    return outside[ends] == outside[ends - lengths]


def byte_table(chars: str) -> np.ndarray:
    """A 256-entry lookup table: True for the bytes of the ASCII *chars*."""
    t = np.zeros(256, dtype=bool)
    t[np.frombuffer(chars.encode("ascii"), dtype=np.uint8)] = True
    return t


def categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """Text column as a categorical from integer codes; code -1 gives "" (never NaN)."""
    cats = [str(c) for c in categories]
    uniq = list(dict.fromkeys([*cats, ""]))
    where = {c: i for i, c in enumerate(uniq)}
    small = np.int8 if len(uniq) < 127 else np.int16 if len(uniq) < 32_000 else np.int64
    remap = np.array([where[c] for c in cats] + [where[""]], dtype=small)  # distinct categories
    codes = np.asarray(codes)
    if codes.size and codes.min() < -1:
        codes = np.where(codes >= 0, codes, -1)
    return pd.Categorical.from_codes(remap[codes],  # code -1: the last entry, ""
                                     categories=pd.Index(uniq, dtype=object))


class ReasonBits:
    """Reason codes per line as bits of a uint64; turned into "A|B" strings at the end."""

    def __init__(self, n: int) -> None:
        self._bits = np.zeros(n, dtype=np.uint64)
        self.codes: list[str] = []
        self._later: list[tuple[str, Callable[[], np.ndarray]]] = []

    @property
    def bits(self) -> np.ndarray:
        """The bits per line, with every reason :meth:`later` was given added."""
        while self._later:
            code, mask = self._later.pop(0)
            self.add(code, mask())
        return self._bits

    @bits.setter
    def bits(self, value: np.ndarray) -> None:
        self._bits = value

    def later(self, code: str, mask: Callable[[], np.ndarray]) -> None:
        """Add *code* where ``mask()`` is True, when the bits are first read (a mask still being
        computed on another thread). The code takes its place in the order now."""
        self.bit(code)
        self._later.append((code, mask))

    def bit(self, code: str) -> np.uint64:
        if code not in self.codes:
            if len(self.codes) >= 64:
                raise RuntimeError("more than 64 distinct reason codes in one repricing")
            self.codes.append(code)
        return np.uint64(1) << np.uint64(self.codes.index(code))

    def add(self, code: str, mask: np.ndarray, idx: np.ndarray | None = None) -> None:
        hits = np.count_nonzero(mask)
        if not hits:
            return
        b = self.bit(code)
        bits = self._bits  # adding needs no pending reason: OR-ing commutes
        if idx is None and hits * 64 < len(mask):  # a few lines
            np.bitwise_or(bits, b, out=bits, where=mask)
        elif idx is None:  # many lines: the bit shifted into place on every line, no branching
            shift = np.uint64(self.codes.index(code))
            np.bitwise_or(bits, np.asarray(mask, dtype=bool).view(np.uint8).astype(np.uint64) << shift,
                          out=bits)
        else:
            bits[idx[mask]] |= b

    def add_codes(self, codes: np.ndarray, idx: np.ndarray) -> None:
        """Add a code per element of *idx* ("" for none), e.g. PFS status/NA reasons."""
        k, uniq = pd.factorize(codes)
        for j, c in enumerate(uniq):  # distinct codes, not lines
            if c:
                self.add(str(c), k == j, idx)

    def add_coded(self, codes: np.ndarray, labels: list, idx: np.ndarray) -> None:
        """:meth:`add_codes` with the codes given as indices into *labels* (added in the order
        the labels first appear among the lines, as :meth:`add_codes` does)."""
        present = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
        first = {int(c): int(np.argmax(codes == c)) for c in present if labels[c]}  # distinct codes
        for c in sorted(first, key=first.__getitem__):
            self.add(str(labels[c]), codes == c, idx)

    def any_of(self, codes: Iterable[str]) -> np.ndarray:
        m = np.uint64(0)
        for c in codes:
            if c in self.codes:
                m |= self.bit(c)
        return (self.bits & m) != 0

    def categorical(self) -> pd.Categorical:
        """The "A|B" reason strings as a categorical (codes hashed once, text built per distinct set)."""
        inv, uniq = few_distinct_codes(self.bits)
        text = ["|".join(c for j, c in enumerate(self.codes) if int(u) >> j & 1) for u in uniq]
        return categorical(inv, text)
