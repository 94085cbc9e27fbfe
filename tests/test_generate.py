"""formcast.decoding.autoregressive: own decoding loop (KV cache, forced tokens, streaming)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import formcast as fc  # noqa: E402
from formcast.decoding.autoregressive import (  # noqa: E402
    GenerationResult,
    IncompleteOutputError,
    generate,
    generate_stream,
)
from formcast.errors import FormcastError  # noqa: E402

NUMBERS = r"[0-9]{1,3}(,[0-9]{1,3}){0,3}"


def test_import_stays_light():
    code = (
        "import sys, formcast.decoding.autoregressive, formcast.kernels.apply, "
        "formcast.kernels.bitmask; "
        "print('torch' in sys.modules, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_incomplete_output_error_is_a_formcast_error():
    err = IncompleteOutputError("12", max_tokens=2, tokens=[1, 2])
    assert isinstance(err, FormcastError)
    assert err.partial_text == "12" and err.tokens == [1, 2]
    assert "max_tokens=2" in str(err)


def _stream(*args, **kwargs) -> tuple[list[str], GenerationResult]:
    stream = generate_stream(*args, **kwargs)
    chunks = []
    while True:
        try:
            chunks.append(next(stream))
        except StopIteration as stop:
            return chunks, stop.value


@pytest.mark.realvocab
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_regex_output_matches(tiny_model, hf_tokenizer, tok_info, temperature):
    result = generate(
        tiny_model,
        hf_tokenizer,
        "List some numbers.",
        regex=NUMBERS,
        temperature=temperature,
        seed=3,
        max_tokens=40,
        tokenizer_info=tok_info,
    )
    assert re.fullmatch(NUMBERS, result.text), result.text
    assert result.value == result.text
    assert b"".join(tok_info.token_bytes[t] for t in result.tokens).decode() == result.text


@pytest.mark.realvocab
def test_same_seed_same_output(tiny_model, hf_tokenizer, tok_info):
    kwargs = dict(regex=NUMBERS, temperature=1.0, max_tokens=40, tokenizer_info=tok_info)
    a = generate(tiny_model, hf_tokenizer, "Numbers:", seed=7, **kwargs)
    b = generate(tiny_model, hf_tokenizer, "Numbers:", seed=7, **kwargs)
    assert a.tokens == b.tokens


@pytest.mark.realvocab
def test_stream_chunks_concatenate_to_text(tiny_model, hf_tokenizer, tok_info):
    grammar = r"""
start: item ("," item)~1..3
item: "[" WORD "]"
WORD: /[a-zé]{1,5}/
"""
    chunks, result = _stream(
        tiny_model,
        hf_tokenizer,
        "Write words.",
        grammar=grammar,
        max_tokens=60,
        tokenizer_info=tok_info,
    )
    assert chunks and all(chunks)
    assert "".join(chunks) == result.text
    assert re.fullmatch(r"\[[a-zé]{1,5}\](,\[[a-zé]{1,5}\]){1,3}", result.text), result.text


@pytest.mark.realvocab
def test_incomplete_output(tiny_model, hf_tokenizer, tok_info):
    with pytest.raises(IncompleteOutputError) as info:
        generate(
            tiny_model,
            hf_tokenizer,
            "Forty digits please.",
            regex=r"[0-9]{40}",
            max_tokens=4,
            tokenizer_info=tok_info,
        )
    partial = info.value.partial_text
    assert len(info.value.tokens) == 4
    assert re.fullmatch(r"[0-9]{1,39}", partial), partial


@pytest.mark.realvocab
def test_forced_tokens_skip_sampling(tiny_model, hf_tokenizer, tok_info):
    """After three digits only ``;`` fits, then only EOS: no forward pass for either."""
    calls = []
    handle = tiny_model.register_forward_hook(lambda *_: calls.append(1))
    try:
        result = generate(
            tiny_model,
            hf_tokenizer,
            "Digits:",
            regex=r"[0-9]{3};",
            max_tokens=10,
            tokenizer_info=tok_info,
        )
    finally:
        handle.remove()
    assert re.fullmatch(r"[0-9]{3};", result.text)
    # one forward per sampled digit; ';' and then EOS were the only choice and needed none
    assert len(calls) == len(result.tokens) - 1


@pytest.mark.realvocab
def test_unconstrained_and_compiled_grammar(tiny_model, hf_tokenizer, tok_info):
    free = generate(tiny_model, hf_tokenizer, "Hi", max_tokens=5, tokenizer_info=tok_info)
    assert len(free.tokens) <= 5 and free.value == free.text
    compiled = fc.compile(fc.Grammar.from_regex("(yes|no)"), tok_info)
    result = generate(
        tiny_model, hf_tokenizer, "Yes or no?", grammar=compiled, chat=False, max_tokens=5
    )
    assert result.text in ("yes", "no")


def test_more_than_one_constraint_is_refused():
    with pytest.raises(ValueError, match="at most one"):
        generate(None, None, "x", regex="a", grammar="start: 'a'", tokenizer_info=object())  # type: ignore[arg-type]


def _json_schema_available() -> bool:
    try:
        fc.Grammar.from_json_schema({"type": "integer"})
    except (ImportError, NotImplementedError, AttributeError):
        return False
    return True


@pytest.mark.realvocab
@pytest.mark.skipif(not _json_schema_available(), reason="Grammar.from_json_schema not there yet")
def test_schema_value_is_parsed(tiny_model, hf_tokenizer, tok_info):
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 99}},
        "required": ["n"],
        "additionalProperties": False,
    }
    result = generate(
        tiny_model, hf_tokenizer, "JSON:", schema=schema, max_tokens=60, tokenizer_info=tok_info
    )
    assert result.value == json.loads(result.text)
    assert set(result.value) == {"n"} and 0 <= result.value["n"] <= 99


@pytest.mark.model
def test_default_model_person_record():
    """The real model fills a small schema, greedily; the value validates."""
    if not _json_schema_available():
        pytest.skip("Grammar.from_json_schema not there yet")
    import jsonschema

    from formcast.models import default_model

    model, tokenizer = default_model()
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    result = generate(
        model,
        tokenizer,
        "Give a JSON record for Ada Lovelace, aged 36.",
        schema=schema,
        max_tokens=60,
    )
    jsonschema.validate(result.value, schema)
    print(result.text)
    assert "Ada" in result.value["name"]


@pytest.mark.realvocab
def test_type_values_are_validated_instances(tiny_model, hf_tokenizer, tok_info):
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field

    class Point(BaseModel):
        model_config = ConfigDict(extra="forbid")  # else any extra key (and text) may follow
        x: int = Field(ge=0, le=9)
        y: int = Field(ge=0, le=9)

    point = generate(
        tiny_model, hf_tokenizer, "A point:", type_=Point, max_tokens=80, tokenizer_info=tok_info
    )
    assert isinstance(point.value, Point)
    assert point.value == Point.model_validate_json(point.text)

    flags = generate(
        tiny_model,
        hf_tokenizer,
        "Flags:",
        type_=Annotated[list[bool], Field(max_length=3)],
        max_tokens=80,
        tokenizer_info=tok_info,
    )
    assert isinstance(flags.value, list) and len(flags.value) <= 3
    assert flags.value == json.loads(flags.text)


@pytest.mark.realvocab
def test_torch_mask_path_inside_inference_mode(tiny_model, hf_tokenizer, tok_info, monkeypatch):
    """The device path (torch ops, as on CUDA) masks in place on inference-mode logits."""
    import formcast.decoding.autoregressive as gen
    from formcast.kernels.apply import apply_token_bitmask_inplace_torch

    monkeypatch.setattr(gen, "apply_token_bitmask_inplace", apply_token_bitmask_inplace_torch)
    result = generate(
        tiny_model, hf_tokenizer, "Numbers:", regex=NUMBERS, max_tokens=40, tokenizer_info=tok_info
    )
    assert re.fullmatch(NUMBERS, result.text), result.text


# -- batches ---------------------------------------------------------------------------------

PROMPTS = ["List some numbers.", "Numbers please; a longer prompt, so the others get padded", "x"]
WORDS = r"""
start: item ("," item)~1..3
item: "[" WORD "]"
WORD: /[a-zé]{1,5}/
"""


@pytest.mark.realvocab
@pytest.mark.parametrize("constraint", [{"regex": NUMBERS}, {"grammar": WORDS}, {}])
def test_batch_rows_equal_single_prompts(tiny_model, hf_tokenizer, tok_info, constraint):
    """Left padding, the attention mask and positions make each row decode as if alone."""
    kwargs = dict(max_tokens=30, tokenizer_info=tok_info, **constraint)
    batch = generate(tiny_model, hf_tokenizer, PROMPTS, **kwargs)
    assert isinstance(batch, list) and len(batch) == len(PROMPTS)
    for prompt, row in zip(PROMPTS, batch, strict=True):
        single = generate(tiny_model, hf_tokenizer, prompt, **kwargs)
        assert row.tokens == single.tokens
        assert row.text == single.text and row.value == single.value and row.error is None


@pytest.mark.realvocab
def test_batch_of_chat_messages_and_strings(tiny_model, hf_tokenizer, tok_info):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    batch = generate(
        tiny_model,
        hf_tokenizer,
        [messages, "Numbers:"],
        regex=NUMBERS,
        max_tokens=30,
        tokenizer_info=tok_info,
    )
    single = generate(
        tiny_model, hf_tokenizer, messages, regex=NUMBERS, max_tokens=30, tokenizer_info=tok_info
    )
    assert batch[0].tokens == single.tokens
    assert all(re.fullmatch(NUMBERS, r.text) for r in batch), [r.text for r in batch]


@pytest.mark.realvocab
def test_batch_sampling_same_seed_same_output(tiny_model, hf_tokenizer, tok_info):
    kwargs = dict(regex=NUMBERS, temperature=1.0, max_tokens=30, tokenizer_info=tok_info)
    a = generate(tiny_model, hf_tokenizer, ["Numbers:"] * 4, seed=5, **kwargs)
    b = generate(tiny_model, hf_tokenizer, ["Numbers:"] * 4, seed=5, **kwargs)
    assert [r.tokens for r in a] == [r.tokens for r in b]
    assert len({r.text for r in a}) > 1  # rows sample independently
    assert all(re.fullmatch(NUMBERS, r.text) for r in a), [r.text for r in a]


@pytest.mark.realvocab
def test_batch_incomplete_rows_carry_their_error(tiny_model, hf_tokenizer, tok_info):
    """In a batch a row that runs out of max_tokens does not raise: ``error`` says so."""
    batch = generate(
        tiny_model,
        hf_tokenizer,
        ["Forty digits please.", "Digits:"],
        regex=r"[0-9]{40}|[0-9]",
        max_tokens=4,
        tokenizer_info=tok_info,
    )
    for row in batch:
        if row.error is None:
            assert re.fullmatch(r"[0-9]|[0-9]{40}", row.text) and row.value == row.text
        else:
            assert isinstance(row.error, IncompleteOutputError)
            assert row.value is None and len(row.tokens) == 4
            assert row.error.partial_text == row.text and row.error.tokens == row.tokens
            assert re.fullmatch(r"[0-9]{2,39}", row.text), row.text
    assert any(row.error is not None for row in batch)


@pytest.mark.realvocab
def test_batch_forced_steps_skip_forward(tiny_model, hf_tokenizer, tok_info):
    """When every live row has one choice (';', then EOS) the batch needs no forward pass."""
    calls = []
    handle = tiny_model.register_forward_hook(lambda *_: calls.append(1))
    try:
        batch = generate(
            tiny_model,
            hf_tokenizer,
            ["Digits:", "Three digits, then a semicolon:"],
            regex=r"[0-9]{3};",
            max_tokens=10,
            tokenizer_info=tok_info,
        )
    finally:
        handle.remove()
    assert all(re.fullmatch(r"[0-9]{3};", r.text) for r in batch), [r.text for r in batch]
    assert len(calls) == 3  # one per sampled digit (SmolLM2 has one token per digit)


def test_batch_argument_checks():
    with pytest.raises(ValueError, match="got \\[\\]"):
        generate(None, None, [], tokenizer_info=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one prompt"):
        generate_stream(None, None, ["a", "b"], tokenizer_info=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens"):
        generate(None, None, ["a", "b"], max_tokens=0, tokenizer_info=object())  # type: ignore[arg-type]
