"""End to end with the real default model (SmolLM2-135M-Instruct): outputs fit for real.

About 20 small MaskBench schemas (a fixed seeded sample, refused ones skipped) and three
shipped Lark grammars. Complete outputs are checked by the oracles (``jsonschema`` with the
format checker, lark's Earley parser); an output cut off by ``max_tokens`` must be a prefix
a fresh matcher accepts. Sampled runs use a batch of two prompts.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
lark = pytest.importorskip("lark")

from maskbench_sample import assert_fits, grammar_of, require_data, sample, schema_of  # noqa: E402

import formcast as fc  # noqa: E402
from formcast.decoding.autoregressive import generate  # noqa: E402
from formcast.grammar.shipped import load_grammar, shipped_grammar_text  # noqa: E402

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("one_torch_thread")]

SAMPLE = sample(seed=99, size=26)
MIN_COMPILED = 15
SAMPLED = 5  # the first few compiled schemas also run with temperature 1.0
MAX_TOKENS = 96
SCHEMA_CHARS = 700
SYSTEM = "You are a precise assistant. Reply with the requested output only."


def _compiled_names() -> list[str]:
    return [p.name for p in SAMPLE if grammar_of(p) is not None]


@pytest.fixture(scope="module")
def model_and_tok():
    from formcast.models import default_model

    model, tokenizer = default_model()
    return model, tokenizer, fc.TokenizerInfo.from_huggingface(tokenizer)


def test_enough_schemas_compile():
    require_data()
    names = _compiled_names()
    assert len(names) >= MIN_COMPILED, f"only {len(names)} of {len(SAMPLE)} compiled"


def _messages(request: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]


def _schema_prompt(schema: object, variant: int = 0) -> list[dict[str, str]]:
    text = json.dumps(schema)
    if len(text) > SCHEMA_CHARS:
        text = text[:SCHEMA_CHARS] + " ..."
    asks = ("Give a JSON object matching this JSON Schema", "Fill in an example for this schema")
    return _messages(f"{asks[variant]}:\n{text}")


def _run(model_and_tok, compiled, prompt, **kwargs):
    """generate(), as a list of (text, IncompleteOutputError or None)."""
    model, tokenizer, tok = model_and_tok
    common = dict(grammar=compiled, max_tokens=MAX_TOKENS, tokenizer_info=tok)
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], list):
        rows = generate(model, tokenizer, prompt, **common, **kwargs)
        return [(r.text, r.error) for r in rows]
    try:
        return [(generate(model, tokenizer, prompt, **common, **kwargs).text, None)]
    except fc.IncompleteOutputError as e:
        return [(e.partial_text, e)]


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_model_output_fits_schema(model_and_tok, path):
    g = grammar_of(path)
    if g is None:
        pytest.skip("schema refused by formcast")
    schema = schema_of(path)
    compiled = fc.compile(g, model_and_tok[2])
    outputs = _run(model_and_tok, compiled, _schema_prompt(schema))
    if path.name in _compiled_names()[:SAMPLED]:
        batch = [_schema_prompt(schema, 0), _schema_prompt(schema, 1)]
        outputs += _run(model_and_tok, compiled, batch, temperature=1.0, seed=1234)
    for i, (text, error) in enumerate(outputs):
        assert_fits(compiled, schema, text, error, f"{path.name} run {i}")


GRAMMAR_PROMPTS = {
    "json": "Write a small JSON object describing a book.",
    "sql": "Write an SQL query selecting the names of users older than 30 from table users.",
    "arithmetic": "Write an arithmetic expression that equals 42.",
}


@pytest.mark.parametrize("name", sorted(GRAMMAR_PROMPTS))
def test_model_output_fits_shipped_grammar(model_and_tok, name):
    compiled = fc.compile(load_grammar(name), model_and_tok[2])
    parser = lark.Lark(shipped_grammar_text(name), parser="earley")
    prompt = _messages(GRAMMAR_PROMPTS[name])
    outputs = _run(model_and_tok, compiled, prompt)
    outputs += _run(model_and_tok, compiled, [prompt, prompt], temperature=1.0, seed=7)
    for text, error in outputs:
        if error is not None:
            data = b"".join(compiled.tokenizer.token_bytes[t] for t in error.tokens)
            assert fc.Matcher(compiled).accept_string(data), f"bad prefix {data!r}"
        else:
            parser.parse(text)
