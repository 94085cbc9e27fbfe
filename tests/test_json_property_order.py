"""``property_order="any"``: object members in any order, every other constraint exact.

The reference is definition order itself: a text is accepted in "any" order exactly when
the same members, put in the schema's order, are accepted in definition order (which
``tests/test_json_schema.py`` checks against ``jsonschema``); soundness is also checked
against ``jsonschema`` directly.
"""

from __future__ import annotations

import functools
import itertools
import json
import pathlib
import warnings

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_lower import MAX_ANY_ORDER_STATES
from formcast.testing.oracle import accepts

Pairs = list[tuple[str, object]]

SCHEMAS = [
    {"properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {}}},
    {
        "properties": {"a": {"type": "integer"}, "b": {}, "c": {"type": "null"}},
        "required": ["a", "c"],
        "additionalProperties": False,
    },
    {
        "properties": {"a": {}, "b": {}, "c": {}},
        "additionalProperties": {"type": "integer"},
        "minProperties": 2,
        "maxProperties": 3,
    },
    {
        "properties": {"a": {}, "b": {}, "c": {}},
        "dependentRequired": {"a": ["b"], "c": ["a", "b"]},
        "additionalProperties": False,
    },
    {
        "properties": {"a": {}, "b": {}},
        "dependentRequired": {"b": ["c"]},
        "required": ["a"],
        "maxProperties": 3,
    },
    {
        "properties": {"a": {"type": "string"}, "b": {}},
        "patternProperties": {"^x": {"type": "integer"}},
        "additionalProperties": False,
        "minProperties": 1,
    },
    {
        "properties": {"a": {}, "b": {}, "c": {}},
        "propertyNames": {"enum": ["a", "b", "x"]},
        "required": ["b"],
    },
    {"properties": {"a": {}}, "required": ["a", "c"], "minProperties": 2},
]
KEYS = ["a", "b", "c", "x", "y"]
MODES = ("definition", "any")
VALUES = [1, "s", None]


def _text(pairs: Pairs) -> str:
    """JSON object text with the members in the given order (duplicates kept)."""
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


def _named(schema: dict) -> list[str]:
    """Named members in definition order: declared names, required-only names, undeclared
    dependency names (at most one in these schemas, so its place is fixed)."""
    declared, required = list(schema.get("properties", {})), schema.get("required", [])
    deps = [n for k, ns in schema.get("dependentRequired", {}).items() for n in (*ns, k)]
    others = [n for n in dict.fromkeys([*required, *deps]) if n not in declared]
    return declared + sorted(others, key=lambda n: n not in required)


def _definition_order(schema: dict, pairs: Pairs) -> Pairs:
    """The members as definition order writes them: named members first, then extra keys."""
    named = _named(schema)
    ranked = [(named.index(k) if k in named else len(named), i) for i, (k, _) in enumerate(pairs)]
    return [pairs[i] for _, i in sorted(ranked)]


@functools.cache
def _grammar(index: int, mode: str) -> Grammar:
    return Grammar.from_json_schema(SCHEMAS[index], property_order=mode)


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
@given(
    pairs=st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=5),
)
@example(pairs=[("b", 1), ("a", 1)])
@example(pairs=[("a", 1), ("a", 1)])
@example(pairs=[("x", 1), ("y", 1)])  # extra keys count at most once toward the minimum
@example(pairs=[("a", 1), ("x", 1), ("c", 1)])  # "c": an undeclared dependency name
def test_any_order_is_definition_order_up_to_order(index: int, pairs: Pairs) -> None:
    schema = SCHEMAS[index]
    got = accepts(_grammar(index, "any"), _text(pairs))
    assert got == accepts(_grammar(index, "definition"), _text(_definition_order(schema, pairs)))
    named = [k for k, _ in pairs if k in _named(schema)]
    if got:  # soundness, straight from the oracle (duplicate extra keys are not detected)
        assert len(set(named)) == len(named), pairs
        assert jsonschema.validators.validator_for(schema)(schema).is_valid(dict(pairs)), pairs


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_every_short_key_sequence(index: int) -> None:
    """Exhaustively, key sequences (repeats included) of up to three keys, values 1."""
    for r in range(4):
        for keys in itertools.product(KEYS, repeat=r):
            pairs: Pairs = [(k, 1) for k in keys]
            got = accepts(_grammar(index, "any"), _text(pairs))
            want = _text(_definition_order(SCHEMAS[index], pairs))
            assert got == accepts(_grammar(index, "definition"), want), keys


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_every_valid_key_set_in_every_order(index: int) -> None:
    """Completeness: each valid object of distinct keys (integer values) in each order."""
    schema = SCHEMAS[index]
    check = jsonschema.validators.validator_for(schema)(schema)
    for r in range(4):
        for keys in itertools.combinations(KEYS, r):
            value = dict.fromkeys(keys, 1)
            # formcast's known restriction: extra keys count at most once toward the minimum
            named = set(_named(schema))
            counted = len(named & set(keys)) + min(len(set(keys) - named), 1)
            if not check.is_valid(value) or counted < schema.get("minProperties", 0):
                continue
            for order in itertools.permutations(keys):
                text = json.dumps(dict.fromkeys(order, 1))
                assert accepts(_grammar(index, "any"), text), text


def test_permutations_duplicates_and_required() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {}},
        "required": ["a", "b"],
    }
    g = Grammar.from_json_schema(schema, property_order="any")
    for order in itertools.permutations([("a", 1), ("b", "x"), ("c", [])]):
        assert accepts(g, _text(list(order)))
    assert accepts(g, '{"z": 0, "b": "x", "q": 1, "a": 1}')  # extra keys anywhere
    assert not accepts(g, '{"b": "x", "a": 1, "b": "y"}')  # declared key twice
    assert not accepts(g, '{"c": 1, "b": "x"}')  # "a" missing
    assert not accepts(g, '{"b": "x", "a": "1"}')  # values keep their schemas
    assert not accepts(Grammar.from_json_schema(schema), '{"b": "x", "a": 1}')


def test_extra_keys_only_where_allowed() -> None:
    closed = Grammar.from_json_schema(
        {"properties": {"a": {}, "b": {}}, "additionalProperties": False}, property_order="any"
    )
    assert accepts(closed, '{"b": 1, "a": 2}')
    assert not accepts(closed, '{"z": 1, "a": 2}')
    assert not accepts(closed, '{"a": 2, "z": 1}')
    typed = Grammar.from_json_schema(
        {"properties": {"a": {}}, "patternProperties": {"^x": {"type": "integer"}}},
        property_order="any",
    )
    assert accepts(typed, '{"x1": 1, "a": "s", "y": null}')
    assert not accepts(typed, '{"a": "s", "x1": "s"}')


def test_nested_objects_and_pydantic() -> None:
    schema = {
        "type": "array",
        "items": {"properties": {"n": {"properties": {"p": {}, "q": {}}}, "m": {}}},
    }
    g = Grammar.from_json_schema(schema, property_order="any", whitespace="compact")
    assert accepts(g, '[{"m":1,"n":{"q":1,"p":2}},{"n":{}}]')
    pydantic = pytest.importorskip("pydantic")
    model = pydantic.create_model("M", a=(int, ...), b=(str, ...))
    assert accepts(Grammar.from_pydantic(model, property_order="any"), '{"b": "x", "a": 1}')
    assert not accepts(Grammar.from_pydantic(model), '{"b": "x", "a": 1}')


def test_falls_back_to_definition_order_above_the_limit() -> None:
    n = MAX_ANY_ORDER_STATES.bit_length()  # 2**n states are over the limit
    names = [f"p{i}" for i in range(n)]
    schema = {
        "properties": {
            **{k: {"type": "integer"} for k in names},
            "inner": {"properties": {"u": {}, "v": {}}},
        },
        "required": names,  # every name must be remembered
        "additionalProperties": False,
        "maxProperties": n + 1,  # counted: no once keys (tests/test_json_once_keys.py)
    }
    g = Grammar.from_json_schema(schema, property_order="any")
    assert g.notes == (
        # the optional "inner" repeats like an extra key, counted from 0 to n + 1
        f"definition order: object at # (any property order would need {2**n * (n + 2)} "
        f"states, more than {MAX_ANY_ORDER_STATES})",
    )
    instance = {k: 1 for k in names}
    assert accepts(g, json.dumps({**instance, "inner": {"v": 1, "u": 2}}))
    assert not accepts(g, json.dumps(dict(reversed(instance.items()))))
    assert not Grammar.from_json_schema(schema).notes


LARGE = {
    "properties": {
        **{f"p{i}": {"type": "integer"} for i in range(12)},
        "r": {"type": "string"},
        "d": {},
    },
    "required": ["r"],
    "dependentRequired": {"d": ["p0"]},
    "additionalProperties": {"type": "boolean"},
    "maxProperties": 6,
}
LARGE_KEYS = [*LARGE["properties"], "x", "y"]


def test_large_object_repeats_optional_names() -> None:
    g = Grammar.from_json_schema(LARGE, property_order="any")
    assert g.notes == (
        "repeatable names: object at # (14 names; 11 optional ones are not remembered, so a "
        "repeated one is not detected)",
    )
    assert accepts(g, json.dumps({"x": True, "p11": 1, "d": 0, "r": "", "p0": 2}))
    assert accepts(g, '{"p3": 1, "r": "", "p3": 2}')  # json.loads keeps the last
    assert not accepts(g, '{"r": "", "r": ""}')  # required names are remembered
    assert not accepts(g, '{"p1": "1", "r": ""}')
    assert not accepts(g, '{"d": 1, "r": ""}')  # d requires p0
    assert not accepts(g, json.dumps({f"p{i}": i for i in range(6)} | {"r": ""}))  # 7 > 6


@given(
    st.lists(st.tuples(st.sampled_from(LARGE_KEYS), st.sampled_from([1, "s", True])), max_size=8)
)
def test_large_object_sound_and_order_free(pairs: Pairs) -> None:
    """Sound for json.loads (the last of repeated keys wins), and without repeats a text
    is accepted iff the instance is valid."""
    g = _large_any()
    text = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"
    valid = jsonschema.Draft202012Validator(LARGE).is_valid(json.loads(text))
    if accepts(g, text):
        assert valid, text
    elif len({k for k, _ in pairs}) == len(pairs):
        assert not valid, text


@functools.cache
def _large_any() -> Grammar:
    return Grammar.from_json_schema(LARGE, property_order="any")


def test_min_properties_refusal_is_kept() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        Grammar.from_json_schema({"minProperties": 2}, property_order="any")
    assert info.value.feature == "minProperties"
    with pytest.warns(UserWarning):
        g = Grammar.from_json_schema({"minProperties": 2}, property_order="any", lenient=True)
    assert accepts(g, '{"x": 1}')


@pytest.mark.parametrize("bad", ["sorted", "ANY", None])
def test_bad_option_value(bad: object) -> None:
    with pytest.raises(ValueError, match="property_order must be 'definition' or 'any'"):
        Grammar.from_json_schema({"type": "object"}, property_order=bad)  # type: ignore[arg-type]


SUITE = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SUITE = SUITE / "json-schema-test-suite" / "tests" / "draft2020-12"


@pytest.mark.skipif(not SUITE.is_dir(), reason="JSON Schema Test Suite not available")
def test_json_schema_test_suite_in_any_order() -> None:
    """No invalid instance accepted; every valid one definition order takes is taken."""
    wrong = []
    for path in sorted(SUITE.glob("*.json")):
        for group in json.loads(path.read_text()):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    modes = [
                        Grammar.from_json_schema(group["schema"], property_order=m) for m in MODES
                    ]
            except (UnsupportedFeatureError, SchemaError):
                continue
            for t in group["tests"]:
                text = json.dumps(t["data"])
                definition, anywhere = (accepts(g, text) for g in modes)
                if anywhere != t["valid"] and (anywhere or definition):
                    wrong.append(f"{path.name}: {group['description']}: {text}")
    assert not wrong, wrong
