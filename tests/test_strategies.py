"""The hypothesis strategies: bounded generation, lexing respected, refusals."""

from __future__ import annotations

import re

import lark
import pytest
from hypothesis import given, settings

from formcast import GrammarBuilder, GrammarError
from formcast.grammar.lark import grammar_from_lark
from formcast.testing.strategies import from_grammar, from_regex

_S = settings(derandomize=True, max_examples=60, deadline=None)

NAMES_WS = "start: NAME+\nNAME: /[a-z]+/\nWS: / +/\n%ignore WS\n"
NAMES_COMMA = 'start: NAME ("," NAME)*\nNAME: /[a-z]+/\n'


@_S
@given(from_grammar(grammar_from_lark(NAMES_WS)))
def test_adjacent_names_get_a_separator(text: str) -> None:
    words = lark.Lark(NAMES_WS, parser="lalr").parse(text).children
    assert len(words) == len(text.split())


@_S
@given(from_grammar(grammar_from_lark(NAMES_COMMA)))
def test_without_ignore_the_munch_check_keeps_valid_strings(text: str) -> None:
    assert re.fullmatch(r"[a-z]+(,[a-z]+)*", text)


@_S
@given(from_grammar(grammar_from_lark('start: "(" start ")" | "x"\n'), max_depth=3))
def test_depth_bound_terminates(text: str) -> None:
    depth = text.count("(")
    assert text == "(" * depth + "x" + ")" * depth
    assert depth <= 3 + 1


def test_non_terminating_start_refused() -> None:
    b = GrammarBuilder()
    loop = b.rule("start")
    b.define(loop, [(b.literal("a"), loop)])
    with pytest.raises(GrammarError, match="derives no finite string"):
        from_grammar(b.build(loop))


@_S
@given(from_grammar(grammar_from_lark('start: "a"?\n')))
def test_epsilon_is_drawn(text: str) -> None:
    assert text in ("", "a")


@_S
@given(from_regex(r"[a-c]{2,4}"))
def test_from_regex(text: str) -> None:
    assert re.fullmatch(r"[a-c]{2,4}", text)


def test_from_regex_refuses_unsupported() -> None:
    from formcast import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError):
        from_regex(r"(a)\1")
