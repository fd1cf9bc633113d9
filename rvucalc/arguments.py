"""Checks of the arguments a person passes to rvucalc (in Python or on the command line).

One function per kind of argument, called by the facade, the engines and the command line
before anything is priced, so the same value is refused with the same sentence everywhere.
Each returns the value in the form rvucalc uses (a ``float`` conversion factor, an ``int``
year ...) or raises :class:`~rvucalc.errors.InvalidArgumentError` (a ``ValueError``), or
:class:`~rvucalc.errors.ArgumentTypeError` (also a ``TypeError``) for a value of the wrong
type, saying what was given and what is expected. Nothing is guessed: a value that is not
clearly what is asked for is refused, never replaced by a default.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import ArgumentTypeError, InvalidArgumentError, UnknownLocalityError


def _shown(value: Any) -> str:
    s = repr(value)
    return s if len(s) <= 60 else s[:57] + "..."


def _a(value: Any) -> str:
    """``"an int"``, ``"a list"``: the type of *value* with its article."""
    t = type(value).__name__
    return ("an " if t[:1].lower() in "aeiou" else "a ") + t


def _number(value: Any, name: str, expected: str) -> float:
    """*value* as a float: a real number (not a bool), or text that reads as a decimal number."""
    if isinstance(value, bool) or value is None:
        raise ArgumentTypeError(f"{name}={_shown(value)} is not a number: expected {expected}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            raise InvalidArgumentError(f"{name}={_shown(value)} is not a number: expected {expected}")
        return float(text)
    if isinstance(value, (numbers.Real, Decimal)):
        return float(value)
    raise ArgumentTypeError(f"{name}={_shown(value)} is {_a(value)}, not a number: "
                            f"expected {expected}")


def positive_number(value: Any, name: str, expected: str) -> float:
    """A positive finite number (a float), else the error says *expected*."""
    x = _number(value, name, expected)
    if math.isnan(x) or math.isinf(x):
        raise InvalidArgumentError(f"{name}={_shown(value)} is not a finite number: expected {expected}")
    if x <= 0:
        raise InvalidArgumentError(f"{name}={_shown(value)} is not above zero: expected {expected}")
    return x


def non_negative_number(value: Any, name: str, expected: str) -> float | None:
    """A finite number of 0 or more (a float), ``None`` as ``None``; else the error says *expected*."""
    if value is None:
        return None
    x = _number(value, name, expected)
    if math.isnan(x) or math.isinf(x):
        raise InvalidArgumentError(f"{name}={_shown(value)} is not a finite number: expected {expected}")
    if x < 0:
        raise InvalidArgumentError(f"{name}={_shown(value)} is below zero: expected {expected}")
    return x


CF_EXPECTED = "a positive finite number of dollars per RVU, e.g. 33.4009"


def conversion_factor(value: Any, name: str = "conversion_factor") -> float | None:
    """A what-if conversion factor: a positive finite number (text of a number is read).

    ``None`` (the release's own CF) is returned as ``None``. ``-1``, ``0``, ``inf``, NaN,
    ``"abc"`` and ``True`` are refused naming *name* (``--cf`` on the command line).
    """
    if value is None:
        return None
    return positive_number(value, name, CF_EXPECTED)


def wage_index(value: Any, name: str = "wage_index") -> float | None:
    """A facility wage index given by the user: a positive finite number, or ``None``."""
    if value is None:
        return None
    return positive_number(value, name, "a positive finite wage index, e.g. 1.2699")


def year(value: Any, name: str = "year") -> int | None:
    """A calendar year: an integer, or text of four digits as a widget gives it (``"2026"``).

    ``None`` is returned as ``None`` (the newest year at hand). Other text (``"CY2026"``,
    ``"26"``), a fraction, ``True`` or a list is refused.
    """
    if value is None:
        return None
    expected = "a calendar year such as 2026 (an integer, or text of four digits)"
    if isinstance(value, bool):
        raise ArgumentTypeError(f"{name}={value!r} is not a year: expected {expected}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{4}", text):
            raise InvalidArgumentError(f"{name}={_shown(value)} is not a year: expected {expected}")
        return int(text)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    if isinstance(value, numbers.Real):
        raise InvalidArgumentError(f"{name}={_shown(value)} is not a year: expected {expected}")
    raise ArgumentTypeError(f"{name}={_shown(value)} is {_a(value)}, not a year: "
                            f"expected {expected}")


def quarter(value: Any, name: str = "quarter") -> int:
    """A calendar quarter 1-4 (an integer or text of one digit)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, str)):
        raise ArgumentTypeError(f"{name} must be 1 to 4, not {_shown(value)}: a calendar quarter")
    text = str(value).strip()
    if text not in ("1", "2", "3", "4"):
        raise InvalidArgumentError(f"{name} must be 1 to 4, not {_shown(value)}: a calendar quarter")
    return int(text)


def choice(value: Any, accepted: Mapping[str, str], name: str, *, hint: str = "") -> str:
    """*value* read case-insensitively as one of *accepted*'s keys, returned as its value.

    The error lists the accepted words (and *hint*, one more sentence, when given).
    """
    words = ", ".join(dict.fromkeys(accepted))
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name}={_shown(value)} is not text: expected one of {words}")
    got = accepted.get(value.strip().lower())
    if got is None:
        raise InvalidArgumentError(f"{name}={_shown(value)} is not accepted: expected one of {words}"
                                   + (f"; {hint}" if hint else ""))
    return got


def zip_code(zip: str | int) -> str:
    """A ZIP code as five digits: ``90012`` (int), ``"601"`` -> ``"00601"``, ``"90012-1234"`` -> ``"90012"``.

    Raises :class:`~rvucalc.errors.UnknownLocalityError` for anything else.
    """
    s = str(zip).strip()
    m = re.fullmatch(r"(\d{1,5})(?:[-\s]?\d{4})?", s)
    if not m:
        raise UnknownLocalityError(f"{zip!r} is not a ZIP code (five digits, e.g. 90012)")
    return m.group(1).zfill(5)


def one_place(*, locality: Any = None, zip: Any = None, county: Any = None) -> None:
    """Refuse two places of service at once: a ZIP code, a locality id and a county are each a
    place, and rvucalc never chooses one of them for the caller (the command line's ``--zip``,
    ``--locality`` and ``--county`` are refused together the same way)."""
    given = [f"{k}={v!r}" for k, v in (("locality", locality), ("zip", zip), ("county", county))
             if v is not None]
    if len(given) > 1:
        raise InvalidArgumentError(f"{' and '.join(given)} are two places of service: give one of "
                                   "zip=, locality= or county=")


def frame(value: Any, name: str, *, what: str) -> None:
    """*value* must be a pandas DataFrame whose column names are each used once.

    *what* says what the frame holds (``"claim lines"``), for the error.
    """
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        kind = "None" if value is None else _a(value)
        raise ArgumentTypeError(f"{name} is {kind}, not a pandas DataFrame: expected a DataFrame of {what}"
                                " (e.g. pd.DataFrame(rows) or pd.read_csv(path, dtype=str))")
    cols = pd.Index(value.columns)
    if cols.has_duplicates:
        dup = [str(c) for c in dict.fromkeys(cols[cols.duplicated()])]
        counts = ", ".join(f"{c!r} {int((cols == c).sum())} times" for c in dup)
        raise InvalidArgumentError(f"{name} has more than one column of the same name ({counts}): "
                                   "each column name once, so rvucalc knows which to read")


def localities(value: Any, name: str = "localities") -> list[str] | None:
    """A list of localities (ids, or anything :meth:`~rvucalc.FeeSchedule.resolve_locality` reads).

    ``None`` means every locality. One text (``"01182-18"``) is one locality. An empty list
    is refused (it would price nothing); so is a list of something other than text.
    Duplicates are checked once the ids are resolved (:func:`distinct_localities`).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ArgumentTypeError(f"{name}={_shown(value)} is not a list of locality ids, e.g. "
                                "['01182-18', '13202-01'] (None for every locality)")
    items = list(value)
    if not items:
        raise InvalidArgumentError(f"{name}=[] names no locality: give at least one locality id, e.g. "
                                   "['01182-18'], or None (the default) for every locality")
    return items


def names(value: Any, name: str, *, example: str) -> list[Any] | None:
    """A list of names (codes, release ids ...): ``None`` as ``None``, one text as a list of one
    (``"rvu26c"`` is one release, not six letters), any other iterable as a list. A number or
    another single value is refused: a code or id is text (``99213`` as a number would lose the
    leading zeros of ``00100``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return list(value.values())
    if not isinstance(value, Iterable):
        raise ArgumentTypeError(f"{name}={_shown(value)} is {_a(value)}: expected text or a list "
                                f"of text, e.g. {example}")
    return list(value)


def distinct_localities(asked: Sequence[Any], resolved: Sequence[str], name: str = "localities") -> None:
    """Refuse a locality asked twice (the same id, or two spellings of one locality): each would
    be priced twice and counted twice in every sum."""
    seen: dict[str, Any] = {}
    twice: list[str] = []
    for a, r in zip(asked, resolved, strict=True):
        if r in seen:
            first = seen[r]
            how = "" if str(first) == str(a) else f" (as {str(first)!r} and {str(a)!r})"
            twice.append(f"{r}{how}")
        else:
            seen[r] = a
    if twice:
        raise InvalidArgumentError(f"{name} names {', '.join(dict.fromkeys(twice))} more than once: give each "
                                   "locality once")


def output_path(path: Any, suffixes: Sequence[str], what: str, *, name: str = "path", hint: str = "") -> Path:
    """*path* as a Path whose suffix is one of *suffixes* (``(".xlsx",)``), else refused:
    a file's name says its format, and rvucalc never writes one format under another's name."""
    if not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
        raise ArgumentTypeError(f"{name}={_shown(path)} is not a file name: expected a path ending in "
                                f"{' or '.join(suffixes)}")
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        got = f"ends in {p.suffix!r}" if p.suffix else "has no suffix"
        raise InvalidArgumentError(f"{p.name} {got}, and {what} is written as {' or '.join(suffixes)}: name "
                                   f"the file {p.stem}{suffixes[0]}" + (f" ({hint})" if hint else ""))
    return p


__all__ = ["CF_EXPECTED", "choice", "conversion_factor", "distinct_localities", "frame", "localities", "names", "non_negative_number",
           "one_place", "output_path", "positive_number", "quarter", "wage_index", "year", "zip_code"]
