r"""Regex → byte-level DFA.

Python's own regex parser (``re._parser``) gives the pattern tree; we build a Thompson
NFA over bytes from it (each character class becomes UTF-8 byte-range sequences), make
it deterministic by subset construction and minimize it. ``\d``, ``\w`` and ``\s`` are
ASCII (as in ECMA-262 and interegular): a subset of Python's Unicode classes. The
result is trimmed (states that cannot reach acceptance are dropped) and gets a fresh
start state with no incoming edges, so "at the start of a lexeme" is a property of the state alone.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from re import _constants as _c
from re import _parser
from typing import Any

import numpy as np

from formcast.errors import CompileLimitError, GrammarError, UnsupportedFeatureError

MAX_CODEPOINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
# A lexeme DFA larger than this is refused (named limit, see CompileLimitError).
MAX_LEXEME_STATES = 20_000
_MINIMIZE_MAX_STATES = 400
_MAX_NFA_STATES = 400_000

ByteRange = tuple[int, int]


@dataclass(frozen=True, eq=False)
class ByteDFA:
    """A trimmed DFA over bytes: ``trans[s, b]`` is the next state or -1 (dead).

    State 0 is the start state and has no incoming transitions. ``nullable`` records
    whether the regex matched the empty string (the empty match itself is removed:
    ``accept[0]`` is always False; the grammar compiler re-adds epsilon).
    """

    trans: np.ndarray  # int32 [n, 256]
    accept: np.ndarray  # bool [n]
    nullable: bool

    @property
    def n_states(self) -> int:
        return int(self.trans.shape[0])

    @property
    def is_empty(self) -> bool:
        """True when the DFA accepts no non-empty string.

        Every state other than the fresh start is live or unreachable, so the language is
        empty exactly when the start state has no transition.
        """
        return not bool((self.trans[0] >= 0).any())

    def matches(self, data: bytes) -> bool:
        """Full match of ``data`` (the empty string matches iff ``nullable``)."""
        if not data:
            return self.nullable
        s = 0
        for b in data:
            s = int(self.trans[s, b])
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


def parse_regex(pattern: str) -> Any:
    """Parse with Python's own regex parser; syntax errors raise :class:`GrammarError`."""
    try:
        return _parser.parse(pattern)
    except re.error as exc:
        raise GrammarError(f"cannot parse regex {pattern!r}: {exc}") from exc
    except RecursionError as exc:
        raise CompileLimitError(
            "regex_nesting", 0, f"regex {pattern[:80]!r} nests too deeply"
        ) from exc


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

    def __init__(self, pattern: str, max_states: int) -> None:
        self.pattern = pattern
        self.max_states = max_states
        self.edges: list[list[tuple[int, int, int]]] = []
        self.eps: list[list[int]] = []

    def state(self) -> int:
        if len(self.edges) >= self.max_states:
            raise CompileLimitError(
                "max_regex_nfa_states", self.max_states, f"regex {self.pattern[:80]!r} is too large"
            )
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    def seq(self, items: Any, flags: int) -> tuple[int, int]:
        """Fragment (start, end) for a sequence of parse items under ``flags``."""
        start = cur = self.state()
        for op, arg in items:
            a, b = self.item(op, arg, flags)
            self.eps[cur].append(a)
            cur = b
        return start, cur

    def item(self, op: Any, arg: Any, flags: int) -> tuple[int, int]:
        if op is _c.LITERAL:
            return self.chars([(arg, arg)], flags)
        if op is _c.NOT_LITERAL:
            return self.chars(_complement([(arg, arg)]), flags, negated_from=[(arg, arg)])
        if op is _c.ANY:
            dot = [(0, MAX_CODEPOINT)] if flags & re.DOTALL else _complement([(10, 10)])
            return self.chars(dot, 0)
        if op is _c.IN:
            return self._in(arg, flags)
        if op is _c.BRANCH:
            start, end = self.state(), self.state()
            for option in arg[1]:
                a, b = self.seq(option, flags)
                self.eps[start].append(a)
                self.eps[b].append(end)
            return start, end
        if op is _c.SUBPATTERN:
            _, add, remove, sub = arg
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
            self.eps[cur].append(a)
            cur = b
        end = self.state()
        if hi is None:
            a, b = self.seq(sub, flags)
            self.eps[cur].append(a)
            self.eps[b].append(a)
            self.eps[cur].append(end)
            self.eps[b].append(end)
            return start, end
        for _ in range(hi - lo):
            self.eps[cur].append(end)
            a, b = self.seq(sub, flags)
            self.eps[cur].append(a)
            cur = b
        self.eps[cur].append(end)
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
            if flags & re.IGNORECASE:
                ranges = _python_case_closure(tuple(ranges))
            return self.chars(_complement(ranges), 0)
        if flags & re.IGNORECASE:
            ranges = _case_variants(ranges)
        return self.chars(ranges, 0)

    def chars(
        self,
        ranges: list[tuple[int, int]],
        flags: int,
        negated_from: list[tuple[int, int]] | None = None,
    ) -> tuple[int, int]:
        """A fragment for one character out of ``ranges`` (case-folded under IGNORECASE)."""
        if flags & re.IGNORECASE:
            if negated_from is not None:
                ranges = _complement(_python_case_closure(tuple(negated_from)))
            else:
                ranges = _case_variants(ranges)
        n_local, edges = _class_fragment(tuple(ranges))
        base = len(self.edges)
        for _ in range(n_local):
            self.state()
        for src, lo, hi, dst in edges:
            self.edges[base + src].append((lo, hi, base + dst))
        return base, base + 1


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
    """Compile a Python regex (full match) to a trimmed, minimal :class:`ByteDFA`."""
    tree = parse_regex(pattern)
    nfa = _NFA(pattern, _MAX_NFA_STATES)
    start, final = nfa.seq(list(tree), tree.state.flags)
    eps = nfa.eps
    closure_cache: dict[frozenset[int], frozenset[int]] = {}

    def closure(states: Iterable[int]) -> frozenset[int]:
        seen: set[int] = set()
        stack = list(states)
        while stack:
            q = stack.pop()
            if q in seen:
                continue
            seen.add(q)
            stack.extend(eps[q])
        return frozenset(q for q in seen if nfa.edges[q] or q == final)

    start_set = closure([start])
    dfa_ids: dict[frozenset[int], int] = {start_set: 0}
    rows: list[np.ndarray] = []
    finals: list[bool] = []
    succ: list[set[int]] = []
    todo = [start_set]
    while todo:
        cur_set = todo.pop()
        row = np.full(256, -1, dtype=np.int32)
        targets: set[int] = set()
        edges = [e for q in cur_set for e in nfa.edges[q]]
        cuts = sorted({0, 256, *(lo for lo, _, _ in edges), *(hi + 1 for _, hi, _ in edges)})
        for a, b in itertools.pairwise(cuts):
            tgt = [t for lo, hi, t in edges if lo <= a <= hi]
            if not tgt:
                continue
            key = frozenset(tgt)
            target = closure_cache.get(key)
            if target is None:
                target = closure_cache[key] = closure(key)
            if target not in dfa_ids:
                if len(dfa_ids) >= MAX_LEXEME_STATES:
                    raise CompileLimitError(
                        "max_lexeme_states",
                        MAX_LEXEME_STATES,
                        f"regex {pattern[:80]!r} is too large",
                    )
                dfa_ids[target] = len(dfa_ids)
                todo.append(target)
            row[a:b] = dfa_ids[target]
            targets.add(dfa_ids[target])
        idx = dfa_ids[cur_set]
        while len(rows) <= idx:
            rows.append(np.full(256, -1, dtype=np.int32))
            finals.append(False)
            succ.append(set())
        rows[idx] = row
        finals[idx] = final in cur_set
        succ[idx] = targets
    trans = np.stack(rows)
    accept = np.array(finals, dtype=bool)
    nullable = bool(accept[0])
    trans, accept = _minimize(*_trim(trans, accept, succ))
    return _with_fresh_start(trans, accept, nullable)


def _trim(
    trans: np.ndarray, accept: np.ndarray, succ: list[set[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Drop states that cannot reach acceptance (state 0 is kept, possibly dead)."""
    n = trans.shape[0]
    preds: list[list[int]] = [[] for _ in range(n)]
    for src, targets in enumerate(succ):
        for dst in targets:
            preds[dst].append(src)
    live = accept.copy()
    stack = [int(q) for q in np.flatnonzero(accept)]
    while stack:  # backward search from the accepting states
        for q in preds[stack.pop()]:
            if not live[q]:
                live[q] = True
                stack.append(q)
    live[0] = True
    keep = np.flatnonzero(live)
    remap = np.full(n + 1, -1, dtype=np.int32)  # index n stands for "dead" (-1)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    body = trans[keep]
    return remap[np.where(body >= 0, body, n)].astype(np.int32), accept[keep]


def _minimize(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moore partition refinement over byte classes (state 0 stays the start state).

    Moore needs as many rounds as the longest distinguishing string, quadratic on long
    chains (bounded repetitions), so large DFAs are left as subset construction built them.
    """
    n = trans.shape[0]
    if n > _MINIMIZE_MAX_STATES:
        return trans, accept
    col_ids: dict[bytes, int] = {}
    first_of: list[int] = []
    for b in range(256):
        key = trans[:, b].tobytes()
        if key not in col_ids:
            col_ids[key] = len(col_ids)
            first_of.append(b)
    narrow = trans[:, first_of]
    cls = accept.astype(np.int64)
    n_cls = len(np.unique(cls))
    while True:
        succ = np.where(narrow >= 0, cls[np.where(narrow >= 0, narrow, 0)], -1)
        sig = np.ascontiguousarray(np.concatenate([cls[:, None], succ], axis=1))
        ids: dict[bytes, int] = {}
        cls = np.array([ids.setdefault(row.tobytes(), len(ids)) for row in sig])
        if len(ids) == n_cls:
            break
        n_cls = len(ids)
    # classes are numbered in order of first occurrence, so the start state's class is 0
    rep = np.zeros(n_cls, dtype=np.int64)
    rep[cls[::-1]] = np.arange(n - 1, -1, -1)
    small = trans[rep]
    small = np.where(small >= 0, cls[np.where(small >= 0, small, 0)], -1).astype(np.int32)
    return small, accept[rep]


def _with_fresh_start(trans: np.ndarray, accept: np.ndarray, nullable: bool) -> ByteDFA:
    """Prepend a fresh, non-accepting start state (a copy of state 0's row).

    After trimming and minimizing every state except possibly 0 is live; a dead
    state 0 (the regex matches nothing) gives a start with no transitions.
    """
    live0 = bool(accept.any())
    start_row = trans[0] + 1 if live0 else np.full(256, -1, dtype=np.int32)
    start_row = np.where(trans[0] >= 0, start_row, -1)
    body = np.where(trans >= 0, trans + 1, -1)
    new_trans = np.vstack([start_row[None, :], body]).astype(np.int32)
    new_accept = np.concatenate([[False], accept])
    return ByteDFA(np.ascontiguousarray(new_trans), new_accept, nullable)
