"""Numba kernel: walk the flat token trie against the combined lexer table.

For a lexer state and a list of trie nodes (subtree roots), mark every token whose
bytes keep the lexer alive, skip subtrees at dead states, and record *exits*: nodes
whose byte cannot extend the current lexeme while some lexeme is complete there.
Exits are where a lexeme ends inside a token; the parser decides about them.

A root walk may skip the subtrees made only of a *slice* (tokens that a small byte automaton
accepts, such as plain text): :func:`slice_depth` finds up to what length no such token can
kill the lexer (all lengths for a string body; the remaining length for a bounded one), the
walk skips the slice's subtrees no deeper than that, and the caller ORs in the slice's
tokens of at most that length wholesale.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .lexer_build import slot as _slot


@njit(nogil=True, cache=True)
def walk_trie(
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    node_end: np.ndarray,
    node_tok_start: np.ndarray,
    node_tok_end: np.ndarray,
    tok_ids: np.ndarray,
    trans_flat: np.ndarray,
    accepting: np.ndarray,
    representative: np.ndarray,
    built: np.ndarray,
    start_nodes: np.ndarray,
    start_state: int,
    out_bits: np.ndarray,
    exit_nodes: np.ndarray,
    exit_states: np.ndarray,
    group_starts: np.ndarray,
    max_depth: int,
    pure: np.ndarray,
    subtree_depth: np.ndarray,
    skip_depth: int,
) -> tuple[int, int, int]:
    """Walk the subtrees at ``start_nodes`` from ``start_state``.

    ``trans_flat`` is the lexer table raveled (``state * 256 + byte``). ``out_bits``
    (int32 words) gets the bits of tokens that stay inside lexemes. Exits come back
    grouped by ``representative[state]``: group ``g`` holds ``exit_nodes[group_starts[g]
    : group_starts[g + 1]]``, all with state ``exit_states[group_starts[g]]``. The three
    scratch arrays need room for every trie node plus one; ``max_depth`` is the trie's.
    Subtrees at nodes where ``pure`` is set and ``subtree_depth`` is at most ``skip_depth``
    are not visited (-1: visit all).

    Returns (exits, groups, nonzero words of ``out_bits``), or ``(-1 - state, 0, 0)`` when
    the walk needs the row of a state not ``built`` (the outputs are then partial).
    """
    stack = np.empty(max_depth + 2, dtype=np.int32)
    n_exits = 0
    for k in range(start_nodes.shape[0]):
        s = start_nodes[k]
        base = node_depth[s] - 1
        stack[0] = start_state
        i = s
        end = node_end[s]
        while i < end:
            if pure[i] and subtree_depth[i] <= skip_depth:
                i = node_end[i]
                continue
            d = node_depth[i] - base - 1
            st = stack[d]
            if not built[st]:
                return -1 - st, 0, 0
            nxt = trans_flat[st * 256 + node_byte[i]]
            if nxt < 0:
                if accepting[st]:
                    exit_nodes[n_exits] = i
                    exit_states[n_exits] = representative[st]
                    n_exits += 1
                i = node_end[i]
                continue
            a = node_tok_start[i]
            b = node_tok_end[i]
            while a < b:
                t = tok_ids[a]
                out_bits[t >> 5] |= np.int32(1) << np.int32(t & 31)
                a += 1
            stack[d + 1] = nxt
            i += 1
    n_groups = 0
    if n_exits:
        order = np.argsort(exit_states[:n_exits], kind="mergesort")
        nodes = exit_nodes[:n_exits][order]
        states = exit_states[:n_exits][order]
        exit_nodes[:n_exits] = nodes
        exit_states[:n_exits] = states
        group_starts[0] = 0
        n_groups = 1
        for j in range(1, n_exits):
            if states[j] != states[j - 1]:
                group_starts[n_groups] = j
                n_groups += 1
        group_starts[n_groups] = n_exits
    n_words = 0
    for w in range(out_bits.shape[0]):
        if out_bits[w] != 0:
            n_words += 1
    return n_exits, n_groups, n_words


@njit(nogil=True, cache=True)
def slice_depth(
    trans_flat: np.ndarray,
    start_state: int,
    slice_trans: np.ndarray,
    budget: int,
    limit: int,
    built: np.ndarray,
) -> int:
    """The largest ``d <= limit`` such that every string of at most ``d`` bytes that the
    automaton ``slice_trans`` (from its state 0) does not kill keeps the lexer alive from
    ``start_state``.

    A breadth-first search over (lexer state, slice state) pairs: the first pair with a
    byte that kills the lexer but not the slice, at depth ``d``, bounds the answer by
    ``d``; after ``budget`` pairs the depth verified so far is returned, as it is at a
    lexer state not ``built`` (its row is not written yet). The pairs seen are kept in an
    open-addressing set at most half full, sized by ``budget``, not by the lexer (whose
    states may number hundreds of thousands).
    """
    k = slice_trans.shape[0]
    size, shift = 16, 60
    while size < 2 * (budget + 1):
        size, shift = 2 * size, shift - 1
    seen = np.full(size, -1, dtype=np.int64)
    level = np.empty(budget + 1, dtype=np.int64)
    following = np.empty(budget + 1, dtype=np.int64)
    level[0] = start_state * k
    seen[_slot(seen, start_state * k, shift)] = start_state * k
    n_level = 1
    explored = 1
    depth = 0
    while n_level > 0 and depth < limit:
        n_next = 0
        for j in range(n_level):
            v = level[j]
            q = v // k
            a = v - q * k
            if not built[q]:
                return depth
            for b in range(256):
                a2 = slice_trans[a, b]
                if a2 < 0:
                    continue
                q2 = trans_flat[q * 256 + b]
                if q2 < 0:
                    return depth
                w = q2 * k + a2
                h = _slot(seen, w, shift)
                if seen[h] < 0:
                    explored += 1
                    if explored > budget:
                        return depth
                    seen[h] = w
                    following[n_next] = w
                    n_next += 1
        level, following = following, level
        n_level = n_next
        depth += 1
    return limit


@njit(nogil=True, cache=True)
def or_words(out: np.ndarray, words: np.ndarray, values: np.ndarray) -> None:
    """``out[words[i]] |= values[i]`` for every ``i`` (a sparse walk result into a mask)."""
    for i in range(words.shape[0]):
        out[words[i]] |= values[i]


@njit(nogil=True, cache=True)
def sparse_words(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero words of the bitmask ``bits`` and their indices (a walk result stored
    sparsely; what ``np.flatnonzero`` finds, in one pass after a count)."""
    n = 0
    for i in range(bits.shape[0]):
        if bits[i] != 0:
            n += 1
    values = np.empty(n, dtype=np.int32)
    words = np.empty(n, dtype=np.int32)
    j = 0
    for i in range(bits.shape[0]):
        if bits[i] != 0:
            values[j] = bits[i]
            words[j] = i
            j += 1
    return values, words


@njit(cache=True)
def subtree_depths(node_depth: np.ndarray, node_end: np.ndarray) -> np.ndarray:
    """Per trie node: the largest depth in its subtree (the longest token below it)."""
    out = node_depth.copy()
    for i in range(node_depth.shape[0] - 1, -1, -1):
        j = i + 1
        while j < node_end[i]:
            if out[j] > out[i]:
                out[i] = out[j]
            j = node_end[j]
    return out


@njit(cache=True)
def slice_alive(
    node_byte: np.ndarray, node_depth: np.ndarray, slice_trans: np.ndarray, max_depth: int
) -> np.ndarray:
    """Per trie node: whether the automaton ``slice_trans`` survives the node's prefix."""
    n = node_byte.shape[0]
    alive = np.zeros(n, dtype=np.bool_)
    state = np.empty(max_depth + 2, dtype=np.int32)
    state[0] = 0
    alive[0] = True
    for i in range(1, n):
        d = node_depth[i]
        s = state[d - 1]
        t = slice_trans[s, node_byte[i]] if s >= 0 else -1
        state[d] = t
        alive[i] = t >= 0
    return alive
