"""Translate a JSON Schema ``pattern`` into a regex over the JSON-encoded string body.

``pattern`` is an ECMA-262 regex matched with *search* semantics against the decoded
string. We parse it with Python's own regex parser (the dialects agree on the subset we
accept), map every character set to all its JSON spellings (:mod:`json_strings`) and add
``.*`` where a match is not tied to an end of the string by ``^`` or ``$`` (anchors may
stand anywhere). Where the dialects differ we take the intersection: ``\\d`` and ``\\w``
are their ASCII forms, ``\\s`` the whitespace both call so, ``.`` excludes every line
terminator, ``$`` means end of string, and a negated class excludes what its items match
in either dialect. Constructs with no exact regular translation (lookaround,
backreferences, word boundaries, inline flags) are refused.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
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
_ASCII = charset([(0, 0x7F)])
_NON_ASCII = charset([(0x80, 0x10FFFF)])
_DOT = minus(ALL, charset([(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]))
_UNICODE_SPACES = [(0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029)]
_UNICODE_SPACES += [(0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]
#: ``\s`` in both dialects: ECMA-262's WhiteSpace and LineTerminator, Python's ``str``
#: whitespace
_SPACE = charset([(0x09, 0x0D), (0x20, 0x20), *_UNICODE_SPACES])
#: ``\s`` in either: Python adds \x1c-\x1f and U+0085, ECMA-262 U+FEFF (and U+180E in
#: engines on Unicode before 6.3)
_ANY_SPACE = union(
    _SPACE, charset([(0x1C, 0x1F), (0x85, 0x85), (0x180E, 0x180E), (0xFEFF, 0xFEFF)])
)

# narrow readings: the characters a class matches in both dialects (Python's \d and \w
# are Unicode-aware, ECMA-262's are ASCII)
_CATEGORIES: dict[object, CharSet] = {
    sre_c.CATEGORY_DIGIT: _DIGIT,
    sre_c.CATEGORY_WORD: _WORD,
    sre_c.CATEGORY_SPACE: _SPACE,
    sre_c.CATEGORY_NOT_DIGIT: minus(_ASCII, _DIGIT),
    sre_c.CATEGORY_NOT_WORD: minus(_ASCII, _WORD),
    sre_c.CATEGORY_NOT_SPACE: minus(ALL, _ANY_SPACE),
}


class PatternUnsupported(Exception):
    """The pattern uses a construct we cannot translate exactly; ``args[0]`` says which."""


# wide readings: a superset of the class in either dialect
_WIDE: dict[object, CharSet] = {
    sre_c.CATEGORY_DIGIT: union(_DIGIT, _NON_ASCII),
    sre_c.CATEGORY_WORD: union(_WORD, _NON_ASCII),
    sre_c.CATEGORY_SPACE: _ANY_SPACE,
    sre_c.CATEGORY_NOT_DIGIT: minus(ALL, _DIGIT),
    sre_c.CATEGORY_NOT_WORD: minus(ALL, _WORD),
    sre_c.CATEGORY_NOT_SPACE: minus(ALL, _SPACE),
}
_WIDE_DOT = minus(ALL, charset([(0x0A, 0x0A)]))
#: the parse ops of a repetition (possessive ones from Python 3.11 on)
_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None))


def _charset_of(items: list, wide: bool = False) -> CharSet:
    """The class ``[items]``: narrow (in both dialects) or ``wide`` (in either).

    A negated class is the complement of the other reading of its items, so it stays on
    the same side: narrow ``[^\\s]`` is everything ``\\s`` matches in neither dialect.
    """
    negate = bool(items) and items[0][0] is sre_c.NEGATE
    inner_wide = wide != negate
    ranges: list[tuple[int, int]] = []
    for op, av in items[1:] if negate else items:
        if op is sre_c.LITERAL:
            ranges.append((av, av))
        elif op is sre_c.RANGE:
            ranges.append(av)
        elif op is sre_c.CATEGORY:
            table = _WIDE if inner_wide else _CATEGORIES
            if av not in table:
                raise PatternUnsupported(f"character category {av}")
            ranges.extend(table[av])
        else:
            raise PatternUnsupported(f"class item {op}")
    s = charset(ranges)
    return minus(ALL, s) if negate else s


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
    if op in _REPEATS:
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


#: the matches of a sub-pattern, split by which ends of the string they are tied to:
#: (tied to the start, tied to the end) -> (regex of the match, whether it can be empty)
Anchored = dict[tuple[bool, bool], tuple[str, bool]]
_EMPTY: Anchored = {(False, False): ("", True)}
#: longest bounded repetition of an anchored group that is unrolled
_MAX_UNROLL = 8


def _add(out: Anchored, key: tuple[bool, bool], regex: str, empty: bool) -> None:
    if key in out:
        old, old_empty = out[key]
        out[key] = (f"(?:{old}|{regex})", old_empty or empty)
    else:
        out[key] = (regex, empty)


def _then(x: Anchored, y: Anchored) -> Anchored:
    """Matches of ``x`` followed by matches of ``y`` (anchors decide what must be empty)."""
    out: Anchored = {}
    for (s1, e1), (r1, n1) in x.items():
        for (s2, e2), (r2, n2) in y.items():
            if e1 and s2:  # both ends at one point: the whole string is empty
                if n1 and n2:
                    _add(out, (True, True), "", True)
            elif e1:  # x reached the end of the string: y matches the empty string
                if n2:
                    _add(out, (s1, True), r1, n1)
            elif s2:  # y starts at the start of the string: x matched the empty string
                if n1:
                    _add(out, (True, e2), r2, n2)
            else:
                _add(out, (s1, e2), r1 + r2, n1 and n2)
    return out


def _anchored_seq(items: list[Any]) -> Anchored:
    out = _EMPTY
    for op, av in items:
        out = _then(out, _anchored_item(op, av))
    return out


def _anchored_item(op: Any, av: Any) -> Anchored:
    if op is sre_c.AT:
        if av in (sre_c.AT_BEGINNING, sre_c.AT_BEGINNING_STRING):
            return {(True, False): ("", True)}
        if av in (sre_c.AT_END, sre_c.AT_END_STRING):
            return {(False, True): ("", True)}  # ECMA-262's $ (no multiline): the very end
        raise PatternUnsupported("word boundary")
    if op is sre_c.BRANCH:
        found: dict[tuple[bool, bool], list[tuple[str, bool]]] = {}
        for alt in av[1]:
            for key, match in _anchored_seq(list(alt)).items():
                found.setdefault(key, []).append(match)
        return {
            k: ("(?:" + "|".join(r for r, _ in ms) + ")", any(n for _, n in ms))
            for k, ms in found.items()
        }
    if op is sre_c.SUBPATTERN:
        if av[1] or av[2]:
            raise PatternUnsupported("inline flags")
        return {k: (f"(?:{r})", n) for k, (r, n) in _anchored_seq(list(av[3])).items()}
    if op in _REPEATS:
        lo, hi, sub = av
        once = _anchored_seq(list(sub))
        if set(once) <= {(False, False)}:
            empty = lo == 0 or any(n for _, n in once.values())
            return {(False, False): (_node(op, av), empty)}
        # Iterations tied to an end can only be the first or the last non-empty one:
        # X{lo,} is X^lo X? U* X? with U the untied matches of X.
        maybe = dict(once)
        _add(maybe, (False, False), "", True)
        out = _EMPTY
        for _ in range(lo):
            out = _then(out, once)
        if hi is sre_c.MAXREPEAT:
            free = once.get((False, False))
            star = _EMPTY if free is None else {(False, False): (f"(?:{free[0]})*", True)}
            return _then(_then(_then(out, maybe), star), maybe)
        if hi - lo > _MAX_UNROLL:
            raise PatternUnsupported("anchor inside a long repetition")
        for _ in range(hi - lo):
            out = _then(out, maybe)
        return out
    return {(False, False): (_node(op, av), False)}


def pattern_body(pattern: str, max_len: int | None = None, max_count: int | None = None) -> str:
    """Regex for the encoded body of every string in which ``pattern`` finds a match.

    Anchors may stand anywhere (``^`` and ``$`` are the ends of the string, as in ECMA-262
    without the ``m`` flag): each match is tied to the ends its anchors require.
    With ``max_len``, the body is only meant for strings of at most that many characters,
    and repetition bounds that such a string cannot reach are dropped
    (:func:`_drop_implied_bounds`): the same strings, a smaller automaton. ``max_count``
    lowers every repetition bound above it to it (or to the repetition's minimum): fewer
    strings, a restriction for the caller to note.
    Raises :class:`PatternUnsupported` for constructs we cannot translate exactly and
    :class:`re.error` for malformed patterns.

    >>> import re
    >>> r = pattern_body("^[a-c]+$")
    >>> [t for t in ["abc", "abd", "", "a"] if re.fullmatch(r, t)]
    ['abc', 'a']
    >>> r = pattern_body("x")
    >>> [t for t in ["axb", "ab", "x"] if re.fullmatch(r, t)]
    ['axb', 'x']
    >>> r = pattern_body("^a$|b$")
    >>> [t for t in ["a", "ab", "xb", "ba"] if re.fullmatch(r, t)]
    ['a', 'ab', 'xb']
    """
    if any(ord(c) > 0xFFFF for c in pattern) or "\\p" in pattern or "\\P" in pattern:
        raise PatternUnsupported("Unicode property or astral character")
    tree = sre_p.parse(pattern)
    if tree.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        raise PatternUnsupported("inline flags")
    if max_count is not None:
        for data, i, _ in list(_bounded_repeats(tree)):
            op, (lo, hi, sub) = data[i]
            data[i] = (op, (lo, max(lo, min(hi, max_count)), sub))
    if max_len is not None:
        _drop_implied_bounds(tree, max_len)
    alts = [
        ("" if start else f"{UNIT}*") + regex + ("" if end else f"{UNIT}*")
        for (start, end), (regex, _) in sorted(_anchored_seq(list(tree)).items())
    ]
    if not alts:  # anchors no string satisfies, as in a^b
        return "(?!)"
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _bounded_repeats(tree: Any) -> Iterator[tuple[list[Any], int, int]]:
    """Each bounded repetition in Python's parse ``tree`` whose iterations take at least
    one character, innermost first: (the list holding it, its index, that least width)."""
    for i, (op, av) in enumerate(tree.data):
        if op in _REPEATS:
            yield from _bounded_repeats(av[2])
            width = av[2].getwidth()[0]
            if av[1] is not sre_c.MAXREPEAT and width >= 1:
                yield tree.data, i, width
        elif op is sre_c.SUBPATTERN:
            yield from _bounded_repeats(av[3])
        elif op is sre_c.BRANCH:
            for alt in av[1]:
                yield from _bounded_repeats(alt)
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            yield from _bounded_repeats(av[1])


def _drop_implied_bounds(tree: Any, max_len: int) -> None:
    """Make unbounded, in place, each repetition ``X{lo,hi}`` of Python's parse ``tree``
    whose ``hi`` a match within ``max_len`` characters cannot exceed: every iteration of
    ``X`` takes at least ``w >= 1`` characters, so such a match has at most
    ``max_len // w <= hi`` of them, and ``X{lo,}`` matches the same substrings.

    >>> t = sre_p.parse("^(?:a+ ){0,9}a$")
    >>> _drop_implied_bounds(t, 19)
    >>> t[1][1][1] is sre_c.MAXREPEAT
    True
    """
    for data, i, width in list(_bounded_repeats(tree)):
        op, (lo, hi, sub) = data[i]
        if max_len // width <= hi:
            data[i] = (op, (lo, sre_c.MAXREPEAT, sub))


def largest_bound(pattern: str) -> int:
    """The largest repetition bound in ``pattern`` that :func:`pattern_body` may lower
    (0: none, or a pattern Python cannot parse)."""
    try:
        tree = sre_p.parse(pattern)
    except re.error:
        return 0
    return max((data[i][1][1] for data, i, _ in _bounded_repeats(tree)), default=0)


def bound_free_lengths(pattern: str) -> list[int]:
    """The largest ``max_len`` at which :func:`pattern_body` drops each repetition bound
    of ``pattern`` that it may drop (none for a pattern Python cannot parse)."""
    try:
        tree = sre_p.parse(pattern)
    except re.error:
        return []
    out = []
    for data, i, width in _bounded_repeats(tree):
        hi = data[i][1][1]
        out.append((hi + 1) * width - 1)
    return sorted(set(out))


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
