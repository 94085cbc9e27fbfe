"""Numba kernels that build combined lexer states in bulk (``automata/lexer.py``).

A lexer state with one lexeme alive is a renumbered lexeme DFA state, so the closure of
such a state is found by one graph search and its rows written in one pass, instead of
one Python step per state. A state with several lexemes alive gets its row from the
distinct columns of its lexemes' DFA rows (byte classes, found in one row-major pass).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def new_states(trans: np.ndarray, known: np.ndarray, start: int) -> np.ndarray:
    """DFA states reachable from ``start`` through states with ``known < 0``, sorted.

    ``start`` itself is not returned; a known state is not searched past (its successors
    are known or queued elsewhere).
    """
    n = trans.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    seen[start] = True
    stack[0] = start
    top = 1
    while top > 0:
        top -= 1
        s = stack[top]
        for b in range(256):
            t = trans[s, b]
            if t >= 0 and not seen[t] and known[t] < 0:
                seen[t] = True
                stack[top] = t
                top += 1
    seen[start] = False
    return np.flatnonzero(seen)


@njit(cache=True)
def byte_classes(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The class of each byte (``int64 [256]``), bytes with equal columns in ``table``
    sharing one, and the first byte of each class; classes are numbered in order of first
    appearance.

    Rows refine the partition one at a time (row-major, so the table is read in order):
    within a row, a class keeps the bytes with the value of its first byte there, and
    the other values split off into new classes.
    """
    cls = np.zeros(256, dtype=np.int64)
    seen_in = np.full(256, -1, dtype=np.int64)  # the row where each class was last seen
    value = np.empty(256, dtype=np.int64)  # its first byte's value in that row
    split = np.empty(256, dtype=np.int64)  # the newest class split off it in that row
    older = np.empty(256, dtype=np.int64)  # the previous class split off the same class
    k = 1
    for s in range(table.shape[0]):
        for b in range(256):
            c = cls[b]
            v = table[s, b]
            if seen_in[c] != s:
                seen_in[c] = s
                value[c] = v
                split[c] = -1
            elif value[c] != v:
                d = split[c]
                while d >= 0 and value[d] != v:
                    d = older[d]
                if d < 0:
                    d = k
                    k += 1
                    seen_in[d] = s
                    value[d] = v
                    split[d] = -1
                    older[d] = split[c]
                    split[c] = d
                cls[b] = d
    rank = np.full(k, -1, dtype=np.int64)
    out = np.empty(256, dtype=np.int64)
    first = np.empty(k, dtype=np.int64)
    n = 0
    for b in range(256):
        c = cls[b]
        if rank[c] < 0:
            rank[c] = n
            first[n] = b
            n += 1
        out[b] = rank[c]
    return out, first


@njit(cache=True)
def write_single(
    out: np.ndarray,
    accepting: np.ndarray,
    rep: np.ndarray,
    lex_of: np.ndarray,
    dfa_state: np.ndarray,
    trans: np.ndarray,
    accept: np.ndarray,
    single: np.ndarray,
    cur: int,
    start: int,
    new: np.ndarray,
    base: int,
    lex: int,
    rep_done: int,
    rep_none: int,
) -> tuple[int, int]:
    """Number the DFA states ``new`` from ``base`` (lexeme ``lex`` alone) and write their
    rows and the row of state ``cur`` (DFA state ``start``), with their accepting flags,
    representatives (``rep_done``/``rep_none``, -1: the first such new state) and
    lexeme/DFA state entries. Returns the two representatives used."""
    k = new.shape[0]
    for i in range(k):
        sid = base + i
        s = new[i]
        single[s] = sid
        lex_of[sid] = lex
        dfa_state[sid] = s
        acc = accept[s]
        accepting[sid] = acc
        if acc:
            if rep_done < 0:
                rep_done = sid
            rep[sid] = rep_done
        else:
            if rep_none < 0:
                rep_none = sid
            rep[sid] = rep_none
    for b in range(256):
        t = trans[start, b]
        out[cur, b] = single[t] if t >= 0 else -1
    for i in range(k):
        s = new[i]
        for b in range(256):
            t = trans[s, b]
            out[base + i, b] = single[t] if t >= 0 else -1
    return rep_done, rep_none
