"""Stress: a random tiny model decodes under 50 MaskBench schemas; every output must fit.

A random model is the best adversary for constrained decoding: it wanders into every corner
the grammar allows. Complete outputs are checked with ``jsonschema`` (format checker on),
incomplete ones (``max_tokens`` ran out) must be a prefix a fresh matcher accepts.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from maskbench_sample import assert_fits, grammar_of, require_data, sample, schema_of

import formcast as fc
from formcast.decoding.autoregressive import generate

pytestmark = [pytest.mark.realvocab, pytest.mark.usefixtures("one_torch_thread")]

SAMPLE = sample(seed=2024, size=50)
MIN_COMPILED = 35
MAX_TOKENS = 64
PROMPTS = ["Reply with JSON.", "A JSON object matching the schema, please:"]


def test_enough_schemas_compile():
    require_data()
    compiled = [p.name for p in SAMPLE if grammar_of(p) is not None]
    assert len(compiled) >= MIN_COMPILED, f"only {len(compiled)} of {len(SAMPLE)} compiled"


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_random_model_output_fits_schema(tiny_model, hf_tokenizer, tok_info, path):
    g = grammar_of(path)
    if g is None:
        pytest.skip("schema refused by formcast")
    schema = schema_of(path)
    compiled = fc.compile(g, tok_info)
    runs = [(0.0, None), (1.0, 11), (1.0, 12)]  # greedy, then two sampling seeds
    for temperature, seed in runs:
        rows = generate(
            tiny_model,
            hf_tokenizer,
            PROMPTS,
            grammar=compiled,
            max_tokens=MAX_TOKENS,
            temperature=temperature,
            seed=seed,
            tokenizer_info=tok_info,
        )
        for i, row in enumerate(rows):
            where = f"{path.name} T={temperature} seed={seed} prompt {i}"
            assert_fits(compiled, schema, row.text, row.error, where)
