"""Numba kernels for DFA products and their clean-up (``automata/regex_dfa.py``).

A lookahead ``(?=X)`` / ``(?!X)`` becomes the intersection / difference of two byte DFAs;
:func:`explore` visits the reachable state pairs breadth-first over byte classes, one
machine step per transition instead of a Python dict and list operation. The byte
classes of the two tables come from each one's (:func:`.lexer_build.byte_classes`, kept
on the DFA) by :func:`.lexer_build.joint_classes` (both re-exported).
The clean-up of a product (and of any DFA that subset construction built) is here too:
:func:`live_states` finds the states that can still reach acceptance with one backward
search, and :func:`moore_classes` runs Moore's partition refinement with a hash table of
signatures, both in place of Python loops over states; :func:`clean` runs them and
renumbers the table in one call. :func:`concat_direct` glues two DFAs where no byte is
read both ways at a junction, :func:`word_trie` builds the trie of a set of words, and
:func:`excluded_words` a text minus some words in one pass (JSON's "any other key").
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .lexer_build import _GOLDEN, byte_classes, joint_classes
from .lexer_build import slot as _slot

__all__ = [
    "DENSE_MAX_PAIRS",
    "byte_classes",
    "clean",
    "concat_direct",
    "excluded_words",
    "explore",
    "joint_classes",
    "live_states",
    "moore_classes",
    "same_within",
    "word_trie",
]

# Callers keep pair ids in a dense table of ``n_left * n_right`` entries up to this size
# (4 MiB of int32, a quarter of a millisecond to fill, the time the hash table loses
# on some 50,000 transitions); larger products use a hash table.
DENSE_MAX_PAIRS = 1 << 20
_EMPTY = -1


@njit(cache=True)
def _explore_rows(
    l_rows: np.ndarray,
    r_rows: np.ndarray,
    l_acc: np.ndarray,
    r_acc: np.ndarray,
    both: bool,
    limit: int,
    dense: bool,
    ids: np.ndarray,
    keys: np.ndarray,
    vals: np.ndarray,
    shift: int,
    trans: np.ndarray,
    accept: np.ndarray,
    pair_l: np.ndarray,
    pair_r: np.ndarray,
    n: int,
    head: int,
) -> tuple[int, int, int]:
    """Fill rows from ``head`` on while the arrays have room for one more row's new
    states; returns ``(n, head, status)``, status 0 when done, 1 when out of room, 2
    when more than ``limit`` states were found.

    The arrays are never replaced in here: numba reloads (and reference-counts) an array
    that a loop may reassign at every access, which made the loop 30 times slower.
    """
    nr = r_rows.shape[0]
    n_cls = l_rows.shape[1]
    cap = trans.shape[0]
    room = keys.shape[0] // 2  # the hash table is kept at most half full
    while head < n:  # the queue is the list of pairs itself: breadth-first
        if n + n_cls > cap or (not dense and n + n_cls > room):
            return n, head, 1
        a = pair_l[head]
        b = pair_r[head]
        for c in range(n_cls):
            na = l_rows[a, c]
            nb = r_rows[b, c]
            if na < 0 or nb < 0:
                trans[head, c] = -1
                continue
            key = na * nr + nb
            if dense:
                t = ids[key]
            else:
                i = _slot(keys, key, shift)
                t = vals[i] if keys[i] == key else -1
            if t < 0:
                if n >= limit:
                    return n, head, 2
                t = n
                pair_l[n] = na
                pair_r[n] = nb
                accept[n] = l_acc[na] and r_acc[nb] == both
                n += 1
                if dense:
                    ids[key] = t
                else:
                    keys[i] = key
                    vals[i] = t
            trans[head, c] = t
        head += 1
    return n, head, 0


@njit(cache=True)
def explore(
    l_rows: np.ndarray,
    r_rows: np.ndarray,
    l_acc: np.ndarray,
    r_acc: np.ndarray,
    both: bool,
    start_accept: bool,
    limit: int,
    dense: bool,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The product of two DFAs over byte classes, explored breadth-first from (0, 0).

    ``l_rows`` (``[nl, C]``) and ``r_rows`` (``[nr, C]``) are the two transition tables
    over the same ``C`` byte classes, -1 for dead; a pair with a dead side is dead. Pair
    ``(a, b)`` accepts when ``l_acc[a] and r_acc[b] == both``; the start pair accepts
    when ``start_accept``. States are numbered in order of discovery, each row scanned in
    class order. Returns ``(trans [n, C] int32, accept [n], True)``, or empty arrays and
    False as soon as more than ``limit`` states are found.

    Pair ids are kept in a dense ``[nl * nr]`` table if ``dense`` (see
    :data:`DENSE_MAX_PAIRS`), otherwise in a hash table sized by the states found.
    """
    nr = r_rows.shape[0]
    n_cls = l_rows.shape[1]
    ids = np.full(l_rows.shape[0] * nr if dense else 0, -1, dtype=np.int32)
    shift = 64 - 10
    keys = np.full(0 if dense else 1 << (64 - shift), _EMPTY, dtype=np.int64)
    vals = np.empty(keys.shape[0], dtype=np.int32)
    cap = 64 + n_cls
    trans = np.empty((cap, n_cls), dtype=np.int32)
    accept = np.empty(cap, dtype=np.bool_)
    pair_l = np.empty(cap, dtype=np.int64)
    pair_r = np.empty(cap, dtype=np.int64)
    pair_l[0] = 0
    pair_r[0] = 0
    accept[0] = start_accept
    if dense:
        ids[0] = 0
    else:
        i = _slot(keys, 0, shift)
        keys[i] = 0
        vals[i] = 0
    n = 1
    head = 0
    while True:
        n, head, status = _explore_rows(
            l_rows,
            r_rows,
            l_acc,
            r_acc,
            both,
            limit,
            dense,
            ids,
            keys,
            vals,
            shift,
            trans,
            accept,
            pair_l,
            pair_r,
            n,
            head,
        )
        if status == 0:
            return trans[:n], accept[:n], True
        if status == 2:
            return trans[:0], accept[:0], False
        if n + n_cls > cap:  # grow by doubling
            cap *= 2
            grown = np.empty((cap, n_cls), dtype=np.int32)
            grown[:n] = trans[:n]
            trans = grown
            accept = np.concatenate((accept[:n], np.empty(cap - n, dtype=np.bool_)))
            pair_l = np.concatenate((pair_l[:n], np.empty(cap - n, dtype=np.int64)))
            pair_r = np.concatenate((pair_r[:n], np.empty(cap - n, dtype=np.int64)))
        while not dense and n + n_cls > keys.shape[0] // 2:  # rehash twice as wide
            shift -= 1
            keys = np.full(2 * keys.shape[0], _EMPTY, dtype=np.int64)
            vals = np.empty(keys.shape[0], dtype=np.int32)
            for s in range(n):
                k = pair_l[s] * nr + pair_r[s]
                j = _slot(keys, k, shift)
                keys[j] = k
                vals[j] = s


@njit(cache=True)
def live_states(trans: np.ndarray, accept: np.ndarray) -> np.ndarray:
    """The states that can reach an accepting state (``bool [n]``): one backward search
    from the accepting states along the edges of ``trans`` (-1 for dead)."""
    n = trans.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for s in range(n):
        for c in range(trans.shape[1]):
            t = trans[s, c]
            if t >= 0:
                count[t + 1] += 1
    start = np.cumsum(count)  # predecessors of t: preds[start[t] : start[t + 1]]
    fill = start[:-1].copy()
    preds = np.empty(start[n], dtype=np.int64)
    for s in range(n):
        for c in range(trans.shape[1]):
            t = trans[s, c]
            if t >= 0:
                preds[fill[t]] = s
                fill[t] += 1
    live = accept.copy()
    stack = np.flatnonzero(accept)
    stack = np.concatenate((stack, np.empty(n - stack.shape[0], dtype=stack.dtype)))
    top = np.count_nonzero(accept)
    while top > 0:
        top -= 1
        q = stack[top]
        for i in range(start[q], start[q + 1]):
            p = preds[i]
            if not live[p]:
                live[p] = True
                stack[top] = p
                top += 1
    return live


@njit(cache=True)
def _same_signature(trans: np.ndarray, cls: np.ndarray, s: int, r: int) -> bool:
    """Whether states ``s`` and ``r`` have one class and lead to one class on each column."""
    if cls[s] != cls[r]:
        return False
    for c in range(trans.shape[1]):
        x = trans[s, c]
        y = trans[r, c]
        if (x < 0) != (y < 0) or (x >= 0 and cls[x] != cls[y]):
            return False
    return True


@njit(cache=True)
def moore_classes(trans: np.ndarray, accept: np.ndarray) -> np.ndarray:
    """Moore partition refinement: the class of each state (``int64 [n]``), numbered in
    order of first occurrence (state 0 is in class 0).

    A round gives each state the signature (its class, the class of each successor or
    -1 for dead) and numbers the distinct signatures in order of first occurrence; the
    rounds stop when one splits no class or every state is alone.
    """
    n = trans.shape[0]
    cls = accept.astype(np.int64)
    n_cls = 2 if accept.any() and not accept.all() else 1
    shift = 63
    while (1 << (64 - shift)) < 2 * n:
        shift -= 1
    size = 1 << (64 - shift)
    table = np.empty(size, dtype=np.int64)  # a state with each signature seen, or -1
    new = np.empty(n, dtype=np.int64)
    while True:
        table[:] = -1
        count = 0
        for s in range(n):
            h = np.uint64(cls[s])
            for c in range(trans.shape[1]):
                t = trans[s, c]
                h = h * np.uint64(1_000_003) ^ np.uint64(cls[t] + 1 if t >= 0 else 0)
            i = np.int64((h * _GOLDEN) >> np.uint64(shift))
            while table[i] >= 0 and not _same_signature(trans, cls, s, table[i]):
                i = (i + 1) & (size - 1)
            if table[i] < 0:
                table[i] = s
                new[s] = count
                count += 1
            else:
                new[s] = new[table[i]]
        cls[:] = new
        if count in (n_cls, n):  # stable, or every state alone
            return cls
        n_cls = count


@njit(cache=True)
def same_within(
    trans: np.ndarray, accept: np.ndarray, s: int, t: int, depth: int, budget: int
) -> int:
    """Whether no string of at most ``depth`` columns tells states ``s`` and ``t`` apart
    (leads one to a dead state and not the other, or to live states that disagree on
    acceptance): 1 or 0, or -1 when more than ``budget`` state pairs would be visited.

    Breadth first over the pairs the same strings reach, each pair once (first reached
    at its least depth, so its successors are checked as deep as they need).
    """
    n = trans.shape[0]
    size = 16
    while size < 2 * budget:
        size *= 2
    shift = 64 - int(np.log2(size))
    seen = np.full(size, _EMPTY, dtype=np.int64)
    queue = np.empty(budget + 1, dtype=np.int64)
    level = np.empty(budget + 1, dtype=np.int64)
    key = s * n + t
    seen[_slot(seen, key, shift)] = key
    queue[0], level[0] = key, 0
    head, tail = 0, 1
    while head < tail:
        a, b = queue[head] // n, queue[head] % n
        d = level[head]
        head += 1
        if accept[a] != accept[b]:
            return 0
        if d == depth:
            continue
        for c in range(trans.shape[1]):
            x, y = trans[a, c], trans[b, c]
            if (x < 0) != (y < 0):
                return 0
            if x < 0 or x == y:  # equal states agree on every string
                continue
            key = x * n + y
            i = _slot(seen, key, shift)
            if seen[i] == key:
                continue
            if tail > budget:
                return -1
            seen[i] = key
            queue[tail], level[tail] = key, d + 1
            tail += 1
    return 1


@njit(cache=True)
def clean(
    trans: np.ndarray, accept: np.ndarray, trim: bool, minimize_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """A DFA table finished in one call: trimmed (states that cannot reach acceptance
    dropped, state 0 kept) if ``trim``, minimized (:func:`moore_classes`, each class
    numbered by its first state, state 0's class first) if it has at most
    ``minimize_max`` states, and given a fresh start state (a copy of state 0's row,
    not accepting; no row if nothing accepts) where state 0 accepts or has an incoming
    edge. Columns may be bytes or byte classes; -1 is dead."""
    k = trans.shape[1]
    if trim:
        live = live_states(trans, accept)
        live[0] = True
        remap = np.full(trans.shape[0], -1, dtype=np.int32)
        m = 0
        for s in range(trans.shape[0]):
            if live[s]:
                remap[s] = m
                m += 1
        trans = _renumbered(trans, remap, m)
        accept = accept[live]
    n = trans.shape[0]
    if n <= minimize_max:
        cls = moore_classes(trans, accept)
        n_cls = int(cls.max()) + 1 if n else 0
        if n_cls < n:
            first = np.full(n_cls, -1, dtype=np.int64)
            keep = np.zeros(n, dtype=np.bool_)
            for s in range(n):
                if first[cls[s]] < 0:
                    first[cls[s]] = s
                    keep[s] = True
            trans = _renumbered(trans, cls.astype(np.int32), n_cls)
            accept = accept[keep]
            n = n_cls
    fresh = n > 0 and accept[0]
    for s in range(n):
        if fresh:
            break
        for c in range(k):
            if trans[s, c] == 0:
                fresh = True
                break
    if not fresh:
        return trans, accept
    out = np.full((n + 1, k), -1, dtype=np.int32)
    for s in range(n):
        for c in range(k):
            t = trans[s, c]
            if t >= 0:
                out[s + 1, c] = t + 1
    if accept.any():
        out[0] = out[1]
    grown = np.zeros(n + 1, dtype=np.bool_)
    grown[1:] = accept
    return out, grown


@njit(cache=True)
def _renumbered(trans: np.ndarray, new: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` rows of ``trans`` renumbered by ``new`` (state -> new state, -1: dropped;
    states with one new number must have equal rows once renumbered): each new state's
    row is its first old state's."""
    k = trans.shape[1]
    out = np.empty((m, k), dtype=np.int32)
    done = np.zeros(m, dtype=np.bool_)
    for s in range(trans.shape[0]):
        r = new[s]
        if r < 0 or done[r]:
            continue
        done[r] = True
        for c in range(k):
            t = trans[s, c]
            out[r, c] = new[t] if t >= 0 else -1
    return out


@njit(cache=True)
def concat_direct(
    l_trans: np.ndarray,
    l_accept: np.ndarray,
    l_ends: np.ndarray,
    r_trans: np.ndarray,
    r_accept: np.ndarray,
    r_nullable: bool,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``left`` then ``right`` glued in one table, where no byte both continues ``left``
    at one of its ends (``l_ends``: its accepting states, and its start if nullable) and
    starts ``right``: right's start (without incoming edges) is dropped, its other states
    follow left's, and left's ends take right's first bytes. Returns (trans, accept, True),
    or empty arrays and False where a byte does both. ``accept[0]`` is left for the
    caller (both nullable)."""
    nl, nr = l_trans.shape[0], r_trans.shape[0]
    for s in range(nl):
        if l_ends[s]:
            for b in range(256):
                if r_trans[0, b] >= 0 and l_trans[s, b] >= 0:
                    return np.empty((0, 256), np.int32), np.empty(0, np.bool_), False
    shift = nl - 1
    trans = np.empty((nl + nr - 1, 256), dtype=np.int32)
    trans[:nl] = l_trans
    for s in range(nl):
        if l_ends[s]:
            for b in range(256):
                t = r_trans[0, b]
                if t >= 0:
                    trans[s, b] = t + shift
    for s in range(1, nr):
        for b in range(256):
            t = r_trans[s, b]
            trans[s + shift, b] = t + shift if t >= 0 else -1
    accept = np.empty(nl + nr - 1, dtype=np.bool_)
    for s in range(nl):
        accept[s] = l_accept[s] and r_nullable
    accept[nl:] = r_accept[1:]
    return trans, accept, True


@njit(cache=True)
def word_trie(data: np.ndarray, ends: np.ndarray, extra: int) -> tuple[np.ndarray, np.ndarray]:
    """The trie of words given as their bytes one after another (``data``; word ``i``
    ends at ``ends[i]``): a table of ``[nodes + extra, 256]`` (node 0 the root, numbered
    in order of creation, the ``extra`` rows without edges) and each word's end node.
    Built as child and sibling lists first, so the table has exactly one row per node."""
    cap = data.shape[0] + 1
    child = np.full(cap, -1, dtype=np.int64)  # a node's newest child
    sibling = np.full(cap, -1, dtype=np.int64)  # the child created before it
    parent = np.zeros(cap, dtype=np.int64)
    label = np.zeros(cap, dtype=np.int64)
    word_end = np.empty(ends.shape[0], dtype=np.int64)
    n, start = 1, 0
    for i in range(ends.shape[0]):
        node = 0
        for j in range(start, ends[i]):
            b = data[j]
            c = child[node]
            while c >= 0 and label[c] != b:
                c = sibling[c]
            if c < 0:
                c = n
                n += 1
                label[c], parent[c] = b, node
                sibling[c], child[node] = child[node], c
            node = c
        word_end[i] = node
        start = ends[i]
    trans = np.full((n + extra, 256), -1, dtype=np.int32)
    for c in range(1, n):
        trans[parent[c], label[c]] = c
    return trans, word_end


@njit(cache=True)
def excluded_words(
    head: np.ndarray,
    trie: np.ndarray,
    word_end: np.ndarray,
    rest: np.ndarray,
    rest_accept: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``head (?!(?:w1|w2|...)(?![^end])) rest`` as a table of ``[states, 256]`` and its
    accepting flags: the ``head`` bytes, then the words' ``trie`` (nodes numbered in order
    of creation, children after parents; ``word_end`` flags its nodes) read in step with
    ``rest`` (a trimmed DFA whose state 0 has no incoming edges), then ``rest``'s other
    states once a byte leaves the trie. A word's end node reads ``end`` as dead and does
    not accept (the word is excluded, whether the text ends there or ``end`` follows).

    No word may go on with ``end`` after another ends (a word's end node has no ``end``
    edge). Returns as well whether every state can still reach acceptance (the table is
    then trimmed; where some trie node cannot, the caller trims)."""
    h = head.shape[0]
    n_trie = trie.shape[0]
    n_rest = rest.shape[0]
    base = h + n_trie - 1  # rest's state q >= 1 is h + n_trie + q - 1
    n = base + n_rest
    trans = np.full((n, 256), -1, dtype=np.int32)
    accept = np.zeros(n, dtype=np.bool_)
    for i in range(h):
        trans[i, head[i]] = i + 1
    at = np.full(n_trie, -1, dtype=np.int64)  # rest's state at each trie node
    at[0] = 0
    for v in range(n_trie):
        r = at[v]
        if r < 0:
            continue
        row = h + v
        for b in range(256):
            child = trie[v, b]
            q = rest[r, b]
            if child >= 0:
                at[child] = q
                trans[row, b] = h + child
            elif q >= 0:
                trans[row, b] = base + q
        if word_end[v]:
            trans[row, end] = -1
        else:
            accept[row] = rest_accept[r]
    for q in range(1, n_rest):
        for b in range(256):
            t = rest[q, b]
            trans[base + q, b] = base + t if t >= 0 else -1
        accept[base + q] = rest_accept[q]
    # rest's states all reach acceptance; a trie node does where it accepts, leaves the
    # trie, or has a child that does (children come after parents: one backward pass)
    alive = np.zeros(n_trie, dtype=np.bool_)
    for v in range(n_trie - 1, -1, -1):
        row = h + v
        ok = at[v] >= 0 and accept[row]
        for b in range(256):
            if ok:
                break
            t = trans[row, b]
            ok = t > base or (t >= h and alive[t - h])
        alive[v] = ok
    return trans, accept, bool(alive.all())
