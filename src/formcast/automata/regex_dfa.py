"""Regex → byte-level DFA.

interegular parses a Python regex into a character DFA whose alphabet is a set of
character classes; each class is turned into UTF-8 byte-range sequences, giving a
byte NFA that subset construction makes deterministic again. The result is trimmed
(states that cannot reach acceptance are dropped) and gets a fresh start state with
no incoming edges, so "at the start of a lexeme" is a property of the state alone.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import interegular
import numpy as np
from interegular.fsm import anything_else

from formcast.errors import CompileLimitError, GrammarError, UnsupportedFeatureError

MAX_CODEPOINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
# A lexeme DFA larger than this is refused (named limit, see CompileLimitError).
MAX_LEXEME_STATES = 20_000

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
        """True when the DFA accepts no non-empty string."""
        return not bool(self.accept.any())

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


def _class_ranges(fsm: interegular.FSM) -> dict[int, list[tuple[int, int]]]:
    """Code point ranges of each transition class of an interegular FSM."""
    mapping: dict[Any, int] = dict(fsm.alphabet._symbol_mapping)
    chars = {ch: cls for ch, cls in mapping.items() if isinstance(ch, str)}
    explicit: dict[int, list[int]] = {}
    for ch, cls in chars.items():
        explicit.setdefault(cls, []).append(ord(ch))
    ranges: dict[int, list[tuple[int, int]]] = {}
    for cls, cps in explicit.items():
        ranges[cls] = _to_ranges(sorted(cps))
    if anything_else in mapping:
        cls = mapping[anything_else]
        taken = sorted(ord(c) for c in chars)
        rest: list[tuple[int, int]] = []
        prev = 0
        for cp in taken:
            if cp > prev:
                rest.append((prev, cp - 1))
            prev = cp + 1
        if prev <= MAX_CODEPOINT:
            rest.append((prev, MAX_CODEPOINT))
        ranges[cls] = sorted(ranges.get(cls, []) + rest)
    return ranges


def _to_ranges(cps: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in cps:
        if out and out[-1][1] + 1 == cp:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def parse_regex(pattern: str) -> interegular.FSM:
    """Parse with interegular; unsupported constructs raise typed errors."""
    try:
        parsed = interegular.parse_pattern(pattern)
    except interegular.patterns.Unsupported as exc:
        raise UnsupportedFeatureError(
            f"regex construct in {pattern!r}", hint=f"{exc}; rewrite without it"
        ) from exc
    except Exception as exc:  # interegular raises plain exceptions on bad syntax
        raise GrammarError(f"cannot parse regex {pattern!r}: {exc}") from exc
    try:
        return parsed.to_fsm()
    except Exception as exc:
        raise UnsupportedFeatureError(
            f"regex construct in {pattern!r}", hint=f"{exc}; rewrite without it"
        ) from exc


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> ByteDFA:
    """Compile a Python regex (full match) to a trimmed :class:`ByteDFA`."""
    fsm = parse_regex(pattern)
    class_ranges = _class_ranges(fsm)
    seqs_of_class = {
        cls: [seq for lo, hi in rs for seq in utf8_sequences(lo, hi)]
        for cls, rs in class_ranges.items()
    }
    # NFA: char states keep their ids; intermediate states are keyed by (remaining ranges, target).
    char_states: list[Any] = sorted(fsm.states)
    nfa_id: dict[object, int] = {("c", s): i for i, s in enumerate(char_states)}
    nfa_edges: list[list[tuple[int, int, int]]] = [[] for _ in char_states]
    nfa_final = [s in fsm.finals for s in char_states]

    def node(key: object) -> int:
        if key not in nfa_id:
            nfa_id[key] = len(nfa_edges)
            nfa_edges.append([])
            nfa_final.append(False)
        return nfa_id[key]

    for s in char_states:
        src = nfa_id[("c", s)]
        for cls, t in fsm.map.get(s, {}).items():
            dst = nfa_id[("c", t)]
            for seq in seqs_of_class.get(cls, []):
                cur = src
                for k, (lo, hi) in enumerate(seq):
                    nxt = dst if k == len(seq) - 1 else node(("i", tuple(seq[k + 1 :]), t))
                    edge = (lo, hi, nxt)
                    if edge not in nfa_edges[cur]:
                        nfa_edges[cur].append(edge)
                    cur = nxt
                    if nxt != dst and nfa_edges[nxt]:
                        break  # the rest of this path is shared and already built
    start_set = frozenset([nfa_id[("c", fsm.initial)]])
    dfa_ids: dict[frozenset[int], int] = {start_set: 0}
    rows: list[np.ndarray] = []
    finals: list[bool] = []
    todo = [start_set]
    while todo:
        cur_set = todo.pop()
        row = np.full(256, -1, dtype=np.int32)
        cuts = {0, 256}
        for s in cur_set:
            for lo, hi, _ in nfa_edges[s]:
                cuts.add(lo)
                cuts.add(hi + 1)
        bounds = sorted(cuts)
        for a, b in itertools.pairwise(bounds):
            target = frozenset(t for s in cur_set for lo, hi, t in nfa_edges[s] if lo <= a <= hi)
            if not target:
                continue
            if target not in dfa_ids:
                dfa_ids[target] = len(dfa_ids)
                todo.append(target)
                if len(dfa_ids) > MAX_LEXEME_STATES:
                    raise CompileLimitError(
                        "max_lexeme_states",
                        MAX_LEXEME_STATES,
                        f"regex {pattern[:80]!r} is too large",
                    )
            row[a:b] = dfa_ids[target]
        idx = dfa_ids[cur_set]
        while len(rows) <= idx:
            rows.append(np.full(256, -1, dtype=np.int32))
            finals.append(False)
        rows[idx] = row
        finals[idx] = any(nfa_final[s] for s in cur_set)
    trans = np.stack(rows)
    accept = np.array(finals, dtype=bool)
    return _finish(trans, accept)


def _finish(trans: np.ndarray, accept: np.ndarray) -> ByteDFA:
    """Trim dead states and prepend a fresh, non-accepting start state."""
    n = trans.shape[0]
    live = accept.copy()
    changed = True
    while changed:
        succ_live = np.zeros(n, dtype=bool)
        valid = trans >= 0
        succ_live = (valid & live[np.where(valid, trans, 0)]).any(axis=1)
        new_live = live | succ_live
        changed = bool((new_live != live).any())
        live = new_live
    nullable = bool(accept[0])
    # renumber: new 0 = fresh start (copy of old start's row), then live old states
    old_live = np.flatnonzero(live)
    remap = np.full(n + 1, -1, dtype=np.int32)  # index n stands for "dead" (-1)
    remap[old_live] = np.arange(1, len(old_live) + 1, dtype=np.int32)
    body = trans[old_live]
    body = remap[np.where(body >= 0, body, n)]
    start_row = remap[np.where(trans[0] >= 0, trans[0], n)] if live[0] else np.full(256, -1)
    new_trans = np.vstack([start_row[None, :], body]).astype(np.int32)
    new_accept = np.concatenate([[False], accept[old_live]])
    return ByteDFA(np.ascontiguousarray(new_trans), new_accept, nullable)
