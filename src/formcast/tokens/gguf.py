"""A minimal GGUF (v2/v3, little-endian) metadata reader for tokenizer vocabularies.

Reads only the header key/values (skipping large arrays we do not need), which is far
faster than parsing the whole file with the ``gguf`` package.
"""

from __future__ import annotations

import mmap
import struct
from typing import Any

from formcast.errors import TokenizerError

_GGUF_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_GGUF_STRING, _GGUF_ARRAY = 8, 9
# Arrays of these keys are skipped without decoding (merges alone are ~50k strings).
_GGUF_WANTED_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type")


def read_gguf_metadata(path: str) -> dict[str, Any]:
    """Key/value metadata of a GGUF file (v2/v3, little-endian), without the tensors.

    Reads the header directly rather than through ``gguf.GGUFReader``, which also maps every
    tensor and every merge string and takes seconds where this takes milliseconds; the test
    suite checks both agree.
    """

    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = memoryview(mm)
            try:
                return _parse_gguf_kv(buf, path)
            finally:
                buf.release()
    except (OSError, ValueError, struct.error, IndexError) as exc:
        raise TokenizerError(f"cannot read GGUF metadata from {path!r}: {exc}") from exc


def _parse_gguf_kv(buf: memoryview, path: str) -> dict[str, Any]:
    if bytes(buf[:4]) != b"GGUF":
        raise TokenizerError(f"{path!r} is not a GGUF file (magic {bytes(buf[:4])!r})")
    version, _n_tensors, n_kv = struct.unpack_from("<IQQ", buf, 4)
    if version not in (2, 3):
        raise TokenizerError(
            f"{path!r} is GGUF version {version} (or big-endian); only little-endian v2/v3 "
            "files are supported: re-convert it with a current llama.cpp"
        )
    pos = 24

    def string() -> str:
        nonlocal pos
        (length,) = struct.unpack_from("<Q", buf, pos)
        pos += 8 + length
        return bytes(buf[pos - length : pos]).decode("utf-8")

    def scalar(vtype: int) -> Any:
        nonlocal pos
        if vtype == _GGUF_STRING:
            return string()
        fmt = "<" + _GGUF_SCALARS[vtype]
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = string()
        (vtype,) = struct.unpack_from("<I", buf, pos)
        pos += 4
        if vtype != _GGUF_ARRAY:
            meta[key] = scalar(vtype)
            continue
        item_type, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if item_type == _GGUF_STRING:
            if key in _GGUF_WANTED_ARRAYS:
                meta[key] = [string() for _ in range(count)]
            else:
                for _ in range(count):
                    (length,) = struct.unpack_from("<Q", buf, pos)
                    pos += 8 + length
        elif item_type in _GGUF_SCALARS:
            fmt = "<" + _GGUF_SCALARS[item_type]
            size = struct.calcsize(fmt)
            if key in _GGUF_WANTED_ARRAYS:
                meta[key] = list(struct.unpack_from(f"<{count}{fmt[1]}", buf, pos))
            pos += size * count
        else:
            raise TokenizerError(f"{path!r}: nested GGUF array under key {key!r} not supported")
    return meta


# -------------------------------------------------------------------------- HF helpers
