"""Outputs that are never half-written: a temporary file in the target folder, renamed into place.

Every file rvucalc writes for a user (claims CSV/parquet, workbooks, schedules) goes through
:func:`atomic_output`: the bytes are written to a hidden temporary file beside the target, flushed
and fsynced, then :func:`os.replace`-d over the target in one step. A run that is killed or fails
leaves either the previous file or none under the target name, never a truncated one; the
temporary file is removed on every exit path that Python sees (an exception, ``KeyboardInterrupt``
or ``SystemExit``). A SIGKILL can leave a ``.<name>.rvucalc-*.tmp`` file beside the target, never
a wrong file under the target's name; the next run that writes beside it removes it
(:func:`remove_stale`: the temporary's name holds the host and process that made it).

The outputs of one run are written together (:func:`output_group`): each is written to its
temporary file, and only when all are complete are they renamed into place, so a failure in the
second (a full disk) leaves both previous files, never new lines beside the previous totals.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import shutil
import socket
import tempfile
import time
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


#: The outputs of the run being written together (:func:`output_group`): (temporary, target).
_GROUP: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "rvucalc_output_group", default=None)
#: A temporary file of rvucalc's is older than this (seconds) when its name does not say its
#: process (names of rvucalc before the host and process were in them).
LEGACY_AGE = 24 * 3600


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


def temp_prefix(name: str) -> str:
    """The name prefix of a temporary beside the output *name*: ``.<name>.rvucalc-<host>-<pid>-``
    (what :func:`remove_stale` reads back)."""
    return f".{name}.rvucalc-{_host()}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale(folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Remove the temporaries of output *name* in *folder* that a run killed before it could
    clean up left (a SIGKILL, a power cut): those whose name says this host and a process that
    no longer runs, and those of an older rvucalc (no process in the name) over a day old. A
    temporary of a run still going is never touched. Returns what was removed."""
    removed: list[Path] = []
    lead = f".{name}.rvucalc-"
    pat = re.compile(r"(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-")
    try:
        entries = [e for e in Path(folder).iterdir() if e.name.startswith(lead)]
    except OSError:
        return removed
    host = _host()
    for e in entries:
        m = pat.match(e.name[len(lead):])
        if m:
            stale = m["host"] == host and not _alive(int(m["pid"]))
        else:
            try:
                stale = time.time() - e.lstat().st_mtime > LEGACY_AGE
            except OSError:
                continue
        if not stale:
            continue
        with contextlib.suppress(OSError):
            if e.is_dir() and not e.is_symlink():
                shutil.rmtree(e)
            else:
                e.unlink()
            removed.append(e)
    return removed


@contextlib.contextmanager
def output_group() -> Iterator[None]:
    """Write the outputs of one run together: inside the block, :func:`atomic_output` writes each
    to its temporary and defers its rename; at the end of the block all are renamed into place,
    or, when one failed, none is and every temporary is removed (the error says which files
    were left as they were)."""
    pending: list[tuple[Path, Path]] = []
    token = _GROUP.set(pending)
    try:
        yield
    except OutputError as exc:
        for tmp, _ in pending:
            _unlink(tmp)
        kept = [str(p) for _, p in pending]
        if kept:
            raise OutputError(f"{exc}; {', '.join(kept)} left as {'it was' if len(kept) == 1 else 'they were'}, "
                              "so the outputs of this run are all new or all as before") from exc
        raise
    except BaseException:
        for tmp, _ in pending:
            _unlink(tmp)
        raise
    finally:
        _GROUP.reset(token)
    try:
        for tmp, p in pending:
            os.replace(tmp, p)
    except OSError as exc:
        for tmp, _ in pending:
            _unlink(tmp)
        raise OutputError(f"cannot write {pending[0][1]}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, mode: str = "wb") -> Iterator[Path]:
    """Yield a temporary path beside *path*; on success it replaces *path*, else it is removed.

    Use it as ``with atomic_output(dst) as tmp: write(tmp)``. The temporary file exists (empty)
    when the block starts, so writers that refuse to overwrite must be told to. OS errors (disk
    full, permissions) become :class:`OutputError` naming *path*.
    """
    p = Path(path)
    check_output(p)
    remove_stale(p.parent, p.name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(p.name), suffix=".tmp", dir=p.parent)
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
        group = _GROUP.get()
        if group is not None:  # renamed with the run's other outputs (output_group)
            group.append((tmp, p))
            return
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
