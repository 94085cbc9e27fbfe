"""Numba kernels that build combined lexer states in bulk (``automata/lexer.py``).

A lexer state with one lexeme alive is a renumbered lexeme DFA state, so the closure of
such a state is found by one graph search and its rows written in one pass, instead of
one Python step per state. A state with several lexemes alive gets its row by cutting
the byte range where any of its lexemes' DFA rows changes value: each piece leads to one
state, named by the (lexeme, DFA state) pairs alive there; :func:`close_joint` builds all
such states reachable from a start state in one call, hash-consing them in an
open-addressing table over their pairs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads consecutive keys
_FNV_BASIS = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
DONE, NO_ROOM, LIMIT, NEED_ROWS = 0, 1, 2, 3  # close_joint's status


@njit(nogil=True, cache=True, inline="always")
def slot(keys: np.ndarray, key: int, shift: int) -> int:
    """The slot of ``key`` (not negative) in the open-addressing table ``keys`` of
    ``2 ** (64 - shift)`` entries, -1 for empty (Fibonacci hashing, linear probing): where
    it is, or the empty slot where it belongs."""
    mask = keys.shape[0] - 1
    i = np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(shift))
    while keys[i] != key and keys[i] != -1:
        i = (i + 1) & mask
    return int(i)


@njit(cache=True)
def close_singles(
    g_trans: np.ndarray,
    g_row: np.ndarray,
    g_accept: np.ndarray,
    g_single: np.ndarray,
    s_off: np.ndarray,
    trans: np.ndarray,
    accepting: np.ndarray,
    lex_of: np.ndarray,
    dfa_state: np.ndarray,
    starts: np.ndarray,
    n: int,
    max_states: int,
) -> tuple[int, bool]:
    """Write the rows of the one-lexeme states ``starts`` (entries set, rows not) and of
    every new state they reach, numbered from ``n``; their lexemes' DFA rows are all in
    ``g_trans`` (see :func:`close_joint` for the ``g_`` arrays). Returns the state count
    and False when a state past ``max_states`` was needed (the tables are then half
    built: undo them). ``trans`` has room for every new state (at most ``max_states``)."""
    stack = np.empty(starts.shape[0] + trans.shape[0] - n, dtype=np.int64)
    top = 0
    for s in starts:
        stack[top] = s
        top += 1
    while top > 0:
        top -= 1
        sid = stack[top]
        off = s_off[lex_of[sid]]
        r = g_row[off + dfa_state[sid]]
        for b in range(256):
            t = g_trans[r, b]
            if t < 0:
                trans[sid, b] = -1
                continue
            nxt = g_single[off + t]
            if nxt < 0:
                if n >= max_states:
                    return n, False
                nxt = n
                n += 1
                g_single[off + t] = nxt
                lex_of[nxt] = lex_of[sid]
                dfa_state[nxt] = t
                accepting[nxt] = g_accept[off + t]
                stack[top] = nxt
                top += 1
            trans[sid, b] = nxt
    return n, True


@njit(cache=True)
def new_states_near(
    table: np.ndarray, col: np.ndarray, known: np.ndarray, starts: np.ndarray, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """DFA states reachable from ``starts`` through states with ``known < 0``, at most
    ``depth`` bytes away (breadth first; ``starts`` themselves are not returned), and a
    flag per returned state: exactly ``depth`` bytes away (the frontier, whose own
    successors are not searched). The DFA's next state on byte ``b`` is
    ``table[s, col[b]]`` (one column per byte class, or per byte)."""
    n = table.shape[0]
    level = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n + starts.shape[0], dtype=np.int64)
    tail = 0
    for s in starts:
        if level[s] < 0:
            level[s] = 0
            queue[tail] = s
            tail += 1
    head = 0
    while head < tail:
        s = queue[head]
        head += 1
        d = level[s]
        if d >= depth:
            continue
        for c in range(table.shape[1]):
            t = table[s, c]
            if t >= 0 and level[t] < 0 and known[t] < 0:
                level[t] = d + 1
                queue[tail] = t
                tail += 1
    for s in starts:
        level[s] = -1
    new = np.flatnonzero(level > 0)
    return new, level[new] >= depth


@njit(cache=True)
def joint_classes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`byte_classes` of two tables side by side, from each one's byte classes
    (``a``, ``b``): bytes share a class where they share one in both, numbered in order
    of first appearance, with the first byte of each class."""
    kb = b.max() + 1
    ids = np.full((a.max() + 1) * kb, -1, dtype=np.int64)
    cls = np.empty(256, dtype=np.int64)
    first = np.empty(256, dtype=np.int64)
    k = 0
    for x in range(256):
        key = a[x] * kb + b[x]
        if ids[key] < 0:
            ids[key] = k
            first[k] = x
            k += 1
        cls[x] = ids[key]
    return cls, first[:k].copy()


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
    lex_of: np.ndarray,
    dfa_state: np.ndarray,
    table: np.ndarray,
    col: np.ndarray,
    accept: np.ndarray,
    single: np.ndarray,
    curs: np.ndarray,
    starts: np.ndarray,
    new: np.ndarray,
    base: int,
    lex: int,
) -> None:
    """Number the DFA states ``new`` from ``base`` (lexeme ``lex`` alone) and write their
    rows and the rows of states ``curs`` (DFA states ``starts``), with their accepting
    flags and lexeme/DFA state entries (a target not numbered reads as dead). The DFA's
    next state on byte ``b`` is ``table[s, col[b]]``: a narrow DFA's row (about 20
    columns) is looked up once per column, then spread over the bytes."""
    k = new.shape[0]
    for i in range(k):
        sid = base + i
        s = new[i]
        single[s] = sid
        lex_of[sid] = lex
        dfa_state[sid] = s
        accepting[sid] = accept[s]
    n_cols = table.shape[1]
    targets = np.empty(n_cols, dtype=out.dtype)
    for j in range(curs.shape[0] + k):
        s = starts[j] if j < curs.shape[0] else new[j - curs.shape[0]]
        sid = curs[j] if j < curs.shape[0] else base + j - curs.shape[0]
        if n_cols < 256:
            for c in range(n_cols):
                t = table[s, c]
                targets[c] = single[t] if t >= 0 else -1
            for b in range(256):
                out[sid, b] = targets[col[b]]
        else:  # one column per byte: looked up directly
            for b in range(256):
                t = table[s, col[b]]
                out[sid, b] = single[t] if t >= 0 else -1


@njit(cache=True)
def describe_states(
    accepting: np.ndarray,
    lex_of: np.ndarray,
    j_ofs: np.ndarray,
    j_len: np.ndarray,
    p_lex: np.ndarray,
    p_st: np.ndarray,
    s_off: np.ndarray,
    g_accept: np.ndarray,
    rep: np.ndarray,
    n0: int,
    n: int,
    rep_idle: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """For the states ``n0:n``: the accepting ones, the lexemes complete in each of them
    (concatenated, increasing lexeme ids) and their count per state. The others get the
    representative ``rep_idle`` (-1: the first of them), which is returned."""
    found = np.empty(n - n0, dtype=np.int64)
    counts = np.empty(n - n0, dtype=np.int64)
    total = 0
    m = 0
    for s in range(n0, n):
        if not accepting[s]:
            if rep_idle < 0:
                rep_idle = s
            rep[s] = rep_idle
            continue
        found[m] = s
        m += 1
        total += 1 if lex_of[s] >= 0 else j_len[s]
    out = np.empty(total, dtype=np.int64)
    at = 0
    for j in range(m):
        s = found[j]
        if lex_of[s] >= 0:
            out[at] = lex_of[s]
            at += 1
            counts[j] = 1
            continue
        c = 0
        for q in range(j_ofs[s], j_ofs[s] + j_len[s]):
            if g_accept[s_off[p_lex[q]] + p_st[q]]:
                out[at] = p_lex[q]
                at += 1
                c += 1
        counts[j] = c
    return found[:m], out[:at], counts[:m], rep_idle


@njit(cache=True)
def _pairs_hash(p_lex: np.ndarray, p_st: np.ndarray, lo: int, hi: int) -> np.uint64:
    """FNV-1a over the (lexeme, DFA state) pairs ``lo:hi``."""
    h = _FNV_BASIS
    for i in range(lo, hi):
        h = (h ^ ((np.uint64(p_lex[i]) << np.uint64(32)) | np.uint64(p_st[i]))) * _FNV_PRIME
    return h


@njit(cache=True)
def find_joint(
    slots: np.ndarray,
    j_ofs: np.ndarray,
    j_len: np.ndarray,
    p_lex: np.ndarray,
    p_st: np.ndarray,
    lo: int,
    hi: int,
) -> tuple[int, int]:
    """``(sid, slot)``: the state whose pairs equal the pairs ``lo:hi`` and its slot in
    ``slots`` (linear probing, a power of two long), or -1 and the empty slot where it
    belongs. A state's pairs are ``j_len[sid]`` entries from ``j_ofs[sid]``."""
    mask = slots.shape[0] - 1
    bits = 0
    while (1 << bits) < slots.shape[0]:
        bits += 1
    shift = np.uint64(64 - bits)
    i = np.int64((_pairs_hash(p_lex, p_st, lo, hi) * _GOLDEN) >> shift)
    m = hi - lo
    while True:
        sid = slots[i]
        if sid < 0:
            return -1, int(i)
        if j_len[sid] == m:
            o = j_ofs[sid]
            q = 0
            while q < m and p_lex[o + q] == p_lex[lo + q] and p_st[o + q] == p_st[lo + q]:
                q += 1
            if q == m:
                return int(sid), int(i)
        i = (i + 1) & mask


@njit(cache=True)
def rehash(
    slots: np.ndarray,
    j_ofs: np.ndarray,
    j_len: np.ndarray,
    p_lex: np.ndarray,
    p_st: np.ndarray,
    n: int,
) -> None:
    """Fill the empty table ``slots`` with the states ``0:n`` that have several pairs."""
    for sid in range(n):
        if j_len[sid] > 0:
            o = j_ofs[sid]
            _, i = find_joint(slots, j_ofs, j_len, p_lex, p_st, o, o + j_len[sid])
            slots[i] = sid


@njit(cache=True)
def close_joint(
    g_trans: np.ndarray,
    g_row: np.ndarray,
    g_accept: np.ndarray,
    g_single: np.ndarray,
    s_off: np.ndarray,
    trans: np.ndarray,
    accepting: np.ndarray,
    lex_of: np.ndarray,
    dfa_state: np.ndarray,
    j_ofs: np.ndarray,
    j_len: np.ndarray,
    p_lex: np.ndarray,
    p_st: np.ndarray,
    slots: np.ndarray,
    todo: np.ndarray,
    fresh: np.ndarray,
    need: np.ndarray,
    counts: np.ndarray,
    max_states: int,
) -> int:
    """Build the rows of the states on the stack ``todo`` (several lexemes alive) and of
    every such state they reach, interning each target; returns a status.

    State ``s`` of lexeme ``lex``'s DFA (at ``g = s_off[lex] + s``) has acceptance
    ``g_accept[g]``, one-lexeme state ``g_single[g]`` (-1: not built) and its DFA row at
    ``g_trans[g_row[g]]`` (-1: not copied). A new one-lexeme target gets an id and its
    entries, not its row: it goes to ``fresh``, for the one-lexeme closure. ``counts``
    holds the states, pairs, states with several pairs, stack height, fresh states, and
    the rows or room needed, updated on return. A state's row is cut where the next
    state of one of its lexemes changes, and each piece goes to the state of the pairs
    alive there (no copy of the rows, no allocation per state).

    Status :data:`DONE`; :data:`NO_ROOM` before a state whose targets might not fit the
    arrays (grow them for ``counts[5]`` more states, at most 256, and call again);
    :data:`NEED_ROWS` before a state whose lexemes' DFA rows are not all copied (the
    (lexeme, DFA state) pairs are in ``need``: copy them and call again); :data:`LIMIT`
    when a state past ``max_states`` was needed (the tables are then half built: undo
    them).
    """
    n, n_pairs, n_joint, top, n_fresh = counts[0], counts[1], counts[2], counts[3], counts[4]
    status = DONE
    # work space for every state: a state reached has no more pairs than the one it is
    # reached from (each pair steps to one pair or none)
    k_most = 1
    for i in range(top):
        k_most = max(k_most, j_len[todo[i]])
    row = np.empty(k_most, dtype=np.int64)  # each pair's DFA row in g_trans
    cut = np.zeros(257, dtype=np.bool_)
    bounds = np.empty(257, dtype=np.int64)
    while top > 0:
        cur = todo[top - 1]
        o = j_ofs[cur]
        k = j_len[cur]
        missing = 0
        for i in range(k):
            r = g_row[s_off[p_lex[o + i]] + p_st[o + i]]
            if r < 0:
                need[missing, 0] = p_lex[o + i]
                need[missing, 1] = p_st[o + i]
                missing += 1
            row[i] = r
        if missing > 0:
            counts[5] = missing
            status = NEED_ROWS
            break
        # the row is cut where some lexeme's next state changes, into pieces of bytes
        # that lead every lexeme alike
        for i in range(k):
            prev = g_trans[row[i], 0]
            for b in range(1, 256):
                t = g_trans[row[i], b]
                if t != prev:
                    cut[b] = True
                    prev = t
        cut[256] = True
        m = 1  # pieces: bounds[c]:bounds[c + 1], for c < m; at most m new states
        bounds[0] = 0
        for b in range(1, 257):
            if cut[b]:
                cut[b] = False
                bounds[m] = b
                m += 1
        m -= 1
        if (
            min(n + m, max_states) > trans.shape[0]
            or n_pairs + m * k > p_lex.shape[0]
            or 2 * (n_joint + m) > slots.shape[0]
            or top - 1 + m > todo.shape[0]
            or n_fresh + m > fresh.shape[0]
        ):
            counts[5] = m
            status = NO_ROOM
            break
        top -= 1
        for c in range(m):
            first = bounds[c]
            lo = hi = n_pairs
            for i in range(k):
                t = g_trans[row[i], first]
                if t >= 0:
                    p_lex[hi] = p_lex[o + i]
                    p_st[hi] = t
                    hi += 1
            sid = -1
            if hi > lo:
                single = hi - lo == 1
                g = s_off[p_lex[lo]] + p_st[lo]
                if single:
                    sid, slot = g_single[g], -1
                else:
                    sid, slot = find_joint(slots, j_ofs, j_len, p_lex, p_st, lo, hi)
                if sid < 0:
                    if n >= max_states:
                        status = LIMIT
                        break
                    sid = n
                    n += 1
                    if single:
                        g_single[g] = sid
                        lex_of[sid] = p_lex[lo]
                        dfa_state[sid] = p_st[lo]
                        accepting[sid] = g_accept[g]
                        fresh[n_fresh] = sid
                        n_fresh += 1
                    else:
                        slots[slot] = sid
                        n_joint += 1
                        j_ofs[sid] = lo
                        j_len[sid] = hi - lo
                        n_pairs = hi
                        lex_of[sid] = -1
                        acc = False
                        for q in range(lo, hi):
                            acc = acc or g_accept[s_off[p_lex[q]] + p_st[q]]
                        accepting[sid] = acc
                        todo[top] = sid
                        top += 1
            trans[cur, first : bounds[c + 1]] = sid
        if status == LIMIT:
            break
    counts[0], counts[1], counts[2], counts[3], counts[4] = n, n_pairs, n_joint, top, n_fresh
    return status
