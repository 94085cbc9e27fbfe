"""Stress: a random tiny model decodes under 50 MaskBench schemas; every output must fit.

A random model is the best adversary for constrained decoding: it wanders into every corner
the grammar allows. Complete outputs are checked with ``jsonschema`` (format checker on),
incomplete ones (``max_tokens`` ran out) must be a prefix a fresh matcher accepts.
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

import formcast as fc  # noqa: E402
from formcast.decoding.autoregressive import generate  # noqa: E402
from formcast.errors import CompileLimitError, SchemaError, UnsupportedFeatureError  # noqa: E402

pytestmark = pytest.mark.realvocab

MASKBENCH = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "maskbench"
MAX_FILE_BYTES = 1500
SAMPLE_SIZE = 50
MIN_COMPILED = 35
MAX_TOKENS = 64
PROMPTS = ["Reply with JSON.", "A JSON object matching the schema, please:"]


def _sample() -> list[pathlib.Path]:
    if not MASKBENCH.is_dir():
        return []
    files = sorted(p for p in MASKBENCH.glob("*.json") if p.stat().st_size < MAX_FILE_BYTES)
    return sorted(random.Random(2024).sample(files, min(SAMPLE_SIZE, len(files))))


SAMPLE = _sample()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: torch's thread pool costs more than it gains (10x on a busy 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


def _require_data() -> None:
    if not MASKBENCH.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"MaskBench data missing at {MASKBENCH} (CI must have it)")
        pytest.skip("MaskBench data not available")


def test_enough_schemas_compile():
    _require_data()
    compiled = [p.name for p in SAMPLE if _grammar(p) is not None]
    assert len(compiled) >= MIN_COMPILED, f"only {len(compiled)} of {len(SAMPLE)} compiled"


def _validator(schema):
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def check_output(compiled, schema, row_or_error, tok_info, where: str) -> None:
    """Complete output validates; incomplete output is a prefix a fresh matcher accepts."""
    error = getattr(row_or_error, "error", row_or_error)
    if isinstance(error, fc.IncompleteOutputError):
        data = b"".join(tok_info.token_bytes[t] for t in error.tokens)
        assert fc.Matcher(compiled).accept_string(data), f"{where}: bad prefix {data!r}"
        return
    text = row_or_error.text
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        pytest.fail(f"{where}: output is not JSON ({e}): {text!r}")
    errors = [e.message for e in _validator(schema).iter_errors(value)]
    assert not errors, f"{where}: output {text!r} violates the schema: {errors}"


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_random_model_output_fits_schema(tiny_model, hf_tokenizer, tok_info, path):
    g = _grammar(path)
    if g is None:
        pytest.skip("schema refused by formcast")
    schema = json.loads(path.read_text())["schema"]
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
            check_output(compiled, schema, row, tok_info, where)
