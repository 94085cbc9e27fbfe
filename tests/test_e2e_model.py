"""End to end with the real default model (SmolLM2-135M-Instruct): outputs fit for real.

About 20 small MaskBench schemas (a fixed seeded sample, refused ones skipped) and three
shipped Lark grammars. Complete outputs are checked by the oracles (``jsonschema`` with the
format checker, lark's Earley parser); an output cut off by ``max_tokens`` must be a prefix
a fresh matcher accepts. Sampled runs use a batch of two prompts.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
jsonschema = pytest.importorskip("jsonschema")
lark = pytest.importorskip("lark")

import formcast as fc  # noqa: E402
from formcast.decoding.autoregressive import generate  # noqa: E402
from formcast.errors import CompileLimitError, SchemaError, UnsupportedFeatureError  # noqa: E402
from formcast.grammar.shipped import load_grammar, shipped_grammar_text  # noqa: E402

pytestmark = pytest.mark.model

MASKBENCH = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "maskbench"
MAX_FILE_BYTES = 1500
SAMPLE_SIZE = 26
MIN_COMPILED = 15
SAMPLED = 5  # the first few compiled schemas also run with temperature 1.0
MAX_TOKENS = 96
SCHEMA_CHARS = 700
SYSTEM = "You are a precise assistant. Reply with the requested output only."


def _sample() -> list[pathlib.Path]:
    if not MASKBENCH.is_dir():
        return []
    files = sorted(p for p in MASKBENCH.glob("*.json") if p.stat().st_size < MAX_FILE_BYTES)
    return sorted(random.Random(99).sample(files, min(SAMPLE_SIZE, len(files))))


SAMPLE = _sample()


@functools.cache
def _grammar(path: pathlib.Path) -> fc.Grammar | None:
    """The schema's grammar, or None when formcast refuses the schema."""
    schema = json.loads(path.read_text())["schema"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing may be dropped silently
            return fc.Grammar.from_json_schema(schema)
    except (UnsupportedFeatureError, SchemaError, CompileLimitError, UserWarning):
        return None


def _compiled_names() -> list[str]:
    return [p.name for p in SAMPLE if _grammar(p) is not None]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Single-token steps of a 135M model: on a shared 2-core box torch's spinning thread
    pool is up to 10x slower than one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_and_tok():
    from formcast.models import default_model

    model, tokenizer = default_model()
    return model, tokenizer, fc.TokenizerInfo.from_huggingface(tokenizer)


def _require_data() -> None:
    if not MASKBENCH.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"MaskBench data missing at {MASKBENCH} (CI must have it)")
        pytest.skip("MaskBench data not available")


def test_enough_schemas_compile():
    _require_data()
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


def _check_prefix(compiled, tok, error) -> None:
    data = b"".join(tok.token_bytes[t] for t in error.tokens)
    assert fc.Matcher(compiled).accept_string(data), f"not a valid prefix: {data!r}"


def _check_schema_output(schema, text: str) -> None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        pytest.fail(f"output is not JSON ({e}): {text!r}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = [
        e.message for e in cls(schema, format_checker=jsonschema.FormatChecker()).iter_errors(value)
    ]
    assert not errors, f"output {text!r} violates the schema: {errors}"


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_model_output_fits_schema(model_and_tok, path):
    g = _grammar(path)
    if g is None:
        pytest.skip("schema refused by formcast")
    schema = json.loads(path.read_text())["schema"]
    compiled = fc.compile(g, model_and_tok[2])
    outputs = _run(model_and_tok, compiled, _schema_prompt(schema))
    if path.name in _compiled_names()[:SAMPLED]:
        batch = [_schema_prompt(schema, 0), _schema_prompt(schema, 1)]
        outputs += _run(model_and_tok, compiled, batch, temperature=1.0, seed=1234)
    for text, error in outputs:
        if error is not None:
            _check_prefix(compiled, model_and_tok[2], error)
        else:
            _check_schema_output(schema, text)


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
            _check_prefix(compiled, model_and_tok[2], error)
        else:
            parser.parse(text)
