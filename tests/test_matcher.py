"""Matcher semantics and mask exactness against the brute-force oracle."""

from __future__ import annotations

import random

import numpy as np
import pytest

import formcast as fc
from formcast.testing.oracle import accepts, brute_force_mask, mask_to_bool

JSONISH = r"""
?start: value
?value: object | array | STRING | NUMBER | "true" | "false" | "null"
array: "[" [value ("," value)*] "]"
object: "{" [pair ("," pair)*] "}"
pair: STRING ":" value
STRING: /"([^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
%ignore /[ \t\n\r]+/
"""


def small_vocab() -> fc.TokenizerInfo:
    """A vocabulary whose tokens cross lexeme boundaries in many ways."""
    pieces = set()
    for c in '{}[],:" \n0123456789.-eEabtrufnlsx\\é':
        pieces.add(c)
    pieces |= {
        '{"',
        '":',
        '",',
        '"}',
        "},",
        "],",
        '["',
        "[]",
        "{}",
        "true",
        "false",
        "null",
        "nul",
        "tr",
        '": "',
        ", ",
        "12",
        "0.",
        ".5",
        "e+",
        "ab",
        'a"',
        '"a',
        "\\n",
        "\\u",
        "00",
        "é",
        '},{"',
        " [",
        " {",
        "1,",
        "1]",
        'é"',
    }
    vocab = sorted(p.encode() for p in pieces)
    vocab.append(b"\xc3")  # half of "é": masks must be byte-exact
    vocab.append(b"\xa9")
    return fc.TokenizerInfo.from_vocab(
        [*vocab, b"<eos>"], eos_ids=[len(vocab)], special_ids=[len(vocab)]
    )


@pytest.fixture(scope="module")
def json_compiled() -> fc.CompiledGrammar:
    return fc.compile(fc.Grammar.from_lark(JSONISH), small_vocab())


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"a": [1, 2.5e3, true, null], "b": {}}', True),
        ("[]", True),
        ("[1,]", False),
        ('{"a" 1}', False),
        ("  [ 1 ]  ", True),
        ("01", False),
        ('"\\u00e9é"', True),
        ("tru", False),
    ],
)
def test_accepts(text: str, ok: bool) -> None:
    assert accepts(fc.Grammar.from_lark(JSONISH), text) is ok


def random_walk_states(compiled: fc.CompiledGrammar, n_steps: int, seed: int):
    """Yield matchers at random reachable states, following random allowed tokens."""
    rng = random.Random(seed)
    m = fc.Matcher(compiled)
    bm = fc.allocate_token_bitmask(1, compiled.tokenizer.vocab_size)
    for _ in range(n_steps):
        yield m
        m.fill_next_token_bitmask(bm)
        allowed = np.flatnonzero(mask_to_bool(bm[0], compiled.tokenizer.vocab_size))
        allowed = [t for t in allowed if t not in compiled.tokenizer.eos_ids]
        if not allowed:
            m.reset()
            continue
        assert m.accept_token(int(rng.choice(allowed)))


@pytest.mark.parametrize("seed", range(4))
def test_mask_equals_brute_force(json_compiled: fc.CompiledGrammar, seed: int) -> None:
    bm = fc.allocate_token_bitmask(1, json_compiled.tokenizer.vocab_size)
    for m in random_walk_states(json_compiled, 40, seed):
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], json_compiled.tokenizer.vocab_size)
        want = brute_force_mask(m)
        assert (got == want).all(), np.flatnonzero(got != want)


def test_rollback_and_reset(json_compiled: fc.CompiledGrammar) -> None:
    tok = json_compiled.tokenizer
    ids = {b: i for i, b in enumerate(tok.token_bytes)}
    m = fc.Matcher(json_compiled)
    assert m.accept_token(ids[b'{"'])
    assert m.accept_token(ids[b"a"])
    assert m.accept_token(ids[b'":'])
    assert not m.accept_token(ids[b"}"])  # rejected: state unchanged
    assert m.accept_token(ids[b"1"])
    m.rollback(2)
    assert m.accept_token(ids[b'":'])
    assert m.accept_token(ids[b"null"])
    assert m.accept_token(ids[b"}"])
    assert m.can_terminate()
    assert m.accept_token(tok.eos_ids[0])
    assert m.is_terminated()
    m.reset()
    assert not m.can_terminate()


def test_eos_only_when_complete(json_compiled: fc.CompiledGrammar) -> None:
    m = fc.Matcher(json_compiled)
    eos = json_compiled.tokenizer.eos_ids[0]
    assert not m.accept_token(eos)
    assert m.accept_string("12")
    assert m.can_terminate()  # a number may end here
    assert m.accept_token(eos)


def test_forced_tokens() -> None:
    vocab = [b"a", b"b", b"c", b"ab", b"<eos>"]
    tok = fc.TokenizerInfo.from_vocab(vocab, eos_ids=[4], special_ids=[4])
    m = fc.Matcher(fc.compile(fc.Grammar.from_lark('start: "c" "c" ("a" | "b")'), tok))
    assert m.forced_tokens() == [2, 2]
    assert m.accept_token(2)
    assert m.forced_tokens() == [2]


def test_rollback_too_far_raises(json_compiled: fc.CompiledGrammar) -> None:
    m = fc.Matcher(json_compiled)
    with pytest.raises(fc.MatcherError):
        m.rollback(1)


def test_rollback_window_and_eos(json_compiled: fc.CompiledGrammar) -> None:
    # with max_rollback_tokens=2 only the last two steps can be undone; undoing EOS
    # lets the matcher go on
    eos = json_compiled.tokenizer.eos_ids[0]
    m = fc.Matcher(json_compiled, max_rollback_tokens=2)
    for text in ("[", "1", ", ", "2"):
        assert m.accept_string(text)
    with pytest.raises(fc.MatcherError):
        m.rollback(3)
    m.rollback(2)
    assert m.accept_string("]")
    assert m.accept_token(eos)
    assert m.is_terminated()
    m.rollback(1)
    assert not m.is_terminated()
    assert m.can_terminate()
    m.rollback(1)
    assert not m.can_terminate()
    assert m.accept_string(", 3]")
    assert m.can_terminate()


def test_batch_matcher_equals_single(json_compiled: fc.CompiledGrammar) -> None:
    tok = json_compiled.tokenizer
    texts = ['{"a": 1', "[tr", '"\\u00', "[1, 2], 3"[:5], '{"b": [null, {}]}']
    matchers = []
    for t in texts:
        m = fc.Matcher(json_compiled)
        assert m.accept_string(t)
        matchers.append(m)
    batch = fc.allocate_token_bitmask(len(texts), tok.vocab_size)
    fc.BatchMatcher(max_threads=2).fill_next_token_bitmask(matchers, batch)
    single = fc.allocate_token_bitmask(1, tok.vocab_size)
    for i, m in enumerate(matchers):
        m.fill_next_token_bitmask(single)
        assert (batch[i] == single[0]).all()


def test_accept_string_is_one_rollback_step(json_compiled: fc.CompiledGrammar) -> None:
    m = fc.Matcher(json_compiled)
    assert m.accept_string('{"a": ')
    assert not m.accept_string("}")  # rejected: state unchanged
    assert m.accept_string("[1]}")
    assert m.can_terminate()
    m.rollback(1)
    assert not m.can_terminate()
    assert m.accept_string("2}")
    assert m.can_terminate()


def test_walks_shared_between_grammars_stay_exact(json_compiled: fc.CompiledGrammar) -> None:
    """Root walks are shared by lexer-state content; a second grammar must stay exact."""
    for _ in random_walk_states(json_compiled, 20, seed=7):
        pass  # warm the shared cache through the first grammar
    string = JSONISH.split("STRING: ")[1].split("\n")[0]
    other = fc.Grammar.from_lark(f'start: "[" STRING (", " STRING)* "]"\nSTRING: {string}\n')
    compiled = fc.compile(other, json_compiled.tokenizer)
    bm = fc.allocate_token_bitmask(1, compiled.tokenizer.vocab_size)
    for m in random_walk_states(compiled, 30, seed=3):
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], compiled.tokenizer.vocab_size)
        assert (got == brute_force_mask(m)).all()


@pytest.mark.parametrize(
    ("grammar", "text", "ok"),
    [
        (fc.Grammar.from_lark("start: "), "", True),
        (fc.Grammar.from_regex("a{0}"), "", True),
        (fc.Grammar.from_regex("a{0}"), "a", False),
        (fc.Grammar.from_regex("a*"), "", True),
        (fc.Grammar.from_regex("a*"), "aaa", True),
        (fc.Grammar.from_regex("(ab)*"), "abab", True),
    ],
)
def test_empty_language_edges(grammar: fc.Grammar, text: str, ok: bool) -> None:
    """Nullable lexemes and grammars with no lexeme at all."""
    assert accepts(grammar, text) is ok
