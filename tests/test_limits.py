"""Pathological inputs hit a named limit quickly; malformed inputs raise formcast errors only.

Inputs that could hang run in a subprocess with a wall-clock bound, so a regression fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import formcast as fc
from formcast.automata import regex_dfa
from formcast.testing.oracle import byte_tokenizer

WALL_S = 10.0

# An ambiguous grammar: every split of a run of "a" into x's is a parse, so Earley rows grow.
AMBIGUOUS = 'start: x x x x x\nx: "a" | x x |\n'


def _run_to_mask(grammar: fc.Grammar, options: fc.CompileOptions, text: str) -> None:
    """Compile, start a matcher, feed ``text`` and fill one mask: where limits can fire."""
    tok = byte_tokenizer()
    m = fc.Matcher(fc.compile(grammar, tok, options))
    m.accept_string(text)
    m.fill_next_token_bitmask(fc.allocate_token_bitmask(1, tok.vocab_size))


def _assert_limit(limit: str, fn: Callable[..., object], *args: object) -> fc.CompileLimitError:
    t0 = time.perf_counter()
    with pytest.raises(fc.CompileLimitError) as info:
        fn(*args)
    assert time.perf_counter() - t0 < WALL_S
    assert info.value.limit == limit
    assert limit in str(info.value)
    return info.value


def test_earley_row_limit() -> None:
    g = fc.Grammar.from_lark(AMBIGUOUS)
    err = _assert_limit(
        "max_items_per_set", _run_to_mask, g, fc.CompileOptions(max_items_per_set=50), "a" * 30
    )
    assert err.value == 50


def test_earley_row_limit_default_is_generous() -> None:
    g = fc.Grammar.from_lark(AMBIGUOUS)
    t0 = time.perf_counter()
    _run_to_mask(g, fc.CompileOptions(), "a" * 30)
    assert time.perf_counter() - t0 < WALL_S


def test_lexer_state_limit() -> None:
    g = fc.Grammar.from_lark('start: "abcdefghijklmnop"')
    err = _assert_limit(
        "max_lexer_states", _run_to_mask, g, fc.CompileOptions(max_lexer_states=5), ""
    )
    assert err.value == 5


OVERLAPPING = """\
start: A | B | C
A: /[ab]*a[ab]{6}/
B: /[ab]*b[ab]{5}/
C: /[ab]{3}c/
"""


def test_lexer_state_limit_overlapping_lexemes() -> None:
    # Several lexemes alive at once: the combined states are the product of their positions.
    g = fc.Grammar.from_lark(OVERLAPPING)
    _assert_limit(
        "max_lexer_states", _run_to_mask, g, fc.CompileOptions(max_lexer_states=100), "ab"
    )


@pytest.mark.parametrize("narrow", [False, True])
def test_lexeme_dfa_limit(monkeypatch: pytest.MonkeyPatch, narrow: bool) -> None:
    # The real limits (regex_dfa.MAX_LEXEME_STATES, and MAX_NARROW_STATES for a long chain
    # kept narrow) are lowered so the test stays fast.
    monkeypatch.setattr(regex_dfa, "MAX_LEXEME_STATES", 300)
    monkeypatch.setattr(regex_dfa, "MAX_NARROW_STATES", 300)
    if not narrow:
        monkeypatch.setattr(regex_dfa, "NARROW_FROM", 10**9)
    g = fc.Grammar.from_regex(f'"[^"]{{{97 + narrow}}}"')  # about 8 states per character
    limit = "max_narrow_states" if narrow else "max_lexeme_states"
    err = _assert_limit(limit, _run_to_mask, g, fc.CompileOptions(), "")
    assert err.value == 300


_PROBE = """
import json, sys, time
import formcast as fc
from formcast.testing.oracle import byte_tokenizer
t0 = time.perf_counter()
try:
    fc.compile(fc.Grammar.from_regex(sys.argv[1]), byte_tokenizer())
    out = {"ok": True}
except fc.CompileLimitError as exc:
    out = {"ok": False, "limit": exc.limit}
out["s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def _compile_in_subprocess(pattern: str, timeout: float) -> dict[str, object]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, pattern],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"compiling regex {pattern!r} did not finish in {timeout} s (no limit hit)")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("pattern", "limit"),
    [
        pytest.param("(a|b)*a(a|b){20}", "max_lexeme_states", id="powerset-explosion"),
        pytest.param("a{200000}", "max_narrow_states", id="long-chain"),
    ],
)
def test_exploding_regex_hits_lexeme_limit(pattern: str, limit: str) -> None:
    result = _compile_in_subprocess(pattern, timeout=WALL_S)
    assert result["ok"] is False and result["limit"] == limit, result


def test_large_regex_under_the_limit_compiles_quickly() -> None:
    result = _compile_in_subprocess("a{4000}", timeout=WALL_S)
    assert result["ok"] is True, result


# ---- malformed input: formcast errors only -----------------------------------------------

# Grammar-ish characters, so the parsers get past their first byte more often than with text().
LARK_ALPHABET = 'abxAB:_|?*+()[]{}~."/ \n%ignore%import common.WS-0123^$\\'
REGEX_ALPHABET = "ab.*+?|()[]{}^$\\-,0123:=!<>P'\"dDsSwWbB\n é"
# Inputs that compile without a size blow-up (no counted repetition), to also run the matcher.
_NO_COUNTS = str.maketrans("", "", "{}~0123456789")


def _exercise(grammar: fc.Grammar, sample: str) -> None:
    tok = byte_tokenizer()
    m = fc.Matcher(fc.compile(grammar, tok, fc.CompileOptions(max_lexer_states=2000)))
    m.accept_string(sample)
    m.fill_next_token_bitmask(fc.allocate_token_bitmask(1, tok.vocab_size))
    m.can_terminate()


_RULE_BODY = st.text(alphabet=LARK_ALPHABET, max_size=30)
LARK_TEXT = (
    st.text(alphabet=LARK_ALPHABET, max_size=60)
    | st.text(max_size=30)
    | st.builds("start: {}\n{}".format, _RULE_BODY, _RULE_BODY)
    | st.builds(
        "start: A B\nA: /{}/\nB: {}\n".format,
        st.text(alphabet=REGEX_ALPHABET, max_size=20),
        _RULE_BODY,
    )
)


@given(LARK_TEXT)
@example('start: "a"~100000')
@example("start: /(/")
@example("start: A\nA: B\nB: A")
@example("start: start")
@example("%ignore WS\nstart: 'a'")
@example('start: "')
@example("start: x\nx: x")
def test_lark_front_end_raises_only_formcast_errors(text: str) -> None:
    try:
        g = fc.Grammar.from_lark(text)
    except fc.FormcastError:
        return
    if text == text.translate(_NO_COUNTS):
        with contextlib.suppress(fc.FormcastError):
            _exercise(g, "ab")


@given(st.text(alphabet=REGEX_ALPHABET, max_size=40) | st.text(max_size=20))
@example("(?P<x>a)(?P=x)")
@example("a{2,1}")
@example("[z-a]")
@example("(?<=a)b")
@example("\\")
@example("(a|b")
@example("[^\\x00-\\U0010ffff]")
@example("a**")
def test_regex_front_end_raises_only_formcast_errors(pattern: str) -> None:
    try:
        g = fc.Grammar.from_regex(pattern)
    except fc.FormcastError:
        return
    if pattern == pattern.translate(_NO_COUNTS):
        with contextlib.suppress(fc.FormcastError):
            _exercise(g, "ab")


@given(st.text(alphabet=REGEX_ALPHABET, max_size=40) | st.text(max_size=20))
@example("(a|b")
@example("(?<=a+)b")
@example("a**")
@example("[z-a]")
@example("a{99999999999}")
def test_unchecked_lexeme_patterns_are_refused_at_compile(pattern: str) -> None:
    """``GrammarBuilder(check_patterns=False)``: a pattern ``re`` rejects is refused later."""
    try:
        re.compile(pattern)
    except re.error:
        b = fc.GrammarBuilder(check_patterns=False)
        grammar = b.build(b.lexeme(pattern))
        with pytest.raises(fc.FormcastError):
            fc.compile(grammar, byte_tokenizer())
    except OverflowError:  # a huge repeat count: the checked builder says GrammarError
        with pytest.raises(fc.GrammarError):
            fc.GrammarBuilder().lexeme(pattern)


def test_compile_options_reject_unknown_and_bad_values() -> None:
    with pytest.raises(TypeError):
        fc.CompileOptions(max_states=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_items_per_set"):
        fc.CompileOptions(max_items_per_set=0)
