"""Read the character vectors of an R package's data base (``data/Rdata.rdb``), so
that texts shipped in R data packages (Debian's ``r-cran-janeaustenr``) can be a
pretraining corpus without R.

R stores a package's lazy-loaded data as an index (``Rdata.rdx``, gzip-compressed)
and a blob file (``Rdata.rdb``) of zlib-compressed objects in R's XDR
serialization format. Only what a text needs is read: lists, pairlists, symbols,
strings and integer / double vectors; anything else raises ``ValueError``.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

_NIL, _REF, _SYM, _PAIRLIST, _CHARSXP = 254, 255, 1, 2, 9
_INT, _LGL, _REAL, _STR, _LIST = 13, 10, 14, 16, 19


class _Reader:
    def __init__(self, data: bytes):
        if data[:2] != b"X\n":
            raise ValueError("Not an R object in XDR serialization format.")
        self.b, self.i, self.refs = data, 2, []
        version = self.int()
        self.i += 8  # writer's and minimal reader's R versions
        if version == 3:
            self.i += 4 + self.int()  # native encoding name

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.b, self.i)
        self.i += 4
        return v

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if kind == _NIL:
            return None
        if kind == _REF:
            return self.refs[(flags >> 8) - 1]
        if kind == _SYM:
            sym = ("symbol", self.item())
            self.refs.append(sym)
            return sym
        if kind == _CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            raw = self.b[self.i:self.i + n]
            self.i += n
            return raw.decode("latin-1" if flags & (1 << 13) else "utf-8")
        if kind == _PAIRLIST:
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head, rest = self.item(), self.item()
            return [(tag[1] if tag else None, head)] + (rest if isinstance(rest, list) else [])
        if kind in (_STR, _LIST, _INT, _LGL, _REAL):
            n = self.int()
            if kind in (_STR, _LIST):
                value = [self.item() for _ in range(n)]
            else:
                fmt = ">%dd" % n if kind == _REAL else ">%di" % n
                value = list(struct.unpack_from(fmt, self.b, self.i))
                self.i += struct.calcsize(fmt)
            attrs = dict(self.item()) if has_attr else {}
            return _Vector(value, attrs)
        raise ValueError(f"Unsupported R object type {kind} in the data base.")


class _Vector(list):
    """An R vector: a list plus its attributes (``names`` ...)."""

    def __init__(self, value, attrs):
        super().__init__(value)
        self.attrs = attrs

    def named(self) -> dict:
        return dict(zip(self.attrs.get("names") or [], self))


def unserialize(data: bytes):
    return _Reader(data).item()


def character_vectors(data_dir: str) -> dict[str, list[str]]:
    """{name: lines} for every character vector in ``data_dir/Rdata.rdb`` (an R
    package's ``data`` folder); ValueError if the files are missing or unreadable."""
    base = os.path.join(data_dir, "Rdata")
    try:
        with open(base + ".rdx", "rb") as fh:
            index = unserialize(gzip.decompress(fh.read())).named()
        with open(base + ".rdb", "rb") as fh:
            blob = fh.read()
    except (OSError, EOFError, zlib.error, struct.error) as e:
        raise ValueError(f"Cannot read the R data base in {data_dir}: {e}") from None
    out = {}
    for name, (offset, length) in index["variables"].named().items():
        chunk = blob[int(offset):int(offset) + int(length)]
        (size,) = struct.unpack_from(">I", chunk)
        raw = zlib.decompress(chunk[4:])
        if len(raw) != size:
            raise ValueError(f"The object {name!r} in {data_dir} is damaged.")
        value = unserialize(raw)
        if isinstance(value, list) and all(v is None or isinstance(v, str) for v in value):
            out[name] = [v or "" for v in value]
    return out
