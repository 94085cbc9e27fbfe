"""Mask exactness on the three real vocabularies: fast path == brute-force oracle."""

from __future__ import annotations

import random

import numpy as np
import pytest

import formcast as fc
from formcast.grammar.shipped import load_grammar
from formcast.testing.oracle import brute_force_mask, mask_to_bool

pytestmark = pytest.mark.realvocab

GRAMMARS = {
    "json": lambda: load_grammar("json"),
    "select": lambda: fc.Grammar.from_lark(
        r"""
        start: "SELECT"i cols "FROM"i NAME ("WHERE"i cond)?
        cols: "*" | NAME ("," NAME)*
        cond: NAME OP (NAME | NUMBER | STRING)
        OP: "=" | "<" | ">" | "<=" | ">=" | "!="
        NAME: /[a-z_][a-z0-9_]*/
        NUMBER: /[0-9]+/
        STRING: /'[^']*'/
        %ignore " "
        """
    ),
    "regex": lambda: fc.Grammar.from_regex(r"(\d{3}-){2}\d{4}|[A-Z][a-z]+ é+"),
    # far from its bound, a position's root walk is shared with earlier positions'
    "bounded": lambda: fc.Grammar.from_regex(r'"[a-z0-9 _-]{1,200}"'),
}


def _states(compiled: fc.CompiledGrammar, steps: int, seed: int):
    rng = random.Random(seed)
    tok = compiled.tokenizer
    m = fc.Matcher(compiled)
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    for _ in range(steps):
        yield m
        m.fill_next_token_bitmask(bm)
        allowed = [
            int(t)
            for t in np.flatnonzero(mask_to_bool(bm[0], tok.vocab_size))
            if t not in tok.eos_ids
        ]
        if not allowed:
            m.reset()
            continue
        # prefer short tokens now and then so that walks go deep into the grammar
        assert m.accept_token(rng.choice(allowed))


@pytest.mark.parametrize("vocab", ["smollm2", "mistral-v3", "tekken"])
@pytest.mark.parametrize("grammar", sorted(GRAMMARS))
def test_mask_matches_oracle(vocab: str, grammar: str) -> None:
    from formcast.models import load_tokenizer_info

    tok = load_tokenizer_info(vocab)
    compiled = fc.compile(GRAMMARS[grammar](), tok)
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    for m in _states(compiled, 6, seed=hash((vocab, grammar)) % 1000):
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        want = brute_force_mask(m)
        diff = np.flatnonzero(got != want)
        assert not len(diff), [(int(t), tok.token_bytes[t]) for t in diff[:10]]


@pytest.mark.parametrize("vocab", ["smollm2", "tekken"])
def test_special_tokens_never_allowed_in_text(vocab: str) -> None:
    """Inside a JSON string any text is allowed, yet no special token (EOS only at the end)."""
    from formcast.models import load_tokenizer_info

    tok = load_tokenizer_info(vocab)
    m = fc.Matcher(fc.compile(load_grammar("json"), tok))
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    special = sorted(tok.special_ids)
    assert m.accept_string('["')
    m.fill_next_token_bitmask(bm)
    allowed = mask_to_bool(bm[0], tok.vocab_size)
    assert allowed.sum() > tok.vocab_size // 2  # most text tokens fit in a string
    assert not allowed[special].any()
    assert m.accept_string('"]')
    m.fill_next_token_bitmask(bm)
    allowed = mask_to_bool(bm[0], tok.vocab_size)
    assert {int(t) for t in np.flatnonzero(allowed[special])} == {
        special[i] for i, t in enumerate(special) if t in tok.eos_ids
    }


@pytest.mark.parametrize("vocab", ["smollm2", "tekken"])
def test_unique_strings_mask_matches_oracle(vocab: str) -> None:
    """`uniqueItems` over strings: a token that would repeat an item is left out, exactly."""
    from formcast.grammar.json_schema import grammar_from_json_schema
    from formcast.models import load_tokenizer_info

    tok = load_tokenizer_info(vocab)
    schema = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    m = fc.Matcher(fc.compile(grammar_from_json_schema(schema), tok))
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    ids = {b: t for t, b in enumerate(tok.token_bytes) if b in (b'a"', b'",', b'"]', b'"')}
    # the closing tokens each state bans: they would repeat "a" or "ab"
    for piece, banned in (('["a", "ab", "', {b'a"'}), ("a", {b'"', b'",', b'"]'}), ("b", {b'"'})):
        assert m.accept_string(piece)
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        want = brute_force_mask(m)
        diff = np.flatnonzero(got != want)
        assert not len(diff), [(int(t), tok.token_bytes[t]) for t in diff[:10]]
        assert {b for b, t in ids.items() if not got[t]} >= banned & ids.keys()
        assert b'a"' not in ids or got[ids[b'a"']] or piece.endswith('"')


@pytest.mark.parametrize("vocab", ["smollm2", "tekken"])
def test_skeleton_walk_equals_the_whole_trie_walk(
    vocab: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From every lexer state of a JSON grammar, a root walk over the plain-text slice's
    skeleton finds what the walk over the whole trie finds: the same tokens, and the same
    exits in the same order (renamed to trie nodes)."""
    import dataclasses
    import types

    from formcast import matcher
    from formcast.models import load_tokenizer_info

    tok = load_tokenizer_info(vocab)
    trie = tok.trie
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
        "additionalProperties": {"type": "array", "items": {"pattern": "^[a-z ]+$"}},
    }
    compiled = fc.compile(fc.Grammar.from_json_schema(schema), tok)
    for _ in _states(compiled, 40, seed=7):
        pass
    m = fc.Matcher(compiled)
    text = trie.text_slice
    skel = text.skeleton
    assert skel is not None and len(skel.orig) < trie.num_nodes // 10
    kernels = matcher._kernels()
    on_skeleton = [0]

    def counted_walk(node_byte: np.ndarray, *args: object) -> tuple[int, int, int]:
        on_skeleton[0] += node_byte is skel.nodes.node_byte
        return kernels.walk_trie(node_byte, *args)

    counted = types.SimpleNamespace(**{**vars(kernels), "walk_trie": counted_walk})
    monkeypatch.setattr(matcher, "_kernels", lambda: counted)
    without = dataclasses.replace(text, skeleton=None)
    lexer = compiled.automata.lexer
    for lx in np.flatnonzero(lexer.built):
        found = []
        for used in (text, without):
            monkeypatch.setitem(trie.__dict__, "text_slice", used)
            bits, k, g, w = m._walk_once(int(lx), None)
            exits = (m._scratch_nodes[:k], m._scratch_states[:k], m._scratch_groups[: g + 1])
            found.append((bits, (k, g, w), *(a.copy() if k > 0 else a[:0] for a in exits)))
        (b0, c0, *r0), (b1, c1, *r1) = found
        assert (b0 == b1).all(), lx
        assert c0 == c1, lx
        for x, y in zip(r0, r1, strict=True):
            assert (x == y).all(), lx
    assert on_skeleton[0] > 0  # some states walk the skeleton
