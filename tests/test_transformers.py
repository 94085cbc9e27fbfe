"""HF LogitsProcessor: every output of ``model.generate`` fits the grammar.

A randomly initialised tiny Llama with the SmolLM2 vocabulary stands in for a real model: its
preferences are arbitrary, so only the mask keeps its output in the language.
"""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
lark = pytest.importorskip("lark")

import formcast as fc  # noqa: E402
from formcast.errors import MatcherError  # noqa: E402
from formcast.integrations.transformers import LogitsProcessor  # noqa: E402

pytestmark = pytest.mark.realvocab

NUMBERS = r"[0-9]{1,3}(,[0-9]{1,3}){0,3}"
PAIRS = r"""
start: pair | pair "," pair | pair "," pair "," pair
pair: KEY "=" VALUE
KEY: /[a-z]{1,4}/
VALUE: /[0-9]{1,3}/
"""


@pytest.fixture(scope="module")
def hf_tokenizer():
    """A left-padding copy (the loader's tokenizer is cached and shared by other tests)."""
    import copy

    from formcast.models import load_hf_tokenizer

    tok = copy.deepcopy(load_hf_tokenizer("smollm2"))
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _decode_rows(out, prompt_len, tok_info) -> list[str]:
    texts = []
    for row in out[:, prompt_len:].tolist():
        ids = [t for t in row if t not in tok_info.eos_ids]
        texts.append(b"".join(tok_info.token_bytes[t] for t in ids).decode("utf-8"))
    return texts


def _run(model, hf_tokenizer, tok_info, compiled, *, do_sample, **kwargs):
    enc = hf_tokenizer(
        ["Numbers:", "A longer prompt, so that the first row is left-padded:"],
        return_tensors="pt",
        padding=True,
    )
    assert (enc.attention_mask[0] == 0).any()  # the batch really is left-padded
    processor = LogitsProcessor(compiled)
    out = model.generate(
        **enc,
        logits_processor=[processor],
        max_new_tokens=48,
        do_sample=do_sample,
        eos_token_id=list(tok_info.eos_ids),
        pad_token_id=hf_tokenizer.pad_token_id,
        **kwargs,
    )
    new = out[:, enc.input_ids.shape[1] :].tolist()
    # generate() stops right after the last EOS, before the processor sees it: check the ids.
    assert all(any(t in tok_info.eos_ids for t in row) for row in new), "a row did not finish"
    return _decode_rows(out, enc.input_ids.shape[1], tok_info)


@pytest.mark.parametrize("do_sample", [False, True])
def test_regex_outputs_match(tiny_model, hf_tokenizer, tok_info, do_sample):
    compiled = fc.compile(fc.Grammar.from_regex(NUMBERS), tok_info)
    torch.manual_seed(1)
    for text in _run(tiny_model, hf_tokenizer, tok_info, compiled, do_sample=do_sample):
        assert re.fullmatch(NUMBERS, text), text


@pytest.mark.parametrize("do_sample", [False, True])
def test_lark_outputs_parse(tiny_model, hf_tokenizer, tok_info, do_sample):
    compiled = fc.compile(fc.Grammar.from_lark(PAIRS), tok_info)
    oracle = lark.Lark(PAIRS, parser="lalr")
    torch.manual_seed(2)
    kwargs = {"top_k": 0, "temperature": 1.5} if do_sample else {}
    for text in _run(tiny_model, hf_tokenizer, tok_info, compiled, do_sample=do_sample, **kwargs):
        oracle.parse(text)  # raises if the output is not in the language


def test_rejected_token_raises(tiny_model, hf_tokenizer, tok_info):
    """A processor after formcast's that forces a forbidden token is caught on the next step."""
    compiled = fc.compile(fc.Grammar.from_regex(NUMBERS), tok_info)
    letter = hf_tokenizer.convert_tokens_to_ids("x")

    class ForceLetter(transformers.LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores[:] = float("-inf")
            scores[:, letter] = 0.0
            return scores

    enc = hf_tokenizer(["Numbers:"], return_tensors="pt")
    with pytest.raises(MatcherError, match="does not allow"):
        tiny_model.generate(
            **enc,
            logits_processor=[LogitsProcessor(compiled), ForceLetter()],
            max_new_tokens=4,
            do_sample=False,
            pad_token_id=hf_tokenizer.pad_token_id,
        )


def test_reuse_without_reset_is_refused(tok_info):
    compiled = fc.compile(fc.Grammar.from_regex(NUMBERS), tok_info)
    processor = LogitsProcessor(compiled)
    scores = torch.zeros(1, tok_info.vocab_size)
    processor(torch.zeros(1, 5, dtype=torch.long), scores)
    with pytest.raises(MatcherError, match="reset"):
        processor(torch.zeros(1, 9, dtype=torch.long), torch.zeros(1, tok_info.vocab_size))
    processor.reset()
    processor(torch.zeros(1, 9, dtype=torch.long), torch.zeros(1, tok_info.vocab_size))


def test_mask_and_eos_only_after_termination(tok_info, hf_tokenizer):
    """Called by hand: the mask follows the grammar; a finished row allows only EOS."""
    compiled = fc.compile(fc.Grammar.from_regex("7"), tok_info)
    processor = LogitsProcessor(compiled, batch_size=1)
    seven = hf_tokenizer.convert_tokens_to_ids("7")
    eos = tok_info.eos_ids[0]
    ids = torch.zeros(1, 3, dtype=torch.long)
    scores = processor(ids, torch.zeros(1, tok_info.vocab_size))
    assert torch.isfinite(scores[0]).nonzero().flatten().tolist() == [seven]
    ids = torch.cat([ids, torch.tensor([[seven]])], dim=1)
    scores = processor(ids, torch.zeros(1, tok_info.vocab_size))
    assert torch.isfinite(scores[0]).nonzero().flatten().tolist() == [eos]
    ids = torch.cat([ids, torch.tensor([[eos]])], dim=1)
    scores = processor(ids, torch.zeros(1, tok_info.vocab_size))
    assert processor.matchers[0].is_terminated()
    assert torch.isfinite(scores[0]).nonzero().flatten().tolist() == sorted(tok_info.eos_ids)


def test_batch_size_mismatch_is_refused(tok_info):
    compiled = fc.compile(fc.Grammar.from_regex(NUMBERS), tok_info)
    processor = LogitsProcessor(compiled, batch_size=3)
    with pytest.raises(MatcherError, match="batch_size=3"):
        processor(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, tok_info.vocab_size))


def test_torch_mask_path(tiny_model, hf_tokenizer, tok_info, monkeypatch):
    """The device path (torch ops, as on CUDA) gives outputs in the language too."""
    import formcast.integrations.transformers as integration
    from formcast.kernels.apply import apply_token_bitmask_inplace_torch

    monkeypatch.setattr(
        integration, "apply_token_bitmask_inplace", apply_token_bitmask_inplace_torch
    )
    compiled = fc.compile(fc.Grammar.from_regex(NUMBERS), tok_info)
    for text in _run(tiny_model, hf_tokenizer, tok_info, compiled, do_sample=False):
        assert re.fullmatch(NUMBERS, text), text
