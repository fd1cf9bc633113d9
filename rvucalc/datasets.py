"""Parquet datasets (folders of parts): what rvucalc may replace, and what it reads as claim lines.

The Dask engine (:func:`rvucalc.dask.reprice_dataset`, ``rvucalc reprice DATASET -o FOLDER``)
reads a dataset (a folder, a glob or one file) and writes one (a folder). The rules, checked
before any work is done (no cluster is started for a refused run):

- **Only rvucalc's own folders are replaced.** The output folder may be new, empty, or a dataset
  rvucalc wrote: it holds rvucalc's marker file :data:`MARKER`, which lists the files rvucalc put
  there, and nothing else. A folder holding anything else (a user's ``report.docx``, a
  ``sub/`` folder, a dataset written by another tool) is refused, naming what it holds: it is
  never deleted. The current folder (``-o .``) and the folders holding it are refused too.
- **An output is never inside its input**, nor the input inside the output: the next run over
  the input would read the priced lines back as claim lines (:func:`check_target`).
- **A dataset rvucalc wrote is never read as claim lines.** A folder (or a part's folder) holding
  :data:`MARKER`, or a part with rvucalc's line-number column (a dataset written before the
  marker existed, or one being written), is refused with a sentence saying it is rvucalc's
  output (:func:`input_files`).
- **The files of one dataset agree.** Every part must have the same columns, each of one type;
  a column that is text in one part and a number in another, or found in one part only, is
  refused naming both files and the column (Dask would otherwise take the first file's columns,
  dropping the others' extra columns, narrow the others' numbers to the first file's type, or
  fail mid-run). Text is text whether Arrow stores it as ``string`` or ``large_string``. An empty folder, a glob matching no
  file and a part that is not a readable Parquet file each get one sentence naming it.

Writing: the new dataset is written into a temporary folder beside the target, gets its marker
(:func:`write_marker`) when complete, and is renamed into place (:func:`replace_folder`): a
previous rvucalc dataset is replaced only then, after the target is checked again.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .atomic import OutputError
from .errors import RvucalcError

#: rvucalc's marker file in every dataset folder it writes (a name Dask and pyarrow skip).
MARKER = "_rvucalc_dataset.json"
#: Suffixes of the parts Dask reads from a folder (dask.dataframe.read_parquet's default).
PARQUET_SUFFIXES = (".parq", ".parquet", ".pq")
_LINE = "_line"  # rvucalc.claims.contract.LINE, without importing the claims package


class DatasetError(RvucalcError, ValueError):
    """A dataset cannot be read as claim lines (no parts, unreadable part, parts that disagree,
    or rvucalc's own output)."""


def is_url(path: str | os.PathLike[str]) -> bool:
    return "://" in os.fspath(path)


def is_glob(path: str | os.PathLike[str]) -> bool:
    return any(ch in os.fspath(path) for ch in "*?[")


def glob_base(src: str | os.PathLike[str]) -> Path:
    """The folder a glob reads from (``claims/*.parquet`` -> ``claims``), else *src* itself."""
    parts = Path(src).parts
    for i, part in enumerate(parts):
        if is_glob(part):
            return Path(*parts[:i]) if i else Path(".")
    return Path(src)


# ---------------------------------------------------------------------------
# output


def marker(folder: Path) -> dict[str, Any] | None:
    """The content of rvucalc's marker in *folder*, or None (no marker, or not one rvucalc wrote)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "rvucalc" or not isinstance(data.get("files"), list):
        return None
    return data


def write_marker(folder: Path, content: str, source: str | None = None) -> None:
    """Mark the complete dataset *folder* as rvucalc's: its marker lists every file in it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("rvucalc")
    except PackageNotFoundError:  # a source tree that was not installed
        __version__ = ""
    files = sorted(p.name for p in folder.iterdir())
    data = {"written_by": "rvucalc", "version": __version__, "content": content, "source": source,
            "files": files}
    (folder / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _foreign(folder: Path) -> list[str]:
    """Names in *folder* that rvucalc did not write (all of them when it has no marker of rvucalc's)."""
    names = sorted(os.listdir(folder))
    mark = marker(folder)
    if mark is None:
        return names
    ours = {MARKER, *map(str, mark["files"])}  # rvucalc writes files only: a folder or link is not its
    return [n for n in names if n not in ours or (folder / n).is_symlink() or (folder / n).is_dir()]


def _shown(names: list[str], folder: Path) -> str:
    shown = [n + ("/" if (folder / n).is_dir() else "") for n in names[:3]]
    return ", ".join(shown) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")


def check_replaceable(dst: str | os.PathLike[str], what: str = "the output") -> None:
    """Refuse an existing *dst* that rvucalc may not replace: a file, the current folder (or one
    holding it), or a folder that is neither empty nor a dataset rvucalc wrote (:data:`MARKER`).

    Raises :class:`rvucalc.atomic.OutputError` (one sentence naming the folder and what it holds).
    """
    p = Path(dst)
    target = p.resolve()
    here = Path.cwd().resolve()
    if os.fspath(dst).rstrip("/" + os.sep) in ("", ".", "..") or target == here or target in here.parents:
        raise OutputError(f"{what} {os.fspath(dst)} is the current folder or holds it: give the dataset a "
                          "folder of its own (e.g. priced)")
    if not p.exists() and not p.is_symlink():
        return
    if not p.is_dir():
        raise OutputError(f"{what} {p} is a file: a dataset is written as a folder; give a folder name")
    foreign = _foreign(p)
    if foreign:
        raise OutputError(f"{what} {p} is a folder holding files rvucalc did not write ({_shown(foreign, p)}): "
                          "rvucalc replaces only an empty folder or a dataset it wrote (with its "
                          f"{MARKER}); choose a new folder name")


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_target(dst: str | os.PathLike[str], src: str | os.PathLike[str] | None = None,
                 what: str = "the output") -> None:
    """Refuse, before any work, the dataset output *dst* of a run reading *src*.

    *dst* must be a folder rvucalc may replace (:func:`check_replaceable`) in an existing folder,
    neither the input nor inside it (the priced parts would be read back as claim lines by the
    next run), nor holding it (replacing it would delete the input). Raises
    :class:`rvucalc.atomic.OutputError`. Object storage (``s3://...``) is not checked.
    """
    d = os.fspath(dst)
    if is_url(d):
        return
    dpath = Path(d)
    if src is not None and not is_url(src):
        s = os.fspath(src)
        base, out = glob_base(s).resolve(), dpath.resolve()
        if _inside(base, out):
            raise OutputError(f"{what} {d} would replace the input {s}: choose another output folder")
        if (Path(s).is_dir() or is_glob(s)) and _inside(out, base):
            raise OutputError(f"{what} {d} is inside the input {s}: the next run over {glob_base(s)} would "
                              "read the priced lines as claim lines; choose a folder outside it")
    check_replaceable(d, what)
    parent = dpath.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {dpath}: the folder {parent} does not exist")


def check_nested(a: str | os.PathLike[str], b: str | os.PathLike[str], what_a: str, what_b: str) -> None:
    """Refuse two dataset outputs one inside the other (replacing one would delete the other)."""
    if is_url(a) or is_url(b):
        return
    pa_, pb = Path(a).resolve(), Path(b).resolve()
    if pa_ != pb and (_inside(pa_, pb) or _inside(pb, pa_)):
        inner, outer = (f"{what_a} {a}", f"{what_b} {b}") if _inside(pa_, pb) else (f"{what_b} {b}", f"{what_a} {a}")
        raise OutputError(f"{inner} is inside {outer}: give the two datasets separate folders")


def replace_folder(tmp: Path, dst: Path, what: str = "the output") -> None:
    """Put the complete folder *tmp* in place of *dst*, after checking *dst* again (a previous
    rvucalc dataset is removed only once the new one is in place)."""
    check_replaceable(dst, what)  # the folder may have changed during the run
    old = None
    if dst.exists() or dst.is_symlink():
        from .atomic import temp_prefix

        old = dst.with_name(f"{temp_prefix(dst.name)}old")
        os.replace(dst, old)
    os.replace(tmp, dst)
    if old is not None:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------
# input


def _kind(t: Any) -> str:
    """A Parquet (Arrow) type in words."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return f"{_kind(t.value_type).split(' (')[0]} ({t})"
    if _text(t):
        word = "text"
    elif pa.types.is_integer(t):
        word = "a whole number"
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        word = "a number"
    elif pa.types.is_boolean(t):
        word = "true/false"
    elif pa.types.is_timestamp(t):
        word = "a date and time"
    elif pa.types.is_date(t):
        word = "a date"
    elif pa.types.is_null(t):
        word = "empty (no values)"
    else:
        word = "of type"
    return f"{word} ({t})"


def _rvucalc_output(path: Path, why: str) -> DatasetError:
    return DatasetError(f"{path} is a dataset rvucalc wrote ({why}), not claim lines: price the claim lines "
                        "it was made from")


def check_not_output(path: str | os.PathLike[str]) -> None:
    """Refuse the claims file *path* when it is a part of a dataset rvucalc wrote (its folder holds
    :data:`MARKER`): the in-memory and streaming engines read single files."""
    folder = Path(path).parent
    if (folder / MARKER).exists():
        raise _rvucalc_output(folder, f"its marker {MARKER}; {Path(path).name} is one of its parts")


def _list_parts(src: str) -> list[Path]:
    """The files Dask reads for *src*: every ``.parquet``/``.pq``/``.parq`` file under a folder (at
    any depth), the files a glob matches, or the one file."""
    p = Path(src)
    if is_glob(src):
        try:
            import fsspec

            found = sorted(fsspec.filesystem("file").glob(src))
        except ImportError:  # pragma: no cover - fsspec comes with Dask
            import glob

            found = sorted(glob.glob(src, recursive=True))
        if not found:
            raise DatasetError(f"{src}: no file matches this pattern")
        folders = [f for f in found if Path(f).is_dir()]
        if folders:
            raise DatasetError(f"{src}: the pattern matches the folder {folders[0]}; give that folder itself, "
                               "or a pattern that matches only Parquet files")
        rel = not os.path.isabs(src)  # fsspec gives absolute paths: name them as the pattern does
        return [Path(os.path.relpath(f) if rel else f) for f in found]
    if p.is_dir():
        found = sorted(Path(root) / f for root, _, files in os.walk(p) for f in files
                       if f.endswith(PARQUET_SUFFIXES))
        if not found:
            raise DatasetError(f"{src}: the folder holds no Parquet file ({', '.join(PARQUET_SUFFIXES)})")
        return found
    if not p.exists():
        raise DatasetError(f"{src}: no such file or folder")
    return [p]


def input_files(src: str | os.PathLike[str]) -> list[Path]:
    """Check the claim-line dataset *src* (a folder, a glob or a file) before any work; its parts.

    Raises :class:`DatasetError` (one sentence naming the file, folder or pattern) for rvucalc's
    own output (:data:`MARKER` in the folder or a part's folder, or rvucalc's line-number column
    in a part), an empty folder, a glob matching no file, a part that is not a readable Parquet
    file, and parts that disagree on their columns or on a column's type. Reads only the
    Parquet footers. Object storage (``s3://...``) is not checked.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    s = os.fspath(src)
    if is_url(s):
        return []
    top = glob_base(s)
    if top.is_dir() and not is_glob(s) and marker(top) is not None:
        raise _rvucalc_output(top, f"its marker {MARKER}")
    parts = _list_parts(s)
    top_r = top.resolve()
    seen: set[Path] = set()
    first: tuple[Path, Any] | None = None
    for part in parts:
        folder, shown = part.resolve().parent, part.parent
        while folder not in seen:  # the part's folder and those above it, up to the input's folder
            seen.add(folder)
            if (folder / MARKER).exists():
                if folder != top_r and top_r in folder.parents and top.is_dir():
                    raise DatasetError(f"{shown}, inside {top}, is a dataset rvucalc wrote (its marker {MARKER}), "
                                       f"not claim lines: move it out of {top}, or price the claim lines "
                                       "without it")
                raise _rvucalc_output(shown, f"its marker {MARKER}")
            if folder == top_r or top_r not in folder.parents:
                break
            folder, shown = folder.parent, shown.parent
        try:
            schema = pq.read_schema(part)
        except (pa.ArrowException, OSError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatasetError(f"{part}: not a readable Parquet file ({msg}); remove it from the dataset or "
                               "write it again") from exc
        if _LINE in schema.names:
            raise DatasetError(f"{part} was written by rvucalc (it has rvucalc's line-number column {_LINE!r}), "
                               "not claim lines: price the claim lines it was made from")
        if first is None:
            first = (part, schema)
            continue
        _same_columns(first, (part, schema))
    return parts


def _text(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t)
                or getattr(pa.types, "is_string_view", bool)(t))


def _same_columns(a: tuple[Path, Any], b: tuple[Path, Any]) -> None:
    (pa_, sa), (pb, sb) = a, b
    na, nb = list(sa.names), list(sb.names)
    for name in nb:
        if name not in na:
            raise DatasetError(f"{pb} has the column {name!r} and {pa_} has not: every file of one dataset "
                               "must have the same columns")
    for name in na:
        if name not in nb:
            raise DatasetError(f"{pa_} has the column {name!r} and {pb} has not: every file of one dataset "
                               "must have the same columns")
    for name in na:
        ta, tb = sa.field(name).type, sb.field(name).type
        if ta != tb and not (_text(ta) and _text(tb)):  # string and large_string: one text (Dask reads both)
            raise DatasetError(f"the column {name!r} is {_kind(ta)} in {pa_} but {_kind(tb)} in {pb}: every "
                               "file of one dataset must give a column one type (write them with one schema)")


__all__ = ["MARKER", "DatasetError", "check_nested", "check_not_output", "check_replaceable", "check_target",
           "glob_base",
           "input_files", "marker", "replace_folder", "write_marker"]
