"""JSON Schema front end: acceptance against jsonschema, refusals, whitespace, numbers."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_numbers import decimal_range, integer_range
from formcast.grammar.json_strings import complement_body
from formcast.testing.oracle import accepts

CASES: list[tuple[dict, list, list]] = [
    ({"type": "integer", "minimum": -3, "exclusiveMaximum": 12}, [-3, 0, 11], [-4, 12, 1.5, "1"]),
    ({"type": "number", "minimum": 0, "maximum": 10}, [0, 0.5, 10, 10.0], [-0.5, 10.01, 11]),
    ({"type": "integer", "multipleOf": 5}, [0, 5, -10, 100], [3, 7, 1.5]),
    ({"type": "string", "minLength": 2, "maxLength": 3}, ["ab", "abc", "é\n"], ["a", "abcd"]),
    ({"type": "string", "pattern": "^[a-z]+$"}, ["abc"], ["", "aBc", "1"]),
    ({"type": "string", "pattern": "b"}, ["abc", "b"], ["ac", ""]),
    ({"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}, ["ab"], ["abcd", "A"]),
    ({"type": "string", "format": "date"}, ["2024-02-29", "2023-12-31"], ["2023-02-29", "x"]),
    ({"type": "string", "format": "ipv4"}, ["10.0.0.255"], ["256.1.1.1", "01.1.1.1"]),
    ({"type": "string", "format": "uuid"}, ["123e4567-e89b-12d3-a456-426614174000"], ["x"]),
    ({"enum": ["a", 1, None, [1, 2], {"k": "v"}]}, ["a", 1, None, [1, 2], {"k": "v"}], ["b", 2]),
    ({"const": 'x"y'}, ['x"y'], ["xy"]),
    ({"type": ["string", "null"]}, ["s", None], [1, []]),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
            "required": ["b"],
        },
        [{"b": "x"}, {"a": 1, "b": "x"}, {"b": "x", "c": [1]}],
        [{"a": 1}, {"a": "1", "b": "x"}, {"b": 1}, {"b": "x", "a": "no"}],
    ),
    (
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        [{}, {"a": 1}],
        [{"b": 1}, {"a": 1, "b": 2}],
    ),
    (
        {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 2},
        [{}, {"x": 1, "y": 2}],
        [{"x": "s"}, {"x": 1, "y": 2, "z": 3}],
    ),
    (
        {
            "type": "object",
            "properties": {"a": {}, "b": {}},
            "minProperties": 1,
            "additionalProperties": False,
        },
        [{"a": 1}, {"b": 1}, {"a": 1, "b": 2}],
        [{}],
    ),
    (
        {
            "type": "object",
            "patternProperties": {"^x-": {"type": "integer"}},
            "additionalProperties": False,
        },
        [{}, {"x-a": 1}],
        [{"x-a": "s"}, {"y": 1}],
    ),
    (
        {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        [[1], [1, 2, 3]],
        [[], [1, 2, 3, 4], ["a"]],
    ),
    (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        [[], ["a"], ["a", 1]],
        [[1], ["a", 1, 2]],
    ),
    ({"type": "array", "contains": {"const": 3}}, [[3], [1, 3, 2]], [[], [1, 2]]),
    ({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 5}]}, ["a", 5], [4, None]),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 5], [None, 1.5]),
    (
        {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"k": {"const": "a"}, "x": {"type": "integer"}},
                    "required": ["k"],
                },
                {
                    "type": "object",
                    "properties": {"k": {"const": "b"}, "x": {"type": "string"}},
                    "required": ["k"],
                },
            ]
        },
        [{"k": "a", "x": 1}, {"k": "b", "x": "s"}],
        [{"k": "a", "x": "s"}, {"k": "c"}],
    ),
    ({"allOf": [{"type": "integer"}, {"minimum": 2}, {"maximum": 4}]}, [2, 4], [1, 5]),
    ({"not": {"type": "string"}}, [1, None, []], ["s"]),
    (
        {
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/$defs/node"}},
                    "additionalProperties": False,
                }
            },
            "$ref": "#/$defs/node",
        },
        [{}, {"next": {"next": {}}}],
        [{"next": 1}],
    ),
    (
        {
            "definitions": {"a": {"type": "integer"}},
            "items": [{"$ref": "#/definitions/a"}],
            "additionalItems": False,
            "type": "array",
        },
        [[1], []],
        [["x"], [1, 2]],
    ),
    (
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "number",
            "exclusiveMinimum": True,
            "minimum": 0,
        },
        [0.5, 1],
        [0, -1],
    ),
    ({"type": "boolean", "title": "annotation", "description": "ignored"}, [True], [0]),
]


def _texts(value: object) -> list[str]:
    return [json.dumps(value), json.dumps(value, indent=2), json.dumps(value, ensure_ascii=False)]


@pytest.mark.parametrize(("schema", "valid", "invalid"), CASES)
def test_accepts_exactly(schema: dict, valid: list, invalid: list) -> None:
    if "$schema" not in schema and "items" in schema and isinstance(schema["items"], list):
        schema = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    g = Grammar.from_json_schema(schema)
    cls = jsonschema.validators.validator_for(schema)
    check = cls(schema, format_checker=cls.FORMAT_CHECKER)
    for v in valid:
        assert check.is_valid(v), v  # the case table itself is right
        for text in _texts(v):
            assert accepts(g, text), text
    for v in invalid:
        assert not check.is_valid(v), v
        for text in _texts(v):
            assert not accepts(g, text), text


def test_whitespace_modes() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array"}}}
    flex = Grammar.from_json_schema(schema, max_whitespace=4)
    compact = Grammar.from_json_schema(schema, whitespace="compact")
    assert accepts(flex, '{ "a" : [ 1 , 2 ] }')
    assert accepts(flex, '{"a":[]}')
    assert not accepts(flex, ' {"a":[]}')
    assert not accepts(flex, '{"a":[]} ')
    assert not accepts(flex, '{"a"          :[]}')  # a run of 10 > 4 around ':'
    assert accepts(compact, '{"a":[1,2]}')
    assert not accepts(compact, '{"a": [1,2]}')
    with pytest.raises(ValueError):
        Grammar.from_json_schema(schema, whitespace="loose")


def test_additional_keys_exclude_declared_names() -> None:
    g = Grammar.from_json_schema(
        {"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}}
    )
    assert accepts(g, '{"a": 1, "b": "x"}')
    assert not accepts(g, '{"b": "x", "a": "x"}')  # "a" may not sneak in as an extra key
    assert not accepts(g, '{"a": 1, "a": "x"}')


# -- refusals: type and pointer -----------------------------------------------------------

REFUSALS = [
    ({"uniqueItems": True, "items": {"type": "string"}}, "uniqueItems", ""),
    ({"properties": {"x": {"format": "color"}}}, "format 'color'", "/properties/x/format"),
    ({"oneOf": [{"type": "string"}, {"maxLength": 3}]}, "oneOf", "/oneOf"),
    ({"not": {"minimum": 3}}, "not", "/not"),
    ({"if": {"minimum": 3}, "then": {"maximum": 5}}, "if", "/if"),
    ({"type": "number", "minimum": 0.5}, "minimum", ""),
    ({"type": "integer", "multipleOf": 7}, "multipleOf", ""),
    ({"type": "string", "pattern": "(?=a)"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": "^a", "format": "date"}, "format", "/format"),
    ({"$ref": "http://example.com/x.json"}, "$ref", ""),
    ({"unevaluatedProperties": False}, "unevaluatedProperties", "/unevaluatedProperties"),
    ({"dependentRequired": {"a": ["b"]}}, "dependentRequired", "/dependentRequired"),
    ({"patternProperties": {"^a": {"type": "integer"}}}, "patternProperties", ""),
    ({"type": "array", "contains": {"type": "integer"}, "minItems": 2}, "contains", ""),
]


@pytest.mark.parametrize(("schema", "feature", "pointer"), REFUSALS)
def test_refusals(schema: dict, feature: str, pointer: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        Grammar.from_json_schema(schema)
    assert info.value.feature == feature
    assert info.value.where == (pointer or "#")
    with pytest.warns(UserWarning):
        g = Grammar.from_json_schema(schema, lenient=True)
    assert any(feature in n for n in g.notes)


def test_invalid_schema_pointer() -> None:
    with pytest.raises(SchemaError) as info:
        Grammar.from_json_schema({"properties": {"a": {"type": "nope"}}})
    assert info.value.pointer.startswith("/properties/a")
    with pytest.raises(SchemaError):
        Grammar.from_json_schema("{not json")


def test_recursive_ref_in_allof() -> None:
    same = {
        "$defs": {"t": {"properties": {"c": {"$ref": "#/$defs/t"}}}},
        "allOf": [{"$ref": "#/$defs/t"}, {"$ref": "#/$defs/t"}],
    }
    assert accepts(Grammar.from_json_schema(same), '{"c": {}}')
    other = {
        "$defs": {
            "t": {"properties": {"c": {"$ref": "#/$defs/t"}}},
            "u": {"properties": {"c": {"$ref": "#/$defs/u"}}, "required": ["c"]},
        },
        "allOf": [{"$ref": "#/$defs/t"}, {"$ref": "#/$defs/u"}],
    }
    with pytest.raises(UnsupportedFeatureError) as info:
        Grammar.from_json_schema(other)
    assert info.value.feature == "allOf"


# -- numbers and names, exhaustively on small ranges --------------------------------------


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-2000, 2000))
def test_integer_range_exact(lo: int, hi: int, n: int) -> None:
    r = integer_range(lo, hi)
    ok = lo <= n <= hi
    assert bool(r is not None and re.fullmatch(r, str(n))) == ok


@given(
    st.integers(-5, 5),
    st.booleans(),
    st.integers(-5, 5),
    st.booleans(),
    st.decimals(-20, 20, places=2, allow_nan=False),
)
def test_decimal_range_exact(lo: int, lx: bool, hi: int, hx: bool, d: Decimal) -> None:
    r = decimal_range(Decimal(lo), lx, Decimal(hi), hx)
    ok = (d > lo if lx else d >= lo) and (d < hi if hx else d <= hi)
    text = format(d, "f")
    assert bool(r is not None and re.fullmatch(r, text)) == ok


@given(st.lists(st.text(max_size=4), max_size=5), st.text(max_size=5))
def test_complement_exact(words: list[str], key: str) -> None:
    body = complement_body(words)
    for text in (json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]):
        if re.fullmatch(body, text):
            assert key not in words
