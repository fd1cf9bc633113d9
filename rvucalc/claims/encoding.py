"""A claims CSV that is not UTF-8: where, in which column, and what it looks like instead.

rvucalc reads CSV as UTF-8 (a byte-order mark allowed). pyarrow's reader only says "invalid
UTF8 data" and the column by number (``#7``), or, for a UTF-16 file, "Expected 8 columns, got
1". These functions, run only once reading has failed (or on the first 4 KiB, for UTF-16),
find the first byte that is not UTF-8, its line (lines of the file, the header being line 1)
and column, and name the encoding the file looks like:

- a byte-order mark, or a zero byte in every other place, is **UTF-16** or **UTF-32** (Excel's
  "Unicode Text", PowerShell's default);
- otherwise a byte that is not UTF-8 but is a Windows-1252 character (``0xE9`` é, ``0x96``
  en dash) is **Windows-1252** (cp1252: what Excel's plain "CSV" saves on Windows); a byte
  that is not is **ISO-8859-1** (Latin-1).

The sentence says how to convert the file (Excel "CSV UTF-8", or ``iconv``).
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

#: Bytes read to look for a byte-order mark or UTF-16's zero bytes.
SNIFF_BYTES = 4096
#: Bytes decoded at a time while looking for the first byte that is not UTF-8.
BLOCK = 16 << 20

_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32", "UTF-32LE"), (codecs.BOM_UTF32_BE, "UTF-32", "UTF-32BE"),
         (codecs.BOM_UTF16_LE, "UTF-16", "UTF-16LE"), (codecs.BOM_UTF16_BE, "UTF-16", "UTF-16BE"))
_FIX = "save it as UTF-8 (in Excel: Save As > 'CSV UTF-8'), or convert it, e.g. `iconv -f {enc} -t UTF-8 {name} > utf8.csv`"


def wide_encoding(head: bytes) -> tuple[str, str] | None:
    """``(name, iconv name)`` when *head* (a file's first bytes) is UTF-16 or UTF-32, else None."""
    for bom, name, codec in _BOMS:
        if head.startswith(bom):
            return name, codec
    if len(head) >= 4 and head.count(0) * 3 >= len(head):  # text that is a third or more zero bytes
        even, odd = head[0::2].count(0), head[1::2].count(0)
        return ("UTF-16", "UTF-16LE") if odd > even else ("UTF-16", "UTF-16BE")
    return None


def _first_line(head: bytes, codec: str) -> str:
    text = head.decode(codec, errors="replace").lstrip("\ufeff")
    return text.splitlines()[0] if text else ""


def wide_file(path: Path) -> str | None:
    """The sentence for a UTF-16/UTF-32 file, or None."""
    try:
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return None
    got = wide_encoding(head)
    if got is None:
        return None
    name, codec = got
    first = next(csv.reader([_first_line(head, codec)]), [])
    col = f", column {first[0]!r}" if first and first[0] else ""
    return (f"{path}: line 1{col}: the file looks like {name} ({codec}; Excel's 'Unicode Text' saves it), "
            f"not UTF-8, which rvucalc reads: " + _FIX.format(enc=codec, name=path.name))


def first_bad_byte(path: Path) -> tuple[int, int, bytes, int] | None:
    """``(byte offset, line, the line's bytes, the byte's place in the line)`` of the first
    byte of *path* that is not UTF-8 (lines counted from 1), or None when it is all UTF-8."""
    offset, line, carry = 0, 1, b""  # the file offset and line of data[0]; the line cut by a block
    with path.open("rb") as f:
        while True:
            block = f.read(BLOCK)
            data = carry + block
            if not data:
                return None
            try:
                data.decode("utf-8")
                bad = None
            except UnicodeDecodeError as exc:
                bad = None if block and exc.reason == "unexpected end of data" else exc.start
            if bad is not None:
                start = data.rfind(b"\n", 0, bad) + 1
                end = data.find(b"\n", bad)
                text = data[start:len(data) if end < 0 else end].rstrip(b"\r")
                return offset + bad, line + data.count(b"\n", 0, bad), text, bad - start
            if not block:
                return None
            cut = data.rfind(b"\n") + 1  # the last, unfinished line is read again with the next block
            line += data.count(b"\n", 0, cut)
            offset += cut
            carry = data[cut:]


def _looks_like(raw: bytes) -> tuple[str, str]:
    try:
        raw.decode("cp1252")
        return "Windows-1252", "CP1252"
    except UnicodeDecodeError:
        return "ISO-8859-1 (Latin-1)", "ISO-8859-1"


def not_utf8(path: Path) -> str | None:
    """The sentence for a file with a byte that is not UTF-8: its line, column and the encoding
    the line looks like; None when the file is UTF-8 (or cannot be read)."""
    wide = wide_file(path)
    if wide is not None:
        return wide
    try:
        found = first_bad_byte(path)
        with path.open("rb") as f:
            header_raw = f.readline()
    except OSError:
        return None
    if found is None:
        return None
    _, line, raw, k = found
    name, codec = _looks_like(raw)
    char = bytes([raw[k]]).decode(codec, errors="replace")
    where = ", in the header" if line == 1 else ""
    if line > 1:
        try:
            header = next(csv.reader([header_raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")]), [])
            cells = next(csv.reader([raw.decode("utf-8", errors="surrogateescape")]), [])
        except csv.Error:
            header, cells = [], []
        if header and len(cells) == len(header):  # the line is a whole record: name its column
            j = next((j for j, c in enumerate(cells) if any("\udc80" <= ch <= "\udcff" for ch in c)), None)
            if j is not None:
                where = f", column {header[j]!r}"
    return (f"{path}: line {line:,}{where}: the byte 0x{raw[k]:02X} ({char!r} in {name}) is not UTF-8, which "
            f"rvucalc reads; the file looks like {name}: " + _FIX.format(enc=codec, name=path.name))


__all__ = ["first_bad_byte", "not_utf8", "wide_encoding", "wide_file"]
