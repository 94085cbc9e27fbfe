"""Regex front end: structure, normalization, refusals with offsets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings

from formcast import Grammar, GrammarError, UnsupportedFeatureError
from formcast.grammar.regex import check_regex_supported, grammar_from_regex, normalize_regex
from formcast.testing.strategies import from_regex


def test_structure_is_start_to_one_lexeme() -> None:
    g = grammar_from_regex(r"[a-z]+@[a-z]+\.com")
    assert g.start == "start"
    assert g.rules == {"start": (("REGEX",),)}
    assert g.lexemes["REGEX"].pattern == r"[a-z]+@[a-z]+\.com"
    assert g.ignore == ()
    assert Grammar.from_regex("a|b").lexemes["REGEX"].pattern == "a|b"


@pytest.mark.parametrize(
    ("pattern", "normalized"),
    [
        ("(?x) a b # comment\n [ ]", "ab[ ]"),
        ("(?x: a | b )c d", "(?:a|b)c d"),
        ("(?#note)x", "x"),
        ("(?i:ab)(?u:c)(?m:d)", "(?i:ab)(?:c)(?:d)"),
        ("(?s:a.b)", "(?s:a.b)"),
        (r"\101", r"\101"),  # octal escape, not a back-reference
        ("(?P<year>[0-9]{4})", "([0-9]{4})"),  # names mean nothing to a full match
        ("a*?b", "a*?b"),  # lazy: same full-match language
        (r"[\^$]", r"[\^$]"),  # anchors inside a class are characters
    ],
)
def test_normalization_keeps_the_language(pattern: str, normalized: str) -> None:
    assert normalize_regex(pattern) == normalized
    assert check_regex_supported(pattern) == normalized


@pytest.mark.parametrize(
    ("pattern", "feature", "offset"),
    [
        ("a(?=b)", "look-around", 1),
        ("ab(?!c)", "look-around", 2),
        ("(?<=a)b", "look-around", 0),
        ("(?<!a)b", "look-around", 0),
        (r"(a)\1", "back-reference", 3),
        ("(?P<n>a)(?P=n)", "back-reference", 8),
        ("(a)?(?(1)b|c)", "conditional", 4),
        ("(?>ab)", "atomic group", 0),
        ("a*+", "possessive", 2),
        ("a{2,3}+", "possessive", 6),
        ("^ab", "anchor", 0),
        ("ab$", "anchor", 2),
        (r"\Aab", "anchor", 0),
        (r"a\b", "word boundary", 1),
        (r"(?a:\w+)", "flag `a`", 0),
    ],
)
def test_unsupported_constructs_name_feature_and_offset(
    pattern: str, feature: str, offset: int
) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        grammar_from_regex(pattern)
    msg = str(info.value)
    assert feature in msg
    assert f"offset {offset} " in msg
    caret_line = msg.splitlines()[-1]
    assert caret_line.index("^") - 4 == offset  # excerpt lines are indented by 4


def test_check_regex_supported_names_the_caller_location() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        check_regex_supported("(?=x)", where="#/properties/id/pattern")
    assert "#/properties/id/pattern" in str(info.value)
    assert info.value.where.startswith("#/properties/id/pattern")


def test_invalid_regex_is_a_grammar_error_with_position() -> None:
    with pytest.raises(GrammarError) as info:
        grammar_from_regex("ab[c")
    assert "offset 2" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_string_is_refused() -> None:
    with pytest.raises(GrammarError, match="expected a regex as str"):
        grammar_from_regex(b"abc")  # type: ignore[arg-type]


def test_lexer_compiler_limits_are_refused() -> None:
    with pytest.raises(UnsupportedFeatureError):
        grammar_from_regex(r"\N{DIGIT ONE}")


@settings(derandomize=True, max_examples=50, deadline=None)
@given(from_regex(r"(?x) [0-9]{3} - [0-9]{4} (?# phone )"))
def test_from_regex_draws_full_matches(text: str) -> None:
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", text)


@pytest.mark.parametrize("pattern", ["a{99999999999}", "(?:a{0,4294967296})"])
def test_huge_repeat_count_is_a_grammar_error(pattern: str) -> None:
    with pytest.raises(GrammarError, match="offset 0 of regex"):
        Grammar.from_regex(pattern)
