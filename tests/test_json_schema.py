"""JSON Schema front end: acceptance against jsonschema, refusals, whitespace, numbers."""

from __future__ import annotations

import itertools
import json
import re
import warnings
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_keysets import key_sets
from formcast.grammar.json_numbers import decimal_range, integer_range
from formcast.grammar.json_strings import complement_body
from formcast.testing.oracle import accepts

CASES: list[tuple[dict, list, list]] = [
    ({"type": "integer", "minimum": -3, "exclusiveMaximum": 12}, [-3, 0, 11], [-4, 12, 1.5, "1"]),
    ({"type": "number", "minimum": 0, "maximum": 10}, [0, 0.5, 10, 10.0], [-0.5, 10.01, 11]),
    (
        {"type": "number", "minimum": 0.25, "exclusiveMaximum": 1.5},
        [0.25, 0.3, 1, 1.49, 0.2500001],
        [0.2, 0.2499, 1.5, -1, 2],
    ),
    ({"type": "number", "exclusiveMinimum": -0.5, "maximum": 0}, [-0.4, 0, -0.0], [-0.5, 0.1]),
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
        {"patternProperties": {"^x-": {"type": "integer"}}},
        [{}, {"x-a": 1}, {"y": "s"}, {"y": 1, "x-": 2}],
        [{"x-a": "s"}, {"y": 1, "x-b": None}],
    ),
    (
        {
            "properties": {"ID": {"type": "string"}},
            "patternProperties": {"^[a-z_]+$": {"type": "integer"}, "^[0-9]+$": {"type": "null"}},
            "additionalProperties": {"type": "boolean"},
        },
        [{"ID": "x", "abc": 1, "12": None, "A": True}, {"a_b": 2}],
        [{"ID": 1}, {"abc": True}, {"12": 1}, {"A": 1}, {"abc\n": True}],
    ),
    (
        {
            "patternProperties": {".*": {"type": ["string", "integer"]}},
            "properties": {"n": {"type": "integer"}},
        },
        [{"n": 1, "s": "t"}, {}, {"s": 2}],
        [{"n": "1"}, {"s": None}],
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
    (
        {"oneOf": [{"required": ["value"]}, {"required": ["values"]}]},
        [{"value": 1}, {"values": 2, "x": 1}],
        [{"value": 1, "values": 2}, {}, 1],
    ),
    (
        {
            "type": "object",
            "oneOf": [
                {"properties": {"a": {}}, "required": ["a"], "additionalProperties": False},
                {"properties": {"b": {}}, "required": ["b"], "additionalProperties": False},
            ],
        },
        [{"a": 1}, {"b": 2}],
        [{"a": 1, "b": 2}, {}, 1],
    ),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1.5], [1, "x"]),
    ({"oneOf": [{"type": "string"}, {"enum": ["a", 1]}]}, ["b", 1], ["a", 2]),
    ({"allOf": [{"type": "integer"}, {"minimum": 2}, {"maximum": 4}]}, [2, 4], [1, 5]),
    (
        {
            "type": "object",
            "properties": {"kind": {"enum": ["a", "b"]}, "x": {}},
            "if": {"properties": {"kind": {"const": "a"}}},
            "then": {"required": ["x"]},
            "else": {"properties": {"x": {"type": "string"}}},
        },
        [{"kind": "a", "x": 1}, {"kind": "b", "x": "s"}, {"kind": "b"}, {"x": 1}],
        [{"kind": "a"}, {"kind": "b", "x": 1}, {"kind": "c"}],
    ),
    (
        {"if": {"properties": {"k": {"const": 1}}, "required": ["k"]}, "then": {"required": ["v"]}},
        [{"k": 1, "v": 2}, {"k": 2}, {}, 5],
        [{"k": 1}],
    ),
    ({"not": {"properties": {"a": {"type": "string"}}}}, [{"a": 1}], [{"a": "s"}, {}, 1]),
    ({"not": {"type": "string"}}, [1, None, []], ["s"]),
    ({"not": {"required": ["a", "b"]}}, [{}, {"a": 1}, {"b": 2, "c": 3}], [{"a": 1, "b": 2}, 1]),
    (
        {"type": "object", "properties": {"a": {}, "b": {}}, "not": {"required": ["a"]}},
        [{}, {"b": 1}],
        [{"a": 1}, {"b": 1, "a": 2}],
    ),
    (
        {"not": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}},
        [{}, {"c": 1}],
        [{"a": 1}, {"b": 1}, "s"],
    ),
    (
        {"not": {"allOf": [{"required": ["a"]}, {"required": ["b"]}]}},
        [{}, {"a": 1}],
        [{"a": 1, "b": 1}],
    ),
    ({"type": "integer", "not": {"enum": [3, 5]}}, [0, 4, 6, -1], [3, 5, 1.5]),
    ({"type": "number", "minimum": 0, "not": {"enum": [3, 5]}}, [0, 4, 1.5, 3.5], [3, 5, -1]),
    ({"not": {"const": "x"}}, ["y", "", 1, None, True, {"a": 1}], ["x"]),
    ({"type": "string", "not": {"enum": ["a", "ab"]}}, ["b", "abc", ""], ["a", "ab", 1]),
    ({"not": {"enum": [True, None]}}, [False, 1, "x"], [True, None]),
    ({"not": {"type": "object", "required": ["a"]}}, [1, None, {}, {"b": 1}], [{"a": 1}]),
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


DEPENDENCY_SCHEMAS = [
    {"properties": {"a": {}, "b": {}, "c": {}}, "dependentRequired": {"a": ["b"]}},
    {
        "properties": {"a": {}, "b": {}, "c": {}},
        "dependentRequired": {"b": ["a", "c"]},
        "additionalProperties": False,
    },
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "properties": {"a": {}},
        "dependencies": {"a": ["x"], "x": {"required": ["y"]}},
    },
    {"properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"], "b": ["a"]}},
    {"properties": {"a": {}}, "dependentRequired": {"a": ["z"]}, "additionalProperties": False},
    {"properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"]}, "maxProperties": 1},
    {"properties": {"a": {}, "b": {}, "c": {}}, "dependentSchemas": {"a": {"maxProperties": 2}}},
    {
        "properties": {"a": {}, "b": {}, "c": {}},
        "additionalProperties": False,
        "dependentSchemas": {"a": {"not": {"required": ["c"]}}, "b": {"required": ["c"]}},
    },
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "properties": {"a": {}, "x": {}},
        "dependencies": {"x": {"anyOf": [{"required": ["a"]}, {"required": ["y"]}]}},
    },
]


@pytest.mark.parametrize("schema", DEPENDENCY_SCHEMAS)
def test_dependencies_exact(schema: dict) -> None:
    """Every key set: some key order is accepted iff the object is valid."""
    g = Grammar.from_json_schema(schema)
    check = jsonschema.validators.validator_for(schema)(schema)
    for r in range(5):
        for keys in itertools.combinations(["a", "b", "c", "x", "y", "z", "q"], r):
            got = any(
                accepts(g, json.dumps(dict.fromkeys(order, 1)))
                for order in itertools.permutations(keys)
            )
            assert got == check.is_valid(dict.fromkeys(keys, 1)), keys


# -- refusals: type and pointer -----------------------------------------------------------

REFUSALS = [
    (  # "b" without "^c" would need the other side's additionalProperties: an exclusion
        {
            "allOf": [
                {"patternProperties": {"b": {"maximum": 9}}},
                {"patternProperties": {"^c": {}}, "additionalProperties": False},
            ]
        },
        "patternProperties",
        "",
    ),
    ({"uniqueItems": True, "items": {"type": "number"}}, "uniqueItems", ""),
    ({"pattern": "^(?!x)a|b"}, "pattern", "/pattern"),  # the lookahead is not leading
    ({"pattern": "a(?=b)"}, "pattern", "/pattern"),
    ({"not": {"pattern": "^(?!x)a"}}, "not", "/not/pattern"),
    ({"oneOf": [{"multipleOf": 1009}, {"multipleOf": 5}]}, "oneOf", "/oneOf"),
    (
        {"oneOf": [{"required": ["a"]}, {"additionalProperties": {"uniqueItems": True}}]},
        "oneOf",
        "/oneOf",
    ),
    ({"oneOf": [{"format": "ipv4"}, {"format": "hostname"}]}, "oneOf", "/oneOf"),
    ({"not": {"multipleOf": 1009}}, "not", "/not"),
    ({"not": {"additionalProperties": {"uniqueItems": True}}}, "not", "/not"),
    (
        {
            "allOf": [
                {"not": {"patternProperties": {f"^{c}": {"type": "integer"}}}} for c in "abcdef"
            ],
        },
        "not",
        "/allOf/0/not",
    ),
    ({"not": {"uniqueItems": True}}, "not", "/not"),
    ({"type": "string", "minLength": 2, "not": {"const": "a\ud800"}}, "not", "/not"),
    ({"if": {"multipleOf": 1009}, "then": {"maximum": 5}}, "if", "/if"),
    ({"type": "integer", "multipleOf": 1009}, "multipleOf", ""),
    ({"type": "string", "pattern": "(?=a)"}, "pattern", "/pattern"),
    ({"type": "string", "pattern": "^a(?=b)"}, "pattern", "/pattern"),
    ({"$ref": "http://example.com/x.json"}, "$ref", ""),
    (
        {"anyOf": [{"properties": {"a": True}}, True], "unevaluatedProperties": False},
        "unevaluatedProperties",
        "/unevaluatedProperties",
    ),
    (
        {
            "allOf": [{"$ref": "#/$defs/d"}],
            "unevaluatedProperties": False,
            "$defs": {"d": {"dependentSchemas": {"a": {"properties": {"b": True}}}}},
        },
        "unevaluatedProperties",
        "/unevaluatedProperties",
    ),
    ({"contains": True, "unevaluatedItems": False}, "unevaluatedItems", "/unevaluatedItems"),
    ({"contains": {"type": "null"}, "minContains": 2, "maxItems": 4}, "minContains", ""),
    (
        {"allOf": [{"contains": {"type": "null"}, "maxContains": 2}, {"contains": True}]},
        "minContains",
        "",
    ),
    (
        {
            "$defs": {"t": {"type": "array", "items": {"$ref": "#/$defs/t"}}},
            "contains": {"$ref": "#/$defs/t"},
            "maxContains": 2,
        },
        "maxContains",
        "",
    ),
    (
        {"patternProperties": {c: {"type": "integer"} for c in "abcde"}},
        "patternProperties",
        "/patternProperties",
    ),
    ({"type": "array", "prefixItems": [{}], "contains": {"type": "integer"}}, "contains", ""),
    (
        {"allOf": [{"contains": {"const": 1}}, {"contains": {"type": "string"}, "minItems": 3}]},
        "contains",
        "/allOf/0",
    ),
    ({"type": "object", "minProperties": 3}, "minProperties", ""),
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


def test_custom_format_is_an_annotation() -> None:
    schema = {"properties": {"n": {"type": "integer", "format": "int32"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an annotation is not a relaxation: no warning
        g = Grammar.from_json_schema(schema)
    assert g.notes == ("annotation only: custom format 'int32' at /properties/n/format",)
    assert accepts(g, '{"n": 12345678901}')
    assert not accepts(g, '{"n": "1"}')
    known = Grammar.from_json_schema({"type": "string", "format": "date"})
    assert not known.notes
    assert not accepts(known, '"2024-13-01"')


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
    # the intersection of two recursive definitions is their product: here every object
    # must hold "c" all the way down, so no finite object is valid (other kinds are)
    g = Grammar.from_json_schema(other)
    assert not any(accepts(g, t) for t in ["{}", '{"c": {}}', '{"c": {"c": {}}}'])
    assert accepts(g, "1")


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


@given(
    st.one_of(st.none(), st.decimals(-3, 3, places=2, allow_nan=False)),
    st.booleans(),
    st.one_of(st.none(), st.decimals(-3, 3, places=2, allow_nan=False)),
    st.booleans(),
    st.decimals(-5, 5, places=3, allow_nan=False),
)
@example(Decimal("0.25"), False, Decimal("0.25"), False, Decimal("0.250"))
@example(Decimal("-0.5"), True, None, False, Decimal("-0.5"))
def test_decimal_range_fractional_bounds(
    lo: Decimal | None, lx: bool, hi: Decimal | None, hx: bool, d: Decimal
) -> None:
    ok = (lo is None or (d > lo if lx else d >= lo)) and (hi is None or (d < hi if hx else d <= hi))
    text = format(d, "f")
    r = decimal_range(lo, lx, hi, hx)
    assert bool(r is not None and re.fullmatch(r, text)) == ok, (r, text)
    r = decimal_range(lo, lx, hi, hx, frac_only=True)
    ok = ok and d != d.to_integral_value()
    assert bool(r is not None and re.fullmatch(r, text)) == ok, (r, text)


KEY_PATTERNS = [
    ["^[a-z_]+$", "^[0-9]+$"],
    ["^x-", "^\\d+$"],
    [".+"],
    ["^\\w[\\w.:-]*$"],
    ["a", "^b$"],
    ["a", "b", "^x"],  # overlapping: one region per set of patterns
    ["^[a-z]+$", "^x"],
    ["^(?!x)[a-z]+$", "^x", "^(?=a)(?!ab)"],  # leading lookaheads
]


@pytest.mark.parametrize("patterns", KEY_PATTERNS)
@given(st.lists(st.text('abx_-.:1\n\ufeffé٣ "', max_size=3), max_size=3), st.data())
def test_key_sets_exact(patterns: list[str], words: list[str], data: st.DataObject) -> None:
    regions, rest = key_sets(patterns, words)
    key = data.draw(st.text('abx_-.:1\n\ufeffé٣ "', max_size=4))
    for text in (json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]):
        hits = [re.search(p, key) is not None for p in patterns]
        for inside, body in regions:
            if re.fullmatch(body, text):
                got = {i for i, hit in enumerate(hits) if hit}
                assert got == set(inside) and key not in words, (key, body)
        if rest is not None and re.fullmatch(rest, text):
            assert not any(hits) and key not in words, (key, rest)
    if key.isascii() and key.isprintable() and '"' not in key and key not in words:
        matched = tuple(i for i, p in enumerate(patterns) if re.search(p, key))
        if not matched:
            assert rest is not None and re.fullmatch(rest, key), key
        elif key.isalnum():  # plain keys: the dialects agree, so the key is in its region
            assert any(inside == matched and re.fullmatch(b, key) for inside, b in regions), key


@given(st.lists(st.text(max_size=4), max_size=5), st.text(max_size=5))
def test_complement_exact(words: list[str], key: str) -> None:
    body = complement_body(words)
    for text in (json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]):
        if re.fullmatch(body, text):
            assert key not in words


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"enum": [2.0]}, ["2", "2.0"], ["2.5", "20", "2.00e0"]),
        ({"const": -3}, ["-3", "-3.0"], ["3", "-3.5"]),
        ({"type": ["integer", "string"], "enum": [7.0, "x"]}, ["7", "7.0", '"x"'], ["7.1"]),
        ({"const": {"a": [1.0]}}, ['{"a": [1]}', '{"a": [1.0]}'], ['{"a": [1.5]}']),
    ],
)
def test_whole_numbers_in_enum_take_either_spelling(
    schema: dict, good: list[str], bad: list[str]
) -> None:
    """2 and 2.0 are one number in JSON Schema: an enum value matches both spellings."""
    g = Grammar.from_json_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for text in good:
        assert validator.is_valid(json.loads(text)) and accepts(g, text), text
    for text in bad:
        assert not accepts(g, text), text


FORMAT_COMPLEMENTS = [
    (
        {"if": {"properties": {"a": {"format": "date"}}}, "then": {"required": ["a"]}},
        ['{"a": "2024-01-31"}', '{"a": 1}', "3"],
        ['{"b": 1}', '{"a": "x"}'],
    ),
    ({"not": {"not": {"type": "string", "format": "date"}}}, ['"2024-01-31"'], ['"x"', "1"]),
    (
        {"not": {"properties": {"u": {"not": {"format": "date"}}}, "required": ["u"]}},
        ['{"u": "2024-01-31"}', "{}", '{"u": 1}'],
        ['{"u": "x"}', "[1]"],
    ),
]


@pytest.mark.parametrize(("schema", "good", "bad"), FORMAT_COMPLEMENTS)
def test_format_complements_stay_within_both_readings(
    schema: dict, good: list[str], bad: list[str]
) -> None:
    """A format's complement produces no string (noted); the complement of that is the
    format's strict regex again. Accepted texts are valid whether formats are annotations
    or assertions, also through double negation."""
    g = Grammar.from_json_schema(schema)
    narrowed = any(n.startswith("narrowed: strings failing format 'date'") for n in g.notes)
    assert narrowed == ("if" in schema)  # only where a complement of a format is lowered
    cls = jsonschema.Draft202012Validator
    readings = [cls(schema), cls(schema, format_checker=cls.FORMAT_CHECKER)]
    for text in good + bad:
        if accepts(g, text):
            assert all(v.is_valid(json.loads(text)) for v in readings), text
    assert all(accepts(g, t) for t in good)
    assert not any(accepts(g, t) for t in bad)
