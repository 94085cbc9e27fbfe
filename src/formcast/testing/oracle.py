"""Reference checks for tests: grammar acceptance of whole strings, brute-force masks."""

from __future__ import annotations

import functools

import numpy as np

from formcast.automata.compiled import compile_grammar
from formcast.grammar.ir import Grammar
from formcast.matcher import Matcher
from formcast.tokens.vocab import TokenizerInfo


@functools.lru_cache(maxsize=1)
def byte_tokenizer() -> TokenizerInfo:
    """256 single-byte tokens plus an EOS token (id 256)."""
    return TokenizerInfo.from_vocab([bytes([i]) for i in range(256)] + [b""], eos_ids=[256])


def accepts(grammar: Grammar, text: str | bytes) -> bool:
    """Whether the whole of ``text`` is a sentence of ``grammar`` (under our lexing)."""
    m = Matcher(compile_grammar(grammar, byte_tokenizer()))
    return m.accept_string(text) and m.can_terminate()


def brute_force_mask(matcher: Matcher) -> np.ndarray:
    """The allowed-token set by trying :meth:`Matcher.accept_token` on every token.

    Returns a ``bool [vocab_size]`` array. Slow; the oracle for mask tests.
    """
    vocab = matcher.compiled.tokenizer.vocab_size
    out = np.zeros(vocab, dtype=bool)
    for tid in range(vocab):
        if matcher.accept_token(tid):
            out[tid] = True
            matcher.rollback(1)
    return out


def mask_to_bool(bitmask_row: np.ndarray, vocab_size: int) -> np.ndarray:
    """Unpack one int32 bitmask row into ``bool [vocab_size]``."""
    bits = np.unpackbits(bitmask_row.view(np.uint8), bitorder="little")
    return bits[:vocab_size].astype(bool)
