"""The front end's fast paths agree with the per-character definitions they shortcut."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from formcast.grammar.json_spec import canon, plain
from formcast.grammar.json_strings import (
    KEY_UNIT,
    _pair_or_raw,
    complement_body,
    encode_char,
    has_surrogate,
    literal_body,
)

_ASCII = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12)
_ANY = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


def test_one_spelling_characters_are_escaped_text() -> None:
    for cp in range(0x20, 0x7F):
        c = chr(cp)
        if c not in '"\\/':
            assert literal_body(c) == encode_char(c) == re.escape(c)


@given(st.one_of(_ASCII, _ANY))
def test_literal_body_is_per_character(text: str) -> None:
    assert literal_body(text) == "".join(encode_char(c) for c in text)


@given(st.lists(st.one_of(_ASCII, _ANY), max_size=4))
def test_complement_body_spells_each_character(words: list[str]) -> None:
    spelled = sorted({"".join(_pair_or_raw(c) for c in w) for w in words})
    expected = "(?!(?:" + "|".join(spelled) + ')(?![^"]))' if spelled else ""
    assert complement_body(words) == expected + f"{KEY_UNIT}*"


def test_has_surrogate_and_plain_per_code_point() -> None:
    for cp in [*range(0x10000), 0x10000, 0x1F600, 0x10FFFF]:
        c = chr(cp)
        assert has_surrogate("ab" + c) == (0xD800 <= cp <= 0xDFFF)
        assert plain("a" + c) == (" " <= c <= "~")
    assert plain("") and not has_surrogate("")


@given(st.text(max_size=8))
def test_canon_of_a_string_is_its_json(text: str) -> None:
    assert canon(text) == json.dumps(text, sort_keys=True)
