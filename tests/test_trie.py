"""TokenTrie: exact flat layout against a naive reference, and structural invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.tokens import TokenTrie


def reference_trie(token_bytes: list[bytes], exclude: set[int]) -> dict[str, list[int]]:
    """The layout, built the obvious way: a dict trie walked in sorted preorder."""
    root: dict = {}
    for i, b in enumerate(token_bytes):
        if not b or i in exclude:
            continue
        node = root
        for byte in b:
            node = node.setdefault(byte, {})
        node.setdefault(None, []).append(i)
    out: dict[str, list[int]] = {k: [] for k in ("byte", "depth", "end", "start", "stop", "ids")}

    def visit(node: dict, byte: int, depth: int) -> None:
        index = len(out["byte"])
        out["byte"].append(byte)
        out["depth"].append(depth)
        out["end"].append(-1)
        out["start"].append(len(out["ids"]))
        out["ids"].extend(sorted(node.get(None, [])))
        out["stop"].append(len(out["ids"]))
        for child in sorted(k for k in node if k is not None):
            visit(node[child], child, depth + 1)
        out["end"][index] = len(out["byte"])

    visit(root, 0, 0)
    return out


def check_against_reference(token_bytes: list[bytes], exclude: set[int]) -> TokenTrie:
    trie = TokenTrie.build(token_bytes, exclude=exclude)
    ref = reference_trie(token_bytes, exclude)
    assert trie.node_byte.tolist() == ref["byte"]
    assert trie.node_depth.tolist() == ref["depth"]
    assert trie.node_end.tolist() == ref["end"]
    # Token slices must agree on the ids; empty slices may sit anywhere monotone.
    for node in range(trie.num_nodes):
        assert trie.tokens_at(node) == ref["ids"][ref["start"][node] : ref["stop"][node]]
    assert trie.tok_ids.tolist() == ref["ids"]
    assert trie.root_children.tolist() == [i for i, d in enumerate(ref["depth"]) if d == 1]
    assert trie.max_depth == max(ref["depth"])
    return trie


def check_invariants(trie: TokenTrie, token_bytes: list[bytes], exclude: set[int]) -> None:
    n = trie.num_nodes
    assert trie.node_byte.dtype == np.uint8
    for arr in (trie.node_depth, trie.node_end, trie.node_tok_start, trie.node_tok_end):
        assert arr.dtype == np.int32 and arr.shape == (n,)
    assert trie.tok_ids.dtype == np.int32 and trie.root_children.dtype == np.int32
    assert trie.node_depth[0] == 0 and trie.node_end[0] == n
    for i in range(1, n):
        # Preorder: a child follows its parent one level deeper or closes back up.
        assert trie.node_depth[i] <= trie.node_depth[i - 1] + 1
        end = trie.node_end[i]
        assert i < end <= n
        # Nesting: the subtree is everything deeper until the first node at depth <= ours.
        assert (trie.node_depth[i + 1 : end] > trie.node_depth[i]).all()
        assert end == n or trie.node_depth[end] <= trie.node_depth[i]
    assert (trie.node_tok_start <= trie.node_tok_end).all()
    assert (np.diff(trie.node_tok_start) >= 0).all()
    assert trie.root_bytes.tolist() == trie.node_byte[trie.root_children].tolist()
    expected = sorted(i for i, b in enumerate(token_bytes) if b and i not in exclude)
    assert sorted(trie.tok_ids.tolist()) == expected
    for i in expected:
        node = trie.find(token_bytes[i])
        assert node > 0 and trie.node_depth[node] == len(token_bytes[i])
        assert i in trie.tokens_at(node)
        # Every id sharing these bytes sits at the same node (duplicates).
        same = [j for j in expected if token_bytes[j] == token_bytes[i]]
        assert trie.tokens_at(node) == same


vocabularies = st.lists(st.binary(min_size=0, max_size=6), min_size=0, max_size=60)
small_alphabet = st.lists(
    st.lists(st.sampled_from(b"ab\x00\xff"), max_size=5).map(bytes), max_size=40
)


@given(vocab=st.one_of(vocabularies, small_alphabet), data=st.data())
@example(vocab=[], data=None)
@example(vocab=[b""], data=None)
@example(vocab=[b"a", b"a", b"ab", b"b"], data=None)
@example(vocab=[b"abc", b"a"], data=None)  # prefix token added after its extension
def test_trie_matches_reference(vocab: list[bytes], data: st.DataObject | None) -> None:
    exclude: set[int] = set()
    if data is not None and vocab:
        exclude = data.draw(st.sets(st.integers(0, len(vocab) - 1), max_size=len(vocab) // 3))
    trie = check_against_reference(vocab, exclude)
    check_invariants(trie, vocab, exclude)


def test_empty_trie_is_root_only() -> None:
    trie = TokenTrie.build([b"", b"x"], exclude={1})
    assert trie.num_nodes == 1 and trie.node_end.tolist() == [1]
    assert trie.tok_ids.size == 0 and trie.root_children.size == 0 and trie.max_depth == 0
    assert trie.find(b"x") == -1 and trie.find(b"") == 0


def test_arrays_are_read_only() -> None:
    trie = TokenTrie.build([b"ab", b"c"])
    with pytest.raises(ValueError):
        trie.node_end[0] = 0


def test_long_and_deep_tokens() -> None:
    # A long token must not make the build cost grow with depth times vocabulary size.
    vocab = [b" " * k for k in range(1, 300)] + [bytes([i]) for i in range(256)] + [b"x" * 2000]
    trie = TokenTrie.build(vocab, exclude=())
    check_invariants(trie, vocab, set())
    assert trie.max_depth == 2000
    assert trie.tokens_at(trie.find(b" " * 299)) == [298]


def test_known_layout() -> None:
    trie = TokenTrie.build([b"b", b"ab", b"a", b"ab", b"<s>"], exclude={4})
    # Preorder over sorted bytes: root, a, ab, b.
    assert trie.node_byte.tolist() == [0, ord("a"), ord("b"), ord("b")]
    assert trie.node_depth.tolist() == [0, 1, 2, 1]
    assert trie.node_end.tolist() == [4, 3, 3, 4]
    assert trie.tok_ids.tolist() == [2, 1, 3, 0]
    assert trie.node_tok_start.tolist() == [0, 0, 1, 3]
    assert trie.node_tok_end.tolist() == [0, 1, 3, 4]
    assert trie.root_children.tolist() == [1, 3]
