"""Lark front end: IR structure, supported features, typed errors with locations."""

from __future__ import annotations

import itertools
import re

import lark
import pytest

from formcast import Grammar, GrammarError, UnsupportedFeatureError
from formcast.automata.compiled import compile_grammar
from formcast.grammar.lark import _lark_common_rewrites, grammar_from_lark
from formcast.testing.oracle import byte_tokenizer


def test_small_grammar_structure() -> None:
    g = grammar_from_lark('start: "a" B\nB: /b+/\n')
    assert g.start == "start"
    assert g.rules == {"start": (("A", "B"),)}
    assert {n: lex.pattern for n, lex in g.lexemes.items()} == {"A": "a", "B": "b+"}
    assert Grammar.from_lark('start: "a" B\nB: /b+/\n').fingerprint() == g.fingerprint()


def test_content_key_tells_grammars_apart() -> None:
    g = grammar_from_lark('start: "a" B\nB: /b+/\n')
    same = grammar_from_lark('start: "a" B\nB: /b+/\n')
    other = grammar_from_lark('start: "a" B\nB: /c+/\n')
    assert g.content_key() == same.content_key() != other.content_key()
    tok = byte_tokenizer()
    assert compile_grammar(g, tok) is compile_grammar(same, tok)  # the compile cache's key
    assert compile_grammar(g, tok) is not compile_grammar(other, tok)
    # rules given as lists (not the IR's tuples) still get a key
    listed = Grammar(g.start, {k: [list(a) for a in v] for k, v in g.rules.items()}, g.lexemes)
    assert len(listed.content_key()) == 64
    assert compile_grammar(listed, tok).grammar.content_key() == listed.content_key()


def test_ebnf_expands_to_the_same_language() -> None:
    g = grammar_from_lark('start: "x"+ ["y"] "z"*\n')
    assert g.start in g.rules
    assert set(g.lexemes) == {"X", "Y", "Z"}
    # every rule alternative uses only defined symbols (checked by Grammar itself)
    assert all(isinstance(alt, tuple) for alts in g.rules.values() for alt in alts)


def test_ignore_and_common_imports() -> None:
    g = grammar_from_lark(
        "start: NAME+\n%import common.CNAME -> NAME\n%import common.WS\n%ignore WS\n"
    )
    assert g.ignore == ("WS",)
    assert re.fullmatch(g.lexemes["NAME"].pattern, "_abc12")
    assert re.fullmatch(g.lexemes["WS"].pattern, " \t\n")


def test_flags_become_inline_groups() -> None:
    g = grammar_from_lark('start: "select"i A B\nA: /a.b/s\nB: /c d/x\n')
    assert g.lexemes["SELECT"].pattern == "(?i:select)"
    assert re.fullmatch(g.lexemes["A"].pattern, "a\nb")
    assert re.fullmatch(g.lexemes["B"].pattern, "cd")


def test_templates_and_rule_priorities() -> None:
    g = grammar_from_lark('start.5: _list{"a"}\n_list{x}: x ("," x)*\n')
    assert "_list{A}" in g.rules or any("_list" in r for r in g.rules)
    assert any("priorities ignored" in n for n in g.notes)


def test_start_option() -> None:
    g = grammar_from_lark('expr: "1" | "(" expr ")"\n', start="expr")
    assert g.start == "expr"


def test_escaped_string_rewrite_matches_lark_lexing() -> None:
    # Lark lexes with re.match (lazy); we lex by longest match: the rewrites must agree.
    for orig, new in _lark_common_rewrites().items():
        lark_re, ours = re.compile(orig), re.compile(new)
        alphabet = '"a\\\n' if new.startswith('"') else "/*a\n"
        for n in range(7):
            for chars in itertools.product(alphabet, repeat=n):
                s = "".join(chars)
                m = lark_re.match(s)
                longest = next((k for k in range(len(s), -1, -1) if ours.fullmatch(s[:k])), None)
                assert (m.end() if m else None) == longest, (orig, s)


def _caret_column(msg: str) -> int:
    line = next(ln for ln in msg.splitlines() if ln.strip() == "^")
    return line.index("^") - 4 + 1


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('start: "a" (\n', 1, 13, ["Unclosed parenthesis", "Expected one of"]),
        ('start: "a"\n  %% \n', 2, 3, ["Expected one of"]),
        ("start: a\n", 1, 8, ["'a' used but not defined"]),
        ('start: "a"\nstart: "b"\n', 2, 1, ["defined more than once"]),
        ('start: x{"a"}\n', 1, 8, ["Template 'x'"]),
        ('start: "a"\n%import nothere.X\n', 2, 9, ["%import failed"]),
    ],
)
def test_grammar_errors_have_line_column_and_caret(
    text: str, line: int, column: int, words: list[str]
) -> None:
    with pytest.raises(GrammarError) as info:
        grammar_from_lark(text)
    msg = str(info.value)
    assert f"line {line} column {column}" in msg
    assert _caret_column(msg) == column
    for w in words:
        assert w in msg
    assert isinstance(info.value, ValueError)


def test_missing_start_rule() -> None:
    with pytest.raises(GrammarError, match="start rule 'start' is not defined"):
        grammar_from_lark('foo: "a"\n')


def test_terminal_priority_refused_with_location() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        grammar_from_lark('start: A\nA.2: "a"\n')
    assert "terminal priority A.2" in str(info.value)
    assert "line 2 column 1" in str(info.value)
    # the default priority is fine
    grammar_from_lark('start: A\nA.0: "a"\n')


def test_declared_terminal_refused() -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        grammar_from_lark("start: A\n%declare A\n")
    assert "%declare" in str(info.value)
    assert "line 2 column 10" in str(info.value)


def test_relative_import_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="relative %import"):
        grammar_from_lark("start: A\n%import .other.A\n")


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("start: A\nA: /a(?=b)/\n", "look-around"),
        ("start: A\nA: /a.*?b/\n", "lazy quantifier"),
        ("start: A\nA: /a/l\n", "flag `l`"),
        (r"start: A" + "\n" + r"A: /(a)\1/" + "\n", "back-reference"),
    ],
)
def test_unsupported_terminal_regexes(text: str, feature: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        grammar_from_lark(text)
    assert feature in str(info.value)
    assert "terminal A (line 2 column 1)" in str(info.value)


def test_agrees_with_lark_on_validity() -> None:
    for text in ['start: "a"\n', 'start: ("a" | B)*\nB: "b"\n']:
        lark.Lark(text, parser="earley")
        grammar_from_lark(text)
