"""Composition keywords: complements (`not`, `if`), `oneOf` made disjoint, negated patterns.

Each schema is checked two ways against ``jsonschema``: fixed instances (valid ones must be
accepted, invalid ones rejected), and random small instances, where anything the grammar
accepts must be valid (property order and the regex-dialect gap may reject valid ones).
"""

from __future__ import annotations

import functools
import json

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from formcast.automata.compiled import CompiledGrammar, compile_grammar
from formcast.errors import UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.matcher import Matcher
from formcast.testing.oracle import accepts, byte_tokenizer

# (schema, valid instances, invalid instances)
CASES: list[tuple[dict, list, list]] = [
    # `contains` with counted items: one alternative per number of items before a hit
    (
        {"type": "array", "contains": {"const": 3}, "minItems": 2, "maxItems": 3},
        [[3, 1], [1, 3], [3, 3, 3], [1, 1, 3]],
        [[3], [1, 1], [3, 1, 1, 1], [], [1, 2, 4]],
    ),
    (
        {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 5}, "minItems": 3},
        [[1, 1, 5], [5, 1, 1, 1], [9, 9, 9]],
        [[5, 5], [1, 1, 1], [1, 5, "x"]],
    ),
    # a key pattern with a leading lookahead
    (
        {
            "patternProperties": {"^(?!@@)[a-z@]+$": {"type": "string"}},
            "additionalProperties": {"type": "integer"},
        },
        [{"a": "x"}, {"@@a": 1}, {"@a": "x"}, {"a-b": 1}],
        [{"a": 1}, {"@@a": "x"}, {"a-b": "x"}],
    ),
    # overlapping patternProperties: a key two patterns match meets both schemas
    (
        {"patternProperties": {"^a": {"type": "integer"}, "b": {"minimum": 3}}},
        [{"a": 1}, {"b": 5}, {"xb": "y"}, {"c": None}, {"ab": 4}, {"b": "s"}],
        [{"ab": 1}, {"ab": "x"}, {"a": "x"}, {"b": 1}, {"ab": 3.5}],
    ),
    (
        {"patternProperties": {"^a": {"type": "integer"}, "b": {"type": "string"}}},
        [{"a": 1}, {"b": "x"}, {"xb": "y"}],
        [{"ab": 1}, {"ab": "x"}, {"a": "x"}],
    ),
    # overlapping patterns on both sides of allOf, where the other side's
    # additionalProperties allows anything (and where it does not, for disjoint patterns)
    (
        {
            "allOf": [
                {"patternProperties": {"a": {"type": "number", "minimum": 10}}},
                {"patternProperties": {"b": {"minimum": 3}}, "properties": {"ab": {}}},
            ],
            "minProperties": 1,
        },
        [{"a": 10}, {"ab": 10}, {"b": 3}, {"c": "x"}, {"ba": 11, "x": None}],
        [{}, {"a": 5}, {"ab": 5}, {"b": 2}, {"ba": 4}],
    ),
    (
        {
            "allOf": [
                {"patternProperties": {"^a": {"type": "integer"}, "^b": {"maximum": 9}}},
                {"patternProperties": {"^c": {"minimum": 3}}, "additionalProperties": False},
            ],
        },
        [{}, {"c": 3}, {"cb": 40}],
        [{"a": 1}, {"c": 2}, {"b": 1}],
    ),
    # propertyNames with several string branches (here through a $ref): one key rule each
    (
        {"propertyNames": {"oneOf": [{"pattern": "^a"}, {"pattern": "x$"}]}},
        [{}, {"ab": 1}, {"bx": None}, {"ab": 1, "bx": 2}],
        [{"ax": 1}, {"b": 1}, {"ab": 1, "c": 2}],
    ),
    (
        {
            "propertyNames": {"$ref": "#/$defs/names"},
            "patternProperties": {".+": {"type": "integer"}},
            "additionalProperties": False,
            "$defs": {"names": {"oneOf": [{"pattern": "^a"}, {"pattern": "x$"}]}},
        },
        [{}, {"ab": 1}, {"bx": 2}],
        [{"ab": "s"}, {"ax": 1}, {"b": 1}],
    ),
    # allOf of two recursive definitions: their product, named once and reused
    (
        {
            "$defs": {
                "t": {"properties": {"c": {"$ref": "#/$defs/t"}}, "maxProperties": 2},
                "u": {
                    "type": "object",
                    "properties": {"c": {"$ref": "#/$defs/u"}, "d": {"type": "integer"}},
                    "additionalProperties": False,
                },
            },
            "allOf": [{"$ref": "#/$defs/t"}, {"$ref": "#/$defs/u"}],
        },
        [{}, {"c": {}}, {"c": {"c": {"d": 1}}, "d": 2}],
        [{"e": 1}, {"c": {"d": "x"}}, {"c": 1}, {"c": {"c": {"e": 0}}}, 1],
    ),
    # lookaheads right after a leading ^: parts of one intersection (negatives read widely)
    ({"type": "string", "pattern": "^(?!@@)[@a-z]+$"}, ["a", "@a", "a@@"], ["@@x", "@@", "", 1]),
    ({"pattern": "^(?=[^=]+$)(?!\\s+$)(.|\\n)+$"}, ["a", " x", "x\n", 3], ["a=b", " ", "\n", ""]),
    ({"type": "string", "pattern": "^(?=a)(?=.b)..c"}, ["abc", "abcd"], ["xbc", "ac", "abx"]),
    # `not` of bounds, lengths, counts, items, contains, dependencies
    ({"not": {"minimum": 3}}, [2, 2.5, -1], [3, 3.5, 10, "x", None]),
    ({"not": {"type": "integer", "exclusiveMaximum": 5}}, [5, 7, 4.5, "s"], [4, -2]),
    ({"not": {"maxLength": 2}}, ["abc"], ["", "ab", 1]),
    ({"not": {"minLength": 1, "maxLength": 2}}, ["", "abc"], ["a", "ab", 1]),
    (
        {"not": {"type": "array", "minItems": 2, "items": {"type": "integer"}}},
        [[], [1], [1, "a"], ["a", "b"], 5],
        [[1, 2], [1, 2, 3]],
    ),
    ({"not": {"type": "array", "contains": {"const": 1}}}, [[], [2, 3], "x"], [[1], [2, 1]]),
    (
        {"not": {"type": "array", "prefixItems": [{"type": "integer"}], "items": False}},
        [["a"], [1, 2], 3],
        [[], [1]],
    ),
    (
        {"not": {"type": "object", "minProperties": 1, "properties": {"a": {"maximum": 3}}}},
        [{}, {"a": 4}, {"a": 4, "b": 2}, 1],
        [{"a": 3}, {"b": 9}, {"a": 1, "b": 2}],
    ),
    (
        {"type": "object", "not": {"dependentRequired": {"a": ["b"]}}},
        [{"a": 1}, {"a": 1, "c": 2}],
        [{}, {"b": 1}, {"a": 1, "b": 2}],
    ),
    # "some key is bad": the complements of patternProperties, additionalProperties and
    # propertyNames need a pair the object must hold (a named member or an extra pair)
    (
        {"not": {"patternProperties": {"^b": {"type": "integer"}}}},
        [{"b": "x"}, {"a": 1, "bb": None}, {"bb": [], "c": 2}, {"é": 1, "b": 1.5}],
        [{}, {"a": "x"}, {"b": 1}, {"b": 1, "bb": 2, "c": "x"}, 3, "b"],
    ),
    (
        {
            "type": "object",
            "properties": {"b": {"type": "string"}, "x": {}},
            "not": {"patternProperties": {"^b": {"maxLength": 1}}},
        },
        [{"b": "xy"}, {"b": "x", "x": 1, "bb": "yy"}, {"bb": "abc"}, {"x": 2, "bb": "abc"}],
        [{}, {"b": "x"}, {"b": "x", "bb": 1}, {"x": "xy"}, {"b": 1}],
    ),
    (
        {"not": {"properties": {"a": {}, "b": {}}, "additionalProperties": {"type": "integer"}}},
        [{"c": "x"}, {"a": "s", "xy": None}, {"b": 1, "c": 2, "é": True}],
        [{}, {"a": "s"}, {"c": 1}, {"a": "s", "b": [], "x": 2}, None],
    ),
    (
        {
            "not": {
                "patternProperties": {"^x": {"type": "string"}},
                "additionalProperties": {"type": "integer"},
            }
        },
        [{"a": "s"}, {"x": 1}, {"xy": "s", "c": [1]}],
        [{}, {"x": "s"}, {"a": 1, "xy": "t"}, {"bb": 2}],
    ),
    (
        {"not": {"propertyNames": {"maxLength": 1}}},
        [{"bb": 1}, {"a": 1, "xy": None}],
        [{}, {"a": 1}, {"a": 1, "b": 2, "é": 3}, "bb"],
    ),
    (
        {"type": "object", "not": {"patternProperties": {"^c": True, "^a": False}}},
        [{"a": 1}, {"b": 1, "a": None}],
        [{}, {"b": 1}, {"c": 1, "x": 2}],
    ),
    (
        {"maxProperties": 2, "not": {"additionalProperties": {"type": "integer"}}},
        [{"a": "s"}, {"a": 1, "b": "s"}, {"b": "s", "a": 1}],
        [{}, {"a": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "c": "s"}],
    ),
    (
        {
            "oneOf": [
                {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
            ]
        },
        [{"a": 1}, {"a": 1, "b": 2}, {"a": "s"}, {}],
        [{"a": None}, {"b": 1}, {"a": "s", "b": 2}, 7],
    ),
    (
        {
            "oneOf": [
                {"type": "object", "required": ["b"]},
                {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "additionalProperties": False,
                },
            ]
        },
        [{"b": 1}, {"a": 1}, {}, {"b": 2, "a": 1}, {"b": 1, "c": 2}],
        [{"c": 1}, {"a": "x"}, {"a": "x", "c": 1}],
    ),
    # two "some key is bad" conditions: one pair may meet both, or two pairs one each
    (
        {
            "type": "object",
            "properties": {"a": {}},
            "not": {"patternProperties": {"^b": {"type": "integer"}}},
            "allOf": [{"not": {"additionalProperties": {"type": "string"}}}],
        },
        [
            {"b": None},
            {"bb": "s", "c": 1},
            {"a": 1, "c": 2, "b": "s"},
            {"a": 1, "x": [], "bb": 2.5},
        ],
        [{}, {"a": 1}, {"bb": "s"}, {"c": 1}, {"b": 1, "c": "s"}, {"a": 1, "b": 2, "x": "s"}],
    ),
    (
        {
            "not": {"patternProperties": {"^b": {"type": "integer"}}},
            "allOf": [{"not": {"propertyNames": {"maxLength": 1}}}],
            "maxProperties": 2,
        },
        [{"bb": "s"}, {"b": "s", "xy": 1}, {"xy": 1, "b": "s"}],
        [{}, {"b": "s"}, {"xy": 1}, {"b": "s", "xy": 1, "c": 1}, {"bb": 1}],
    ),
    # double negation: "no pair meets the condition"
    (
        {"not": {"not": {"patternProperties": {"^b": {"type": "integer"}}}}},
        [{}, {"b": 1}, {"a": "s", "bb": 2}, 3, "s"],
        [{"b": "s"}, {"a": 1, "bb": None}],
    ),
    (
        {"not": {"not": {"properties": {"a": {}}, "additionalProperties": {"type": "string"}}}},
        [{}, {"a": 1}, {"a": 1, "b": "s"}, {"c": "t"}],
        [{"b": 1}, {"a": "s", "c": None}],
    ),
    (
        {"not": {"not": {"propertyNames": {"maxLength": 1}}}},
        [{}, {"a": 1, "b": 2}, 5],
        [{"bb": 1}, {"a": 1, "xy": 2}],
    ),
    # patternProperties on one side of allOf, additionalProperties on the other: a key
    # the patterns match is "additional" for the other side
    (
        {
            "allOf": [
                {"properties": {"b": {}}, "patternProperties": {"^x": {"type": "integer"}}},
                {"properties": {"a": {}}, "additionalProperties": {"minimum": 3}},
            ]
        },
        [{}, {"b": 5, "a": "s"}, {"x": 3}, {"xy": 4, "c": 5}, {"b": "s", "c": "t"}],
        [{"x": 2}, {"xy": "s"}, {"c": 1}, {"b": 1}, {"b": 5, "x": 1.5}],
    ),
    # patternProperties on both sides of allOf (disjoint patterns, or the same one)
    (
        {
            "allOf": [
                {"patternProperties": {"^a": {"type": "integer"}, "^x": {"minimum": 2}}},
                {
                    "patternProperties": {"^b": {"type": "string"}, "^x": {"maximum": 5}},
                    "additionalProperties": {"type": ["integer", "string"]},
                },
            ]
        },
        [{}, {"a": 1}, {"b": "s"}, {"x": 3, "c": "t"}, {"bb": "s", "xy": 5}],
        [{"a": "s"}, {"b": 1}, {"x": 1}, {"x": 6}, {"c": None}, {"a": 1.5}],
    ),
    # propertyNames with patternProperties: extra keys meet both
    (
        {
            "propertyNames": {"maxLength": 1},
            "patternProperties": {"^x": {"type": "integer"}},
            "additionalProperties": {"type": "string"},
        },
        [{}, {"x": 1}, {"a": "s", "x": 2}, {"c": "t"}],
        [{"xy": 1}, {"x": "s"}, {"a": 1}, {"bb": "s"}],
    ),
    # patternProperties too large for state elimination: lookaheads instead
    (
        {
            "properties": {"i d": {"type": "integer"}},
            "patternProperties": {"^[0-9a-z_-]{1,40}$": {"type": "string", "maxLength": 5}},
            "additionalProperties": {"type": "boolean"},
        },
        [{"i d": 1, "ab": "x"}, {"a b": True}, {"a" * 41: True}, {"é": False}],
        [{"ab": 1}, {"a b": "x"}, {"a" * 40: True}, {"i d": "x"}],
    ),
    # dependent subschemas: (name absent) or (name present and the subschema)
    (
        {"dependentSchemas": {"a": {"properties": {"b": {"type": "integer"}}, "required": ["b"]}}},
        [{}, {"b": "s"}, {"a": 1, "b": 2}, 1],
        [{"a": 1}, {"a": 1, "b": "s"}],
    ),
    (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"type": {}, "a": {}},
            "dependencies": {"a": {"properties": {"type": {"enum": ["x"]}}}},
        },
        [{"type": "y"}, {"a": 1}, {"type": "x", "a": 1}],
        [{"type": "y", "a": 1}],
    ),
    # `not` of object and fraction values: another kind, a name missing, a value
    # different, or one name more; numbers between the excluded fractions
    (
        {"not": {"enum": [{"a": False}, 1.5]}},
        [{}, {"a": True}, {"a": False, "b": 1}, {"b": 1}, 1.25, 1.75, 2, "x", None],
        [{"a": False}, 1.5],
    ),
    (
        {"not": {"const": [{"foo": "bar", "n": -0.5}]}},
        # (a value that differs comes first: declared names precede the others)
        [[], [{"foo": "bar"}], [{"n": -0.25, "foo": "bar"}], [{"foo": "bar", "n": -0.5, "x": 1}]],
        [[{"foo": "bar", "n": -0.5}]],
    ),
    # `uniqueItems` over listed values: one rule per set of values used
    (
        {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": ["a", "b", 1, None]},
            "minItems": 1,
        },
        [["a"], ["b", "a"], [1, None, "a"]],
        [[], ["a", "a"], [1, 1.0], [2], [None, "b", None]],
    ),
    (
        {"uniqueItems": True, "items": {"type": "boolean"}, "maxItems": 3},
        [[True, False], [], "x"],
        [[True, True], [False, True, False]],
    ),
    # two `contains` in one intersection: one item for both, or one each in either order
    (
        {"allOf": [{"contains": {"const": 1}}, {"contains": {"type": "string"}}]},
        [[1, "a"], ["a", 2, 1], [None, 1, 3, "b", 5], "x"],
        [[], [1], ["a", "b"], [1, 2, 3]],
    ),
    (
        {"not": {"allOf": [{"contains": {"minimum": 2}}, {"contains": {"maximum": 2}}]}},
        [[], [1], [3, 4], [0, 1]],
        [[2], [1, 3], [3, "a", 1]],
    ),
    # the complement of a `oneOf` distributes into more than 64 branches (at most 256)
    (
        {
            "allOf": [
                {"enum": [{"bar": 2, "foo": "baz"}, {"bar": 2}, {"foo": 1}]},
                {
                    "not": {
                        "oneOf": [
                            {"properties": {"bar": {"type": "integer"}}, "required": ["bar"]},
                            {"properties": {"foo": {"type": "string"}}, "required": ["foo"]},
                        ]
                    }
                },
            ]
        },
        [{"bar": 2, "foo": "baz"}, {"foo": 1}],
        [{"bar": 2}, {"bar": 2, "foo": 1}, {}],
    ),
    # `not` of array values: another kind, length, or some item different
    (
        {"not": {"enum": [[True], [1, "a"]]}},
        [[], [False], [True, True], [1], [1, "b"], "x"],
        [[True], [1, "a"]],
    ),
    (
        {"oneOf": [{"const": [1]}, {"type": "array", "items": {"type": "integer"}}]},
        [[], [2], [1, 1]],
        [[1], ["a"], 1],
    ),
    # negated patterns: the strings the pattern matches in neither regex dialect
    ({"not": {"pattern": "^a*$"}}, ["b", "ab"], ["", "a", "aaa", 1, None]),
    (
        {"type": "string", "maxLength": 3, "not": {"anyOf": [{"pattern": "x"}, {"pattern": "^y"}]}},
        ["", "ab", "aby"],
        ["x", "ax", "y", "yab", "abcd"],
    ),
    ({"not": {"not": {"pattern": "a"}}}, ["a", "ba", 1], ["b", ""]),
    (
        {"propertyNames": {"not": {"pattern": "^x"}}, "properties": {"a": {"type": "integer"}}},
        [{}, {"a": 1}, {"b": "s"}],
        [{"x": 1}, {"a": 1, "xy": 2}, {"a": "s"}],
    ),
    # oneOf: branches apart on lengths, ranges, patterns or items stay as they are
    (
        {"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}]},
        ["a", "b1"],
        ["c", "", 1],
    ),
    ({"oneOf": [{"maxLength": 0}, {"type": "string", "minLength": 1}]}, ["", "a", 1], []),
    (
        {"oneOf": [{"type": "integer", "minimum": 3}, {"type": "integer", "maximum": 2}]},
        [3, 2, -5],
        [2.5, "x"],
    ),
    (
        {
            "oneOf": [
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
                {"type": "array", "minItems": 1, "items": {"type": "integer"}},
            ]
        },
        [["a"], [1, 2]],
        [[], ["a", 1]],
    ),
    # oneOf: overlapping branches, each made "itself and not the others"
    ({"oneOf": [{"type": "string"}, {"maxLength": 3}]}, ["abcd", 1, None], ["a", "abc"]),
    ({"oneOf": [{"minimum": 3}, {"maximum": 5}]}, [1, 6], [3, 4, 5, "x"]),
    (
        {"oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]},
        ["a", "b", "ac", "cb"],
        ["ab", "c", 1],
    ),
    (
        {
            "oneOf": [
                {"type": "array", "items": {"type": "integer"}},
                {"type": "array", "items": {"type": "array"}},
            ]
        },
        [[1], [[]], [[1], []]],
        [[], ["a"], [1, []]],
    ),
    (
        {
            "oneOf": [
                {"properties": {"a": {}, "b": {}}, "additionalProperties": False},
                {"properties": {"b": {}, "c": {}}, "additionalProperties": False},
            ]
        },
        [{"a": 1}, {"a": 1, "b": 2}, {"c": 1}],
        [{}, {"b": 1}, {"a": 1, "c": 2}, "s"],
    ),
    (
        {
            "type": "object",
            "oneOf": [
                {"properties": {"value": {"type": "string"}}, "required": ["value"]},
                {"properties": {"value": {}, "text": {}}, "additionalProperties": False},
            ],
            "properties": {"value": {}, "unit": {}, "text": {}},
            "additionalProperties": False,
        },
        [{"value": "v", "unit": 1}, {"text": 1}, {}, {"value": 1}],
        [{"value": "v"}, {"value": "v", "text": 1}, {"unit": 1}, 1],
    ),
    (
        {
            "properties": {"a": {}, "bb": {}, "c": {}},
            "additionalProperties": False,
            "oneOf": [
                {"properties": {"a": {}, "bb": {}}, "additionalProperties": False},
                {"propertyNames": {"maxLength": 1}},
            ],
        },
        [{"bb": 1}, {"a": 1, "bb": 2}, {"c": 1}, {"a": 1, "c": 1}],
        [{}, {"a": 1}, {"bb": 1, "c": 1}, "s"],
    ),
    (
        {
            "oneOf": [
                {"enum": ["a", "b", 1]},
                {"type": "string", "maxLength": 1},
            ]
        },
        [1, "c", ""],
        ["a", "b", "cd", 2],
    ),
    # minContains / maxContains: hits counted (exactly, with the complement, under a maximum)
    (
        {"type": "array", "contains": {"type": "integer"}, "minContains": 2},
        [[1, 2], ["a", 1, "b", 2], [1, 2, 3]],
        [[1], ["a", 1], [], "x"],
    ),
    (
        {"items": {"type": "integer"}, "contains": {"minimum": 5}, "maxContains": 2},
        [[5], [1, 5, 2, 6], [7, 7]],
        [[], [1, 2], [5, 6, 7], [5, "a"]],
    ),
    (
        {"contains": {"type": "string"}, "minContains": 0, "maxContains": 1},
        [[], [1, 2], ["a", 1], 3],
        [["a", "b"], [1, "a", "b"]],
    ),
    (
        {"not": {"contains": {"type": "integer"}, "minContains": 2, "maxContains": 3}},
        [[], [1], [1, 2, 3, 4], ["a", 1]],
        [[1, 2], ["a", 1, 2, 3], "x"],
    ),
    (
        {"allOf": [{"items": {"maximum": 9}}, {"contains": {"minimum": 5}, "maxContains": 1}]},
        [[5, 1], [1, 2, 9]],
        [[5, 6], [10], [1]],
    ),
    # unevaluatedProperties: names of the schema, its allOf members and $ref targets are
    # evaluated; the rest must meet the keyword's subschema
    (
        {
            "properties": {"a": {"type": "integer"}},
            "allOf": [{"properties": {"b": True}}, {"patternProperties": {"^x": True}}],
            "unevaluatedProperties": {"type": "string"},
        },
        [{"a": 1}, {"a": 1, "b": None}, {"a": 1, "xy": 2}, {"a": 1, "c": "s"}, 3, {}],
        [{"a": 1, "c": 2}, {"c": None}, {"a": "s"}],
    ),
    (
        {
            "$defs": {"base": {"properties": {"a": True}}},
            "$ref": "#/$defs/base",
            "unevaluatedProperties": False,
        },
        [{"a": [1]}, {}, "s"],
        [{"b": 1}, {"a": 1, "b": 1}],
    ),
    # a nested unevaluatedProperties evaluates the rest; cousins cannot see each other
    (
        {"allOf": [{"unevaluatedProperties": True}], "unevaluatedProperties": False},
        [{"a": 1}, {}],
        [],
    ),
    (
        {"allOf": [{"properties": {"a": True}}, {"unevaluatedProperties": False}]},
        [{}, []],
        [{"a": 1}, {"b": 1}],
    ),
    # complements stay exact
    (
        {"not": {"properties": {"a": True}, "unevaluatedProperties": False}},
        [{"b": 1}, {"a": 1, "c": 2}],
        [{}, {"a": 1}, 1, "s"],
    ),
    # the passing branch of one conditional applicator evaluates too (exactly one passes)
    (
        {
            "oneOf": [
                {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"not": {"required": ["a"]}},
            ],
            "unevaluatedProperties": False,
        },
        [{"a": 1}, {}],
        [{"a": "s"}, {"a": 1, "b": 2}, {"b": 2}],
    ),
    (
        {
            "anyOf": [
                {"properties": {"k": {"const": 1}, "a": True}, "required": ["k"]},
                {"properties": {"k": {"const": 2}, "b": True}, "required": ["k"]},
            ],
            "unevaluatedProperties": {"type": "integer"},
        },
        [{"k": 1, "a": "s"}, {"k": 2, "b": "s"}, {"k": 1, "a": "s", "c": 1}, {"k": 2, "x": 2}],
        [{"k": 1, "a": 1, "c": "s"}, {"k": 1, "b": "s"}, {"c": 1}, {"k": 3}],
    ),
    (
        {
            "if": {"properties": {"k": {"const": 1}}, "required": ["k"]},
            "then": {"properties": {"a": True}},
            "else": {"properties": {"b": True}},
            "unevaluatedProperties": False,
        },
        [{"k": 1, "a": 2}, {"b": 2}, {}],
        [{"k": 1, "b": 2}, {"a": 1}, {"k": 2}, {"k": 2, "b": 1}],
    ),
    (
        {"if": {"properties": {"k": {"type": "string"}}}, "unevaluatedProperties": False},
        [{"k": "s"}, {}],
        [{"k": 1}, {"x": "s"}],
    ),
    (
        {
            "properties": {"a": True},
            "dependentSchemas": {"a": {"properties": {"b": {"type": "string"}}}},
            "unevaluatedProperties": False,
        },
        [{"a": 1, "b": "s"}, {"a": 1}, {}],
        [{"b": "s"}, {"a": 1, "b": 2}, {"a": 1, "c": 1}],
    ),
    (
        {
            "not": {
                "oneOf": [{"properties": {"a": True}, "required": ["a"]}, {"required": ["b"]}],
                "unevaluatedProperties": False,
            }
        },
        [{"b": 1}, {"a": 1, "c": 1}, {}],
        [{"a": 1}],
    ),
    (
        {"prefixItems": [{"type": "integer"}], "unevaluatedItems": {"type": "string"}},
        [[1], [1, "a", "b"], [], {"a": 1}],
        [[1, 2], ["a"], [1, "a", None]],
    ),
    (
        {
            "allOf": [{"prefixItems": [True, True]}],
            "not": {"prefixItems": [{"type": "integer"}], "unevaluatedItems": False},
        },
        [[1, 2], ["a"], [1, 2, 3]],
        [[1], []],
    ),
]

# oneOf branches told apart without a complement (a branch with uniqueItems has none): by
# the count of the names one requires, and by the value at a name one requires
_REPO = {
    "type": "object",
    "required": ["type", "url"],
    "properties": {
        "type": {"enum": ["a", "b"]},
        "url": {"type": "string"},
        "tags": {"type": "array", "uniqueItems": True, "items": {"enum": [1, 2]}},
    },
}
DISJOINT_CASES: list[tuple[dict, list, list]] = [
    (
        {"$defs": {"r": _REPO}, "oneOf": [{"$ref": "#/$defs/r"}, {"maxProperties": 1}]},
        [{"type": "a", "url": "u"}, {"type": "b", "url": "u", "tags": [1, 2]}, {}, {"k": 1}],
        [{"type": "a", "url": "u", "tags": [1, 1]}, {"type": "c", "url": "u"}, {"a": 1, "b": 2}],
    ),
    (
        {
            "$defs": {"r": _REPO},
            "oneOf": [{"$ref": "#/$defs/r"}, {"additionalProperties": {"type": "boolean"}}],
        },
        [{"type": "a", "url": "u"}, {"x": True}, {}],
        [{"x": 1}, {"type": "a", "url": "u", "tags": [2, 2]}, {"type": "a", "url": 1}],
    ),
    (
        {
            "$defs": {"r": _REPO},
            "oneOf": [{"$ref": "#/$defs/r"}, {"properties": {"type": {"type": "integer"}}}],
        },
        [{"type": "a", "url": "u"}, {"type": 1}, {}],
        [{"type": "c"}, {"type": "a"}, {"type": "a", "url": "u", "tags": [1, 1]}],
    ),
]
CASES += DISJOINT_CASES


@functools.cache
def _compiled(schema_text: str) -> CompiledGrammar:
    return compile_grammar(Grammar.from_json_schema(json.loads(schema_text)), byte_tokenizer())


def _accepts(schema: dict, text: str) -> bool:
    m = Matcher(_compiled(json.dumps(schema)))
    return m.accept_string(text) and m.can_terminate()


def _validator(schema: dict) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@pytest.mark.parametrize(("schema", "valid", "invalid"), CASES)
def test_accepts_exactly(schema: dict, valid: list, invalid: list) -> None:
    check = _validator(schema)
    for v in valid:
        assert check.is_valid(v), v  # the case table itself is right
        assert _accepts(schema, json.dumps(v)), v
    for v in invalid:
        assert not check.is_valid(v), v
        for text in (json.dumps(v), json.dumps(v, ensure_ascii=False)):
            assert not _accepts(schema, text), text


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.sampled_from([0.5, -1.5, 3.0]),
    st.text("abxy1é\n\U0001f600", max_size=4),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "bb", "c", "x", "xy", "é"]), inner, max_size=3),
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("schema", [c[0] for c in CASES])
@given(value=_VALUES)
def test_never_accepts_invalid(schema: dict, value: object) -> None:
    if any(_accepts(schema, t) for t in (json.dumps(value), json.dumps(value, ensure_ascii=False))):
        assert _validator(schema).is_valid(value), value


def test_one_of_recursive_branches_disjoint_by_kind() -> None:
    """A branch still being parsed (recursion) is compared by the kinds its JSON allows."""
    schema = {
        "$defs": {
            "res": {"oneOf": [{"$ref": "#/$defs/leaf"}, {"$ref": "#/$defs/sel"}]},
            "leaf": {
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]
            },
            "sel": {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/res"}},
                "additionalProperties": False,
            },
        },
        "$ref": "#/$defs/res",
    }
    g = Grammar.from_json_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for text in ['"x"', "[1, 2]", '{"a": {"a": "y"}}', '{"a": [3]}', "{}"]:
        assert validator.is_valid(json.loads(text))
        assert accepts(g, text), text
    for text in ["1", '{"b": 1}', '{"a": 1}', "[1.5]"]:
        assert not validator.is_valid(json.loads(text))
        assert not accepts(g, text), text
    # a branch whose JSON allows objects too may overlap: still refused
    schema["$defs"]["leaf"] = {"properties": {"a": {"type": "string"}}}
    with pytest.raises(UnsupportedFeatureError):
        Grammar.from_json_schema(schema)


@pytest.mark.parametrize("schema", [c[0] for c in DISJOINT_CASES])
def test_one_of_disjoint_without_complement(schema: dict) -> None:
    """Branches apart by their required names' count or values compile, though neither
    branch has a complement to subtract (the uniqueItems property)."""
    Grammar.from_json_schema(schema)
    with pytest.raises(UnsupportedFeatureError, match="may overlap"):
        Grammar.from_json_schema({**schema, "oneOf": [schema["oneOf"][0], {"type": "object"}]})
