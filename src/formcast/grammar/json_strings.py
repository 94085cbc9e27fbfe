"""JSON string lexemes: sets of characters written in every JSON spelling, exactly.

A JSON string value is one lexeme: the quotes, the body and its escapes. Constraints on
the *decoded* value (a literal, a length, a regex ``pattern``, the complement of a set of
property names) are translated into a regex over the *encoded* text, where each decoded
character ``c`` may be written raw (if JSON allows), as a short escape (``\\n``, ``\\/``)
or as ``\\uXXXX`` in either hex case (for control and non-ASCII characters, the ones
JSON writers escape; printable ASCII must be written raw). An escaped surrogate pair
counts as one character in length bounds, but is not produced inside ``pattern`` strings,
literals or key sets (a documented restriction: such text is rejected, never wrongly
accepted); raw non-BMP characters work everywhere.

Character sets are sorted lists of inclusive code point ranges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from formcast.grammar.json_numbers import fixed_width_range

CharSet = tuple[tuple[int, int], ...]

MAX_CP = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)

#: every code point that a decoded JSON string can hold (surrogates excluded)
ALL: CharSet = ((0, 0xD7FF), (0xE000, MAX_CP))

_SHORT = {
    0x22: '\\\\"',
    0x5C: "\\\\\\\\",
    0x2F: "\\\\/",
    0x08: "\\\\b",
    0x0C: "\\\\f",
    0x0A: "\\\\n",
    0x0D: "\\\\r",
    0x09: "\\\\t",
}

#: one encoded character of any kind (the body of an unconstrained string)
ANY_UNIT = r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})'
STRING = '"' + ANY_UNIT + '*"'


def charset(ranges: Iterable[tuple[int, int]]) -> CharSet:
    """Normalise ranges: sorted, merged, surrogates removed."""
    rs = sorted((a, b) for a, b in ranges if a <= b)
    out: list[list[int]] = []
    for a, b in rs:
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return _minus_raw(tuple((a, b) for a, b in out), (_SURROGATES,))


def _minus_raw(s: CharSet, t: Sequence[tuple[int, int]]) -> CharSet:
    res: list[tuple[int, int]] = []
    for a, b in s:
        pieces = [(a, b)]
        for c, d in t:
            nxt = []
            for x, y in pieces:
                if d < x or c > y:
                    nxt.append((x, y))
                    continue
                if x < c:
                    nxt.append((x, c - 1))
                if d < y:
                    nxt.append((d + 1, y))
            pieces = nxt
        res.extend(pieces)
    return tuple(res)


def minus(s: CharSet, t: CharSet) -> CharSet:
    return _minus_raw(s, t)


def union(s: CharSet, t: CharSet) -> CharSet:
    return charset(list(s) + list(t))


def intersect(s: CharSet, t: CharSet) -> CharSet:
    return minus(s, minus(s, t))


def negate(s: CharSet) -> CharSet:
    return minus(ALL, s)


def chars(text: str) -> CharSet:
    return charset((ord(c), ord(c)) for c in text)


def _class_char(cp: int) -> str:
    if cp < 0x20 or cp == 0x7F:
        return f"\\x{cp:02x}"
    c = chr(cp)
    if c in "\\]^-[":
        return "\\" + c
    return c


def _size(s: CharSet) -> int:
    return sum(b - a + 1 for a, b in s)


def _ranges_body(s: CharSet) -> str:
    body = []
    for a, b in s:
        if a == b:
            body.append(_class_char(a))
        elif b == a + 1:
            body.append(_class_char(a) + _class_char(b))
        else:
            body.append(_class_char(a) + "-" + _class_char(b))
    return "".join(body)


def _class(s: CharSet) -> str:
    if len(s) == 1 and s[0][0] == s[0][1]:
        return re.escape(chr(s[0][0])) if s[0][0] >= 0x20 else _class_char(s[0][0])
    # interegular stores a class as a set of characters: write big sets negated
    rest = minus(ALL, s)
    if _size(rest) < _size(s):
        return "[^" + _ranges_body(rest) + "]"
    return "[" + _ranges_body(s) + "]"


_RAW_OK: CharSet = charset([(0x20, 0x21), (0x23, 0x5B), (0x5D, MAX_CP)])
# ``\\uXXXX`` spellings we accept: control and non-ASCII characters, the ones JSON
# writers escape. ``\\u0041`` for ``A`` is refused in constrained strings: it keeps
# lexemes small, and refusing a spelling can only reject text, never wrongly accept it.
_U_ESCAPED: CharSet = charset([(0, 0x1F), (0x7F, 0xFFFF)])


def _u_hex(s: CharSet) -> str:
    hexes = [fixed_width_range(a, b, 4, base=16) for a, b in s]
    return hexes[0] if len(hexes) == 1 else "(?:" + "|".join(hexes) + ")"


def encode_set(s: CharSet, *, u_escapes: bool = True) -> str | None:
    """Regex for every JSON spelling of one character from ``s``; None if ``s`` is empty."""
    alts: list[str] = []
    raw = intersect(s, _RAW_OK)
    if raw:
        alts.append(_class(raw))
    for cp, esc in _SHORT.items():
        if intersect(s, ((cp, cp),)):
            alts.append(esc)
    bmp = intersect(s, _U_ESCAPED)
    if bmp and u_escapes:
        alts.append("\\\\u" + _u_hex(bmp))
    if not alts:
        return None
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


_CHAR_CACHE: dict[int, str] = {}


def encode_char(c: str) -> str:
    cp = ord(c)
    if cp not in _CHAR_CACHE:
        enc = encode_set(charset([(cp, cp)]))
        if enc is None:
            # a lone surrogate has no UTF-8 spelling; callers refuse such literals first
            raise ValueError(f"no JSON spelling for U+{cp:04X}")
        _CHAR_CACHE[cp] = enc
    return _CHAR_CACHE[cp]


#: one encoded character: exactly one code point (an escaped surrogate pair is one unit,
#: a lone escaped surrogate is refused)
UNIT = (
    r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})'
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)


def literal_body(text: str) -> str:
    """Regex for every JSON spelling of the string body ``text`` (no quotes)."""
    return "".join(encode_char(c) for c in text)


def literal(text: str) -> str:
    """Regex for every JSON spelling of the string ``text``, quotes included."""
    return '"' + literal_body(text) + '"'


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def complement_body(words: Iterable[str]) -> str:
    """Regex for the encoded body of every string *not* in ``words`` (decoded comparison)."""
    trie: dict[str, dict] = {}
    end = "\0end"
    words_list = list(words)
    for w in words_list:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[end] = {}

    def grp(alts: list[str]) -> str | None:
        if not alts:
            return None
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    # When no name holds a character that JSON writers spell ``\\uXXXX``, a ``\\u``
    # escape always leaves the trie: add it once after "any prefix" instead of at every
    # node, which keeps the automaton small.
    shared_u = not intersect(chars("".join(words_list)), _U_ESCAPED)

    def walk(node: dict) -> tuple[str | None, str | None, str]:
        """(strings stopping on a non-word node, strings leaving the trie, all prefixes)."""
        stop: list[str] = [] if end in node else [""]
        leave: list[str] = []
        prefixes: list[str] = [""]
        kids = [c for c in node if c != end]
        for c in kids:
            s, lv, pre = walk(node[c])
            enc = encode_char(c)
            if s is not None:
                stop.append(enc + s)
            if lv is not None:
                leave.append(enc + lv)
            prefixes.append(enc + pre)
        other = encode_set(minus(ALL, chars("".join(kids))), u_escapes=not shared_u)
        if other is not None:
            leave.append(other)
        pre_all = grp(prefixes) if len(prefixes) > 1 else ""
        return grp(stop), grp(leave), pre_all or ""

    stop, leave, prefixes = walk(trie)
    if shared_u:
        u_any = "\\\\u" + _u_hex(_U_ESCAPED)
        leave = grp([x for x in (leave, prefixes + u_any) if x is not None])
    # the shared tail keeps the automaton small: after leaving the trie anything goes
    parts = [p for p in (stop, None if leave is None else f"{leave}{UNIT}*") if p is not None]
    return grp(parts) or ""


def length_body(lo: int, hi: int | None) -> str:
    """Body of a string of ``lo`` to ``hi`` code points."""
    if hi is None:
        return f"{UNIT}{{{lo},}}" if lo else f"{UNIT}*"
    return f"{UNIT}{{{lo},{hi}}}"
