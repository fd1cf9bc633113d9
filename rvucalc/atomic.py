"""Outputs that are never half-written: a temporary file in the target folder, renamed into place.

Every file rvucalc writes for a user (claims CSV/parquet, workbooks, schedules) goes through
:func:`atomic_output`: the bytes are written to a hidden temporary file beside the target, flushed
and fsynced, then :func:`os.replace`-d over the target in one step. A run that is killed or fails
leaves either the previous file or none under the target name, never a truncated one; the
temporary file is removed on every exit path that Python sees (an exception, ``KeyboardInterrupt``
or ``SystemExit``). A SIGKILL can leave a ``.<name>.rvucalc-*.tmp`` file beside the target, never
a wrong file under the target's name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import RvucalcError


class OutputError(RvucalcError):
    """The output cannot be written (folder missing or read-only, the same file as an input, disk full)."""


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether *a* and *b* name one file: the same path once resolved, or (both existing) the
    same file by another name (a hard link)."""
    pa_, pb = Path(a), Path(b)
    try:
        if pa_.exists() and pb.exists() and os.path.samefile(pa_, pb):
            return True
    except OSError:
        pass
    return pa_.resolve() == pb.resolve()


def check_output(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output that cannot be written, before any work is done.

    Raises :class:`OutputError` (one sentence naming the path) when the folder does not exist or
    is not writable, when the target is a folder, or when it resolves to one of *inputs* (writing
    it would destroy the input).
    """
    p = Path(path)
    target = p.resolve()
    for i in inputs:
        if same_file(i, p):
            raise OutputError(f"the output {p} is the input file {Path(i)}: choose another output name")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {p}: the folder {folder} does not exist")
    if target.is_dir():
        raise OutputError(f"cannot write {p}: it is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {p}: the folder {folder} is not writable")
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, mode: str = "wb") -> Iterator[Path]:
    """Yield a temporary path beside *path*; on success it replaces *path*, else it is removed.

    Use it as ``with atomic_output(dst) as tmp: write(tmp)``. The temporary file exists (empty)
    when the block starts, so writers that refuse to overwrite must be told to. OS errors (disk
    full, permissions) become :class:`OutputError` naming *path*.
    """
    p = Path(path)
    check_output(p)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.rvucalc-", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        _unlink(tmp)
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(p: Path) -> None:
    with contextlib.suppress(OSError):
        p.unlink()
