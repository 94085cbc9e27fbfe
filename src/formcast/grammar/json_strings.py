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

Several constraints on one string (and excluded values) are intersected without a product
of regexes: all but one become top-level lookaheads tied to the end of the body, which
:mod:`formcast.automata.regex_dfa` builds as DFA products.

Character sets are sorted lists of inclusive code point ranges.
"""

from __future__ import annotations

import functools
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
    """``s`` without ``t``; both sorted and disjoint: one merge pass."""
    res: list[tuple[int, int]] = []
    j = 0
    for a, b in s:
        while j < len(t) and t[j][1] < a:
            j += 1
        k = j
        while a <= b and k < len(t) and t[k][0] <= b:
            c, d = t[k]
            if c > a:
                res.append((a, c - 1))
            a = max(a, d + 1)
            k += 1
        if a <= b:
            res.append((a, b))
    return tuple(res)


def minus(s: CharSet, t: CharSet) -> CharSet:
    return _minus_raw(s, t)


def union(s: CharSet, t: CharSet) -> CharSet:
    return charset(list(s) + list(t))


def intersect(s: CharSet, t: CharSet) -> CharSet:
    """``s`` and ``t``; both sorted and disjoint: one merge pass."""
    res: list[tuple[int, int]] = []
    i = j = 0
    while i < len(s) and j < len(t):
        a, b = max(s[i][0], t[j][0]), min(s[i][1], t[j][1])
        if a <= b:
            res.append((a, b))
        if s[i][1] < t[j][1]:
            i += 1
        else:
            j += 1
    return tuple(res)


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


@functools.lru_cache(maxsize=4096)
def encode_set(s: CharSet) -> str | None:
    """Regex for every JSON spelling of one character from ``s``; None if ``s`` is empty."""
    alts: list[str] = []
    raw = intersect(s, _RAW_OK)
    if raw:
        alts.append(_class(raw))
    for cp, esc in _SHORT.items():
        if intersect(s, ((cp, cp),)):
            alts.append(esc)
    bmp = intersect(s, _U_ESCAPED)
    if bmp:
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


#: text of printable ASCII without ``"``, ``\\`` and ``/``: each character has one spelling,
#: itself (:func:`encode_char` gives ``re.escape(c)``)
_ONE_SPELLING = re.compile(r"[ !#-.0-\[\]-~]*")


def literal_body(text: str) -> str:
    """Regex for every JSON spelling of the string body ``text`` (no quotes)."""
    if _ONE_SPELLING.fullmatch(text):
        return re.escape(text)
    return "".join(encode_char(c) for c in text)


@functools.lru_cache(maxsize=4096)
def literal(text: str) -> str:
    """Regex for every JSON spelling of the string ``text``, quotes included."""
    return '"' + literal_body(text) + '"'


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _hex4(cp: int) -> str:
    return "".join(f"[{h}{h.upper()}]" if h.isalpha() else h for h in f"{cp:04x}")


def _pair(cp: int) -> str:
    """Regex for the escaped surrogate pair of the astral character ``cp``, either hex case."""
    hi, lo = divmod(cp - 0x10000, 0x400)
    return "\\\\u" + _hex4(0xD800 + hi) + "\\\\u" + _hex4(0xDC00 + lo)


def _every_spelling(c: str) -> str:
    """Regex for every spelling of ``c`` that :data:`UNIT` reads."""
    cp = ord(c)
    alts = [re.escape(c)] if intersect(_RAW_OK, ((cp, cp),)) else []
    if cp in _SHORT:
        alts.append(_SHORT[cp])
    alts.append("\\\\u" + _hex4(cp) if cp <= 0xFFFF else _pair(cp))
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _pair_or_raw(c: str) -> str:
    return "(?:" + re.escape(c) + "|" + _pair(ord(c)) + ")" if ord(c) > 0xFFFF else encode_char(c)


def _key_spelling(word: str) -> str:
    """:func:`literal_body`, but an astral character may also be an escaped pair."""
    if _ONE_SPELLING.fullmatch(word):
        return re.escape(word)
    return "".join(_pair_or_raw(c) for c in word)


#: one encoded character as constrained strings spell it: :data:`UNIT` without ``\\u``
#: escapes of printable ASCII (see ``_U_ESCAPED``)
KEY_UNIT = (
    f"(?:{encode_set(ALL)}"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
# A body regex ends where the string does: at the end of the text or at the closing quote
# (a body holds no raw quote). A lookahead ``(?=B(?![^"]))`` therefore says "the whole body
# is in B", whether or not the quotes are around it; ``regex_dfa`` builds such lookaheads
# at the top level of a lexeme as DFA products.
_BODY_END = '(?![^"])'


def complement_body(words: Iterable[str]) -> str:
    """Regex for the encoded body of every string *not* in ``words`` (decoded comparison).

    Any :data:`KEY_UNIT` sequence, unless it spells one of ``words`` (a negative lookahead
    for each word in every such spelling): the DFA is a product whose size follows the
    words' trie. Words must not hold lone surrogates.
    """
    spelled = sorted({_key_spelling(w) for w in words})
    if not spelled:
        return f"{KEY_UNIT}*"
    return "(?!(?:" + "|".join(spelled) + ")" + _BODY_END + ")" + f"{KEY_UNIT}*"


def intersect_bodies(bodies: Sequence[str]) -> str:
    """Body regex of the strings every one of ``bodies`` matches (any string if none).

    All but the last become lookaheads, so the result must stand at the top level of a
    lexeme (``regex_dfa`` reads lookaheads only there).
    """
    unique = list(dict.fromkeys(bodies))
    if not unique:
        return ANY_UNIT + "*"
    return "".join(f"(?=(?:{b}){_BODY_END})" for b in unique[:-1]) + unique[-1]


def exclude_words(words: Iterable[str], body: str) -> str:
    """Body regex of the strings ``body`` matches, except ``words`` in any spelling.

    Same top-level rule as :func:`intersect_bodies`; words must not hold lone surrogates.
    """
    spelled = sorted({"".join(_every_spelling(c) for c in w) for w in words})
    if not spelled:
        return body
    return "(?!(?:" + "|".join(spelled) + ")" + _BODY_END + ")" + body


def length_body(lo: int, hi: int | None) -> str:
    """Body of a string of ``lo`` to ``hi`` code points."""
    if hi is None:
        return f"{UNIT}{{{lo},}}" if lo else f"{UNIT}*"
    return f"{UNIT}{{{lo},{hi}}}"
