"""*Once* rules (:attr:`Grammar.once`): objects in any property order past
``MAX_ANY_ORDER_STATES``, and ``uniqueItems`` arrays of too many listed scalars.

The parser scans each key (each value) of a once rule at most once per object (array),
and the member lists count the required names seen (the items); the reference is
``jsonschema`` on the parsed instance, and masks are checked against brute force.
"""

from __future__ import annotations

import functools
import json
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formcast as fc
from formcast.errors import GrammarError
from formcast.grammar.ir import Grammar, GrammarBuilder
from formcast.grammar.json_lower import MAX_ANY_ORDER_STATES
from formcast.testing.oracle import accepts, check_masks_along

N_REQUIRED = MAX_ANY_ORDER_STATES.bit_length()  # 2**N_REQUIRED sets of names: too many
REQUIRED = [f"k{i}" for i in range(N_REQUIRED)]
WIDE = {
    "type": "object",
    "properties": {
        **{k: {"type": "integer"} for k in REQUIRED},
        "s": {"type": "string"},
        "inner": {"properties": {"u": {}, "v": {}}, "required": ["u"]},
    },
    "required": REQUIRED,
    "additionalProperties": {"type": "boolean"},
}
CLOSED = {**WIDE, "additionalProperties": False, "dependentRequired": {"s": ["k0", "k1"]}}
DEPS = {  # f needs g and h, g needs i: the object is written once per subset of {f, g}
    "properties": {k: {"type": "integer"} for k in [*REQUIRED, "f", "g", "h", "i"]},
    "required": REQUIRED,
    "dependentRequired": {"f": ["g", "h"], "g": ["i"], "k0": ["k1"]},
    "additionalProperties": False,
}
EITHER = {  # the once keys of one branch are the plain keys of the other
    "anyOf": [
        {**CLOSED, "properties": {**CLOSED["properties"], "s": {"const": "a"}}},
        {
            "properties": {"k0": {"type": "string"}, "k1": {}, "s": {"const": "b"}},
            "required": ["s"],
            "additionalProperties": False,
        },
    ]
}
OPTIONAL = {  # no required name: 2**11 sets of optional names
    "type": "object",
    "properties": {k: {"type": "integer"} for k in REQUIRED},
    "additionalProperties": False,
    "minProperties": 1,
}

TAGS = {  # 2**16 sets of values: too many for a rule each
    "type": "array",
    "items": {"enum": [*REQUIRED, "x", 1, 2.5, True, None]},
    "uniqueItems": True,
}
SCHEMAS = {
    "TAGS": TAGS,
    "FEW": {**TAGS, "minItems": 2, "maxItems": 5},
    "WIDE": WIDE,
    "CLOSED": CLOSED,
    "DEPS": DEPS,
    "EITHER": EITHER,
    "OPTIONAL": OPTIONAL,
}


@functools.cache
def _grammar(name: str) -> Grammar:
    schema = SCHEMAS[name]
    return Grammar.from_json_schema(schema, property_order="any")


def _text(pairs: list[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


def test_once_rules_are_used_without_a_note() -> None:
    for name in SCHEMAS:
        g = _grammar(name)
        assert not g.notes  # exact: neither definition order nor repeatable names
        assert g.once


@pytest.mark.parametrize(
    ("name", "pairs"),
    [
        ("WIDE", [(k, 1) for k in reversed(REQUIRED)]),
        ("WIDE", [("x", True), *[(k, 1) for k in REQUIRED[::2]], ("y", False)]),
        ("WIDE", [*[(k, 1) for k in REQUIRED[1::2]], ("inner", {"v": 1, "u": 2})]),
        ("WIDE", [(k, 1) for k in REQUIRED[1:]]),  # k0 missing
        ("WIDE", [(k, 1) for k in [*REQUIRED, "k3"]]),  # k3 twice
        ("WIDE", [("s", "a"), *[(k, 1) for k in REQUIRED], ("s", "b")]),  # optional twice
        ("WIDE", [*[(k, 1) for k in REQUIRED], ("x", 1)]),  # extra value not boolean
        ("WIDE", [*[(k, 1) for k in REQUIRED], ("inner", {"v": 1})]),  # inner lacks u
        ("CLOSED", [(k, 1) for k in reversed(REQUIRED)]),
        ("CLOSED", [*[(k, 1) for k in REQUIRED], ("x", True)]),  # closed
        ("CLOSED", [("s", ""), *[(k, 1) for k in REQUIRED]]),  # s requires k0, k1: met
        ("DEPS", [("i", 1), *[(k, 1) for k in reversed(REQUIRED)], ("g", 1)]),
        ("DEPS", [("h", 1), ("f", 1), ("i", 1), *[(k, 1) for k in REQUIRED], ("g", 1)]),
        ("DEPS", [("f", 1), *[(k, 1) for k in REQUIRED], ("g", 1), ("i", 1)]),  # no h
        ("DEPS", [*[(k, 1) for k in REQUIRED], ("g", 1)]),  # no i
        ("DEPS", [*[(k, 1) for k in REQUIRED], ("h", 1), ("i", 1)]),
        ("EITHER", [("s", "b"), ("k1", 1), ("k0", "x")]),
        ("EITHER", [("k1", 1), ("s", "b"), ("k1", 1)]),
        ("EITHER", [*[(k, 1) for k in reversed(REQUIRED)], ("s", "a")]),
        ("EITHER", [*[(k, 1) for k in reversed(REQUIRED)], ("s", "b")]),
        ("OPTIONAL", [("k5", 1), ("k2", 2)]),
        ("OPTIONAL", []),  # minProperties 1
        ("OPTIONAL", [("k5", 1), ("k5", 2)]),
    ],
)
def test_judged_like_jsonschema(name: str, pairs: list[tuple[str, object]]) -> None:
    schema = SCHEMAS[name]
    keys = [k for k, _ in pairs]
    want = len(set(keys)) == len(keys) and jsonschema.Draft202012Validator(schema).is_valid(
        dict(pairs)
    )
    assert accepts(_grammar(name), _text(pairs)) is want


@settings(max_examples=150, deadline=None)
@given(
    order=st.permutations(REQUIRED),
    drop=st.lists(st.sampled_from(REQUIRED), max_size=1),
    more=st.lists(
        st.tuples(st.sampled_from([*REQUIRED, "s", "x"]), st.sampled_from([1, "t", True])),
        max_size=3,
    ),
    at=st.lists(st.integers(0, N_REQUIRED), min_size=3, max_size=3),
)
def test_drawn_objects(
    order: list[str], drop: list[str], more: list[tuple[str, object]], at: list[int]
) -> None:
    """Any order, keys dropped, repeated or added: accepted exactly when the keys do not
    repeat and the instance is valid (repeated extra keys aside: json.loads keeps one)."""
    pairs: list[tuple[str, object]] = [(k, 1) for k in order if k not in drop]
    for (key, value), i in zip(more, at, strict=False):
        pairs.insert(min(i, len(pairs)), (key, value))
    named = [k for k, _ in pairs if k != "x"]
    valid = jsonschema.Draft202012Validator(WIDE).is_valid(dict(pairs))
    got = accepts(_grammar("WIDE"), _text(pairs))
    if len(set(named)) < len(named):
        assert not got
    elif [k for k, _ in pairs].count("x") <= 1:
        assert got is valid


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(st.sampled_from([*TAGS["items"]["enum"], 1.0, False, 0, "y"]), max_size=18),
    name=st.sampled_from(["TAGS", "FEW"]),
)
def test_drawn_arrays(items: list[object], name: str) -> None:
    """Repeats (``1`` and ``1.0`` are one value, ``true`` and ``1`` are not), values not
    listed, and counts: judged like ``jsonschema``."""
    want = jsonschema.Draft202012Validator(SCHEMAS[name]).is_valid(items)
    assert accepts(_grammar(name), json.dumps(items)) is want


@settings(max_examples=100, deadline=None)
@given(
    order=st.permutations(REQUIRED),
    more=st.lists(st.sampled_from(["f", "g", "h", "i", "k3"]), max_size=4),
    at=st.lists(st.integers(0, N_REQUIRED), min_size=4, max_size=4),
)
def test_drawn_dependencies(order: list[str], more: list[str], at: list[int]) -> None:
    keys = list(order)
    for key, i in zip(more, at, strict=False):
        keys.insert(i, key)
    valid = len(set(keys)) == len(keys) and jsonschema.Draft202012Validator(DEPS).is_valid(
        dict.fromkeys(keys, 1)
    )
    assert accepts(_grammar("DEPS"), _text([(k, 1) for k in keys])) is valid


def _vocab() -> fc.TokenizerInfo:
    """Keys whole, split and run into their colon ("k1" is a prefix of "k10"), and every
    printable ASCII byte, so that every prefix a mask allows can be completed."""
    pieces = {chr(c) for c in range(32, 127)} | {"rue"}
    pieces |= {f'"{k}"' for k in REQUIRED} | {f'"{k}":' for k in REQUIRED[:4]}
    pieces |= {'"k1', '"k10', '0":', '":', ', "', '{"', '"s":', '"x', '": 1', "1,", "1}"}
    pieces |= {"[", "]", "null", "2.5", "1.0", '["k1"', '", "', '"]'}
    toks = sorted(p.encode() for p in pieces)
    return fc.TokenizerInfo.from_vocab([*toks, b"<eos>"], eos_ids=[len(toks)])


@pytest.mark.parametrize("name", ["WIDE", "CLOSED", "EITHER", "TAGS", "FEW"])
@pytest.mark.parametrize("seed", range(4))
def test_masks_equal_brute_force_and_never_dead_end(name: str, seed: int) -> None:
    """Every allowed prefix can be completed; keys are drawn first, since they are what
    the parser must count and refuse to repeat."""
    schema = SCHEMAS[name]
    g = Grammar.from_json_schema(schema, property_order="any", whitespace="compact")
    m = fc.Matcher(fc.compile(g, _vocab()))
    check_masks_along(m, random.Random(seed), 80, prefer=lambda b: b.startswith(b'"k'))


def test_rollback_forgets_keys() -> None:
    m = fc.Matcher(fc.compile(_grammar("WIDE"), fc.testing.oracle.byte_tokenizer()))
    for piece in ("{", '"k3": 1', ", "):
        assert m.accept_string(piece)
    assert not m.accept_string('"k3"')
    assert m.accept_string('"k4": 1')
    m.rollback(3)  # back to "{": k3 is free again, in either order
    assert m.accept_string('"k4": 1, "k3": 1, ')
    rest = [k for k in REQUIRED if k not in ("k3", "k4")]
    assert m.accept_string(", ".join(f'"{k}": 2' for k in rest) + "}") and m.can_terminate()


def test_max_properties_keeps_definition_order() -> None:
    schema = {**CLOSED, "maxProperties": N_REQUIRED + 1}
    g = Grammar.from_json_schema(schema, property_order="any")
    assert not g.once
    assert g.notes and g.notes[0].startswith("definition order: object at #")
    assert accepts(g, json.dumps({k: 1 for k in REQUIRED}))
    assert not accepts(g, json.dumps({k: 1 for k in reversed(REQUIRED)}))


def test_once_rules_are_checked() -> None:
    b = GrammarBuilder()
    a, empty = b.lexeme("a"), b.lexeme("b?")
    b.define(b.rule("s"), [(a, empty)])
    with pytest.raises(GrammarError, match="once symbol 'LEX_1' is not a rule"):
        b.build("s", once=[a])
    with pytest.raises(GrammarError, match="once rule 's': lexeme 'LEX_2' matches ''"):
        fc.compile(b.build("s", once=["s"]), fc.testing.oracle.byte_tokenizer())
