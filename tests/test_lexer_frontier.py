"""Long lexemes are built near where they are needed: one-lexeme states of a DFA past
``LAZY_FROM`` states exist only ``NEAR_DEPTH`` bytes ahead, the rest when a walk or a
step reaches the frontier; masks stay exact (checked against brute force)."""

from __future__ import annotations

import json
import random

import pytest

import formcast as fc
from formcast.automata import lexer as lexer_module
from formcast.automata.compiled import CompiledGrammar, GrammarAutomata
from formcast.testing.oracle import (
    brute_force_mask,
    byte_tokenizer,
    check_masks_along,
    mask_to_bool,
)


def _vocab() -> fc.TokenizerInfo:
    """Every byte, and runs of text up to 9 bytes, so that walks cross the frontier."""
    pieces = [bytes([i]) for i in range(256)]
    pieces += [b"ab" * k for k in range(1, 5)] + [b'"' + b"x" * k for k in range(1, 9)]
    pieces += [b"abc\\n", b'\\"', b"\\u00e9", "é".encode(), b'x", "', b'", "b": ', b"12345"]
    return fc.TokenizerInfo.from_vocab([*pieces, b"<eos>"], eos_ids=[len(pieces)])


def _matcher(grammar: fc.Grammar, tok: fc.TokenizerInfo) -> fc.Matcher:
    """A matcher on automata of its own (the lexer built under the current constants)."""
    return fc.Matcher(CompiledGrammar(GrammarAutomata(grammar), tok))


def test_long_string_is_built_near_and_stays_exact() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 1000}}}
    tok = _vocab()
    m = _matcher(fc.Grammar.from_json_schema(schema, whitespace="compact"), tok)
    assert m.accept_string('{"a":"')
    lexer = m.compiled.automata.lexer
    dfa_states = max(len(d.accept) for d in lexer._dfas if d is not None)
    assert dfa_states > lexer_module.LAZY_FROM
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    m.fill_next_token_bitmask(bm)
    assert lexer.n_states < dfa_states // 2 and not lexer.built.all()
    for k in range(1, 5):  # 400 characters on: the frontier moved with them
        assert m.accept_string("x" * 100)
        m.fill_next_token_bitmask(bm)
        assert (mask_to_bool(bm[0], tok.vocab_size) == brute_force_mask(m)).all(), k
    assert m.accept_string("é" * 590 + '"}') and m.can_terminate()  # 990 characters
    m.rollback(1)
    assert not m.accept_string("é" * 601 + '"}')  # 1001


@pytest.mark.parametrize("seed", range(3))
def test_masks_exact_with_a_frontier_everywhere(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Every lexeme lazy, two bytes ahead: walks and steps cross frontiers all the time."""
    monkeypatch.setattr(lexer_module, "LAZY_FROM", 0)
    monkeypatch.setattr(lexer_module, "NEAR_DEPTH", 2)
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "maxLength": 12},
            "b": {"type": "array", "items": {"type": "integer"}},
            "c": {"type": "string", "pattern": "^(ab)+$"},
        },
        "additionalProperties": {"type": "number"},
    }
    tok = _vocab()
    m = _matcher(fc.Grammar.from_json_schema(schema, whitespace="compact"), tok)
    check_masks_along(m, random.Random(seed), 60, prefer=lambda b: len(b) > 1, p_prefer=0.6)
    assert not m.compiled.automata.lexer.built.all()


def test_steps_cross_the_frontier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexer_module, "LAZY_FROM", 0)
    monkeypatch.setattr(lexer_module, "NEAR_DEPTH", 1)
    grammar = fc.Grammar.from_json_schema({"type": "array", "items": {"type": "string"}})
    m = _matcher(grammar, byte_tokenizer())
    text = json.dumps(["a long string with \\u00e9 and é", "b"])
    assert m.accept_string(text) and m.can_terminate()
    assert not _matcher(grammar, byte_tokenizer()).accept_string(text[:-1] + "}")
