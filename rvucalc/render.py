"""Tables for the terminal: the one renderer every ``rvucalc`` command prints with.

On a terminal, tables are drawn with `rich <https://rich.readthedocs.io>`_:
they fit the terminal's width (``$COLUMNS`` when set), amounts and other
numeric columns are never wrapped or cut, and long text (descriptions,
locality names, notes) wraps inside its column instead of being truncated, so
two rows never read the same.

When standard output is not a terminal (a pipe or a file), output stays plain:
each table is tab-separated text (a header line, then one line per row, no
colour, boxes, padding or wrapping), and titles and notes are lines that start
with ``# ``, so ``grep -v '^#'`` leaves pure TSV. ``--csv`` / ``--json`` remain
the formats for scripts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd


def usd(x: Any) -> str:
    """``$1,234.56``, or ``-`` for a missing amount (None / NaN)."""
    if x is None or (isinstance(x, float) and x != x) or x is pd.NA:
        return "-"
    return f"${float(x):,.2f}"


@dataclass
class Table:
    """A table to print: column headers, rows of cell text, which columns are numeric."""

    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    numeric: Iterable[str] = ()
    title: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, numeric: Iterable[str] = (), title: str | None = None,
                   notes: Sequence[str] = ()) -> Table:
        cells = df.astype(object).where(df.notna(), "").to_numpy().tolist()
        return cls([str(c) for c in df.columns], cells, list(numeric), title, list(notes))


def is_plain(file: IO[str] | None = None) -> bool:
    """Plain (tab-separated) output when *file* (default stdout) is not a terminal.

    ``RVUCALC_TABLES=plain`` or ``=rich`` overrides the guess.
    """
    forced = os.environ.get("RVUCALC_TABLES", "").strip().lower()
    if forced in ("plain", "tsv"):
        return True
    if forced == "rich":
        return False
    f = file if file is not None else sys.stdout
    try:
        return not f.isatty()
    except (AttributeError, ValueError):
        return True


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return ""
    return str(v)


def _plain(lines: list[str], file: IO[str]) -> None:
    file.write("\n".join(lines) + "\n")


def emit(*items: Table | str, file: IO[str] | None = None, console: Any = None) -> None:
    """Print text lines and :class:`Table` s, rich on a terminal, plain otherwise.

    *console*: a ``rich.console.Console`` to draw on (tests pass one with a
    fixed width); it forces rich output.
    """
    out = file if file is not None else sys.stdout
    if console is None and is_plain(out):
        lines: list[str] = []
        for it in items:
            if isinstance(it, str):
                lines.extend(f"# {x}" if x else "#" for x in it.splitlines() or [""])
                continue
            if it.title:
                lines.append(f"# {it.title}")
            lines.append("\t".join(_cell(c).replace("\t", " ") for c in it.columns))
            lines.extend("\t".join(_cell(v).replace("\t", " ").replace("\n", " ") for v in row)
                         for row in it.rows)
            lines.extend(f"# {n}" for n in it.notes)
        _plain(lines, out)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    con = console or Console(file=out, highlight=False, soft_wrap=False)
    for it in items:
        if isinstance(it, str):
            con.print(Text(it), overflow="fold")
            continue
        cols = list(it.columns)
        num = set(it.numeric)
        mins = [_min_width(c, [_cell(r[j]) for r in it.rows], c in num) for j, c in enumerate(cols)]
        if sum(mins) + 2 * (len(cols) - 1) > con.width:
            _records(con, it)  # too narrow for every column: one block per row, nothing cut
            continue
        natural = sum(max([len(str(c))] + [len(_cell(r[j])) for r in it.rows]) for j, c in enumerate(cols))
        tight = natural + 2 * (len(cols) - 1) > con.width
        t = RichTable(title=it.title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                      show_edge=False, header_style="bold", title_style="bold", collapse_padding=True)
        for c, m in zip(cols, mins, strict=True):
            if c in num:  # amounts keep their width; when space is short a long header wraps
                t.add_column(c, justify="right", min_width=m, max_width=m if tight else None, overflow="fold")
            else:  # text wraps between words inside its column, never cut
                t.add_column(c, overflow="fold", min_width=m)
        for r in it.rows:
            t.add_row(*(Text(_cell(v)) for v in r))
        con.print(t)
        for n in it.notes:
            con.print(Text(n), overflow="fold")


#: A word longer than this (a URL, a file name) may be folded inside a text column.
_LONG_WORD = 20


def _min_width(header: str, cells: list[str], numeric: bool) -> int:
    """Narrowest a column can be without cutting: amounts whole, text at its longest word."""
    words = [len(w) for x in [header, *cells] for w in x.split()] or [1]
    if numeric:
        return max([len(x) for x in cells] + [max(words)])
    return min(max(words), _LONG_WORD)


def _records(con: Any, it: Table) -> None:
    """A table as one block per row (``column: value`` lines), for very narrow terminals."""
    from rich.text import Text

    if it.title:
        con.print(Text(it.title, style="bold"))
    w = max(len(str(c)) for c in it.columns)
    for r in it.rows:
        for c, v in zip(it.columns, r, strict=False):
            con.print(Text(f"{str(c):>{w}}: {_cell(v)}"), overflow="fold")
        con.print()
    for n in it.notes:
        con.print(Text(n), overflow="fold")


def to_text(*items: Table | str, width: int = 110) -> str:
    """The items drawn by rich as plain text (no colour) *width* columns wide: ``__str__`` of results."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    emit(*items, console=Console(file=buf, width=width, no_color=True, highlight=False,
                                 force_terminal=False, color_system=None))
    return "\n".join(ln.rstrip() for ln in buf.getvalue().rstrip("\n").splitlines())


__all__ = ["Table", "emit", "is_plain", "to_text", "usd"]
