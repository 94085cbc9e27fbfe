"""Soundness by sampling: strings drawn from a JSON Schema's grammar validate with jsonschema.

Every compiled MaskBench schema of a fixed sample yields a grammar; hypothesis draws strings
of its language (:func:`formcast.testing.strategies.from_grammar`), and each must parse as
JSON and validate against the schema (``jsonschema``, formats checked where its checkers
are installed). A failure is an instance formcast would let a model write although the
schema forbids it: the worst bug we can have.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from maskbench_sample import require_data, sample, schema_of

import formcast as fc
from formcast.errors import CompileLimitError, SchemaError, UnsupportedFeatureError
from formcast.testing.strategies import from_grammar

FILES = sample(seed=77, size=24, max_bytes=4000)


def _grammar(schema: object, whitespace: str) -> fc.Grammar | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return fc.Grammar.from_json_schema(schema, whitespace=whitespace)
    except (UnsupportedFeatureError, SchemaError, CompileLimitError, UserWarning):
        return None


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_drawn_strings_validate(path: pathlib.Path) -> None:
    require_data()
    schema = schema_of(path)
    # whitespace alternates with the file so that both modes are covered
    g = _grammar(schema, "compact" if FILES.index(path) % 2 else "flexible")
    if g is None:
        pytest.skip("refused")
    try:
        strings = from_grammar(g, max_depth=8)
    except CompileLimitError:
        pytest.skip("a lexeme is over formcast's size limits")
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strings)
    def check(text: str) -> None:
        errors = list(validator.iter_errors(json.loads(text)))
        assert not errors, f"drawn string violates the schema: {text[:300]!r}: {errors[0]}"

    check()
