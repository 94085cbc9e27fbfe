"""Hugging Face ``transformers`` integration: a logits processor that enforces a grammar.

>>> processor = LogitsProcessor(fc.compile(grammar, tok))          # doctest: +SKIP
>>> model.generate(**inputs, logits_processor=[processor])        # doctest: +SKIP

One :class:`~formcast.Matcher` per batch row. ``generate`` calls the processor once per step
with the whole sequence so far; the processor remembers the prompt length from its first call
and, from then on, feeds each row's newest token to that row's matcher. Only new tokens are
looked at, so left padding of the prompt does not matter. Works with greedy search and
sampling (custom processors run before HF's sampling warpers, so top-k/top-p see masked
scores). Beam search is refused: it reorders rows between steps.

Importing this module imports torch and transformers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import transformers

from formcast.errors import MatcherError
from formcast.kernels.apply import apply_token_bitmask_inplace
from formcast.kernels.bitmask import allocate_token_bitmask

if TYPE_CHECKING:
    from formcast.automata.compiled import CompiledGrammar
    from formcast.matcher import BatchMatcher, Matcher

__all__ = ["LogitsProcessor"]


class LogitsProcessor(transformers.LogitsProcessor):
    """Mask the scores of every token the grammar does not allow next.

    Parameters
    ----------
    compiled:
        From :func:`formcast.compile`, for the tokenizer of the model being run.
    batch_size:
        Number of rows ``generate`` will run (``batch * num_return_sequences``); optional,
        taken from the first call when ``None`` and checked against it otherwise.

    Raises
    ------
    MatcherError
        (from ``__call__``) if the model produced a token the grammar forbids (a processor
        that ran after this one changed the scores), if the batch shape changes between calls,
        or if the processor is reused for a second ``generate`` call without :meth:`reset`.

    Notes
    -----
    Once a row's matcher has accepted an end-of-sequence token only EOS tokens stay allowed,
    so ``generate`` can finish the row (it pads finished rows itself). Pass the tokenizer's EOS
    ids as ``eos_token_id`` to ``generate`` if the model's generation config names others.
    """

    supports_continuous_batching = False

    def __init__(self, compiled: CompiledGrammar, *, batch_size: int | None = None) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"expected batch_size >= 1 or None, got {batch_size}")
        self.compiled = compiled
        tok = compiled.tokenizer
        self._vocab_size = int(tok.vocab_size)
        self._eos_ids = sorted(int(e) for e in tok.eos_ids)
        if not self._eos_ids:
            raise MatcherError(
                "the tokenizer has no EOS token, so generate() could never finish a row; "
                "build the TokenizerInfo with eos_ids"
            )
        self._batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        """Forget all rows, so the processor can serve another ``generate`` call."""
        self._matchers: list[Matcher] | None = None
        self._batch_matcher: BatchMatcher | None = None
        self._seen: int | None = None  # sequence length at the previous call
        self._last: list[int] = []  # token each row accepted last (-1: none yet)
        self._bitmask: np.ndarray | None = None
        self._eos_row: np.ndarray | None = None

    @property
    def matchers(self) -> list[Matcher]:
        """The per-row matchers (after the first call)."""
        return list(self._matchers or [])

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.ndim != 2 or scores.ndim != 2 or input_ids.shape[0] != scores.shape[0]:
            raise MatcherError(
                f"expected input_ids (batch, length) and scores (batch, vocab) with the same "
                f"batch, got {tuple(input_ids.shape)} and {tuple(scores.shape)}"
            )
        batch, length = input_ids.shape
        if self._matchers is None:
            self._start(batch, length)
        else:
            self._advance(input_ids)
        assert self._matchers is not None and self._bitmask is not None  # set by _start
        bitmask = self._bitmask
        live: list[Matcher] = []
        rows: list[int] = []
        for row, matcher in enumerate(self._matchers):
            if matcher.is_terminated():
                bitmask[row] = self._eos_only()
            else:
                live.append(matcher)
                rows.append(row)
        if self._batch_matcher is not None and len(live) > 1:
            self._batch_matcher.fill_next_token_bitmask(live, bitmask, rows)
        else:
            for matcher, row in zip(live, rows, strict=True):
                matcher.fill_next_token_bitmask(bitmask, row)
        apply_token_bitmask_inplace(scores, bitmask)
        return scores

    # -- internals ----------------------------------------------------------------------

    def _start(self, batch: int, length: int) -> None:
        from formcast.matcher import BatchMatcher, Matcher

        if self._batch_size is not None and batch != self._batch_size:
            raise MatcherError(
                f"LogitsProcessor was built for batch_size={self._batch_size} but generate() "
                f"runs {batch} rows (batch * num_return_sequences * num_beams)"
            )
        self._matchers = [Matcher(self.compiled) for _ in range(batch)]
        threads = min(batch, os.cpu_count() or 1)
        # Rows' masks are filled in threads (the trie walk releases the GIL).
        self._batch_matcher = BatchMatcher(max_threads=threads) if threads > 1 else None
        self._bitmask = allocate_token_bitmask(batch, self._vocab_size)
        self._seen = length
        self._last = [-1] * batch

    def _advance(self, input_ids: torch.Tensor) -> None:
        assert self._matchers is not None and self._seen is not None
        batch, length = input_ids.shape
        if batch != len(self._matchers) or length != self._seen + 1:
            raise MatcherError(
                f"expected input_ids of shape ({len(self._matchers)}, {self._seen + 1}) after "
                f"the previous step, got {tuple(input_ids.shape)}; use a new LogitsProcessor "
                "(or call reset()) for each generate() call"
            )
        self._seen = length
        tail = input_ids[:, -2:].tolist()
        for row, (matcher, (before, token)) in enumerate(zip(self._matchers, tail, strict=True)):
            if matcher.is_terminated():
                continue  # generate() pads finished rows; those tokens are not ours to check
            if self._last[row] >= 0 and before != self._last[row]:
                raise MatcherError(
                    f"row {row} changed its history between steps (token {before} where "
                    f"{self._last[row]} was generated); beam search is not supported, "
                    "use greedy search or sampling"
                )
            if not matcher.accept_token(token):
                raise MatcherError(
                    f"row {row}: the model produced token {token} "
                    f"({_token_text(self.compiled, token)}), which the grammar does not allow "
                    "here; a logits processor that runs after formcast's changed the scores. "
                    "Pass formcast's LogitsProcessor last in logits_processor"
                )
            self._last[row] = token

    def _eos_only(self) -> np.ndarray:
        if self._eos_row is None:
            row = np.zeros(self._bitmask.shape[1] if self._bitmask is not None else 0, np.int32)
            for e in self._eos_ids:
                if e < self._vocab_size:
                    row[e >> 5] |= np.uint32(1 << (e & 31)).view(np.int32)
            self._eos_row = row
        return self._eos_row


def _token_text(compiled: Any, token: int) -> str:
    token_bytes = compiled.tokenizer.token_bytes
    if 0 <= token < len(token_bytes):
        return repr(token_bytes[token])
    return "out of the tokenizer's range"
