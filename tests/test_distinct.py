"""`uniqueItems` over strings: distinct lexemes, kept distinct by the matcher per array."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formcast as fc
from formcast.errors import UnsupportedFeatureError
from formcast.grammar.json_schema import grammar_from_json_schema
from formcast.testing.oracle import accepts, brute_force_mask, check_masks_along, mask_to_bool

TAGS = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
TWO = {
    "type": "object",
    "properties": {
        "a": {**TAGS, "minItems": 2, "maxItems": 3},
        "b": {"anyOf": [TAGS, {"type": "array", "items": {"type": "integer"}}]},
    },
    "required": ["a"],
    "additionalProperties": False,
}


def vocab() -> fc.TokenizerInfo:
    """Tokens that end one string and start the next, escapes, and a split "é"."""
    pieces = {*'[]{}":, ab\\u0', "é", '"a"', '","', '",""', 'a","a', '"a","b"', '""', '"",'}
    pieces |= {'a"', '"]', '["', '["a"', "\\u0061", "61", '{"', '":', '"a":', '"b":', "1", "-"}
    pieces |= {'é"', '"é', 'ab"', ', "', '"b"]', "\\\\", '\\"'}
    toks = [*sorted(p.encode() for p in pieces), b"\xc3", b"\xa9"]
    return fc.TokenizerInfo.from_vocab([*toks, b"<eos>"], eos_ids=[len(toks)])


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        (TAGS, '["a","b"]'),
        (TAGS, '["a","a"]'),
        (TAGS, '["a", "b", "a"]'),
        (TAGS, '["a","\\u0061"]'),
        (TAGS, '["\\u00e9", "é"]'),
        (TAGS, '["", ""]'),
        (TAGS, '["\\ud800", "\\ud800"]'),
        (TAGS, '["\\ud800", "\\udc00"]'),
        (TAGS, '["ab","a","b"]'),
        (TWO, '{"a":["x","y"],"b":["x","y"]}'),
        (TWO, '{"a":["x","y"],"b":["y","y"]}'),
        (TWO, '{"a":["x","y"],"b":[1,1]}'),
        (TWO, '{"a":["x","x"]}'),
        (TWO, '{"a":["x","y","z","w"]}'),
        (TWO, '{"a":["x","y","x"]}'),
        (
            {
                "type": "array",
                "items": {"$ref": "#/$defs/s"},
                "uniqueItems": True,
                "$defs": {"s": {"type": "string", "minLength": 1, "pattern": "^[a-z]+$"}},
            },
            '["a","b","a"]',
        ),
    ],
)
def test_accepts_like_jsonschema(schema: dict, text: str) -> None:
    want = jsonschema.Draft202012Validator(schema).is_valid(json.loads(text))
    assert accepts(grammar_from_json_schema(schema), text) is want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet='ab\\"é', max_size=3), max_size=5), st.booleans())
def test_drawn_arrays_judged_like_jsonschema(items: list[str], escape: bool) -> None:
    text = json.dumps(items, ensure_ascii=escape)
    want = jsonschema.Draft202012Validator(TAGS).is_valid(items)
    assert accepts(grammar_from_json_schema(TAGS), text) is want


@pytest.mark.parametrize("schema", [TAGS, TWO])
@pytest.mark.parametrize("seed", range(6))
def test_masks_equal_brute_force_and_never_dead_end(schema: dict, seed: int) -> None:
    """A repeat can always be avoided: no mask is a dead end."""
    compiled = fc.compile(grammar_from_json_schema(schema, whitespace="compact"), vocab())
    check_masks_along(fc.Matcher(compiled), random.Random(seed), 60, p_reset=0.05)


def test_rollback_forgets_values() -> None:
    m = fc.Matcher(fc.compile(grammar_from_json_schema(TAGS), vocab()))
    for piece in ("[", '"a"', ", "):
        assert m.accept_string(piece)
    assert not m.accept_string('"a"')
    assert m.accept_string('"b"')
    m.rollback(3)  # back to "[": neither "a" nor "b" was seen
    assert m.accept_string('"b", "a"]') and m.can_terminate()
    m.rollback(1)
    assert m.accept_string('"b", "c", "b"') is False
    assert m.accept_string('"b", "c", "a"]') and m.can_terminate()


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ({"type": "string", "maxLength": 3}, "grow"),
        ({"type": "string", "pattern": "^(x|y)$"}, "grow"),
        ({"type": "string", "format": "date"}, "grow"),
        ({"type": ["string", "null"]}, "grow"),
        ({"type": "object"}, "grow"),
    ],
)
def test_refused_where_a_repeat_may_be_forced(items: dict, why: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as err:
        grammar_from_json_schema({"properties": {"t": {"items": items, "uniqueItems": True}}})
    assert err.value.feature == "uniqueItems"
    assert "/properties/t" in str(err.value) and why in str(err.value)


def test_escaped_repeats_and_lone_surrogates_byte_by_byte() -> None:
    """Values spelled with escapes (a lone surrogate can only be) are compared decoded."""
    from formcast.testing.oracle import byte_tokenizer

    tok = byte_tokenizer()
    m = fc.Matcher(fc.compile(grammar_from_json_schema(TAGS), tok))
    bm = fc.allocate_token_bitmask(1, tok.vocab_size)
    quote = ord('"')
    steps = (('["\\ud800", "\\u00e9", "', True), ("\\ud80", False), ("0", False), ("x", True))
    for piece, closes in steps:
        assert m.accept_string(piece)
        m.fill_next_token_bitmask(bm)
        got = mask_to_bool(bm[0], tok.vocab_size)
        assert (got == brute_force_mask(m)).all()
        assert bool(got[quote]) is closes
    m.rollback(3)
    assert m.accept_string("é")
    m.fill_next_token_bitmask(bm)
    assert not mask_to_bool(bm[0], tok.vocab_size)[quote]  # "é" repeats "\u00e9"
