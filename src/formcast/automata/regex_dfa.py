"""Regex → byte-level DFA.

interegular parses a Python regex into a pattern tree; we build a Thompson NFA over
bytes from it (each character class becomes UTF-8 byte-range sequences), make it
deterministic by subset construction and minimize it. The result is trimmed (states
that cannot reach acceptance are dropped) and gets a fresh start state with no
incoming edges, so "at the start of a lexeme" is a property of the state alone.
(interegular's own FSM operations are far slower on bounded repetitions.)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import interegular
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


def parse_regex(pattern: str) -> Any:
    """Parse with interegular into its pattern tree; unsupported syntax raises typed errors."""
    try:
        return interegular.parse_pattern(pattern)
    except interegular.patterns.Unsupported as exc:
        raise UnsupportedFeatureError(
            f"regex construct in {pattern!r}", hint=f"{exc}; rewrite without it"
        ) from exc
    except Exception as exc:  # interegular raises plain exceptions on bad syntax
        raise GrammarError(f"cannot parse regex {pattern!r}: {exc}") from exc


class _NFA:
    """Thompson NFA over bytes built from interegular's pattern tree."""

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

    def build(self, node: Any, flags: Any) -> tuple[int, int]:
        """Fragment (start, end) for ``node`` under regex ``flags``."""
        pats = interegular.patterns
        if isinstance(node, pats.Pattern):
            flags = pats._combine_flags(flags, node.added_flags, node.removed_flags)
            start, end = self.state(), self.state()
            for option in node.options:
                a, b = self.build(option, flags)
                self.eps[start].append(a)
                self.eps[b].append(end)
            return start, end
        if isinstance(node, pats._Concatenation):
            start = cur = self.state()
            for part in node.parts:
                if isinstance(part, pats._NonCapturing):
                    raise UnsupportedFeatureError(
                        f"look-around in regex {self.pattern!r}", hint="rewrite without it"
                    )
                a, b = self.build(part, flags)
                self.eps[cur].append(a)
                cur = b
            return start, cur
        if isinstance(node, pats._Repeated):
            start = cur = self.state()
            for _ in range(node.min):
                a, b = self.build(node.base, flags)
                self.eps[cur].append(a)
                cur = b
            if node.max is None:
                a, b = self.build(node.base, flags)
                self.eps[cur].append(a)
                self.eps[b].append(a)
                end = self.state()
                self.eps[cur].append(end)
                self.eps[b].append(end)
                return start, end
            end = self.state()
            for _ in range(node.max - node.min):
                self.eps[cur].append(end)
                a, b = self.build(node.base, flags)
                self.eps[cur].append(a)
                cur = b
            self.eps[cur].append(end)
            return start, end
        if node is pats._EMPTY:
            s = self.state()
            return s, s
        if isinstance(node, pats._CharGroup):
            key = (node.chars, node.negated, bool(flags & pats.REFlags.I), False)
        elif node is pats._DOT:
            key = (frozenset("\n"), True, False, bool(flags & pats.REFlags.S))
        else:
            raise UnsupportedFeatureError(
                f"regex construct {type(node).__name__} in {self.pattern!r}"
            )
        return self._chars(key)

    def _chars(self, key: tuple[frozenset[str], bool, bool, bool]) -> tuple[int, int]:
        n_local, edges = _class_fragment(key)
        base = len(self.edges)
        for _ in range(n_local):
            self.state()
        for src, lo, hi, dst in edges:
            self.edges[base + src].append((lo, hi, base + dst))
        return base, base + 1


@functools.lru_cache(maxsize=1024)
def _class_fragment(
    key: tuple[frozenset[str], bool, bool, bool],
) -> tuple[int, tuple[tuple[int, int, int, int], ...]]:
    """A character class as a byte-level fragment: (state count, edges).

    Local state 0 is the start, 1 the end; intermediate states are shared by the
    remaining byte-range suffix, which keeps UTF-8 continuation structure small.
    """
    chars, negated, icase, dotall = key
    if dotall:
        chars, negated = frozenset(), True
    if icase:
        cased = {*chars, *(c.lower() for c in chars), *(c.upper() for c in chars)}
        chars = frozenset(c for c in cased if len(c) == 1)
    ranges = _to_ranges(sorted(ord(c) for c in chars))
    if negated:
        ranges = _complement(ranges)
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
    start, final = nfa.build(tree, interegular.patterns.REFlags(0))
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
