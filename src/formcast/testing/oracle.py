"""Reference checks for tests: grammar acceptance of whole strings, brute-force masks."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

import numpy as np

from formcast.automata.compiled import compile_grammar
from formcast.grammar.ir import Grammar
from formcast.kernels.bitmask import allocate_token_bitmask
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


def check_masks_along(
    matcher: Matcher,
    rng: random.Random,
    steps: int,
    prefer: Callable[[bytes], bool] | None = None,
    p_prefer: float = 0.7,
    p_reset: float = 0.0,
) -> None:
    """Compare every mask with :func:`brute_force_mask` along a random walk of ``steps``
    tokens, and assert that no mask is a dead end (some token is allowed, or the text may
    end). The next token is drawn among those ``prefer`` accepts (by their bytes) with
    probability ``p_prefer``, else among all; the walk restarts where nothing but EOS is
    allowed, and with probability ``p_reset`` at each step."""
    tok = matcher.compiled.tokenizer
    bm = allocate_token_bitmask(1, tok.vocab_size)
    for _ in range(steps):
        matcher.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        want = brute_force_mask(matcher)
        assert (got == want).all(), [tok.token_bytes[t] for t in np.flatnonzero(got != want)]
        allowed = [int(t) for t in np.flatnonzero(got) if t not in tok.eos_ids]
        assert allowed or matcher.can_terminate(), "a dead end: no token, and no end"
        if not allowed or rng.random() < p_reset:
            matcher.reset()
            continue
        liked = [t for t in allowed if prefer(tok.token_bytes[t])] if prefer else []
        matcher.accept_token(rng.choice(liked if liked and rng.random() < p_prefer else allowed))
