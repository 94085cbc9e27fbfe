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
    start_bytes: np.ndarray,
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
    are not visited (-1: visit all). ``start_bytes`` holds each start node's byte: a subtree
    whose first byte kills the lexer is passed over without reading the node arrays, where
    the root's children lie far apart (from a cold cache, a miss each per array).

    Returns (exits, groups, nonzero words of ``out_bits``), or ``(-1 - state, 0, 0)`` when
    the walk needs the row of a state not ``built`` (the outputs are then partial).
    """
    stack = np.empty(max_depth + 2, dtype=np.int32)
    n_exits = 0
    if start_nodes.shape[0] and not built[start_state]:
        return -1 - start_state, 0, 0
    row = start_state * 256
    for k in range(start_nodes.shape[0]):
        s = start_nodes[k]
        if trans_flat[row + start_bytes[k]] < 0:
            # (not a pure subtree to skip: the slice keeps the lexer alive on those)
            if accepting[start_state]:
                exit_nodes[n_exits] = s
                exit_states[n_exits] = representative[start_state]
                n_exits += 1
            continue
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
    seen: np.ndarray,
    queue: np.ndarray,
) -> int:
    """The largest ``d <= limit`` such that every string of at most ``d`` bytes that the
    automaton ``slice_trans`` (from its state 0) does not kill keeps the lexer alive from
    ``start_state``.

    A breadth-first search over (lexer state, slice state) pairs: the first pair with a
    byte that kills the lexer but not the slice, at depth ``d``, bounds the answer by
    ``d``; after ``budget`` pairs the depth verified so far is returned, as it is at a
    lexer state not ``built`` (its row is not written yet). The pairs seen are kept in
    ``seen``, an open-addressing set (int64, a power of two at least ``2 * (budget + 1)``
    entries, all -1) that is left all -1 again, so it is allocated once, not per call (it
    is sized by the budget, not by the lexer, whose states may number hundreds of
    thousands); ``queue`` (int64, ``2 * (budget + 1)``) is scratch.
    """
    k = slice_trans.shape[0]
    shift = 64
    size = seen.shape[0]
    while size > 1:
        size, shift = size >> 1, shift - 1
    n = budget + 1  # queue[:n]: the pairs in the order found; queue[n:]: their slots
    first = start_state * k
    h = _slot(seen, first, shift)
    seen[h] = first
    queue[0] = first
    queue[n] = h
    explored = 1
    lo, hi = 0, 1
    depth = 0
    result = limit
    while lo < hi and depth < limit and result == limit:
        for j in range(lo, hi):
            v = queue[j]
            q = v // k
            a = v - q * k
            if not built[q]:
                result = depth
                break
            last = -1  # runs of bytes (a class) mostly lead to one pair: look it up once
            for b in range(256):
                a2 = slice_trans[a, b]
                if a2 < 0:
                    continue
                q2 = trans_flat[q * 256 + b]
                if q2 < 0:
                    result = depth
                    break
                w = q2 * k + a2
                if w == last:
                    continue
                last = w
                h = _slot(seen, w, shift)
                if seen[h] < 0:
                    if explored >= budget:
                        result = depth
                        break
                    seen[h] = w
                    queue[explored] = w
                    queue[n + explored] = h
                    explored += 1
            if result != limit:
                break
        lo, hi = hi, explored
        depth += 1
    for j in range(explored):
        seen[queue[n + j]] = -1
    return result


@njit(nogil=True, cache=True)
def loop_bytes(trans_flat: np.ndarray, built: np.ndarray, state: int, least: int) -> np.ndarray:
    """The bytes that keep a walk from ``state`` within ``state`` and the state most of its
    bytes lead to (the smallest such state on a tie), as ``uint8``; empty where fewer than
    ``least`` bytes do, or a row needed is not ``built``."""
    none = np.empty(0, dtype=np.uint8)
    if not built[state]:
        return none
    row = trans_flat[state * 256 : state * 256 + 256]
    alive = np.sort(row[row >= 0])
    if alive.shape[0] < least:
        return none
    nxt, best, run = alive[0], 0, 0
    for i in range(alive.shape[0]):
        run = run + 1 if i > 0 and alive[i] == alive[i - 1] else 1
        if run > best:
            best, nxt = run, alive[i]
    if not built[nxt]:
        return none
    after = trans_flat[nxt * 256 : nxt * 256 + 256]
    out = np.empty(256, dtype=np.uint8)
    n = 0
    for b in range(256):
        if (row[b] == state or row[b] == nxt) and (after[b] == state or after[b] == nxt):
            out[n] = b
            n += 1
    return out[:n] if n >= least else none


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


@njit(cache=True)
def byte_set_nodes(
    node_byte: np.ndarray,
    node_depth: np.ndarray,
    node_end: np.ndarray,
    node_tok_start: np.ndarray,
    node_tok_end: np.ndarray,
    tok_ids: np.ndarray,
    keep: np.ndarray,
    all_bits: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For the bytes ``keep`` (``bool [256]``), in one preorder pass that skips every
    subtree whose first byte is not kept: per trie node, whether its subtree holds only
    kept bytes (with its prefix), and the bitmask words of the tokens made of kept bytes
    alone: ``all_bits`` (every token of the trie) less the tokens of the skipped subtrees
    (a subtree's tokens are together in ``tok_ids``: they are laid out in preorder)."""
    n = node_byte.shape[0]
    pure = np.ones(n, dtype=np.bool_)
    bits = all_bits.copy()
    path = np.zeros(int(node_depth.max()) + 1, dtype=np.int64)  # the node at each depth
    i = 1
    while i < n:
        d = node_depth[i]
        if keep[node_byte[i]]:
            path[d] = i
            i += 1
            continue
        end = node_end[i]
        pure[i:end] = False
        # its ancestors are not pure either: up to the first one marked already (a mark
        # always went up to the root)
        for a in range(d - 1, -1, -1):
            if not pure[path[a]]:
                break
            pure[path[a]] = False
        for t in range(node_tok_start[i], node_tok_end[end - 1]):
            tok = tok_ids[t]
            bits[tok >> 5] &= ~(np.int32(1) << np.int32(tok & 31))
        i = end
    return pure, bits
