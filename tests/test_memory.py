"""Dropped grammars are freed by reference counting, with no cycles left for the collector
(whose full collections would otherwise land in some later grammar's masks)."""

from __future__ import annotations

import gc
import weakref

import formcast as fc
from formcast.automata import compiled as compiled_module
from formcast.testing.oracle import byte_tokenizer

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "tags": {"type": "array", "prefixItems": [{"type": "integer"}], "maxItems": 3},
        "child": {"$ref": "#"},
    },
    "required": ["name"],
    "dependentRequired": {"tags": ["name"]},
}


def _use_and_drop(tok: fc.TokenizerInfo) -> list[weakref.ref]:
    """Lower, compile and walk into ``SCHEMA``, then drop it (caches included): weak
    references to its compiled grammar and automata."""
    compiled = fc.compile(fc.Grammar.from_json_schema(SCHEMA), tok)
    matcher = fc.Matcher(compiled)
    bitmask = fc.allocate_token_bitmask(1, tok.vocab_size)
    for byte in b'{"name": "x", "tags": [1':
        matcher.fill_next_token_bitmask(bitmask)
        assert matcher.accept_token(byte)
    compiled_module._COMPILED.clear()
    compiled_module._AUTOMATA.clear()
    return [weakref.ref(compiled), weakref.ref(compiled.automata)]


def test_a_dropped_grammar_is_freed_without_a_collection() -> None:
    tok = byte_tokenizer()
    _use_and_drop(tok)  # first uses fill process-wide caches
    gc.collect()
    gc.disable()
    try:
        refs = _use_and_drop(tok)
        assert all(ref() is None for ref in refs)
        assert gc.collect() == 0  # nothing left in a cycle, the lowering's included
    finally:
        gc.enable()
