"""``multipleOf`` of any step and its complement (``not``), against exact rational oracles.

Number regexes are checked with formcast's own byte DFA (lookaheads there are DFA
products; a factor prime to 10 is a residue automaton, which Python's ``re`` reads as a
superset), on drawn number texts. Schemas are checked through a
matcher against ``jsonschema``, on values whose float division is exact.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from fractions import Fraction

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.automata.compiled import CompiledGrammar, compile_grammar
from formcast.automata.regex_dfa import compile_regex
from formcast.errors import UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_numbers import (
    MultipleNotExpressible,
    intersect_numbers,
    step_pieces,
)
from formcast.matcher import Matcher
from formcast.testing.oracle import byte_tokenizer

STEPS = ["1", "2", "3", "5", "6", "8", "10", "12", "15", "16", "20", "30", "100", "1.5", "2.5"]
STEPS += ["0.25", "0.3", "0.5", "0.01", "0.0075", "0.0001", "1E+2"]
STEPS += ["7", "9", "11", "13", "14", "77", "0.7", "6.5", "0.0375", "999"]

_DIGITS = st.text("0123456789", min_size=1, max_size=6)
_INT_PART = _DIGITS.map(lambda s: s.lstrip("0") or "0")
NUMBER_TEXTS = st.builds(
    lambda sign, i, frac: sign + i + frac,
    st.sampled_from(["", "-"]),
    _INT_PART,
    st.one_of(st.just(""), _DIGITS.map(lambda s: "." + s)),
)


@functools.cache
def _regex(step: str, multiple: bool, integers_only: bool) -> str | None:
    pieces = step_pieces(Decimal(step), multiple=multiple, integers_only=integers_only)
    return None if pieces is None else intersect_numbers(pieces)


def _is_multiple(text: str, step: str) -> bool:
    return Fraction(text) % Fraction(Decimal(step)) == 0


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("integers_only", [False, True])
@given(text=NUMBER_TEXTS)
@example(text="-0")
@example(text="0.000")
@example(text="7.50")
def test_multiples_and_their_complement_are_exact(
    step: str, integers_only: bool, text: str
) -> None:
    for multiple in (True, False):
        regex = _regex(step, multiple, integers_only)
        want = _is_multiple(text, step) == multiple and not (integers_only and "." in text)
        if regex is None:
            assert not want, text
            continue
        assert compile_regex(regex).matches(text.encode()) == want, (step, multiple, text)


@pytest.mark.parametrize("step", ["1009", "32", "0.123456789"])
def test_large_residue_automata_are_refused(step: str) -> None:
    with pytest.raises(MultipleNotExpressible, match=f"multipleOf {re.escape(step)}"):
        step_pieces(Decimal(step), multiple=False, integers_only=True)


@functools.cache
def _compiled(schema_text: str) -> CompiledGrammar:
    return compile_grammar(Grammar.from_json_schema(json.loads(schema_text)), byte_tokenizer())


def _accepts(schema: dict, text: str) -> bool:
    m = Matcher(_compiled(json.dumps(schema)))
    return m.accept_string(text) and m.can_terminate()


SCHEMAS = [
    {"not": {"multipleOf": 2}},
    {"type": "integer", "not": {"multipleOf": 3}},
    {"not": {"multipleOf": 1.5}},
    {"type": "number", "multipleOf": 0.25},
    {"type": "integer", "multipleOf": 3, "minimum": 7},
    {"multipleOf": 10, "not": {"multipleOf": 20}},
    {"oneOf": [{"multipleOf": 2}, {"multipleOf": 3}]},
    {"type": "number", "not": {"multipleOf": 0.5, "minimum": 0}},
    {"type": "number", "not": {"type": "integer"}, "multipleOf": 0.5, "maximum": 4},
    {"not": {"anyOf": [{"multipleOf": 2}, {"multipleOf": 3}, {"multipleOf": 5}]}},
    {"allOf": [{"multipleOf": 2}], "not": {"not": {"multipleOf": 3}}, "minimum": -20},
    {"type": "integer", "multipleOf": 7, "not": {"multipleOf": 11}},
    {"oneOf": [{"multipleOf": 7}, {"multipleOf": 0.75}], "maximum": 150},
    {"not": {"anyOf": [{"multipleOf": 7}, {"multipleOf": 13}]}, "exclusiveMinimum": -90},
]
# quarters: float division by these steps is exact, so jsonschema is an exact oracle
_VALUES = st.one_of(
    st.integers(-200, 200),
    st.integers(-800, 800).map(lambda n: n / 4),
    st.sampled_from([None, "s", True]),
)


@pytest.mark.parametrize("schema", SCHEMAS)
@given(value=_VALUES)
@example(value=30)
@example(value=-0.0)
def test_schemas_with_steps_match_jsonschema(schema: dict, value: object) -> None:
    valid = jsonschema.validators.validator_for(schema)(schema).is_valid(value)
    # integral values are written as integers (``5``, not ``5.0``): formcast's spelling
    text = json.dumps(int(value) if isinstance(value, float) and value.is_integer() else value)
    assert _accepts(schema, text) == valid, (schema, text)


@pytest.mark.parametrize(
    ("schema", "feature", "pointer"),
    [
        ({"type": "integer", "not": {"multipleOf": 1009}}, "not", "/not"),
        ({"if": {"multipleOf": 2018}, "then": {"maximum": 5}}, "if", "/if"),
        ({"oneOf": [{"multipleOf": 1009}, {"multipleOf": 5}]}, "oneOf", "/oneOf"),
        ({"properties": {"n": {"multipleOf": 100.9}}}, "multipleOf", "/properties/n"),
    ],
)
def test_steps_without_a_regex_are_refused(schema: dict, feature: str, pointer: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        Grammar.from_json_schema(schema)
    assert (info.value.feature, info.value.where) == (feature, pointer)
