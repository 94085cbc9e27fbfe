"""Numba kernel for subset construction (``automata/regex_dfa.py``).

A Thompson NFA over bytes comes in as CSR arrays: epsilon edges (``eps_off``/``eps_dst``)
and byte-range edges (``edge_off`` with ``edge_lo``/``edge_hi``/``edge_dst``). A DFA state
is the sorted set of the NFA states of an epsilon closure that have byte edges (or are
final); sets are stored once in a pool and hash-consed in an open-addressing table, so a
state costs one closure search, one sort and one probe instead of Python sets and dicts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .lexer_build import _FNV_BASIS, _FNV_PRIME

__all__ = ["subset"]


@njit(cache=True)
def _hash(items: np.ndarray, k: int) -> np.uint64:
    h = _FNV_BASIS
    for i in range(k):
        h = (h ^ np.uint64(items[i])) * _FNV_PRIME
    return h


@njit(cache=True)
def _closure(
    seeds: np.ndarray,
    n_seeds: int,
    eps_off: np.ndarray,
    eps_dst: np.ndarray,
    keep: np.ndarray,
    mark: np.ndarray,
    stamp: int,
    stack: np.ndarray,
    out: np.ndarray,
) -> int:
    """The kept states of the epsilon closure of ``seeds[:n_seeds]``, sorted, into
    ``out``; returns how many. ``mark[q] == stamp`` means q was seen in this search."""
    top = 0
    for i in range(n_seeds):
        q = seeds[i]
        if mark[q] != stamp:
            mark[q] = stamp
            stack[top] = q
            top += 1
    k = 0
    while top > 0:
        top -= 1
        q = stack[top]
        if keep[q]:
            out[k] = q
            k += 1
        for e in range(eps_off[q], eps_off[q + 1]):
            t = eps_dst[e]
            if mark[t] != stamp:
                mark[t] = stamp
                stack[top] = t
                top += 1
    out[:k].sort()
    return k


@njit(cache=True)
def _find(
    table: np.ndarray,
    pool: np.ndarray,
    s_off: np.ndarray,
    s_len: np.ndarray,
    items: np.ndarray,
    k: int,
    h: np.uint64,
) -> int:
    """The slot of the set ``items[:k]`` in ``table``: where it is, or the empty slot
    where it belongs (linear probing)."""
    mask = table.shape[0] - 1
    i = np.int64(h & np.uint64(mask))
    while True:
        sid = table[i]
        if sid < 0:
            return int(i)
        if s_len[sid] == k:
            o = s_off[sid]
            same = True
            for j in range(k):
                if pool[o + j] != items[j]:
                    same = False
                    break
            if same:
                return int(i)
        i = (i + 1) & mask


@njit(cache=True)
def _intervals(
    pool: np.ndarray,
    o: int,
    m: int,
    edge_off: np.ndarray,
    edge_lo: np.ndarray,
    edge_hi: np.ndarray,
    edge_dst: np.ndarray,
    first: np.ndarray,
    counts: np.ndarray,
    targets: np.ndarray,
) -> tuple[int, np.ndarray]:
    """The byte intervals of the set ``pool[o : o + m]``: ``[first[i], first[i + 1])``
    has targets ``targets[counts[i] : counts[i + 1]]`` (no edge ends inside one). Returns
    their number and ``targets`` (reallocated when too small)."""
    cut = np.zeros(257, dtype=np.bool_)
    cut[0] = True
    cut[256] = True
    for j in range(m):
        q = pool[o + j]
        for e in range(edge_off[q], edge_off[q + 1]):
            cut[edge_lo[e]] = True
            cut[edge_hi[e] + 1] = True
    n_int = 0
    for b in range(257):
        if cut[b]:
            first[n_int] = b
            n_int += 1
    n_int -= 1
    interval = np.empty(256, dtype=np.int32)
    for i in range(n_int):
        interval[first[i] : first[i + 1]] = i
    counts[: n_int + 1] = 0
    for j in range(m):
        q = pool[o + j]
        for e in range(edge_off[q], edge_off[q + 1]):
            for i in range(interval[edge_lo[e]], interval[edge_hi[e]] + 1):
                counts[i + 1] += 1
    for i in range(n_int):
        counts[i + 1] += counts[i]
    if counts[n_int] > targets.shape[0]:
        targets = np.empty(2 * counts[n_int], dtype=np.int32)
    fill = counts[:n_int].copy()
    for j in range(m):
        q = pool[o + j]
        for e in range(edge_off[q], edge_off[q + 1]):
            for i in range(interval[edge_lo[e]], interval[edge_hi[e]] + 1):
                targets[fill[i]] = edge_dst[e]
                fill[i] += 1
    return n_int, targets


@njit(cache=True)
def subset(
    eps_off: np.ndarray,
    eps_dst: np.ndarray,
    edge_off: np.ndarray,
    edge_lo: np.ndarray,
    edge_hi: np.ndarray,
    edge_dst: np.ndarray,
    keep: np.ndarray,
    start: int,
    final: int,
    limit: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Subset construction: ``(trans [n, 256], accept [n], ok)`` with the start set as
    state 0; ``ok`` is False (tables partial) once more than ``limit`` states are needed.
    ``keep[q]``: NFA state q has byte edges or is ``final``."""
    n_nfa = keep.shape[0]
    mark = np.zeros(n_nfa, dtype=np.int64)
    stack = np.empty(n_nfa, dtype=np.int32)
    items = np.empty(n_nfa, dtype=np.int32)
    pool = np.empty(max(1024, 4 * n_nfa), dtype=np.int32)
    s_off = np.empty(64, dtype=np.int64)
    s_len = np.empty(64, dtype=np.int32)
    table = np.full(256, -1, dtype=np.int32)
    trans = np.full((64, 256), -1, dtype=np.int32)
    accept = np.zeros(64, dtype=np.bool_)
    first = np.empty(257, dtype=np.int32)
    counts = np.empty(257, dtype=np.int64)
    targets = np.empty(64, dtype=np.int32)
    seeds = np.full(1, start, dtype=np.int32)
    k = _closure(seeds, 1, eps_off, eps_dst, keep, mark, 1, stack, items)
    pool[:k] = items[:k]
    s_off[0], s_len[0] = 0, k
    table[_find(table, pool, s_off, s_len, items, k, _hash(items, k))] = 0
    accept[0] = mark[final] == 1 and keep[final]
    n, n_pool, stamp = 1, k, 1
    todo = 0
    while todo < n:
        n_int, targets = _intervals(
            pool,
            s_off[todo],
            s_len[todo],
            edge_off,
            edge_lo,
            edge_hi,
            edge_dst,
            first,
            counts,
            targets,
        )
        for i in range(n_int):
            a, b = counts[i], counts[i + 1]
            if a == b:
                continue
            stamp += 1
            k = _closure(targets[a:b], b - a, eps_off, eps_dst, keep, mark, stamp, stack, items)
            h = _hash(items, k)
            slot = _find(table, pool, s_off, s_len, items, k, h)
            sid = table[slot]
            if sid < 0:
                if n >= limit:
                    return trans[:n], accept[:n], False
                if n == trans.shape[0]:
                    size = 2 * n
                    grown = np.full((size, 256), -1, dtype=np.int32)
                    grown[:n] = trans
                    trans = grown
                    acc = np.zeros(size, dtype=np.bool_)
                    acc[:n] = accept
                    accept = acc
                    off = np.empty(size, dtype=np.int64)
                    off[:n] = s_off
                    s_off = off
                    ln = np.empty(size, dtype=np.int32)
                    ln[:n] = s_len
                    s_len = ln
                if n_pool + k > pool.shape[0]:
                    bigger = np.empty(2 * (n_pool + k), dtype=np.int32)
                    bigger[:n_pool] = pool[:n_pool]
                    pool = bigger
                sid = n
                n += 1
                pool[n_pool : n_pool + k] = items[:k]
                s_off[sid], s_len[sid] = n_pool, k
                n_pool += k
                accept[sid] = mark[final] == stamp and keep[final]
                table[slot] = sid
                if 2 * n > table.shape[0]:  # keep the load under one half
                    table = np.full(2 * table.shape[0], -1, dtype=np.int32)
                    for s in range(n):
                        o, m = s_off[s], s_len[s]
                        h = _hash(pool[o : o + m], m)
                        table[_find(table, pool, s_off, s_len, pool[o : o + m], m, h)] = s
            trans[todo, first[i] : first[i + 1]] = sid
        todo += 1
    return trans[:n], accept[:n], True
