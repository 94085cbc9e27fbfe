r"""Regex → byte-level DFA.

Python's own regex parser (``re._parser``) gives the pattern tree; we build a Thompson
NFA over bytes from it (each character class becomes UTF-8 byte-range sequences), make
it deterministic by subset construction and minimize it. ``\d``, ``\w`` and ``\s`` are
ASCII (as in ECMA-262 and interegular): a subset of Python's Unicode classes. The top-level
sequence is compiled piece by piece: long repetitions of a prefix-free sub-pattern become
chains of copies of its DFA (kept *narrow*, one column per byte class, where long: see
:class:`ByteDFA`), and lookaheads ``(?=X)`` / ``(?!X)`` become DFA products (intersection
and difference), which is how JSON string rules are combined; the product, trimming and
minimization run as numba kernels (``kernels/dfa_product.py``). The result is trimmed
(states that cannot reach acceptance are dropped) and gets a fresh start state with no
incoming edges, so "at the start of a lexeme" is a property of the state alone.

Named groups ``(?P<fcmod7z>[0-9.]*)`` are formcast's own residue automata (see
:func:`residue_group`); every other group is read as an ordinary group.

Fast paths keep a first compile cheap: plain text (a JSON key) is a chain of states built
without a parse; a pattern with a top-level lookahead is split in its text, and the parts
(the string body after "any key but these", say) are compiled and cached on their own.
"""

from __future__ import annotations

import functools
import itertools
import re
from array import array
from collections.abc import Container
from re import _constants as _c
from re import _parser
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from formcast.errors import (
    CompileLimitError,
    FormcastError,
    GrammarError,
    UnsupportedFeatureError,
)

MAX_CODEPOINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
# A lexeme DFA larger than this is refused (named limit, see CompileLimitError). A JSON
# string with maxLength n takes about 20 n states (a count times the partial characters).
MAX_LEXEME_STATES = 25_000
# Chains (counted strings) and their direct concatenations past NARROW_FROM states are kept
# narrow (one column per byte class: a JSON character takes about 20 columns, not 256),
# which lets them grow to MAX_NARROW_STATES
NARROW_FROM = 256
MAX_NARROW_STATES = 100_000
# Moore refinement needs as many rounds as the longest distinguishing string, quadratic on
# long chains (bounded repetitions), so larger DFAs are left as subset construction built them
_MINIMIZE_MAX_STATES = 400
_MAX_NFA_STATES = 400_000
# top-level repetitions with a bound at least this large are built as chains of DFA copies
_CHAIN_MIN_REPEAT = 16
# plain ints: testing a RegexFlag enum costs microseconds per character class
_IGNORECASE = int(re.IGNORECASE)
_DOTALL = int(re.DOTALL)

ByteRange = tuple[int, int]
_IDENTITY_COLUMNS = np.arange(256, dtype=np.int64)
_IDENTITY_COLUMNS.setflags(write=False)


class ByteDFA:
    """A trimmed DFA over bytes: ``trans[s, b]`` is the next state or -1 (dead).

    State 0 is the start state and has no incoming transitions. ``nullable`` records
    whether the regex matched the empty string (the empty match itself is removed:
    ``accept[0]`` is always False; the grammar compiler re-adds epsilon).

    A long DFA (a counted string) may be kept *narrow*: ``table`` has one column per byte
    class, ``classes`` being the class of each byte and the first byte of each class;
    ``trans``, one column per byte, is then made when first read. Code that walks a long
    DFA reads :meth:`step`, :meth:`rows`, :meth:`columns` or :meth:`class_table` instead.

    Immutable by convention; slots, not a ``__dict__``: thousands stay in the regex caches,
    and every full garbage collection visits each object they hold.
    """

    __slots__ = (
        "_byte_classes",
        "_columns",
        "_is_empty",
        "_trans",
        "accept",
        "classes",
        "nullable",
        "table",
    )

    def __init__(
        self,
        table: np.ndarray,  # int32 [n, 256], or [n, len(classes[1])] where narrow
        accept: np.ndarray,  # bool [n]
        nullable: bool,
        classes: tuple[np.ndarray, np.ndarray] | None = None,  # set where ``table`` is narrow
    ) -> None:
        self.table = table
        self.accept = accept
        self.nullable = nullable
        self.classes = classes
        self._trans: np.ndarray | None = None
        self._is_empty: bool | None = None
        self._byte_classes: tuple[np.ndarray, np.ndarray] | None = classes
        self._columns: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"ByteDFA(states={self.n_states}, narrow={self.is_narrow}, nullable={self.nullable})"

    @property
    def trans(self) -> np.ndarray:
        """``int32 [n, 256]``: the table with one column per byte."""
        if self.classes is None:
            return self.table
        if self._trans is None:
            self._trans = np.take(self.table, self.classes[0], axis=1)
        return self._trans

    @property
    def is_narrow(self) -> bool:
        return self.classes is not None

    @property
    def n_states(self) -> int:
        return int(self.table.shape[0])

    @property
    def is_empty(self) -> bool:
        """True when the DFA accepts no non-empty string (kept: every grammar compiled
        with a cached DFA asks).

        Every state other than the fresh start is live or unreachable, so the language is
        empty exactly when the start state has no transition.
        """
        if self._is_empty is None:
            self._is_empty = not bool((self.table[0] >= 0).any())
        return self._is_empty

    def byte_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """(the class of each byte, the first byte of each class): bytes whose columns
        are equal may share a class, bytes in one class have equal columns. Kept on the
        DFA: where it was built over byte classes, those; else found by a kernel once."""
        if self._byte_classes is None:
            self._byte_classes = _kernels().byte_classes(self.table)
        return self._byte_classes

    def step(self, state: int, byte: int) -> int:
        """The state after ``byte`` from ``state`` (-1: dead)."""
        col = byte if self.classes is None else int(self.classes[0][byte])
        return int(self.table[state, col])

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """``trans[lo:hi]``, made from those rows alone where the DFA is narrow."""
        rows = self.table[lo:hi]
        return rows if self.classes is None else np.take(rows, self.classes[0], axis=1)

    def columns(self, first: np.ndarray) -> np.ndarray:
        """``trans[:, first]`` (C-contiguous), read off the narrow table where it is one
        (the table itself where those are its columns in order: not to be written)."""
        cols = first if self.classes is None else self.classes[0][first]
        if len(cols) == self.table.shape[1] and (cols == np.arange(len(cols))).all():
            return self.table
        return np.ascontiguousarray(self.table[:, cols])

    def class_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(``table``, the column of each byte): ``trans[s, b] == table[s, col[b]]``, for
        kernels that read a long DFA without widening it. The columns are read-only either
        way, so those kernels are compiled for one argument type, not two (a second one is
        compiled or loaded in the first mask that needs it: about 14 ms)."""
        if self.classes is None:
            return self.table, _IDENTITY_COLUMNS
        if self._columns is None:
            col = self.classes[0].view()
            col.setflags(write=False)
            self._columns = col
        return self.table, self._columns

    def always_infinite(self) -> bool:
        """Whether every state has infinitely many accepted continuations (every state
        reaches a cycle: after any prefix, the matched strings can still grow)."""
        succ = [set(row[row >= 0].tolist()) for row in self.table]
        finite: set[int] = set()
        grew = True
        while grew:
            grew = False
            for q, nxt in enumerate(succ):
                if q not in finite and nxt <= finite:
                    finite.add(q)
                    grew = True
        return not finite

    def matches(self, data: bytes) -> bool:
        """Full match of ``data`` (the empty string matches iff ``nullable``)."""
        if not data:
            return self.nullable
        s = 0
        for b in data:
            s = self.step(s, b)
            if s < 0:
                return False
        return bool(self.accept[s])


def utf8_sequences(lo: int, hi: int) -> list[list[ByteRange]]:
    """Split the code point range [lo, hi] into UTF-8 byte-range sequences.

    Each sequence is a list of (low byte, high byte) ranges whose cross product is
    exactly the UTF-8 encodings of a sub-range; surrogates are excluded.
    """
    out: list[list[ByteRange]] = []
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        if a > b:
            continue
        if a <= SURROGATES[1] and b >= SURROGATES[0]:
            stack.append((a, SURROGATES[0] - 1))
            stack.append((SURROGATES[1] + 1, b))
            continue
        split = False
        for boundary in (0x7F, 0x7FF, 0xFFFF):
            if a <= boundary < b:
                stack.append((a, boundary))
                stack.append((boundary + 1, b))
                split = True
                break
        if split:
            continue
        if b <= 0x7F:
            out.append([(a, b)])
            continue
        n = len(chr(a).encode())
        for i in range(1, n):
            m = (1 << (6 * i)) - 1
            if a & ~m != b & ~m:
                if a & m:
                    stack.append((a, a | m))
                    stack.append(((a | m) + 1, b))
                    split = True
                    break
                if b & m != m:
                    stack.append((a, (b & ~m) - 1))
                    stack.append((b & ~m, b))
                    split = True
                    break
        if split:
            continue
        ea, eb = chr(a).encode(), chr(b).encode()
        out.append([(ea[k], eb[k]) for k in range(n)])
    return out


def _to_ranges(cps: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in cps:
        if out and out[-1][1] + 1 == cp:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    prev = 0
    for lo, hi in ranges:
        if lo > prev:
            out.append((prev, lo - 1))
        prev = max(prev, hi + 1)
    if prev <= MAX_CODEPOINT:
        out.append((prev, MAX_CODEPOINT))
    return out


# \d \w \s match ASCII only (ECMA-262's reading, a subset of Python's Unicode classes);
# \D \W \S are the exact complements of Python's Unicode classes. Inside a negated set
# every item must be a *superset* of Python's class, so the complement stays a subset.
_ASCII_CLASS = {
    "d": [(48, 57)],
    "s": [(9, 13), (32, 32)],
    "w": [(48, 57), (65, 90), (95, 95), (97, 122)],
}
_CATEGORY_KIND = {
    _c.CATEGORY_DIGIT: ("d", False),
    _c.CATEGORY_SPACE: ("s", False),
    _c.CATEGORY_WORD: ("w", False),
    _c.CATEGORY_NOT_DIGIT: ("d", True),
    _c.CATEGORY_NOT_SPACE: ("s", True),
    _c.CATEGORY_NOT_WORD: ("w", True),
}


@functools.lru_cache(maxsize=3)
def _unicode_class(kind: str) -> list[tuple[int, int]]:
    """Python's Unicode reading of ``\\d``, ``\\s`` or ``\\w`` as code point ranges."""
    return [(m.start(), m.end() - 1) for m in re.finditer(f"\\{kind}+", _all_characters())]


def _category(category: Any, in_negated_set: bool) -> list[tuple[int, int]]:
    kind, negated = _CATEGORY_KIND[category]
    if negated:  # \D: exact outside a negated set, the wider ASCII complement inside one
        return _complement(_ASCII_CLASS[kind] if in_negated_set else _unicode_class(kind))
    return _unicode_class(kind) if in_negated_set else _ASCII_CLASS[kind]


_UNSUPPORTED_OPS = {
    _c.AT: "anchor or word boundary",
    _c.ASSERT: "look-around",
    _c.ASSERT_NOT: "negative look-around",
    _c.GROUPREF: "back-reference",
    _c.GROUPREF_EXISTS: "conditional group",
}
for _name in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT"):
    if hasattr(_c, _name):
        _UNSUPPORTED_OPS[getattr(_c, _name)] = _name.lower().replace("_", " ")


@functools.lru_cache(maxsize=4)
def parse_regex(pattern: str) -> Any:
    """Parse with Python's own regex parser; syntax errors raise :class:`GrammarError`.

    Cached, the recent few only: the lexeme facts and the compiler read a lexeme's tree
    within one compile, while trees are many small objects that every full garbage
    collection visits (256 of them held about 25k objects over the MaskBench tekken sample,
    and made a full collection take 18 ms). Callers must not modify the tree.
    """
    try:
        return _parser.parse(pattern)
    except re.error as exc:
        renamed = _numbered_residues(pattern) if "redefinition" in str(exc) else pattern
        if renamed != pattern:
            return parse_regex(renamed)
        raise GrammarError(f"cannot parse regex {pattern!r}: {exc}") from exc
    except RecursionError as exc:
        raise CompileLimitError(
            "regex_nesting", 0, f"regex {pattern[:80]!r} nests too deeply"
        ) from exc


# ----------------------------------------------------------------------- residue groups
#: names of residue groups: modulus, ``z`` (remainder zero) or ``n`` (non-zero), and an
#: optional ``_k`` that keeps two equal groups of one pattern apart
RESIDUE_NAME = re.compile(r"fcmod([1-9][0-9]*)([zn])(?:_[0-9]+)?")
_RESIDUE_OPEN = re.compile(r"(?<!\\)\(\?P<fcmod([1-9][0-9]*)([zn])>")


def residue_group(m: int, zero: bool) -> str:
    """A group matching the strings of digits and points whose digits, read as one
    integer (points skipped), are a multiple of ``m`` (``zero``) or not.

    The language is regular but its regex grows exponentially with ``m`` (7 already takes
    thousands of characters), so the group names an ``m``-state automaton instead; Python's
    `re` reads its body, ``[0-9.]*``, as a superset. Only formcast's own number lexemes
    write such groups (user regexes may not use the names).

    >>> compile_regex(residue_group(7, zero=True)).matches(b"1.4")
    True
    """
    return f"(?P<fcmod{m}{'z' if zero else 'n'}>[0-9.]*)"


def residue_groups(tree: Any) -> tuple[tuple[int, int, bool], ...]:
    """(group id, modulus, zero) of each residue group of a parse tree."""
    out = []
    for name, gid in tree.state.groupdict.items():
        match = RESIDUE_NAME.fullmatch(name)
        if match is not None:
            out.append((gid, int(match[1]), match[2] == "z"))
    return tuple(sorted(out))


def _numbered_residues(pattern: str) -> str:
    """``pattern`` with each residue group's name made unique (Python's parser refuses a
    name defined twice)."""
    count = itertools.count()
    return _RESIDUE_OPEN.sub(lambda m: f"(?P<fcmod{m[1]}{m[2]}_{next(count)}>", pattern)


@functools.lru_cache(maxsize=256)
def _residue_dfa(m: int, zero: bool) -> ByteDFA:
    """The automaton of :func:`residue_group`: one state per remainder."""
    if m == 1 and not zero:
        return _empty()  # every number is a multiple of 1
    trans = np.full((m, 256), -1, dtype=np.int32)
    for r in range(m):
        trans[r, 0x30:0x3A] = [(10 * r + c) % m for c in range(10)]
        trans[r, ord(".")] = r
    accept = np.arange(m) == 0 if zero else np.arange(m) != 0
    # every remainder reaches an accepted one (m > 1 for non-zero): nothing to trim
    return _finish(trans, accept, trim=False, minimize=m <= _MINIMIZE_MAX_STATES)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@functools.lru_cache(maxsize=1)
def _all_characters() -> str:
    return "".join(map(chr, range(MAX_CODEPOINT + 1)))


@functools.lru_cache(maxsize=256)
def _python_case_closure(ranges: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Exactly the characters Python's ``re.IGNORECASE`` matches against ``ranges``.

    Used where a superset is needed (negated sets); costs one scan of all code points.
    """
    cls = "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    found = re.finditer(f"[{cls}]+", _all_characters(), re.IGNORECASE)
    return _merge([*ranges, *((m.start(), m.end() - 1) for m in found)])


def _case_variants(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` plus the single-character upper/lower case of each member.

    A subset of what ``re.IGNORECASE`` matches (it also folds e.g. KELVIN SIGN to k).
    """
    extra: list[int] = []
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            if SURROGATES[0] <= cp <= SURROGATES[1]:
                continue
            ch = chr(cp)
            for v in (ch.lower(), ch.upper()):
                if len(v) == 1 and v != ch:
                    extra.append(ord(v))
    return _merge(ranges + [(c, c) for c in extra])


class _NFA:
    """Thompson NFA over bytes built from the parse tree of Python's `re` parser."""

    def __init__(
        self,
        pattern: str,
        max_states: int,
        residues: dict[int, tuple[int, bool]] | None = None,
    ) -> None:
        self.pattern = pattern
        self.max_states = max_states
        self.residues = residues or {}  # group id -> (modulus, zero)
        self.n = 0  # states
        # edges as flat int arrays, in the order added (put in order of source state by
        # _subset): arrays, not a list per state, which the garbage collector would visit
        # while a large NFA is built, and keep in its oldest generation
        self.eps_src, self.eps_dst = array("i"), array("i")
        self.edge_src, self.edge_lo = array("i"), array("i")
        self.edge_hi, self.edge_dst = array("i"), array("i")

    def state(self) -> int:
        if self.n >= self.max_states:
            raise CompileLimitError(
                "max_regex_nfa_states", self.max_states, f"regex {self.pattern[:80]!r} is too large"
            )
        self.n += 1
        return self.n - 1

    def link(self, a: int, b: int) -> None:
        """An epsilon edge from ``a`` to ``b``."""
        self.eps_src.append(a)
        self.eps_dst.append(b)

    def edge(self, src: int, lo: int, hi: int, dst: int) -> None:
        """An edge from ``src`` to ``dst`` on the bytes ``lo..hi``."""
        self.edge_src.append(src)
        self.edge_lo.append(lo)
        self.edge_hi.append(hi)
        self.edge_dst.append(dst)

    def seq(self, items: Any, flags: int) -> tuple[int, int]:
        """Fragment (start, end) for a sequence of parse items under ``flags``."""
        start = cur = self.state()
        for op, arg in items:
            a, b = self.item(op, arg, flags)
            self.link(cur, a)
            cur = b
        return start, cur

    def item(self, op: Any, arg: Any, flags: int) -> tuple[int, int]:
        if op is _c.LITERAL:
            return self.chars([(arg, arg)], flags)
        if op is _c.NOT_LITERAL:
            return self.chars(_complement([(arg, arg)]), flags, negated_from=[(arg, arg)])
        if op is _c.ANY:
            dot = [(0, MAX_CODEPOINT)] if flags & _DOTALL else _complement([(10, 10)])
            return self.chars(dot, 0)
        if op is _c.IN:
            return self._in(arg, flags)
        if op is _c.BRANCH:
            start, end = self.state(), self.state()
            for option in arg[1]:
                a, b = self.seq(option, flags)
                self.link(start, a)
                self.link(b, end)
            return start, end
        if op is _c.SUBPATTERN:
            group, add, remove, sub = arg
            if group in self.residues:
                return self.embed(_residue_dfa(*self.residues[group]))
            return self.seq(sub, (flags | add) & ~remove)
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):  # laziness is irrelevant to a full match
            lo, hi, sub = arg
            return self._repeat(lo, None if hi is _c.MAXREPEAT else hi, sub, flags)
        what = _UNSUPPORTED_OPS.get(op, str(op).lower())
        raise UnsupportedFeatureError(
            f"{what} in regex {self.pattern!r}", hint="rewrite without it"
        )

    def _repeat(self, lo: int, hi: int | None, sub: Any, flags: int) -> tuple[int, int]:
        start = cur = self.state()
        for _ in range(lo):
            a, b = self.seq(sub, flags)
            self.link(cur, a)
            cur = b
        end = self.state()
        if hi is None:
            a, b = self.seq(sub, flags)
            self.link(cur, a)
            self.link(b, a)
            self.link(cur, end)
            self.link(b, end)
            return start, end
        for _ in range(hi - lo):
            self.link(cur, end)
            a, b = self.seq(sub, flags)
            self.link(cur, a)
            cur = b
        self.link(cur, end)
        return start, end

    def _in(self, items: Any, flags: int) -> tuple[int, int]:
        negate = False
        ranges: list[tuple[int, int]] = []
        for op, arg in items:
            if op is _c.NEGATE:
                negate = True
            elif op is _c.LITERAL:
                ranges.append((arg, arg))
            elif op is _c.RANGE:
                ranges.append(arg)
            elif op is _c.CATEGORY:
                ranges.extend(_category(arg, in_negated_set=negate))
            else:
                raise UnsupportedFeatureError(f"{op} in a character class of {self.pattern!r}")
        ranges = _merge(ranges)
        if negate:
            if flags & _IGNORECASE:
                ranges = _python_case_closure(tuple(ranges))
            return self.chars(_complement(ranges), 0)
        if flags & _IGNORECASE:
            ranges = _case_variants(ranges)
        return self.chars(ranges, 0)

    def chars(
        self,
        ranges: list[tuple[int, int]],
        flags: int,
        negated_from: list[tuple[int, int]] | None = None,
    ) -> tuple[int, int]:
        """A fragment for one character out of ``ranges`` (case-folded under IGNORECASE)."""
        if flags & _IGNORECASE:
            if negated_from is not None:
                ranges = _complement(_python_case_closure(tuple(negated_from)))
            else:
                ranges = _case_variants(ranges)
        n_local, edges = _class_fragment(tuple(ranges))
        base = self.n
        for _ in range(n_local):
            self.state()
        for src, lo, hi, dst in edges:
            self.edge(base + src, lo, hi, base + dst)
        return base, base + 1

    def embed(self, dfa: ByteDFA) -> tuple[int, int]:
        """A fragment (start, end) for a whole DFA: its states and byte-range edges."""
        base = self.n
        for _ in range(dfa.n_states):
            self.state()
        end = self.state()
        for s, row in enumerate(dfa.trans):
            cuts = np.flatnonzero(np.diff(row)) + 1
            for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), 256], strict=True):
                if row[lo] >= 0:
                    self.edge(base + s, lo, hi - 1, base + int(row[lo]))
            if dfa.accept[s]:
                self.link(base + s, end)
        if dfa.nullable:
            self.link(base, end)
        return base, end


@functools.lru_cache(maxsize=1024)
def _class_fragment(
    ranges: tuple[tuple[int, int], ...],
) -> tuple[int, tuple[tuple[int, int, int, int], ...]]:
    """One character out of code point ``ranges`` as a byte-level fragment: (states, edges).

    Local state 0 is the start, 1 the end; intermediate states are shared by the
    remaining byte-range suffix, which keeps UTF-8 continuation structure small.
    """
    ids: dict[tuple[ByteRange, ...], int] = {(): 1}
    edges: set[tuple[int, int, int, int]] = set()
    for lo_cp, hi_cp in ranges:
        for seq in utf8_sequences(lo_cp, hi_cp):
            src = 0
            for k, (lo, hi) in enumerate(seq):
                suffix = tuple(seq[k + 1 :])
                dst = ids.setdefault(suffix, len(ids) + 1)
                edges.add((src, lo, hi, dst))
                src = dst
    return len(ids) + 1, tuple(sorted(edges))


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> ByteDFA:
    """Compile a Python regex (full match) to a trimmed :class:`ByteDFA`.

    Lookaheads ``(?=X)`` and ``(?!X)`` are read where they stand in the top-level sequence
    (the only place where their meaning is regular and local): what follows must (or must
    not) start with a match of ``X``; the DFA is a product. Bounded repetitions of a
    prefix-free sub-pattern there are built as chains of copies of its DFA, so their size
    grows with the count times the sub-DFA, not through a Thompson NFA. Pieces and products
    of at most ``_MINIMIZE_MAX_STATES`` states are minimized; chains and their direct
    concatenations are left as built (close to minimal when their parts are). Plain text
    and alternations of plain texts (a set of JSON keys) are built without a parse, as a
    chain of states or a trie.

    Raises
    ------
    GrammarError
        The pattern does not parse.
    UnsupportedFeatureError
        Anchors, lookbehinds, lookaheads outside the top-level sequence, back-references.
    CompileLimitError
        The DFA (or an intermediate product) exceeds ``max_lexeme_states``.
    """
    text = literal_text(pattern)
    words = None if text is not None else literal_words(pattern)
    dfa: ByteDFA | None
    if text is not None:
        dfa = _text_chain(text)
    elif words is not None:
        dfa = _word_trie(words)
    else:
        dfa = _compile_split(pattern)
    if dfa is None:
        tree = parse_regex(pattern)
        flags = int(tree.state.flags)
        dfa = _Compiler(pattern, flags, residue_groups(tree)).sequence(list(tree))
    _check_size(dfa.n_states, pattern, dfa.is_narrow)  # pieces may come from the caches
    return dfa


def _compile_split(pattern: str) -> ByteDFA | None:
    """:func:`compile_regex` of ``head (?!body) rest`` (see :func:`split_lookahead`) from
    its parts, each compiled and cached on its own: the rest (a JSON string body, say)
    recurs across patterns and is neither parsed nor built again. None where the split
    does not apply or a part fails (the whole pattern then reports the error)."""
    parts = split_lookahead(pattern)
    if parts is None:
        return None
    head, body, negative, rest = parts
    try:
        text = literal_text(head)
        found = words_then_end(body) if negative and text is not None else None
        if text is not None and found is not None:
            excluded = _excluded_words(text, *found, rest, pattern)
            if excluded is not None:
                return excluded
        plain = text is not None or literal_words(head) is not None
        if not plain and has_top_lookahead(parse_regex(head)):
            return None  # its lookahead would look past the head, into the rest
        return _concat(compile_regex(head), _guarded(body, negative, rest), pattern)
    except FormcastError:
        return None


@functools.lru_cache(maxsize=1024)
def _guarded(body: str, negative: bool, rest: str) -> ByteDFA:
    """``(?!body)rest`` (or ``(?=body)rest``): the strings of ``rest`` that do not (or do)
    start with a match of ``body``, a product, cached (a key's "is followed by a quote"
    guard recurs in every pattern of declared keys)."""
    lookahead = f"(?{'!' if negative else '='}{body}){rest}"
    found = words_then_end(body)
    ahead = None if found is None else _words_ahead(*found)
    if ahead is None:
        # "starts with a match of body" is body followed by anything, as in
        # _Compiler.sequence; written without a group where possible, so that a lookahead
        # ending body splits too
        tail = "(?s:.)*"
        text = f"{body}{tail}" if split_lookahead(f"{body}{tail}") else f"(?:{body}){tail}"
        ahead = compile_regex(text)
    return _product(compile_regex(rest), ahead, not negative, lookahead)


def _excluded_words(
    head: str, words: list[str], end: str, rest: str, pattern: str
) -> ByteDFA | None:
    """``head (?!(?:w1|...)(?![^end])) rest`` (that is ``pattern``) built in one pass over
    the words' trie (a numba kernel), not as a product: JSON's "any key but the declared
    ones". Not minimized (a state more per suffix the words share). None where
    :func:`_key_trie` is (the product decides).

    Raises
    ------
    CompileLimitError
        The table would exceed ``max_lexeme_states`` (checked before it is made).
    """
    found = _key_trie(words, end)
    if found is None:
        return None
    trie, ends = found
    word_end = np.zeros(len(trie), dtype=np.bool_)
    word_end[ends] = True
    after = compile_regex(rest)
    head_bytes = np.frombuffer(head.encode(), dtype=np.uint8)
    _check_size(len(head_bytes) + len(trie) + after.n_states - 1, pattern)
    after_accept = after.accept.astype(np.bool_)  # a copy: the trie's root accepts where
    after_accept[0] = after.nullable  # the rest matches the empty text
    trans, accept, trimmed = _kernels().excluded_words(
        head_bytes,
        trie,
        word_end,
        after.trans,
        after_accept,
        ord(end),
    )
    if not trimmed:  # some word's node cannot reach acceptance
        return _finish(trans, accept, trim=True, minimize=False)
    return ByteDFA(trans, accept, False)


# a set of words closed by "followed by the end or one character" (whole JSON keys)
_WORDS_END = re.compile(r"(?P<words>.+)\(\?!\[\^(?P<end>[^\\\]^])\]\)", re.DOTALL)


def words_then_end(text: str) -> tuple[list[str], str] | None:
    """(words, c) of a lookahead body ``(?:w1|w2|...)(?![^c])`` (a set of whole JSON keys:
    each word followed by the closing quote or the end), None for any other text."""
    m = _WORDS_END.fullmatch(text)
    words = None if m is None else literal_words(m["words"])
    return None if m is None or words is None else (words, m["end"])


def _key_trie(words: list[str], end: str, extra: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """The words' trie (:func:`_trie`) where the words can stand for whole keys closed by
    ``end``: none is empty, ``end`` is ASCII, and no word goes on with ``end`` after
    another ends (its end node then has no ``end`` edge); else None."""
    if not end.isascii() or not all(words):  # (plain texts hold no surrogates)
        return None
    trans, ends = _trie(words, extra=extra)
    if (trans[ends, ord(end)] >= 0).any():
        return None
    return trans, ends


def _words_ahead(words: list[str], end: str) -> ByteDFA | None:
    """The DFA of ``(?:w1|...)(?![^end])`` followed by any bytes (a superset of "followed
    by any text" that a product with a JSON string body cannot tell apart): the words'
    trie, whose word ends accept and lead on ``end`` to one absorbing accepting state.
    Built without a parse or a concatenation; None where :func:`_key_trie` is."""
    found = _key_trie(words, end, extra=1)
    if found is None:
        return None
    trans, ends = found
    n = len(trans) - 1
    trans[ends, ord(end)] = n
    trans[n] = n
    accept = np.zeros(n + 1, dtype=bool)
    accept[ends] = True
    accept[n] = True
    return ByteDFA(trans, accept, False)


# plain text: characters without a meaning in a regex (no surrogates) and escaped ASCII
# punctuation, as re.escape writes them
_PLAIN = re.compile(r"(?:[^.^$*+?{}\[\]\\|()\ud800-\udfff]|\\[\x00-/:-@\[-`{-\x7f])+")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def literal_text(pattern: str) -> str | None:
    """The one string a plain-text pattern matches (``re.escape`` output, a JSON key), or
    None for any other pattern; such a pattern needs no parse."""
    if _PLAIN.fullmatch(pattern) is None:
        return None
    return _ESCAPED.sub(r"\1", pattern)


def literal_words(pattern: str) -> list[str] | None:
    """The strings an alternation of plain texts matches (``a|b|c`` or ``(?:a|b|c)``: a
    set of JSON keys, say; one text only in a group), or None for any other pattern."""
    inner = pattern[3:-1] if pattern.startswith("(?:") and pattern.endswith(")") else pattern
    words, pos = [], 0
    while True:
        m = _PLAIN.match(inner, pos)
        if m is None:
            return None
        words.append(_ESCAPED.sub(r"\1", m.group()))
        pos = m.end()
        if pos == len(inner):
            return words if len(words) > 1 or inner != pattern else None
        if inner[pos] != "|":
            return None
        pos += 1


# Top-level tokens of a regex: escapes and classes (skipped whole), group brackets, "|".
_TOKENS = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|\(\?[=!]|\(|\)|\|", re.DOTALL)
# global flags, verbose groups, named groups and comments: the parts would not parse as
# they do in the whole (scoped flags, as in "(?s:.)", parse the same on their own)
_NO_SPLIT = re.compile(r"\(\?[aiLmsux]*\)|\(\?[aiLmsux-]*x|\(\?P|\(\?#")


def split_lookahead(pattern: str) -> tuple[str, str, bool, str] | None:
    """``(head, body, negative, rest)`` where ``pattern`` is ``head (?!body) rest`` (or
    ``(?=body)``) at the top level, the first such lookahead; None for other patterns."""
    if _NO_SPLIT.search(pattern):
        return None
    depth, start, end, negative = 0, -1, -1, False
    for m in _TOKENS.finditer(pattern):
        tok = m.group()
        if tok == "|" and depth == 0:
            return None  # a top-level alternation: no single sequence to split
        if tok[0] != "(" and tok != ")":
            continue
        if tok in ("(?=", "(?!") and depth == 0 and start < 0:
            start, negative = m.start(), tok == "(?!"
        depth += 1 if tok[0] == "(" else -1
        if depth == 0 and start >= 0:
            end = m.end()
            break
    rest = pattern[end:]
    if end < 0 or rest[:1] in ("*", "+", "?", "{") or _top_alternation(rest):
        return None
    return pattern[:start], pattern[start + 3 : end - 1], negative, rest


@functools.lru_cache(maxsize=1024)
def _top_alternation(text: str) -> bool:
    """Whether ``text`` (whole tokens, brackets balanced) has a top-level ``|``. Cached:
    the rest after a key guard, a JSON string body, recurs across patterns."""
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok == "|" and depth == 0:
            return True
        if tok[0] == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
    return False


def has_top_lookahead(items: Any) -> bool:
    """Whether the top-level sequence of a parse tree (groups without flags spliced in, as
    the compiler reads it) holds a lookahead."""
    for op, arg in getattr(items, "data", items):
        if op is _c.SUBPATTERN and not arg[1] and not arg[2]:
            if has_top_lookahead(arg[3]):
                return True
        elif op in (_c.ASSERT, _c.ASSERT_NOT) and arg[0] == 1:
            return True
    return False


_Key = tuple[str, int, tuple[tuple[int, int, bool], ...]]
_PIECES: dict[_Key, ByteDFA] = {}
_CHAINS: dict[_Key, ByteDFA | None] = {}
_MAX_PIECES = 4096
_T = TypeVar("_T")


def _remember(cache: dict[_Key, _T], key: _Key, value: _T) -> _T:
    if len(cache) >= _MAX_PIECES:
        cache.pop(next(iter(cache)))  # oldest first
    cache[key] = value
    return value


class _Compiler:
    """Compiles the top-level sequence of one pattern piece by piece (see compile_regex)."""

    def __init__(
        self, pattern: str, flags: int, residues: tuple[tuple[int, int, bool], ...] = ()
    ) -> None:
        self.pattern = pattern
        self.flags = flags
        self.residues = residues
        self.groups = {gid: (m, zero) for gid, m, zero in residues}

    def sequence(
        self, items: list[Any], lookahead: bool = True, tail: ByteDFA | None = None
    ) -> ByteDFA:
        """DFA of ``items`` read as a whole (top-level) sequence, then ``tail`` if given."""
        items = _flatten(items, self.groups)
        for i, (op, arg) in enumerate(items):
            if lookahead and op in (_c.ASSERT, _c.ASSERT_NOT) and arg[0] == 1:
                rest = self.sequence(items[i + 1 :], tail=tail)
                # "starts with a match of X" is X followed by anything; a lookahead nested
                # in X sees that continuation, as in the regex
                ahead = self.sequence(list(arg[1]), tail=_anything())
                both = _product(rest, ahead, op is _c.ASSERT, self.pattern)
                return self._concat_all([*self._pieces(items[:i]), both])
        return self._concat_all(self._pieces(items) + ([] if tail is None else [tail]))

    def _pieces(self, items: list[Any]) -> list[ByteDFA]:
        """Runs of ordinary items (one NFA each) and long repetitions (chains)."""
        out: list[ByteDFA] = []
        run: list[Any] = []
        for item in items:
            chain = self._chain(*item)
            if chain is None:
                run.append(item)
                continue
            if run:
                out.append(self._nfa(run))
                run = []
            out.append(chain)
        if run or not out:
            out.append(self._nfa(run))
        return out

    def _nfa(self, items: list[Any]) -> ByteDFA:
        literal = _literal(items, self.flags)
        if literal is not None:
            return literal
        # the parse tree's repr is structural: pieces shared by many patterns (a JSON
        # string unit, a quote) are built once
        key = (repr(items), self.flags, self.residues)
        if key in _PIECES:
            return _PIECES[key]
        nfa = _NFA(self.pattern, _MAX_NFA_STATES, self.groups)
        start, final = nfa.seq(items, self.flags)
        dfa = _finish(*_subset(nfa, start, final, self.pattern), trim=True, minimize=True)
        return _remember(_PIECES, key, dfa)

    def _chain(self, op: Any, arg: Any) -> ByteDFA | None:
        if op not in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            return None
        lo, hi, sub = arg
        hi = None if hi is _c.MAXREPEAT else hi
        if max(lo, hi or 0) < _CHAIN_MIN_REPEAT:
            return None
        key = (repr((op, arg)), self.flags, self.residues)
        if key in _CHAINS:
            return _CHAINS[key]
        # a lookahead inside the repeated part would look past it: leave it to the NFA
        x = self.sequence(list(sub), lookahead=False)
        chain = None
        if not (x.nullable or x.is_empty or (x.trans[x.accept] >= 0).any()):
            chain = _chain(x, lo, hi, self.pattern)  # prefix-free: copies cannot overlap
        return _remember(_CHAINS, key, chain)

    def _concat_all(self, pieces: list[ByteDFA]) -> ByteDFA:
        glued = _glue_all(pieces, self.pattern)
        if glued is not None:
            return glued
        out = pieces[0]
        for piece in pieces[1:]:
            out = _concat(out, piece, self.pattern)
        return out


def _literal(items: list[Any], flags: int) -> ByteDFA | None:
    """A non-empty run of plain characters (no IGNORECASE) as a chain of states, which is
    trimmed and minimal as built; None for any other run."""
    if not items or flags & _IGNORECASE or any(op is not _c.LITERAL for op, _ in items):
        return None
    codes = [arg for _, arg in items]
    if any(SURROGATES[0] <= cp <= SURROGATES[1] for cp in codes):
        return _empty()  # no UTF-8 encoding: the run matches nothing
    return _text_chain("".join(map(chr, codes)))


def _text_chain(text: str) -> ByteDFA:
    """The chain of states matching exactly ``text`` (non-empty, no surrogates)."""
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    n = len(data)
    trans = np.full((n + 1, 256), -1, dtype=np.int32)
    trans[np.arange(n), data] = np.arange(1, n + 1, dtype=np.int32)
    accept = np.zeros(n + 1, dtype=bool)
    accept[n] = True
    return ByteDFA(trans, accept, False)


def _trie(words: list[str], extra: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The trie of the words' UTF-8 bytes as a transition table (node 0 is the root; then
    ``extra`` rows with no edges) and each word's end node (a numba kernel)."""
    data = [w.encode() for w in words]
    ends = np.cumsum(np.fromiter(map(len, data), np.int64, len(data)))
    flat = np.frombuffer(b"".join(data), dtype=np.uint8)
    return _kernels().word_trie(flat, ends, extra)


def _word_trie(words: list[str]) -> ByteDFA:
    """The DFA of a set of non-empty strings (no surrogates): their trie of UTF-8 bytes,
    minimized up to ``_MINIMIZE_MAX_STATES`` states."""
    trans, ends = _trie(words)
    n = len(trans)
    accept = np.zeros(n, dtype=bool)
    accept[ends] = True
    return _finish(trans, accept, trim=False, minimize=n <= _MINIMIZE_MAX_STATES)


def _flatten(items: list[Any], keep: Container[int] = ()) -> list[Any]:
    """Splice groups without flag changes (other than the groups ``keep``) into the
    enclosing sequence."""
    out: list[Any] = []
    for op, arg in items:
        if op is _c.SUBPATTERN and not arg[1] and not arg[2] and arg[0] not in keep:
            out.extend(_flatten(list(arg[3]), keep))
        else:
            out.append((op, arg))
    return out


@functools.cache
def _kernels() -> ModuleType:
    """The numba product kernels, imported (and compiled) on first use."""
    from formcast.kernels import dfa_product

    return dfa_product


@functools.cache
def _subset_kernel() -> ModuleType:
    """The numba subset-construction kernel, imported (and compiled) on first use."""
    from formcast.kernels import nfa_subset

    return nfa_subset


def _check_size(n: int, pattern: str, narrowable: bool = False) -> None:
    """Refuse a DFA of ``n`` states past its limit: ``MAX_NARROW_STATES`` for one that is
    kept narrow where long (``narrowable``) and is past ``NARROW_FROM`` states."""
    limit, name = (
        (MAX_NARROW_STATES, "max_narrow_states")
        if narrowable and n > NARROW_FROM
        else (MAX_LEXEME_STATES, "max_lexeme_states")
    )
    if n > limit:
        raise CompileLimitError(name, limit, f"regex {pattern[:80]!r} is too large")


def _by_source(src: array, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets ``[n + 1]``, order): the edges from state ``s`` are ``order[off[s]:off[s+1]]``,
    in the order they were added (a stable sort by source)."""
    sources = np.asarray(src, dtype=np.int32)
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(sources, minlength=n), out=off[1:])
    return off, np.argsort(sources, kind="stable")


def _subset(nfa: _NFA, start: int, final: int, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Subset construction (a numba kernel over the NFA as arrays): (trans, accept) with
    start 0, ``accept[0]`` = nullable."""
    n = nfa.n
    eps_off, eps_order = _by_source(nfa.eps_src, n)
    eps_dst = np.asarray(nfa.eps_dst, dtype=np.int32)[eps_order]
    edge_off, order = _by_source(nfa.edge_src, n)
    keep = edge_off[1:] > edge_off[:-1]
    keep[final] = True
    trans, accept, ok = _subset_kernel().subset(
        eps_off,
        eps_dst,
        edge_off,
        np.asarray(nfa.edge_lo, dtype=np.int32)[order],
        np.asarray(nfa.edge_hi, dtype=np.int32)[order],
        np.asarray(nfa.edge_dst, dtype=np.int32)[order],
        keep,
        start,
        final,
        MAX_LEXEME_STATES,
    )
    if not ok:
        _check_size(MAX_LEXEME_STATES + 1, pattern)
    return trans, accept


def _finish(
    trans: np.ndarray,
    accept: np.ndarray,
    *,
    trim: bool,
    minimize: bool,
    classes: tuple[np.ndarray, np.ndarray] | None = None,
) -> ByteDFA:
    """A :class:`ByteDFA` from a table with start 0 and ``accept[0]`` = nullable.

    ``trim=False`` promises that every state but 0 already reaches acceptance. Chains and
    direct concatenations of minimal DFAs are left as built (close to minimal already).
    With ``classes`` (class of each byte, first byte of each class) the table has one
    column per byte class; trimming and minimizing work on such a narrow table anyway, and
    the DFA keeps the classes (:meth:`ByteDFA.byte_classes`), and stays narrow past
    ``NARROW_FROM`` states.
    """
    nullable = bool(accept[0])
    if (trim or minimize) and classes is None:
        table = np.ascontiguousarray(trans, dtype=np.int32)
        classes = _kernels().byte_classes(table)
        trans = table[:, classes[1]]
    trans, accept = _kernels().clean(
        np.ascontiguousarray(trans, dtype=np.int32),
        np.ascontiguousarray(accept, dtype=np.bool_),
        trim,
        _MINIMIZE_MAX_STATES if minimize else -1,
    )
    return _narrow_or_wide(trans, accept, nullable, classes)


def _narrow_or_wide(
    table: np.ndarray,
    accept: np.ndarray,
    nullable: bool,
    classes: tuple[np.ndarray, np.ndarray] | None,
) -> ByteDFA:
    """The DFA of ``table`` (its columns follow ``classes`` when given): narrow past
    ``NARROW_FROM`` states, else widened to one column per byte (keeping the classes)."""
    if classes is None:
        return ByteDFA(table, accept, nullable)
    if len(table) > NARROW_FROM:
        return ByteDFA(table, accept, nullable, classes)
    # C-contiguous, unlike table[:, class_of]; its columns follow the classes
    return _kept_classes(ByteDFA(np.take(table, classes[0], axis=1), accept, nullable), classes)


def _kept_classes(dfa: ByteDFA, classes: tuple[np.ndarray, np.ndarray]) -> ByteDFA:
    """``dfa``, keeping ``classes`` as its :meth:`ByteDFA.byte_classes` (its columns
    must be equal within each class)."""
    dfa._byte_classes = classes
    return dfa


def _empty() -> ByteDFA:
    return ByteDFA(np.full((1, 256), -1, dtype=np.int32), np.zeros(1, dtype=bool), False)


def _chain(x: ByteDFA, lo: int, hi: int | None, pattern: str) -> ByteDFA:
    """``X{lo,hi}`` for a prefix-free, non-nullable ``x``: copies of its inner states.

    Junction ``k`` (state ``k``) means "k repetitions read"; copy ``k`` of the inner
    states leads from junction ``k`` to junction ``k + 1`` (for ``hi=None`` the last copy
    loops back to junction ``lo``). Every state reaches acceptance, so no trimming.
    """
    copies = hi if hi is not None else lo + 1
    n_junctions = copies + 1 if hi is not None else lo + 1
    inner = np.flatnonzero(~x.accept)[1:]  # state 0 (the start) becomes the junctions
    q = len(inner)
    _check_size(n_junctions + copies * q, pattern, narrowable=True)
    # built over x's byte classes (a few columns), and kept so where long
    first = x.byte_classes()[1]
    narrow = x.columns(first)
    # per entry of x: -1 (dead), else the junction offset (exit) or inner state offset
    safe = np.where(narrow >= 0, narrow, 0)
    is_exit = (narrow >= 0) & x.accept[safe]
    loc = np.zeros(x.n_states, dtype=np.int32)
    loc[inner] = np.arange(q, dtype=np.int32)
    exits = np.arange(1, copies + 1, dtype=np.int32)
    if hi is None:
        exits[-1] = lo
    base = n_junctions + q * np.arange(copies, dtype=np.int32)

    def relabel(rows: np.ndarray) -> np.ndarray:
        """Copy ``k`` of ``rows`` (of ``narrow``) for every k: [copies, len(rows), k]."""
        out = np.repeat(loc[safe[rows]][None], copies, axis=0)
        out += base[:, None, None]
        out[:, is_exit[rows]] = np.broadcast_to(exits[:, None], (copies, int(is_exit[rows].sum())))
        out[:, narrow[rows] < 0] = -1
        return out

    k = len(first)
    trans = np.full((n_junctions + copies * q, k), -1, dtype=np.int32)
    trans[:copies] = relabel(np.zeros(1, dtype=np.int64))[:, 0]
    trans[n_junctions:] = relabel(inner).reshape(copies * q, k)
    accept = np.zeros(len(trans), dtype=bool)
    accept[lo:n_junctions] = True
    return _finish(trans, accept, trim=False, minimize=False, classes=x.byte_classes())


def _concat(left: ByteDFA, right: ByteDFA, pattern: str) -> ByteDFA:
    """``left`` then ``right``: glued directly where no byte can both continue ``left``
    and start ``right`` at an end of ``left``; otherwise through an NFA of both."""
    if (left.is_empty and not left.nullable) or (right.is_empty and not right.nullable):
        return _empty()
    ends = left.accept.copy()
    ends[0] = left.nullable
    trans, accept, glued = _kernels().concat_direct(
        left.trans, left.accept, ends, right.trans, right.accept, right.nullable
    )
    if glued:
        _check_size(len(trans), pattern)
    else:
        nfa = _NFA(pattern, _MAX_NFA_STATES)
        a, b = nfa.embed(left)
        c, d = nfa.embed(right)
        nfa.link(b, c)
        return _finish(*_subset(nfa, a, d, pattern), trim=True, minimize=True)
    accept[0] = left.nullable and right.nullable
    return _finish(trans, accept, trim=False, minimize=False)


def _glue_all(pieces: list[ByteDFA], pattern: str) -> ByteDFA | None:
    """``pieces`` in sequence, glued directly (one table, each piece copied once: a long
    counted string between quotes is not copied again per quote), where no byte both
    continues the text read so far at one of its ends and starts the next piece; None
    where that fails or a piece matches nothing (:func:`_concat`, pairwise, decides).
    Built over the pieces' joint byte classes (narrow, as a long chain stays)."""
    if len(pieces) < 2 or any(p.is_empty and not p.nullable for p in pieces):
        return None
    classes = pieces[0].byte_classes()
    for piece in pieces[1:]:
        classes = _kernels().joint_classes(classes[0], piece.byte_classes()[0])
    tables = [piece.columns(classes[1]) for piece in pieces]
    first = pieces[0]
    total = first.n_states + sum(p.n_states - 1 for p in pieces[1:])
    _check_size(total, pattern, narrowable=True)
    trans = np.empty((total, len(classes[1])), dtype=np.int32)
    trans[: first.n_states] = tables[0]
    ends = first.accept.copy()
    ends[0] = first.nullable
    ends_at = np.flatnonzero(ends)  # where the text read so far may end, in the whole
    base = first.n_states
    for right, table in zip(pieces[1:], tables[1:], strict=True):
        shift = base - 1  # right's start (no incoming edges) is dropped
        r0 = table[0] >= 0
        rows = trans[ends_at]
        if (rows[:, r0] >= 0).any():
            return None
        rows[:, r0] = table[0][r0] + shift
        trans[ends_at] = rows
        tail = trans[base : base + right.n_states - 1]
        tail.fill(-1)
        np.add(table[1:], shift, out=tail, where=table[1:] >= 0)
        right_ends = np.flatnonzero(right.accept[1:]) + base
        ends_at = np.concatenate([ends_at, right_ends]) if right.nullable else right_ends
        base += right.n_states - 1
    accept = np.zeros(total, dtype=bool)
    accept[ends_at] = True
    if accept[0] or (tables[0] == 0).any():  # later pieces never lead to state 0
        return _finish(trans, accept, trim=False, minimize=False, classes=classes)
    return _narrow_or_wide(trans, accept, False, classes)


@functools.lru_cache(maxsize=1)
def _anything() -> ByteDFA:
    return compile_regex("(?s:.)*")


def _product(left: ByteDFA, right: ByteDFA, both: bool, pattern: str) -> ByteDFA:
    """``left`` ∩ ``right`` (``both``) or ``left`` minus ``right``: the product DFA,
    explored breadth-first from the start pair (over byte classes, not bytes).

    Raises
    ------
    CompileLimitError
        As soon as the product has more than ``MAX_LEXEME_STATES`` states.
    """
    kernels = _kernels()
    n = right.n_states
    # The byte classes of the pair of tables; the "free" row added below (right can no
    # longer match: absorbing, and neutral for the difference) splits none of them.
    classes = kernels.joint_classes(left.byte_classes()[0], right.byte_classes()[0])
    first = classes[1]
    r_rows = np.full((n + 1, len(first)), n, dtype=np.int32)
    r_rows[:n] = right.columns(first)
    if not both:
        r_rows[:n][r_rows[:n] < 0] = n
    r_acc = np.zeros(n + 1, dtype=bool)
    r_acc[:n] = right.accept
    trans, accept, ok = kernels.explore(
        left.columns(first),
        r_rows,
        np.ascontiguousarray(left.accept, dtype=np.bool_),
        r_acc,
        both,
        left.nullable and right.nullable == both,
        MAX_LEXEME_STATES,
        left.n_states * (n + 1) <= kernels.DENSE_MAX_PAIRS,
    )
    if not ok:
        _check_size(MAX_LEXEME_STATES + 1, pattern)
    return _finish(trans, accept, trim=True, minimize=True, classes=classes)
