"""Shipped grammars: they load, lark agrees on examples, drawn strings parse, and our matcher
agrees with lark (drawn strings accepted, mutants lark rejects rejected)."""

from __future__ import annotations

import functools

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formcast import GrammarError
from formcast.grammar.shipped import load_grammar, shipped_grammar_text, shipped_grammars
from formcast.testing.strategies import from_grammar

# Grammars whose language lark's LALR parser (contextual lexer) gives exactly. The others are
# LALR(1) grammars too, but identifiers may spell keywords, which only Earley resolves as we do.
LALR = {"json", "arithmetic", "csv"}
NAMES = ["arithmetic", "clike", "csv", "json", "sql"]

EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "json": (
        ['{"a": [1, -2.5e3, true, null], "b": {}}', "[]", '"\\u00e9\\n"', " 0 "],
        ["[1, 2,]", "{'a': 1}", "01", "[1 2]", '"\x01"', "tru"],
    ),
    "arithmetic": (
        ["1 + 2 * (3 - 4) / 5", "--1", "(2.5)", "-(1)*-2"],
        ["1 +", "1..2", "()", "1 2", "+1"],
    ),
    "csv": (
        ['a,b,c\n1,"x, ""y""",3\n', "name\n", "a,,b\r\n,,\n", '"multi\nline",x'],
        ['a,b"c', '"unclosed\n', 'a,"b"c'],
    ),
    "sql": (
        [
            "SELECT * FROM t",
            "select a, b.c AS x FROM t WHERE a >= 1 AND NOT (b = 'it''s' OR c <> 2);",
            "SELECT COUNT(*) FROM users GROUP BY country ORDER BY country DESC, id LIMIT 10",
        ],
        ["SELECT FROM t", "SELECT a FROM", "SELECT a FROM t WHERE", "SELECT a b FROM t"],
    ),
    "clike": (
        [
            "int main() { int x = 1; while (x < 10) { x = x + 1; } return x; }",
            "if (a == 1) b = 2; else { c(1, 'x', \"s\"); }",
            "/* c */ void f(int a, char b) {} // end",
        ],
        ["int x = ;", "if a { }", "int 1x = 2;", "return x", "x = = 1;"],
    ),
}


@functools.cache
def _lark(name: str) -> lark.Lark:
    return lark.Lark(shipped_grammar_text(name), parser="lalr" if name in LALR else "earley")


def _lark_accepts(name: str, text: str) -> bool:
    try:
        _lark(name).parse(text)
    except lark.exceptions.LarkError:
        return False
    return True


def test_shipped_list() -> None:
    assert shipped_grammars() == NAMES
    with pytest.raises(GrammarError, match="no shipped grammar"):
        load_grammar("cobol")


@pytest.mark.parametrize("name", NAMES)
def test_loads_in_lark_and_ours(name: str) -> None:
    text = shipped_grammar_text(name)
    lark.Lark(text, parser="earley")
    lark.Lark(text, parser="lalr")  # all are LALR(1) grammars
    g = load_grammar(name)
    assert g.start == "start"


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_examples(name: str) -> None:
    valid, invalid = EXAMPLES[name]
    for text in valid:
        assert _lark_accepts(name, text), text
    for text in invalid:
        assert not _lark_accepts(name, text), text


_SETTINGS = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("name", NAMES)
def test_drawn_strings_parse_with_lark(name: str) -> None:
    @_SETTINGS
    @given(from_grammar(load_grammar(name)))
    def check(text: str) -> None:
        _lark(name).parse(text)

    check()


# --- our matcher against lark (needs the compiled automata) ----------------------------------

oracle = pytest.importorskip("formcast.testing.oracle")


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_examples_with_our_matcher(name: str) -> None:
    g = load_grammar(name)
    valid, invalid = EXAMPLES[name]
    for text in valid:
        assert oracle.accepts(g, text), text
    for text in invalid:
        assert not oracle.accepts(g, text), text


@pytest.mark.parametrize("name", NAMES)
def test_drawn_strings_accepted_by_our_matcher(name: str) -> None:
    g = load_grammar(name)

    @_SETTINGS
    @given(from_grammar(g, max_depth=6))
    def check(text: str) -> None:
        assert oracle.accepts(g, text), text

    check()


@pytest.mark.parametrize(
    ("name", "text"), [("sql", "SELECT a FROM tWHERE b = 1"), ("clike", "int f() { returnx 1; }")]
)
def test_identifiers_swallow_adjacent_keywords(name: str, text: str) -> None:
    # Maximal munch: an identifier followed by letters is one longer identifier.
    assert not _lark_accepts(name, text)
    assert not oracle.accepts(load_grammar(name), text)


def _mutate(text: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
    if not text:
        kind = "insert"
    i = data.draw(st.integers(0, max(len(text) - 1, 0)))
    ch = data.draw(st.sampled_from(list("(){}[],;:\"'=<>+-*/.\\ \n0aZ")))
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    if kind == "insert":
        return text[:i] + ch + text[i:]
    if kind == "replace":
        return text[:i] + ch + text[i + 1 :]
    j = data.draw(st.integers(0, len(text) - 1))
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@pytest.mark.parametrize("name", NAMES)
def test_mutants_rejected_by_lark_are_rejected_by_us(name: str) -> None:
    g = load_grammar(name)

    @_SETTINGS
    @given(from_grammar(g, max_depth=6), st.data())
    def check(text: str, data: st.DataObject) -> None:
        mutant = _mutate(text, data)
        if not _lark_accepts(name, mutant):
            assert not oracle.accepts(g, mutant), mutant

    check()
