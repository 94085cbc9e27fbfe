"""The mask fast paths stay exact: the whole-mask cache and plain-text skipping in walks."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import formcast as fc
from formcast.automata.compiled import SHARED_WALKS
from formcast.kernels.trie_walk import slice_depth, walk_trie
from formcast.testing.oracle import brute_force_mask, mask_to_bool
from formcast.tokens import TokenTrie

BYTES = st.sampled_from(
    [*b'ab "\\{}:,\x01\n', 0xC3, 0xA9, 0xE0, 0x80, 0xED, 0xA0, 0xF4, 0x90, 0xFF]
)
VOCABS = st.lists(st.binary(max_size=0) | st.lists(BYTES, min_size=1, max_size=5).map(bytes))


def is_text(data: bytes) -> bool:
    """Reference: printable ASCII but quote and backslash, and UTF-8 that may stop mid-char
    (some continuation bytes make it well formed)."""
    for tail in itertools.product((b"", b"\x80", b"\x90", b"\xa0", b"\xbf"), repeat=3):
        try:
            text = (data + b"".join(tail)).decode("utf-8")
        except UnicodeDecodeError:
            continue
        return all(ord(c) > 0x7F or (0x20 <= ord(c) < 0x7F and c not in '"\\') for c in text)
    return False


def prefixes(trie: TokenTrie) -> list[bytes]:
    """Each node's prefix, rebuilt from the preorder layout."""
    out = [b""]
    for i in range(1, trie.num_nodes):
        parent = max(j for j in range(i) if trie.node_end[j] > i and trie.node_depth[j] < i + 1)
        out.append(out[parent] + bytes([trie.node_byte[i]]))
    return out


@given(VOCABS)
@example([b"\xe0\x80", b"\xed\xa0", b"\xf4\x90", b"\xc3", b"\xc3\xa9", b'a"', b"ab"])
def test_text_slice_is_its_definition(vocab: list[bytes]) -> None:
    trie = TokenTrie.build(vocab)
    text = trie.text_slice
    want = [i for i, b in enumerate(vocab) if b and is_text(b)]
    got = np.flatnonzero(np.unpackbits(text.bits.view(np.uint8), bitorder="little"))
    assert got.tolist() == want
    for depth, row in enumerate(text.short):
        got = np.flatnonzero(np.unpackbits(row.view(np.uint8), bitorder="little"))
        assert got.tolist() == [i for i in want if len(vocab[i]) <= depth]
    pre = prefixes(trie)
    for i in range(1, trie.num_nodes):
        below = [p for p in pre if p.startswith(pre[i])]
        assert bool(text.pure[i]) == all(is_text(p) for p in below), pre[i]


JSONISH = r"""
?start: value
?value: object | array | STRING | SHORT | NUMBER | "true" | "null"
array: "[" [value ("," value)*] "]"
object: "{" [pair ("," pair)*] "}"
pair: (KEY | ID) ":" value
KEY: /"([^"\\\x00-\x1f]|\\["\\\/bfnrt])*"/
ID: "\"id\""
STRING: /"([^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
SHORT: /<[^"\\\n]{0,7}\n/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
%ignore /[ \t\n\r]+/
"""


def text_vocab(seed: int) -> fc.TokenizerInfo:
    """Random text tokens, with quotes, escapes and partial UTF-8 mixed in."""
    rng = random.Random(seed)
    alphabet = ['"', "\\", "a", "b", "i", "d", " ", "{", ":", ",", "1", "é", "n", "\n", "u"]
    pieces = {"".join(rng.choices(alphabet, k=rng.randint(1, 5))).encode() for _ in range(300)}
    vocab = sorted(pieces | {b"\xc3", b"\xa9", b"\xe2\x82", b"\x80"})
    return fc.TokenizerInfo.from_vocab(
        [*vocab, b"<eos>"], eos_ids=[len(vocab)], special_ids=[len(vocab)]
    )


def _walk(trie: TokenTrie, lexer, lx: int, words: int, depth: int) -> tuple:
    """A root walk from ``lx`` skipping plain text up to ``depth`` bytes: (bits, exits)."""
    text = trie.text_slice
    bits = np.zeros(words, dtype=np.int32)
    if depth >= 0:
        bits[: text.short.shape[1]] = text.short[depth]
    n_nodes = trie.num_nodes + 1
    nodes = np.empty(n_nodes, dtype=np.int32)
    states = np.empty(n_nodes, dtype=np.int32)
    groups = np.empty(n_nodes, dtype=np.int32)
    args = (trie.node_byte, trie.node_depth, trie.node_end, trie.node_tok_start)
    n, n_groups, n_words = walk_trie(
        *args,
        trie.node_tok_end,
        trie.tok_ids,
        lexer.trans.reshape(-1),
        lexer.accepting,
        lexer.representative,
        lexer.built,
        trie.root_children,
        trie.root_bytes,
        lx,
        bits,
        nodes,
        states,
        groups,
        trie.max_depth,
        text.pure,
        trie.subtree_depth,
        depth,
    )
    assert n_words == np.count_nonzero(bits)
    cuts = groups[: n_groups + 1].tolist() if n else [0]
    assert cuts[-1] == n and len(set(states[cuts[:-1]].tolist())) == len(cuts) - 1
    for a, b in itertools.pairwise(cuts):
        assert (states[a:b] == states[a]).all()
    return bits, sorted(zip(nodes[:n].tolist(), states[:n].tolist(), strict=True))


def test_subtree_depth_is_its_definition() -> None:
    trie = text_vocab(3).trie
    for i in range(trie.num_nodes):
        assert trie.subtree_depth[i] == trie.node_depth[i : trie.node_end[i]].max()


def test_walks_that_skip_text_equal_full_walks() -> None:
    tok = text_vocab(0)
    compiled = fc.compile(fc.Grammar.from_lark(JSONISH), tok)
    m = fc.Matcher(compiled)
    for text in ('{"i"', '["x"', "[<ab"):  # build the lexer states of keys and strings
        assert m.accept_string(text)
        m.reset()
    trie = tok.trie
    lexer = compiled.automata.lexer
    words = (tok.vocab_size + 31) // 32
    depths = []
    seen, queue = np.full(16384, -1, dtype=np.int64), np.empty(2 * 4097, dtype=np.int64)
    for lx in range(lexer.n_states):
        args = (lx, trie.text_slice.trans, 4096, 99, lexer.built, seen, queue)
        depth = slice_depth(lexer.trans.reshape(-1), *args)
        assert (seen == -1).all()  # the pair set is left empty for the next call
        depths.append(depth)
        short = trie.text_slice.short[min(depth, trie.max_depth)]
        # every plain-text token of at most ``depth`` bytes keeps the lexer alive
        for t in np.flatnonzero(np.unpackbits(short.view(np.uint8), bitorder="little")):
            assert is_text(tok.token_bytes[t]) and len(tok.token_bytes[t]) <= depth
            state = lx
            for byte in tok.token_bytes[t]:
                state = lexer.trans[state, byte]
                assert state >= 0, (lx, depth, tok.token_bytes[t])
        skipped = _walk(trie, lexer, lx, words, min(depth, trie.max_depth))
        full = _walk(trie, lexer, lx, words, -1)
        assert (skipped[0] == full[0]).all(), lx
        assert skipped[1] == full[1], lx
    assert depths.count(99) >= 2  # string bodies of KEY and STRING
    assert len({d for d in depths if 0 < d < trie.max_depth}) >= 3  # inside SHORT


def walk_exact(
    compiled: fc.CompiledGrammar,
    tok: fc.TokenizerInfo,
    seed: int,
    steps: int,
    check: Callable[[fc.Matcher, np.ndarray], None] | None = None,
) -> None:
    """A fresh matcher takes up to ``steps`` random allowed tokens; every mask must equal
    the brute-force one (then ``check(matcher, mask)`` runs)."""
    rng = random.Random(seed)
    m = fc.Matcher(compiled)
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    for _ in range(steps):
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        assert (got == brute_force_mask(m)).all()
        if check is not None:
            check(m, got)
        allowed = [t for t in np.flatnonzero(got) if t not in tok.eos_ids]
        if not allowed:
            break
        assert m.accept_token(int(rng.choice(allowed)))


@pytest.mark.parametrize("limit", [1, 512])
def test_mask_cache_is_exact_across_matchers_and_eviction(limit: int) -> None:
    tok = text_vocab(1)
    options = fc.CompileOptions(max_mask_cache_entries=limit)
    compiled = fc.compile(fc.Grammar.from_lark(JSONISH), tok, options)
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)

    def refill(m: fc.Matcher, got: np.ndarray) -> None:
        assert len(compiled.mask_cache) <= limit
        bm[0] = -1  # the caller owns the row: the cached mask must not change
        m.fill_next_token_bitmask(bm)
        assert (mask_to_bool(bm[0], tok.vocab_size) == got).all()

    for seed in range(3):  # later matchers find their masks cached by trace
        walk_exact(compiled, tok, seed, 25, refill)


def test_shared_subtree_walks_stay_exact_in_another_grammar() -> None:
    """Walks after a boundary are shared by content; lexeme ids differ between grammars."""
    tok = text_vocab(2)
    first = fc.compile(fc.Grammar.from_lark(JSONISH), tok)
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    rng = random.Random(0)
    m = fc.Matcher(first)
    for _ in range(60):  # warm the shared walks through the first grammar
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        allowed = [t for t in np.flatnonzero(got) if t not in tok.eos_ids]
        if not allowed:
            m.reset()
            continue
        assert m.accept_token(int(rng.choice(allowed)))
    assert any(key[2] is not None for key in SHARED_WALKS._data)
    other = JSONISH.replace('| "null"', '| "null" | AAA') + 'AAA: "aaa"\n'
    second = fc.compile(fc.Grammar.from_lark(other), tok)
    assert second.automata.lexeme_names != first.automata.lexeme_names
    for seed in range(2):
        walk_exact(second, tok, seed, 30)


def test_masks_inside_bounded_strings_are_exact() -> None:
    """Root walks inside a bounded string skip plain text up to the remaining length."""
    tok = text_vocab(4)
    compiled = fc.compile(fc.Grammar.from_regex('"[abidnu é]{0,6}"|\\{[a1]{0,3}\\}'), tok)
    for seed in range(6):
        walk_exact(compiled, tok, seed, 12)


def test_positions_far_from_a_bound_share_one_walk() -> None:
    """Inside a long bounded string, no token tells apart the positions more than the
    trie's depth from the bound: their root walks are one shared walk (keyed by the state
    standing for them, see Lexer.walk_content), and every mask stays exact."""
    tok = text_vocab(5)
    compiled = fc.compile(fc.Grammar.from_regex('"[abidnu é]{0,90}"'), tok)
    lexer = compiled.automata.lexer
    positions = set()

    def note(m: fc.Matcher, _: np.ndarray) -> None:
        positions.add(m._lx)

    for seed in range(3):
        walk_exact(compiled, tok, seed, 30, note)
    roots = {
        key[1]
        for key in SHARED_WALKS._data
        if key[0] == tok.fingerprint() and key[2] is None and lexer.pattern(0) in key[1][0]
    }
    assert len(positions) > tok.trie.max_depth + 8
    assert len(roots) <= tok.trie.max_depth + 3


@given(
    words=st.dictionaries(st.integers(0, 199), st.integers(-(2**31), 2**31 - 1), max_size=30),
    extra=st.sampled_from([0, 7]),
)
def test_sparse_walk_results_or_like_dense_ones(words: dict[int, int], extra: int) -> None:
    # a walk result stored sparsely (few words set) ORs into a mask as the dense one does
    from formcast.automata.compiled import WalkResult

    bits = np.zeros(200, dtype=np.int32)
    for i, v in words.items():
        bits[i] = v
    n_words = int(np.count_nonzero(bits))
    packed = WalkResult.pack(bits.copy(), (), n_words)
    assert (packed.words is None) == (n_words * 8 >= len(bits))
    if packed.words is not None:
        assert packed.words.tolist() == np.flatnonzero(bits).tolist()
    base = np.full(200 + extra, 0x01010101, dtype=np.int32)
    got, want = base.copy(), base.copy()
    packed.or_into(got)
    want[:200] |= bits
    assert got.tolist() == want.tolist()


@given(VOCABS, st.sets(BYTES, min_size=1))
def test_byte_set_slice_is_its_definition(vocab: list[bytes], byte_set: set[int]) -> None:
    trie = TokenTrie.build(vocab)
    found = trie.byte_set_slice(bytes(sorted(byte_set)))
    inside = [i for i, b in enumerate(vocab) if b and set(b) <= byte_set]
    got = np.flatnonzero(np.unpackbits(found.bits.view(np.uint8), bitorder="little"))
    assert got.tolist() == inside
    pre = prefixes(trie)
    for i in range(trie.num_nodes):
        below = [p for p in pre if p.startswith(pre[i])]
        assert bool(found.pure[i]) == all(set(p) <= byte_set for p in below), pre[i]
    # the same slice as the general construction from the byte set's automaton (whose
    # last row by length holds every token)
    general = trie.slice(found.trans)
    assert found.pure.tolist() == general.pure.tolist()
    assert found.short.tolist() == general.short[-1:].tolist()
    assert (found.skeleton is None) == (general.skeleton is None)
    if found.skeleton is not None and general.skeleton is not None:
        assert found.skeleton.orig.tolist() == general.skeleton.orig.tolist()


@pytest.mark.parametrize(
    ("regex", "loops"),
    [
        ('"[a-z ]+"', True),
        ('"[a-z{:,1 ]+\\\\?"', True),
        ('"(?:[a-z ]|\\\\n)+é?"', True),
        ("[ -~]*", True),
        ('"(?:[a-p][q-z])+"', False),  # a-p lead on, but not back: no loop
    ],
)
def test_masks_in_character_class_loops_are_exact(regex: str, loops: bool) -> None:
    """Root walks from a state whose class bytes lead back to it (or on to the state they
    then stay in) take the tokens made of them wholesale; every mask stays exact, and the
    loop is found where there is one."""
    tok = text_vocab(5)
    compiled = fc.compile(fc.Grammar.from_regex(regex), tok)
    lexer = compiled.automata.lexer
    found: list[bool] = []

    def loop_found(m: fc.Matcher, _mask: np.ndarray) -> None:
        found.append(m._loop_bytes(lexer.trans.reshape(-1), lexer.built, m._lx) is not None)

    for seed in range(4):
        walk_exact(compiled, tok, seed, 10, loop_found)
    assert any(found) == loops
