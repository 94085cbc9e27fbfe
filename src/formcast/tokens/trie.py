"""Flat byte trie over a vocabulary, in the exact layout the numba mask kernel walks.

Nodes are numbered in DFS preorder over the tokens' byte strings sorted lexicographically;
node 0 is the root. The subtree of node ``i`` is the contiguous range ``i .. node_end[i] - 1``,
so a kernel prunes a whole subtree at a dead lexer state with one jump.

Building works on the sorted distinct byte strings: string ``j`` adds one node per byte past
its longest common prefix with string ``j - 1``, which is exactly preorder.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

__all__ = ["TEXT_SLICE", "TokenTrie", "TrieSlice"]

# byte-set slices kept per trie (each about a bit per token plus a flag per node)
_BYTE_SET_SLICES = 16
_SLICES_LOCK = threading.Lock()
# Rows per chunk when comparing neighbouring sorted strings (bounds memory to chunk * max_len).
_LCP_CHUNK = 4096


def _text_automaton() -> npt.NDArray[np.int32]:
    """Byte automaton of plain text: printable ASCII except ``"`` and ``\\``, and well-formed
    UTF-8 (state 0: at a character boundary; -1: dead). A token may stop mid-character."""
    a = np.full((8, 256), -1, dtype=np.int32)
    a[0, 0x20:0x7F] = 0
    a[0, [0x22, 0x5C]] = -1
    a[0, 0xC2:0xE0] = 1
    a[0, 0xE0] = 4  # E0 A0..BF: no overlong forms
    a[0, 0xE1:0xED] = 2
    a[0, 0xED] = 5  # ED 80..9F: no surrogates
    a[0, 0xEE:0xF0] = 2
    a[0, 0xF0] = 6  # F0 90..BF: no overlong forms
    a[0, 0xF1:0xF4] = 3
    a[0, 0xF4] = 7  # F4 80..8F: up to U+10FFFF
    a[1, 0x80:0xC0] = 0
    a[2, 0x80:0xC0] = 1
    a[3, 0x80:0xC0] = 2
    a[4, 0xA0:0xC0] = 1
    a[5, 0x80:0xA0] = 1
    a[6, 0x90:0xC0] = 2
    a[7, 0x80:0x90] = 2
    a.setflags(write=False)
    return a


TEXT_SLICE = _text_automaton()


@dataclass(frozen=True, eq=False)
class TrieSkeleton:
    """The part of a trie that a root walk skipping all of a slice's pure subtrees has to
    read: the nodes that are not pure (and the root), which form a trie of their own (a
    node's parent is not pure either), with their tokens. A walk over it reads a few
    thousand nodes laid out together, not scattered over the whole trie.

    Attributes
    ----------
    nodes : TokenTrie
        Those nodes as a trie, in the same preorder.
    pure : np.ndarray
        ``bool[s]``, the slice's flags of those nodes (only the root may be pure).
    orig : np.ndarray
        ``int32[s]``, each node's index in the whole trie (exits name trie nodes).
    """

    nodes: TokenTrie
    pure: npt.NDArray[np.bool_]
    orig: npt.NDArray[np.int32]


@dataclass(frozen=True, eq=False)
class TrieSlice:
    """The tokens a byte automaton accepts as a prefix (it never dies on their bytes).

    Attributes
    ----------
    trans : np.ndarray
        ``int32[k, 256]``, the automaton (start state 0, -1 dead).
    pure : np.ndarray
        ``bool[n]``, every token in the node's subtree (and the node's prefix) is accepted.
    short : np.ndarray
        ``int32[max_depth + 1, w]``, row ``d``: bitmask words of the accepted tokens of at
        most ``d`` bytes (words past the largest id omitted); one row, all of them, for a
        byte set's slice (:meth:`TokenTrie.byte_set_slice`).
    skeleton : TrieSkeleton or None
        What a root walk skipping every pure subtree visits; None where that is more than
        a quarter of the trie (it would save little).
    """

    trans: npt.NDArray[np.int32]
    pure: npt.NDArray[np.bool_]
    short: npt.NDArray[np.int32]
    skeleton: TrieSkeleton | None = None

    @property
    def bits(self) -> npt.NDArray[np.int32]:
        """Bitmask words of all the accepted tokens."""
        return self.short[-1]


@dataclass(frozen=True, eq=False)
class TokenTrie:
    """Byte trie of a vocabulary as flat arrays (read-only).

    Attributes
    ----------
    node_byte : np.ndarray
        ``uint8[n]``, the byte on the edge into each node (0 for the root).
    node_depth : np.ndarray
        ``int32[n]``, length of each node's prefix (0 for the root).
    node_end : np.ndarray
        ``int32[n]``, exclusive end of each node's subtree in preorder.
    node_tok_start, node_tok_end : np.ndarray
        ``int32[n]``, slice of ``tok_ids`` holding the token ids whose bytes equal the
        node's prefix (empty for inner nodes that no token ends at).
    tok_ids : np.ndarray
        ``int32[m]``, token ids grouped by node, ascending within a node.
    root_children : np.ndarray
        ``int32[k]``, indices of the depth-1 nodes in byte order.
    max_depth : int
        Length of the longest token in the trie.
    """

    node_byte: npt.NDArray[np.uint8]
    node_depth: npt.NDArray[np.int32]
    node_end: npt.NDArray[np.int32]
    node_tok_start: npt.NDArray[np.int32]
    node_tok_end: npt.NDArray[np.int32]
    tok_ids: npt.NDArray[np.int32]
    root_children: npt.NDArray[np.int32]
    max_depth: int

    @property
    def num_nodes(self) -> int:
        """Number of nodes, the root included."""
        return int(self.node_byte.shape[0])

    @classmethod
    def build(cls, token_bytes: Sequence[bytes], exclude: Collection[int] = ()) -> TokenTrie:
        """Build the trie of ``token_bytes``, leaving out ``exclude`` and empty tokens.

        Parameters
        ----------
        token_bytes
            The bytes of each token id.
        exclude
            Token ids kept out of the trie (special tokens).

        Returns
        -------
        TokenTrie
        """
        excluded = frozenset(exclude)
        ids = [i for i, b in enumerate(token_bytes) if b and i not in excluded]
        ids.sort(key=token_bytes.__getitem__)  # stable: equal strings keep ascending ids
        m = len(ids)
        tok_ids = np.asarray(ids, dtype=np.int32)
        if m == 0:
            zeros = np.zeros(1, dtype=np.int32)
            return cls._freeze(
                np.zeros(1, np.uint8), zeros, np.ones(1, np.int32), zeros, zeros.copy(), tok_ids
            )

        # Distinct strings and where each one's ids start in tok_ids.
        strings: list[bytes] = []
        group_start: list[int] = []
        prev: bytes | None = None
        for pos, i in enumerate(ids):
            b = token_bytes[i]
            if b != prev:
                strings.append(b)
                group_start.append(pos)
                prev = b
        u = len(strings)
        lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=u)
        lcp = _neighbour_lcp(strings, lengths)
        new_counts = lengths - lcp  # >= 1 because strings are distinct and sorted
        first_new = np.zeros(u, dtype=np.int64)
        np.cumsum(new_counts[:-1], out=first_new[1:])
        first_new += 1  # node 0 is the root
        n = int(first_new[-1] + new_counts[-1])

        node_byte = np.zeros(n, dtype=np.uint8)
        node_byte[1:] = np.frombuffer(
            b"".join(s[k:] for s, k in zip(strings, lcp.tolist(), strict=True)), dtype=np.uint8
        )
        node_depth = np.zeros(n, dtype=np.int32)
        node_depth[1:] = (
            np.arange(1, n, dtype=np.int64)
            - np.repeat(first_new, new_counts)
            + np.repeat(lcp + 1, new_counts)
        ).astype(np.int32)
        node_end = _subtree_ends(lcp, first_new, new_counts, node_depth)

        # The last node string j adds holds its ids; inner nodes get an empty slice at the
        # running offset so both arrays stay monotone.
        starts = np.asarray([*group_start, m], dtype=np.int64)
        count_here = np.zeros(n, dtype=np.int64)
        count_here[first_new + new_counts - 1] = starts[1:] - starts[:-1]
        tok_end = np.cumsum(count_here)
        tok_start = tok_end - count_here
        return cls._freeze(
            node_byte,
            node_depth,
            node_end,
            tok_start.astype(np.int32),
            tok_end.astype(np.int32),
            tok_ids,
        )

    @classmethod
    def _freeze(
        cls,
        node_byte: npt.NDArray[np.uint8],
        node_depth: npt.NDArray[np.int32],
        node_end: npt.NDArray[np.int32],
        tok_start: npt.NDArray[np.int32],
        tok_end: npt.NDArray[np.int32],
        tok_ids: npt.NDArray[np.int32],
    ) -> TokenTrie:
        root_children = np.flatnonzero(node_depth == 1).astype(np.int32)
        arrays = (node_byte, node_depth, node_end, tok_start, tok_end, tok_ids, root_children)
        for arr in arrays:
            arr.setflags(write=False)
        return cls(*arrays, max_depth=int(node_depth.max()))

    @cached_property
    def subtree_depth(self) -> npt.NDArray[np.int32]:
        """``int32[n]``, the length of the longest token in each node's subtree."""
        from formcast.kernels.trie_walk import subtree_depths

        depth = subtree_depths(self.node_depth, self.node_end)
        depth.setflags(write=False)
        return depth

    @cached_property
    def backslashed(self) -> npt.NDArray[np.bool_]:
        """``bool[n]``, whether each node's prefix holds a backslash (a JSON escape)."""
        marked = np.flatnonzero(self.node_byte == 0x5C)
        diff = np.zeros(self.num_nodes + 1, dtype=np.int32)
        np.add.at(diff, marked, 1)
        np.add.at(diff, self.node_end[marked], -1)
        out = np.cumsum(diff[:-1]) > 0
        out.setflags(write=False)
        return out

    def prefix(self, node: int, token_bytes: Sequence[bytes]) -> bytes:
        """The bytes on the path to ``node`` (``token_bytes``: the vocabulary it was built
        from): a prefix of the first token in its subtree."""
        first = int(self.tok_ids[self.node_tok_start[node]])
        return token_bytes[first][: int(self.node_depth[node])]

    @cached_property
    def root_bytes(self) -> npt.NDArray[np.uint8]:
        """The bytes of :attr:`root_children`, together (walks read them before any node)."""
        out = self.node_byte[self.root_children]
        out.setflags(write=False)
        return out

    @cached_property
    def text_slice(self) -> TrieSlice:
        """The plain-text tokens (:data:`TEXT_SLICE`), which trie walks can take wholesale."""
        return self.slice(TEXT_SLICE)

    def slice(self, trans: npt.NDArray[np.int32]) -> TrieSlice:
        """The tokens whose bytes the automaton ``trans`` accepts from its state 0."""
        from formcast.kernels.trie_walk import slice_alive

        alive = slice_alive(self.node_byte, self.node_depth, trans, self.max_depth)
        dead_before = np.concatenate([[0], np.cumsum(~alive)])
        pure = dead_before[self.node_end] == dead_before[: self.num_nodes]
        counts = self.node_tok_end - self.node_tok_start
        accepted = np.repeat(alive, counts)
        ids = self.tok_ids[accepted]
        n_bits = (int(self.tok_ids.max(initial=-1)) + 32) // 32 * 32
        lengths = np.repeat(self.node_depth, counts)[accepted]
        flags = np.zeros((self.max_depth + 1, n_bits), dtype=np.bool_)
        flags[lengths, ids] = True
        np.logical_or.accumulate(flags, axis=0, out=flags)
        short = np.packbits(flags, axis=1, bitorder="little").view(np.int32)
        for arr in (pure, short):
            arr.setflags(write=False)
        return TrieSlice(trans, pure, short, self._skeleton(pure))

    def _skeleton(self, pure: npt.NDArray[np.bool_]) -> TrieSkeleton | None:
        """The :class:`TrieSkeleton` of a slice's ``pure`` flags (None past a quarter of
        the trie)."""
        idx = np.flatnonzero(~pure)
        if not len(idx) or idx[0] != 0:  # the root is pure: nothing is visited
            idx = np.concatenate([[0], idx])
        if len(idx) > self.num_nodes // 4:
            return None
        ends = np.searchsorted(idx, self.node_end[idx]).astype(np.int32)
        # the nodes' tokens, copied together too
        counts = self.node_tok_end[idx] - self.node_tok_start[idx]
        tok_end = np.cumsum(counts, dtype=np.int32)
        tok_start = tok_end - counts
        picked = np.repeat(self.node_tok_start[idx] - tok_start, counts) + np.arange(
            int(counts.sum()), dtype=np.int32
        )
        nodes = TokenTrie._freeze(
            self.node_byte[idx],
            self.node_depth[idx],
            ends,
            tok_start,
            tok_end,
            self.tok_ids[picked],
        )
        kept, orig = pure[idx], idx.astype(np.int32)
        for arr in (kept, orig):
            arr.setflags(write=False)
        return TrieSkeleton(nodes, kept, orig)

    def byte_set_slice(self, byte_set: bytes) -> TrieSlice:
        """The tokens made only of the bytes in ``byte_set`` (one ``short`` row), for a walk
        from a lexer state that such bytes keep within a loop; the
        :data:`_BYTE_SET_SLICES` sets built last are kept."""
        cache = self._byte_set_slices
        with _SLICES_LOCK:
            hit = cache.get(byte_set)
        if hit is None:
            from formcast.kernels.trie_walk import byte_set_nodes

            trans = np.full((1, 256), -1, dtype=np.int32)
            trans[0, list(byte_set)] = 0
            trans.setflags(write=False)  # as TEXT_SLICE: one compiled kernel for both
            # one pass that skips dead subtrees (what :meth:`slice` finds in several)
            pure, bits = byte_set_nodes(
                self.node_byte,
                self.node_depth,
                self.node_end,
                self.node_tok_start,
                self.node_tok_end,
                self.tok_ids,
                trans[0] >= 0,
                self._all_bits,
            )
            short = bits.reshape(1, -1)
            for arr in (pure, short):
                arr.setflags(write=False)
            hit = TrieSlice(trans, pure, short, self._skeleton(pure))
            with _SLICES_LOCK:
                cache[byte_set] = hit
                while len(cache) > _BYTE_SET_SLICES:
                    cache.popitem(last=False)
        return hit

    @cached_property
    def _all_bits(self) -> npt.NDArray[np.int32]:
        """Bitmask words of every token in the trie (as in a slice's ``short`` rows)."""
        flags = np.zeros((self.tok_ids.max(initial=-1) + 32) // 32 * 32, dtype=np.bool_)
        flags[self.tok_ids] = True
        return np.packbits(flags, bitorder="little").view(np.int32)

    @cached_property
    def _byte_set_slices(self) -> OrderedDict[bytes, TrieSlice]:
        return OrderedDict()

    def find(self, data: bytes) -> int:
        """Return the node whose prefix is ``data``, or -1 if no token starts with it."""
        node = 0
        for byte in data:
            child = node + 1
            end = int(self.node_end[node])
            while child < end and self.node_byte[child] != byte:
                child = int(self.node_end[child])
            if child >= end:
                return -1
            node = child
        return node

    def tokens_at(self, node: int) -> list[int]:
        """Return the token ids whose bytes equal the prefix of ``node``."""
        return self.tok_ids[self.node_tok_start[node] : self.node_tok_end[node]].tolist()


def _neighbour_lcp(strings: list[bytes], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Longest common prefix of each sorted string with its predecessor (0 for the first)."""
    u = len(strings)
    lcp = np.zeros(u, dtype=np.int64)
    width = int(lengths.max())
    for lo in range(0, u, _LCP_CHUNK):
        # Rows lo-1 .. hi-1 so each chunk also sees the predecessor of its first string.
        base = max(lo - 1, 0)
        hi = min(lo + _LCP_CHUNK, u)
        chunk = strings[base:hi]
        # Pad with 256 (not a byte value) so padding never matches a real byte; two paddings
        # can match, which the clamp to min(length) below makes harmless.
        mat = np.full((len(chunk), width), 256, dtype=np.int16)
        flat = np.frombuffer(b"".join(chunk), dtype=np.uint8)
        lens = lengths[base:hi]
        rows = np.repeat(np.arange(len(chunk)), lens)
        cols = np.arange(flat.shape[0]) - np.repeat(np.cumsum(lens) - lens, lens)
        mat[rows, cols] = flat
        diff = mat[1:] != mat[:-1]
        first_diff = np.where(diff.any(axis=1), diff.argmax(axis=1), width)
        pair = np.minimum(first_diff, np.minimum(lens[1:], lens[:-1]))
        lcp[base + 1 : hi] = pair
    lcp[0] = 0
    return lcp


def _subtree_ends(
    lcp: npt.NDArray[np.int64],
    first_new: npt.NDArray[np.int64],
    new_counts: npt.NDArray[np.int64],
    node_depth: npt.NDArray[np.int32],
) -> npt.NDArray[np.int32]:
    """Exclusive subtree end of every node.

    A node at depth ``d`` added by string ``j`` ends where the first later string ``k`` with
    ``lcp[k] < d`` starts adding nodes. ``k`` is found for all nodes at once by binary
    lifting over a sparse table of range minima of ``lcp``, so the cost does not grow with
    the depth of the trie.
    """
    u = lcp.shape[0]
    n = node_depth.shape[0]
    # table[l][k] = min(lcp[k : k + 2**l]), padded with -1 (always a break) past the end.
    table = [np.append(lcp, -1)]
    while (1 << len(table)) <= u:
        prev, half = table[-1], 1 << (len(table) - 1)
        shifted = np.full_like(prev, -1)
        shifted[: prev.shape[0] - half] = prev[half:]
        table.append(np.minimum(prev, shifted))
    depth = node_depth[1:].astype(np.int64)
    pos = np.repeat(np.arange(1, u + 1, dtype=np.int64), new_counts)  # owner + 1
    for level in range(len(table) - 1, -1, -1):
        block = table[level]
        skip = (pos < u) & (block[np.minimum(pos, u)] >= depth)
        pos[skip] += 1 << level
    np.minimum(pos, u, out=pos)
    end = np.empty(n, dtype=np.int32)
    end[0] = n
    end[1:] = np.append(first_new, n)[pos]
    return end
