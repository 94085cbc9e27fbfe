"""Shared by the end-to-end and stress tests: a fixed MaskBench sample and output checks."""

from __future__ import annotations

import functools
import json
import os
import pathlib
import random
import warnings

import jsonschema
import pytest

import formcast as fc
from formcast.errors import CompileLimitError, SchemaError, UnsupportedFeatureError

MASKBENCH = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "maskbench"


def sample(seed: int, size: int, max_bytes: int = 1500) -> list[pathlib.Path]:
    """A fixed random sample of small MaskBench files (empty when the data is missing)."""
    if not MASKBENCH.is_dir():
        return []
    files = sorted(p for p in MASKBENCH.glob("*.json") if p.stat().st_size < max_bytes)
    return sorted(random.Random(seed).sample(files, min(size, len(files))))


def require_data() -> None:
    """Skip without the data, except in CI, where its absence is a failure."""
    if not MASKBENCH.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"MaskBench data missing at {MASKBENCH} (CI must have it)")
        pytest.skip("MaskBench data not available")


def schema_of(path: pathlib.Path) -> object:
    return json.loads(path.read_text())["schema"]


@functools.cache
def grammar_of(path: pathlib.Path) -> fc.Grammar | None:
    """The schema's grammar, or None when formcast refuses the schema."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing may be dropped silently
            return fc.Grammar.from_json_schema(schema_of(path))
    except (UnsupportedFeatureError, SchemaError, CompileLimitError, UserWarning):
        return None


def assert_fits(
    compiled: fc.CompiledGrammar,
    schema: object,
    text: str,
    error: fc.IncompleteOutputError | None,
    where: str,
) -> None:
    """Complete output validates (jsonschema, formats checked); incomplete output is a
    prefix a fresh matcher accepts (checked on raw token bytes: a cut may split a character)."""
    if error is not None:
        data = b"".join(compiled.tokenizer.token_bytes[t] for t in error.tokens)
        assert fc.Matcher(compiled).accept_string(data), f"{where}: bad prefix {data!r}"
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        pytest.fail(f"{where}: output is not JSON ({e}): {text!r}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    errors = [e.message for e in validator.iter_errors(value)]
    assert not errors, f"{where}: output {text!r} violates the schema: {errors}"
