"""Reading a contract file: YAML to plain data, with the line of every value remembered.

A contract is written and reviewed by a person in a text editor, so every error names the file
and the line (1-based, as an editor counts). PyYAML's node tree keeps each node's position; the
data is built from the nodes here (not with ``yaml.safe_load``) so that:

- every scalar stays the text the analyst wrote (``00100`` stays ``00100``, never the octal
  number 64; ``120`` is read as a number by the pydantic model, not by YAML's 1.1 rules), and an
  explicit ``null``/``~``/empty value is ``None``;
- a key given twice in one mapping (two ``pay:`` lines) is an error naming both lines, not the
  last one silently kept;
- :class:`Located` maps each path in the data (``("terms", 2, "pay", "percent_of_medicare")``)
  to its line, so a pydantic validation error is reported at the line of the value it concerns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RvucalcError


class ContractFileError(RvucalcError, ValueError):
    """A contract file (or a fee schedule file it names) cannot be read or is not valid.

    The message names the file and the line, says what was expected and what was found.
    """

    def __init__(self, file: str | Path, message: str, *, line: int | None = None) -> None:
        self.file = str(file)
        self.line = line
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {message}")


Path_ = tuple[Any, ...]


@dataclass
class Located:
    """Plain data read from a YAML file, and the line (1-based) of each of its paths."""

    data: Any
    file: Path
    lines: dict[Path_, int] = field(default_factory=dict)
    sha256: str = ""

    def line_of(self, path: Path_) -> int | None:
        """The line of *path*, or of its nearest ancestor that has one (a missing key is
        reported at the mapping that should hold it)."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    def error(self, path: Path_, message: str) -> ContractFileError:
        return ContractFileError(self.file, message, line=self.line_of(path))


def read_yaml(path: str | Path) -> Located:
    """Read *path* as YAML into plain data (dicts, lists, text scalars, ``None``) with line numbers.

    Raises :class:`ContractFileError` naming the line for a YAML syntax error, a duplicate key, a
    key that is not plain text, a merge key (``<<``) or a tag rvucalc does not read, or a file
    that cannot be read (an anchor and its aliases are read as the same value repeated).
    """
    import yaml

    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ContractFileError(p, f"cannot read the contract file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContractFileError(p, "the file is not UTF-8 text", line=line) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ContractFileError(p, f"not valid YAML: {what}",
                                line=mark.line + 1 if mark is not None else None) from None
    except yaml.YAMLError as exc:
        raise ContractFileError(p, f"not valid YAML: {exc}") from None
    out = Located(None, p, sha256=hashlib.sha256(raw).hexdigest())
    if node is None:
        raise ContractFileError(p, "the file is empty: expected a contract (name, base, terms ...)", line=1)
    out.data = _build(node, (), out)
    return out


def _build(node: Any, path: Path_, out: Located) -> Any:
    import yaml

    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        d: dict[str, Any] = {}
        first: dict[str, int] = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                raise ContractFileError(out.file, "YAML merge keys (<<) are not read in a contract: write the "
                                        "values out", line=knode.start_mark.line + 1)
            if not isinstance(knode, yaml.ScalarNode):
                raise ContractFileError(out.file, "expected a plain key (a name followed by ':')",
                                        line=knode.start_mark.line + 1)
            key = str(knode.value)
            kline = knode.start_mark.line + 1
            if key in first:
                raise ContractFileError(out.file, f"{key!r} is given twice in the same block (lines "
                                        f"{first[key]} and {kline}); keep one", line=kline)
            first[key] = kline
            d[key] = _build(vnode, (*path, key), out)
            out.lines[(*path, key)] = kline if not isinstance(vnode, yaml.ScalarNode) else \
                vnode.start_mark.line + 1
        return d
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), out) for i, v in enumerate(node.value)]
    # a scalar: the text as written; an unquoted null/~/empty value is None
    if node.tag == "tag:yaml.org,2002:null" or (node.style is None and node.value in ("", "~", "null",
                                                                                      "Null", "NULL")):
        return None
    if node.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"):
        raise ContractFileError(out.file, f"the YAML tag {node.tag} is not read in a contract",
                                line=node.start_mark.line + 1)
    return str(node.value)


__all__ = ["ContractFileError", "Located", "read_yaml"]
