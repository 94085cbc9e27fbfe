"""Translate a JSON Schema ``pattern`` into a regex over the JSON-encoded string body.

``pattern`` is an ECMA-262 regex matched with *search* semantics against the decoded
string. We parse it with Python's own regex parser (the dialects agree on the subset we
accept), map every character set to all its JSON spellings (:mod:`json_strings`) and add
``.*`` at an unanchored end. Where the dialects differ we take the intersection:
``\\d``, ``\\w``, ``\\s`` are their ASCII forms, ``.`` excludes every line terminator,
``$`` means end of string. Constructs with no exact regular translation (lookaround,
backreferences, word boundaries, inline flags, anchors inside) are refused.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from typing import Any

from formcast.grammar.json_strings import (
    ALL,
    UNIT,
    CharSet,
    charset,
    encode_set,
    minus,
    union,
)

# Python's own regex parser (renamed in 3.11; the old names warn there)
_NEW = sys.version_info >= (3, 11)
sre_c: Any = importlib.import_module("re._constants" if _NEW else "sre_constants")
sre_p: Any = importlib.import_module("re._parser" if _NEW else "sre_parse")

_DIGIT = charset([(0x30, 0x39)])
_WORD = charset([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE = charset([(0x09, 0x0D), (0x20, 0x20)])
_ASCII = charset([(0, 0x7F)])
_DOT = minus(ALL, charset([(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]))

_CATEGORIES: dict[object, CharSet] = {
    sre_c.CATEGORY_DIGIT: _DIGIT,
    sre_c.CATEGORY_WORD: _WORD,
    sre_c.CATEGORY_SPACE: _SPACE,
    # Python's \D, \W, \S are Unicode-aware; the ASCII complements are in both dialects
    sre_c.CATEGORY_NOT_DIGIT: minus(_ASCII, _DIGIT),
    sre_c.CATEGORY_NOT_WORD: minus(_ASCII, _WORD),
    sre_c.CATEGORY_NOT_SPACE: minus(_ASCII, _SPACE),
}


class PatternUnsupported(Exception):
    """The pattern uses a construct we cannot translate exactly; ``args[0]`` says which."""


_NON_ASCII = charset([(0x80, 0x10FFFF)])
# wide readings: a superset of the class in either dialect (Python's are Unicode-aware,
# ECMA's \s holds Unicode spaces); Python's ASCII \s adds \x1c-\x1f
_WIDE: dict[object, CharSet] = {
    sre_c.CATEGORY_DIGIT: union(_DIGIT, _NON_ASCII),
    sre_c.CATEGORY_WORD: union(_WORD, _NON_ASCII),
    sre_c.CATEGORY_SPACE: union(charset([(0x09, 0x0D), (0x1C, 0x20)]), _NON_ASCII),
    sre_c.CATEGORY_NOT_DIGIT: minus(ALL, _DIGIT),
    sre_c.CATEGORY_NOT_WORD: minus(ALL, _WORD),
    sre_c.CATEGORY_NOT_SPACE: minus(ALL, _SPACE),
}
_WIDE_DOT = minus(ALL, charset([(0x0A, 0x0A)]))


def _charset_of(items: list, wide: bool = False) -> CharSet:
    negate = False
    ranges: list[tuple[int, int]] = []
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            ranges.append((av, av))
        elif op is sre_c.RANGE:
            ranges.append(av)
        elif op is sre_c.CATEGORY:
            table = _WIDE if wide else _CATEGORIES
            if av not in table:
                raise PatternUnsupported(f"character category {av}")
            ranges.extend(table[av])
        else:
            raise PatternUnsupported(f"class item {op}")
    s = charset(ranges)
    if negate:
        if sre_c.CATEGORY in [op for op, _ in items]:
            # [^\D] and friends: the Unicode/ASCII split makes negation inexact
            raise PatternUnsupported("negated class with \\d, \\w or \\s")
        s = minus(ALL, s)
    return s


def _set(s: CharSet) -> str:
    r = encode_set(s)
    if r is None:
        return "[^\\x00-\\U0010ffff]"  # pragma: no cover - empty set never arises here
    return r


SetFn = Callable[[CharSet], Any]


def _seq(items: list[Any], enc: SetFn = _set, wide: bool = False) -> Any:
    parts = [_node(op, av, enc, wide) for op, av in items]
    return "".join(parts) if enc is _set else ("seq", parts)


def _node(op: Any, av: Any, enc: SetFn = _set, wide: bool = False) -> Any:
    tree = enc is not _set
    if op is sre_c.LITERAL:
        return enc(charset([(av, av)]))
    if op is sre_c.NOT_LITERAL:
        return enc(minus(ALL, charset([(av, av)])))
    if op is sre_c.ANY:
        return enc(_WIDE_DOT if wide else _DOT)
    if op is sre_c.IN:
        return enc(_charset_of(av, wide))
    if op is sre_c.BRANCH:
        _, alts = av
        if tree:
            return ("alt", [_seq(list(a), enc, wide) for a in alts])
        return "(?:" + "|".join(_seq(list(a)) for a in alts) + ")"
    if op is sre_c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise PatternUnsupported("inline flags")
        return _seq(list(sub), enc, wide) if tree else "(?:" + _seq(list(sub)) + ")"
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        if tree:
            sub_tree = _seq(list(sub), enc, wide)
            return ("rep", lo, None if hi is sre_c.MAXREPEAT else hi, sub_tree)
        body = "(?:" + _seq(list(sub)) + ")"
        if hi is sre_c.MAXREPEAT:
            if lo == 0:
                return body + "*"
            if lo == 1:
                return body + "+"
            return f"{body}{{{lo},}}"
        if lo == hi:
            return f"{body}{{{lo}}}"
        return f"{body}{{{lo},{hi}}}"
    if op is sre_c.AT:
        raise PatternUnsupported("anchor or word boundary inside the pattern")
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        raise PatternUnsupported("lookaround")
    if op in (sre_c.GROUPREF, getattr(sre_c, "GROUPREF_EXISTS", None)):
        raise PatternUnsupported("backreference")
    raise PatternUnsupported(f"regex construct {op}")


def _anchored(items: list) -> str:
    start = bool(items) and items[0] == (sre_c.AT, sre_c.AT_BEGINNING)
    if start:
        items = items[1:]
    end = (
        bool(items)
        and items[-1][0] is sre_c.AT
        and items[-1][1]
        in (
            sre_c.AT_END,
            sre_c.AT_END_STRING,
        )
    )
    if end:
        items = items[:-1]
    body = _seq(items)
    return ("" if start else f"{UNIT}*") + body + ("" if end else f"{UNIT}*")


def pattern_body(pattern: str) -> str:
    """Regex for the encoded body of every string in which ``pattern`` finds a match.

    Raises :class:`PatternUnsupported` for constructs we cannot translate exactly and
    :class:`re.error` for malformed patterns.

    >>> import re
    >>> r = pattern_body("^[a-c]+$")
    >>> [t for t in ["abc", "abd", "", "a"] if re.fullmatch(r, t)]
    ['abc', 'a']
    >>> r = pattern_body("x")
    >>> [t for t in ["axb", "ab", "x"] if re.fullmatch(r, t)]
    ['axb', 'x']
    """
    if any(ord(c) > 0xFFFF for c in pattern) or "\\p" in pattern or "\\P" in pattern:
        raise PatternUnsupported("Unicode property or astral character")
    tree = sre_p.parse(pattern)
    if tree.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        raise PatternUnsupported("inline flags")
    parsed = list(tree)
    if len(parsed) == 1 and parsed[0][0] is sre_c.BRANCH:
        _, alts = parsed[0][1]
        return "(?:" + "|".join(_anchored(list(a)) for a in alts) + ")"
    return _anchored(parsed)


def pattern_tree(pattern: str, *, wide: bool = False) -> Any:
    """The strings ``pattern`` matches, as a tree over decoded characters (for keysets).

    Nodes: a :data:`CharSet` (one character), ``("seq", [nodes])``, ``("alt", [nodes])``,
    ``("rep", lo, hi or None, node)``; the unanchored ends become ``("rep", 0, None, ALL)``.
    ``wide=False`` reads the pattern as :func:`pattern_body` does (a match in both
    dialects); ``wide=True`` gives a superset of the matches in either dialect (Unicode
    classes, ``.`` only excluding ``\\n``, ``$`` also before a final ``\\n``).
    Same refusals as :func:`pattern_body`.
    """
    if any(ord(c) > 0xFFFF for c in pattern) or "\\p" in pattern or "\\P" in pattern:
        raise PatternUnsupported("Unicode property or astral character")
    tree = sre_p.parse(pattern)
    if tree.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        raise PatternUnsupported("inline flags")
    parsed = list(tree)
    alts = [parsed]
    if len(parsed) == 1 and parsed[0][0] is sre_c.BRANCH:
        alts = [list(a) for a in parsed[0][1][1]]
    anything = ("rep", 0, None, ALL)
    out = []
    for items in alts:
        start = bool(items) and items[0] == (sre_c.AT, sre_c.AT_BEGINNING)
        if start:
            items = items[1:]
        end = bool(items) and items[-1] in (
            (sre_c.AT, sre_c.AT_END),
            (sre_c.AT, sre_c.AT_END_STRING),
        )
        if end:
            items = items[:-1]
        body = _seq(items, lambda s: s, wide)
        tail: list[Any] = [anything]
        if end:
            tail = [("rep", 0, 1, charset([(0x0A, 0x0A)]))] if wide else []
        out.append(("seq", [*([] if start else [anything]), body, *tail]))
    return ("alt", out)


def simple_repeat(pattern: str) -> tuple[CharSet, int, int | None] | None:
    """For ``^C{m,n}$`` (one character class repeated), the class and bounds; else None.

    Used to intersect a pattern with ``minLength``/``maxLength`` exactly.
    """
    try:
        tree = sre_p.parse(pattern)
    except re.error:
        return None
    if tree.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        return None
    parsed = list(tree)
    if len(parsed) != 3:
        return None
    if parsed[0] != (sre_c.AT, sre_c.AT_BEGINNING) or parsed[2][0] is not sre_c.AT:
        return None
    if parsed[2][1] not in (sre_c.AT_END, sre_c.AT_END_STRING):
        return None
    op, av = parsed[1]
    if op not in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        return None
    lo, hi, sub = av
    sub = list(sub)
    if len(sub) != 1:
        return None
    sop, sav = sub[0]
    try:
        if sop is sre_c.IN:
            cs = _charset_of(sav)
        elif sop is sre_c.LITERAL:
            cs = charset([(sav, sav)])
        elif sop is sre_c.ANY:
            cs = _DOT
        else:
            return None
    except PatternUnsupported:
        return None
    return cs, lo, None if hi is sre_c.MAXREPEAT else hi
