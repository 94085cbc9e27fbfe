"""Numba kernel: walk the flat token trie against the combined lexer table.

For a lexer state and a list of trie nodes (subtree roots), mark every token whose
bytes keep the lexer alive, skip subtrees at dead states, and record *exits*: nodes
whose byte cannot extend the current lexeme while some lexeme is complete there.
Exits are where a lexeme ends inside a token; the parser decides about them.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
    start_nodes: np.ndarray,
    start_state: int,
    out_bits: np.ndarray,
    exit_nodes: np.ndarray,
    exit_states: np.ndarray,
    max_depth: int,
) -> int:
    """Walk the subtrees at ``start_nodes`` from ``start_state``; returns the exit count.

    ``trans_flat`` is the lexer table raveled (``state * 256 + byte``). ``out_bits``
    (int32 words) gets the bits of tokens that stay inside lexemes. ``exit_nodes`` and
    ``exit_states`` must have room for every trie node; ``max_depth`` is the trie's.
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
            d = node_depth[i] - base - 1
            st = stack[d]
            nxt = trans_flat[st * 256 + node_byte[i]]
            if nxt < 0:
                if accepting[st]:
                    exit_nodes[n_exits] = i
                    exit_states[n_exits] = st
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
    return n_exits
