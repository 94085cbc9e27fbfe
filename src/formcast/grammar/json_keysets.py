"""Sets of property names as automata: the keys of ``patternProperties`` and the rest.

``patternProperties`` splits the keys an object may have beyond its declared ones into
those some pattern matches (whose values follow that pattern's schema) and the others
(whose values follow ``additionalProperties``). Writing "the others" as a regex needs a
complement, which regexes lack; so the patterns are turned into small DFAs over decoded
characters (:func:`json_patterns.pattern_tree`), combined exactly (union, complement,
intersection by product), and written back as a regex over the *encoded* key body by
state elimination, each character class in every JSON spelling
(:func:`json_strings.encode_set`).

Regex dialects differ (ECMA-262 against Python's ``re``), so every pattern has two
readings: *narrow* (a key matches in both dialects: ASCII ``\\d \\w \\s``, ``.`` without
any line terminator, ``$`` at the very end) and *wide* (a key matches in either dialect).
A key gets a pattern's schema when it matches narrowly, and ``additionalProperties`` only
when it matches no pattern widely; the few keys in between are never produced.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import Any

from formcast.grammar.json_patterns import (
    PatternUnsupported,
    pattern_body,
    pattern_tree,
    sre_c,
    sre_p,
)
from formcast.grammar.json_strings import (
    ALL,
    CharSet,
    charset,
    complement_body,
    encode_set,
    exclude_words,
    intersect,
)

#: largest automaton written back as a regex (state elimination grows with it)
MAX_KEY_STATES = 48
#: longest key regex written (state elimination can grow exponentially)
MAX_KEY_REGEX = 20000
_MAX_NFA = 4000
_MAX_PRODUCT = 1000
#: where a key body ends (no raw quote inside a body), as in json_strings.intersect_bodies
BODY_ENDS = '(?![^"])'


#: patterns of one object that may match one key: each set of them is a region of keys
MAX_OVERLAPPING = 4


class KeySetTooLarge(Exception):
    """The key automaton is beyond :data:`MAX_KEY_STATES`; callers refuse."""


@dataclass(frozen=True)
class DFA:
    """A complete DFA over atoms (disjoint character sets); state 0 is the start."""

    atoms: tuple[CharSet, ...]
    trans: tuple[tuple[int, ...], ...]
    accept: frozenset[int]


# -- atoms ---------------------------------------------------------------------------------


def _atoms(sets: list[CharSet]) -> list[CharSet]:
    cuts = {0, ALL[-1][1] + 1}
    for s in sets:
        for a, b in s:
            cuts.add(a)
            cuts.add(b + 1)
    points = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(points):
        piece = intersect(((a, b - 1),), ALL)
        if piece:
            out.append(piece)
    return out


def _sets_in(node: Any, out: list[CharSet]) -> None:
    if isinstance(node, tuple) and node and isinstance(node[0], str):
        if node[0] == "rep":
            _sets_in(node[3], out)
        else:
            for n in node[1]:
                _sets_in(n, out)
    else:
        out.append(node)


# -- Thompson NFA, subset construction -----------------------------------------------------


class _NFA:
    def __init__(self, atoms: list[CharSet]) -> None:
        self.atoms = atoms
        self.starts = [a[0][0] for a in atoms]
        self.ids: dict[CharSet, frozenset[int]] = {}
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[frozenset[int], int]]] = []

    def state(self) -> int:
        if len(self.eps) > _MAX_NFA:
            raise KeySetTooLarge
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, node: Any, start: int) -> int:
        """Add ``node`` from ``start``; return its end state."""
        if isinstance(node, tuple) and node and isinstance(node[0], str):
            if node[0] == "seq":
                cur = start
                for n in node[1]:
                    cur = self.build(n, cur)
                return cur
            if node[0] == "alt":
                end = self.state()
                for n in node[1]:
                    s = self.state()
                    self.eps[start].append(s)
                    self.eps[self.build(n, s)].append(end)
                return end
            _, lo, hi, sub = node
            cur = start
            for _ in range(lo):
                cur = self.build(sub, cur)
            if hi is None:
                loop = self.state()
                self.eps[cur].append(loop)
                self.eps[self.build(sub, loop)].append(loop)
                return loop
            end = self.state()
            for _ in range(hi - lo):
                self.eps[cur].append(end)
                cur = self.build(sub, cur)
            self.eps[cur].append(end)
            return end
        end = self.state()
        ids = self.ids.get(node)
        if ids is None:
            # atoms were cut at every bound of every set: an atom lies inside a set or
            # outside it, so its first code point decides
            found: set[int] = set()
            for a, b in node:
                found.update(
                    range(bisect.bisect_left(self.starts, a), bisect.bisect_right(self.starts, b))
                )
            ids = self.ids[node] = frozenset(found)
        self.edges[start].append((ids, end))
        return end

    def closure(self, states: frozenset[int]) -> frozenset[int]:
        todo, seen = list(states), set(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)


def _determinize(nfa: _NFA, start: int, final: int) -> DFA:
    first = nfa.closure(frozenset([start]))
    index = {first: 0}
    order = [first]
    trans: list[tuple[int, ...]] = []
    closed: dict[frozenset[int], frozenset[int]] = {}  # closures, by the states moved to
    for cur in order:
        moves: list[set[int]] = [set() for _ in nfa.atoms]
        for s in cur:
            for ids, t in nfa.edges[s]:
                for a in ids:
                    moves[a].add(t)
        row = []
        for move in map(frozenset, moves):
            nxt = closed.get(move)
            if nxt is None:
                nxt = closed[move] = nfa.closure(move)
            if nxt not in index:
                if len(order) > _MAX_NFA:
                    raise KeySetTooLarge
                index[nxt] = len(order)
                order.append(nxt)
            row.append(index[nxt])
        trans.append(tuple(row))
    accept = frozenset(i for i, s in enumerate(order) if final in s)
    return DFA(tuple(nfa.atoms), tuple(trans), accept)


def _dfa(tree: Any, atoms: list[CharSet]) -> DFA:
    nfa = _NFA(atoms)
    start = nfa.state()
    end = nfa.build(tree, start)
    return _determinize(nfa, start, end)


# -- boolean combinations --------------------------------------------------------------------


def _product(dfas: list[DFA], keep: Any) -> DFA:
    """The DFA accepting where ``keep(accepted flags)`` holds (all on the same atoms)."""
    atoms = dfas[0].atoms
    first = tuple(0 for _ in dfas)
    index = {first: 0}
    order = [first]
    trans: list[tuple[int, ...]] = []
    for cur in order:
        row = []
        # the rows of the current states, read column by column: one tuple per atom
        for nxt in zip(*(d.trans[s] for d, s in zip(dfas, cur, strict=True)), strict=True):
            if nxt not in index:
                if len(order) >= _MAX_PRODUCT:
                    raise KeySetTooLarge
                index[nxt] = len(order)
                order.append(nxt)
            row.append(index[nxt])
        trans.append(tuple(row))
    accept = frozenset(
        i
        for i, st in enumerate(order)
        if keep([s in d.accept for d, s in zip(dfas, st, strict=True)])
    )
    return DFA(atoms, tuple(trans), accept)


def is_empty(d: DFA) -> bool:
    seen, todo = {0}, [0]
    while todo:
        s = todo.pop()
        if s in d.accept:
            return False
        for t in d.trans[s]:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return True


# -- back to a regex -----------------------------------------------------------------------


def _alt(parts: list[str]) -> str:
    parts = list(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _group(r: str) -> str:
    # redundant groups are harmless; checking whether one is needed would cost a scan
    return r if len(r) <= 1 else f"(?:{r})"


def minimize(d: DFA) -> DFA:
    """The minimal equivalent DFA (Moore's partition refinement)."""
    block = [1 if s in d.accept else 0 for s in range(len(d.trans))]
    # atoms with equal columns split no block: refine on the distinct columns only
    columns = list(dict.fromkeys(zip(*d.trans, strict=True)))
    rows = list(zip(*columns, strict=True)) if columns else [() for _ in d.trans]
    while True:
        sigs: dict[tuple[int, ...], int] = {}
        of = block.__getitem__
        new = [sigs.setdefault((block[s], *map(of, row)), len(sigs)) for s, row in enumerate(rows)]
        if len(sigs) == len(set(block)):
            break
        block = new
    # renumber so that the start state is 0
    order = {block[0]: 0}
    for b in block:
        order.setdefault(b, len(order))
    first: dict[int, int] = {}
    for s, b in enumerate(block):
        first.setdefault(order[b], s)
    trans = tuple(tuple(order[block[t]] for t in d.trans[first[i]]) for i in range(len(first)))
    accept = frozenset(order[block[s]] for s in d.accept)
    return DFA(d.atoms, trans, accept)


def to_body(d: DFA) -> str | None:
    """Regex for the encoded JSON string bodies of the keys ``d`` accepts; None if none."""
    d = minimize(d)
    # trim to states both reachable (all are) and able to reach acceptance
    preds: dict[int, set[int]] = {}
    for s, row in enumerate(d.trans):
        for t in row:
            preds.setdefault(t, set()).add(s)
    live = set(d.accept)
    todo = list(live)
    while todo:
        for p in preds.get(todo.pop(), ()):
            if p not in live:
                live.add(p)
                todo.append(p)
    if 0 not in live:
        return None
    if len(live) > MAX_KEY_STATES:
        raise KeySetTooLarge
    # edges: (from, to) -> regex; START = -1, END = -2
    edges: dict[tuple[int, int], str] = {}
    for s in live:
        by_target: dict[int, list[tuple[int, int]]] = {}
        for a, t in enumerate(d.trans[s]):
            if t in live:
                by_target.setdefault(t, []).extend(d.atoms[a])
        for t, ranges in by_target.items():
            enc = encode_set(charset(ranges))
            if enc is not None:
                edges[(s, t)] = enc
    edges[(-1, 0)] = ""
    for s in d.accept:
        edges[(s, -2)] = ""

    def add(key: tuple[int, int], r: str) -> None:
        edges[key] = _alt([edges[key], r]) if key in edges else r
        if len(edges[key]) > MAX_KEY_REGEX:
            raise KeySetTooLarge

    remaining = set(live)
    while remaining:
        # eliminate the state with the fewest in*out edges first
        n_in: dict[int, int] = {}
        n_out: dict[int, int] = {}
        for a, b in edges:
            if a != b:
                n_out[a] = n_out.get(a, 0) + 1
                n_in[b] = n_in.get(b, 0) + 1
        q = min(sorted(remaining), key=lambda s: n_in.get(s, 0) * n_out.get(s, 0))
        remaining.discard(q)
        loop = edges.pop((q, q), None)
        star = f"{_group(loop)}*" if loop is not None else ""
        ins = [(a, r) for (a, b), r in list(edges.items()) if b == q]
        outs = [(b, r) for (a, b), r in list(edges.items()) if a == q]
        for a, _ in ins:
            del edges[(a, q)]
        for b, _ in outs:
            del edges[(q, b)]
        for a, ra in ins:
            for b, rb in outs:
                add((a, b), _cat(ra, star, rb))
    return edges.get((-1, -2))


def _cat(*parts: str) -> str:
    out = "".join(_group(p) if "|" in p else p for p in parts if p)
    if len(out) > MAX_KEY_REGEX:
        raise KeySetTooLarge
    return out


# -- the key sets of one object --------------------------------------------------------------


def _word_tree(word: str) -> Any:
    return ("seq", [charset([(ord(c), ord(c))]) for c in word])


Region = tuple[tuple[int, ...], str]


def key_sets(patterns: list[str], words: list[str]) -> tuple[list[Region], str | None]:
    """Encoded key bodies: regions ``(patterns, body)``, the keys not in ``words`` that the
    listed patterns all match (narrowly) and no other pattern may match (widely), one per
    pattern when no two patterns may match one key; and the keys that match no pattern
    (widely) and are not in ``words``. Keys on which the dialects disagree are in no region.

    Raises :class:`PatternUnsupported` when a pattern cannot be read or when more than
    :data:`MAX_OVERLAPPING` patterns may overlap, and :class:`KeySetTooLarge` past the
    size limits.
    """
    narrow = [_reading(p, wide=False) for p in patterns]
    wide = [_reading(p, wide=True) for p in patterns]
    words_tree = ("alt", [_word_tree(w) for w in words])
    sets: list[CharSet] = []
    for t in (*(t for parts in (*narrow, *wide) for t, _ in parts), words_tree):
        _sets_in(t, sets)
    atoms = _atoms(sets)
    dn = [_reading_dfa(parts, atoms) for parts in narrow]
    dw = [_reading_dfa(parts, atoms) for parts in wide]
    dwords = _dfa(words_tree, atoms)
    if len(dw) > 1 and not is_empty(_product(dw, lambda f: sum(f) > 1)):
        return _overlapping_regions(dn, dw, dwords), _no_pattern(dw, dwords)
    try:
        rest = _no_pattern(dw, dwords)
        own = [to_body(_product([d, dwords], lambda f: f[0] and not f[1])) for d in dn]
    except KeySetTooLarge:
        own, rest = _lookahead_sets(patterns, words, dn, dw, dwords)
    return [((i,), b) for i, b in enumerate(own) if b is not None], rest


def _reading(pattern: str, *, wide: bool) -> list[tuple[Any, bool]]:
    """``pattern`` as trees (:func:`pattern_tree`) whose matches it intersects: ``(tree,
    True)`` must match, ``(tree, False)`` must not. Lookaheads right after a leading
    ``^`` are parts of their own, negative ones read the other way (widely in a narrow
    reading), as :func:`narrow_body` reads them."""
    split = _leading_lookaheads(pattern)
    if split is None:
        return [(pattern_tree(pattern, wide=wide), True)]
    looks, rest = split
    parts = [
        (pattern_tree(f"^(?:{inner})", wide=wide != negative), not negative)
        for negative, inner in looks
    ]
    return [*parts, (pattern_tree(f"^(?:{rest})", wide=wide), True)]


def _reading_dfa(parts: list[tuple[Any, bool]], atoms: list[CharSet]) -> DFA:
    """The DFA of the keys a :func:`_reading` accepts."""
    if len(parts) == 1:
        return _dfa(parts[0][0], atoms)
    want = [must for _, must in parts]
    return _product([_dfa(t, atoms) for t, _ in parts], lambda f: list(f) == want)


def _no_pattern(dw: list[DFA], dwords: DFA) -> str | None:
    """The keys no pattern may match (wide readings ``dw``) that are not words."""
    return to_body(_product([*dw, dwords], lambda f: not any(f)))


def _overlapping_regions(dn: list[DFA], dw: list[DFA], dwords: DFA) -> list[Region]:
    """:func:`key_sets`' regions when patterns may overlap: one per set of patterns."""
    k = len(dn)
    if k > MAX_OVERLAPPING:
        raise PatternUnsupported(f"more than {MAX_OVERLAPPING} patterns that may overlap")
    regions = []
    for size in range(1, k + 1):
        for inside in itertools.combinations(range(k), size):
            out = [j for j in range(k) if j not in inside]

            def keep(f: tuple[bool, ...], inside: tuple[int, ...] = inside) -> bool:
                n = len(inside)
                return all(f[:n]) and not any(f[n:])

            found = _product([*(dn[i] for i in inside), *(dw[j] for j in out), dwords], keep)
            body = None if is_empty(found) else to_body(found)
            if body is not None:
                regions.append((inside, body))
    return regions


def _lookahead_sets(
    patterns: list[str], words: list[str], dn: list[DFA], dw: list[DFA], dwords: DFA
) -> tuple[list[str | None], str | None]:
    """:func:`key_sets` for automata too large to write back by state elimination: the
    same sets as lookaheads over the pattern regexes (``regex_dfa`` builds them as DFA
    products). Words must not hold lone surrogates."""

    def some(dfas: list[DFA], keep: Any) -> bool:
        try:
            return not is_empty(_product(dfas, keep))
        except KeySetTooLarge:
            return True  # an empty set written as a regex is harmless, just unused

    own: list[str | None] = [
        exclude_words(words, pattern_body(p))
        if some([d, dwords], lambda f: f[0] and not f[1])
        else None
        for p, d in zip(patterns, dn, strict=True)
    ]
    avoid = "".join(f"(?!(?:{wide_body(p)}){BODY_ENDS})" for p in patterns)
    rest = avoid + complement_body(words) if some([*dw, dwords], lambda f: not any(f)) else None
    return own, rest


# -- strings a pattern cannot match ----------------------------------------------------------

#: any escaped surrogate pair: one astral character spelled as two ``\\u`` escapes
_ANY_PAIR = r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_ASTRAL = ((0x10000, 0x10FFFF),)


def _tree_body(node: Any) -> str:
    if isinstance(node, tuple) and node and isinstance(node[0], str):
        if node[0] == "seq":
            return "".join(_tree_body(n) for n in node[1])
        if node[0] == "alt":
            return "(?:" + "|".join(_tree_body(n) for n in node[1]) + ")"
        _, lo, hi, sub = node
        inner = f"(?:{_tree_body(sub)})"
        return f"{inner}{{{lo},}}" if hi is None else f"{inner}{{{lo},{hi}}}"
    alts = [r for r in (encode_set(node),) if r is not None]
    if intersect(node, _ASTRAL):
        alts.append(_ANY_PAIR)  # any astral pair: a superset, as the caller needs
    return "(?:" + "|".join(alts) + ")" if alts else "(?!)"


def wide_body(pattern: str) -> str:
    """Regex for the encoded JSON string bodies on which ``pattern`` may find a match in
    either dialect (ECMA-262 or Python), in every spelling: a superset, so that "not this
    body" only keeps strings the pattern matches in neither.

    Raises :class:`PatternUnsupported` as :func:`json_patterns.pattern_tree` does.
    """
    return _tree_body(pattern_tree(pattern, wide=True))


def narrow_body(pattern: str, max_len: int | None = None, max_count: int | None = None) -> str:
    """:func:`json_patterns.pattern_body`, also for lookaheads right after a leading
    ``^`` (no ``|`` at the top level): ``^(?=A)(?!B)R`` is the strings that ``^A`` and
    ``^R`` match (narrowly) and ``^B`` does not (widely, in neither dialect), each part a
    lookahead over the body. Other lookarounds are refused as before. ``max_len`` and
    ``max_count``: as for :func:`~formcast.grammar.json_patterns.pattern_body` (the
    negative parts keep their bounds: lowering one there would let more strings in)."""
    split = _leading_lookaheads(pattern)
    if split is None:
        return pattern_body(pattern, max_len, max_count)
    looks, rest = split
    parts = [
        f"(?!(?:{wide_body(f'^(?:{inner})')}){BODY_ENDS})"
        if negative
        else f"(?=(?:{narrow_body(f'^(?:{inner})', max_len, max_count)}){BODY_ENDS})"
        for negative, inner in looks
    ]
    return "".join(parts) + narrow_body(f"^(?:{rest})", max_len, max_count)


def _leading_lookaheads(pattern: str) -> tuple[list[tuple[bool, str]], str] | None:
    """``^(?=A)(?!B)...R`` split into ([(negative, inner), ...], R), or None when the
    pattern has another shape (checked against Python's parse of it)."""
    try:
        parsed = list(sre_p.parse(pattern))
    except re.error:
        return None
    n = 0
    while n + 1 < len(parsed) and parsed[n + 1][0] in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        if parsed[n + 1][1][0] != 1:  # a lookbehind
            return None
        n += 1
    if not n or parsed[0] != (sre_c.AT, sre_c.AT_BEGINNING) or not pattern.startswith("^"):
        return None
    looks, i = [], 1
    for _ in range(n):
        if pattern[i : i + 3] not in ("(?=", "(?!"):
            return None
        end = _group_end(pattern, i)
        looks.append((pattern[i + 2] == "!", pattern[i + 3 : end]))
        i = end + 1
    return looks, pattern[i:]


def _group_end(pattern: str, start: int) -> int:
    """Index of the ``)`` closing the group that opens at ``start``."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a literal ] first in the class
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise re.error("unbalanced parenthesis", pattern)


def patterns_disjoint(first: list[str], second: list[str]) -> bool:
    """Whether no string can match every pattern of ``first`` and every one of ``second``
    in any dialect (wide readings); False when that cannot be decided cheaply."""
    try:
        trees = [pattern_tree(p, wide=True) for p in (*first, *second)]
        sets: list[CharSet] = []
        for t in trees:
            _sets_in(t, sets)
        atoms = _atoms(sets)
        dfas = [_dfa(t, atoms) for t in trees]
        return is_empty(_product(dfas, all))
    except (PatternUnsupported, KeySetTooLarge, re.error):
        return False
