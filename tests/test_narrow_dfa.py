"""Long counted strings are kept *narrow* (one column per byte class): the same automaton
as the byte-wide table, read through the accessors, so that plain strings may be long."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import formcast as fc
from formcast.automata import regex_dfa
from formcast.grammar.json_strings import length_body
from formcast.testing.oracle import accepts, byte_tokenizer, check_masks_along


def _clear_caches() -> None:
    """Forget every compiled regex, piece and chain (built again on their next use)."""
    regex_dfa.compile_regex.cache_clear()
    regex_dfa._CHAINS.clear()
    regex_dfa._PIECES.clear()


def _uncached(pattern: str) -> regex_dfa.ByteDFA:
    """``compile_regex(pattern)`` built afresh (no piece or chain from the caches)."""
    _clear_caches()
    return regex_dfa.compile_regex(pattern)


@pytest.mark.parametrize(
    "pattern", ['"' + length_body(3, 150) + '"', "ab{3000}c", "(?:xy){0,1500}"]
)
def test_narrow_equals_wide(monkeypatch: pytest.MonkeyPatch, pattern: str) -> None:
    narrow = _uncached(pattern)
    assert narrow.is_narrow and narrow.n_states > regex_dfa.NARROW_FROM
    assert narrow.table.shape[1] < 64
    monkeypatch.setattr(regex_dfa, "NARROW_FROM", 10**9)
    wide = _uncached(pattern)
    assert not wide.is_narrow
    assert (narrow.trans == wide.trans).all() and (narrow.accept == wide.accept).all()
    assert narrow.nullable == wide.nullable and narrow.is_empty == wide.is_empty
    _clear_caches()  # no wide chain built under the patched NARROW_FROM is kept


def test_accessors_agree_with_trans() -> None:
    rng = random.Random(0)
    for pattern in ['"' + length_body(0, 120) + '"', "[a-f]{5}x"]:
        dfa = regex_dfa.compile_regex(pattern)
        trans = dfa.trans
        table, col = dfa.class_table()
        first = dfa.byte_classes()[1]
        assert (dfa.columns(first) == trans[:, first]).all()
        for _ in range(200):
            s, b = rng.randrange(dfa.n_states), rng.randrange(256)
            assert dfa.step(s, b) == trans[s, b] == table[s, col[b]]
        lo = rng.randrange(dfa.n_states)
        assert (dfa.rows(lo, lo + 7) == trans[lo : lo + 7]).all()


def test_plain_string_past_1000_characters_is_exact() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3000}}}
    g = fc.Grammar.from_json_schema(schema)
    assert g.notes == ()
    assert accepts(g, json.dumps({"s": "é" * 3000}))
    assert not accepts(g, json.dumps({"s": "é" * 3001}))


def test_masks_exact_on_a_narrow_string() -> None:
    """Masks against brute force through a narrow lexeme, across its frontiers."""
    pieces = [bytes([i]) for i in range(256)] + [b"ab" * k for k in range(1, 6)]
    pieces += [b'x"', b"\\u00e9", "é".encode(), b'\\"', b"abc\\n"]
    tok = fc.TokenizerInfo.from_vocab([*pieces, b"<eos>"], eos_ids=[len(pieces)])
    schema = {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 2000}}
    compiled = fc.compile(fc.Grammar.from_json_schema(schema, whitespace="compact"), tok)
    lexer = compiled.automata.lexer
    m = fc.Matcher(compiled)
    assert m.accept_string('["')
    assert any(d is not None and d.is_narrow for d in lexer._dfas)
    check_masks_along(m, random.Random(1), 60, prefer=lambda b: b.isalpha(), p_prefer=0.9)
    m.reset()
    assert m.accept_string('["' + "ab" * 999 + 'x"]') and m.can_terminate()  # 2,000
    m.reset()
    assert not m.accept_string('["' + "ab" * 1000 + 'x"]')  # 2,001


def test_narrow_limit_is_named() -> None:
    with pytest.raises(fc.CompileLimitError) as info:
        regex_dfa.compile_regex("q{150000}")
    assert info.value.limit == "max_narrow_states"
    assert np.int64(regex_dfa.MAX_NARROW_STATES) > regex_dfa.MAX_LEXEME_STATES
    assert fc.compile(fc.Grammar.from_regex("q{40000}"), byte_tokenizer()) is not None
