"""Lexeme DFAs compile lazily: facts read off the parse tree are exact, masks stay exact,
and a lexeme too large to compile fails with the named limit, at compile or match time."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import formcast as fc
from formcast.automata import regex_dfa
from formcast.automata.compiled import lexeme_facts
from formcast.testing.oracle import brute_force_mask, byte_tokenizer, mask_to_bool

JSON_KEY = '"(?!(?:a|b)(?![^"]))(?:[^"\\\\\\x00-\\x1f]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*"'
PATTERNS = [
    "a",
    "",
    "a?",
    "a*",
    "a{0}",
    "a{0}|b",
    "(?:a|)",
    "a|b*",
    "[ \\t\\n\\r]{0,20},[ \\t\\n\\r]{0,20}",
    "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?",
    "[\\ud800-\\udfff]",  # surrogates only: matches nothing (undecided, compiled)
    "\\ud800?",
    "[^\\x00-\\U0010ffff]",
    "[^a-z]",
    "(?i)[^a]",
    "(?i)select",
    "[^\\D\\d]",
    "[^\\W]x",
    "\\S\\D\\W.",
    "(?s:.)*",
    JSON_KEY,
    '"(?!(?:)(?![^"]))[a]*"',
    '"(?!(?:|a|b|c|x|y|z|0|1|2)(?![^"]))[abcxyz012]?"',
    "(?=a)b",
    "(?!a)a",
    "(?=a)a?",
    "(?!a)[ab]",
    "(?=[ab]{3})[ab]*",
    "a(?=b)",
    "a(?=(?!c)b)b",
    "x(?i:(?=a)a)",
    "(?=a)(?=b)c|d",
    "(a(?=b))b",
    "a{1,2}",
]


def _compiled_facts(pattern: str) -> tuple[bool, bool] | str:
    try:
        dfa = regex_dfa.compile_regex(pattern)
    except fc.CompileLimitError:
        return "limit"
    except fc.FormcastError as exc:
        return type(exc).__name__
    return dfa.nullable, dfa.is_empty


def _check_facts(pattern: str) -> None:
    try:
        known = lexeme_facts(pattern)
    except fc.GrammarError:
        return  # does not parse: compile_regex refuses it too, at compile time
    if known is None:
        return  # compiled eagerly: nothing predicted
    got = _compiled_facts(pattern)
    assert got == known or got == "limit", (pattern, known, got)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_facts_equal_compiled_dfa(pattern: str) -> None:
    _check_facts(pattern)


def test_common_lexemes_are_decided() -> None:
    # the point of the exercise: JSON keys outside a fixed set, numbers, punctuation
    for pattern in (JSON_KEY, PATTERNS[8], PATTERNS[9], "(?i)select"):
        assert lexeme_facts(pattern) == (False, False), pattern
    assert lexeme_facts("a{0}|b") == (True, False)
    assert lexeme_facts("a{0}") == (True, True)
    assert lexeme_facts("(?!a)a") is None  # empty: no witness, so compiled


_PIECE = st.text(alphabet='ab.*+?|()[]^\\-dDsSwW"', max_size=12)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # "[[" in drawn classes
@given(
    _PIECE,
    st.sampled_from(["", "(?=", "(?!", "(?i:", "(?:"]),
    _PIECE,
    _PIECE,
)
@example("", "(?!", "a|b", "[ab]*")
@example("", "(?=", "a", "[^b]")
@example('"', "(?!", "", '[^"]*"')
def test_facts_equal_compiled_dfa_drawn(head: str, group: str, inner: str, tail: str) -> None:
    _check_facts(head + (group + inner + ")" if group else inner) + tail)


LAZY = fc.CompileOptions(eager_lexemes=False)


def _walk_exact(
    grammar: fc.Grammar, text: str, options: fc.CompileOptions | None = None
) -> fc.Matcher:
    """Feed ``text`` byte by byte, checking every mask against the brute-force oracle."""
    tok = byte_tokenizer()
    m = fc.Matcher(fc.compile(grammar, tok, options))
    bitmask = fc.allocate_token_bitmask(1, tok.vocab_size)
    for ch in text:
        m.fill_next_token_bitmask(bitmask, 0)
        assert (mask_to_bool(bitmask[0], tok.vocab_size) == brute_force_mask(m)).all()
        assert m.accept_string(ch)
    assert m.can_terminate()
    return m


def _check_lexer_tables(m: fc.Matcher) -> None:
    """Every built combined state's row is the product of its lexemes' DFA rows."""
    lexer = m.compiled.automata.lexer
    trans = lexer.trans
    ids = {lexer.combined(sid): sid for sid in range(lexer.n_states)}
    for sid in range(lexer.n_states):
        combined = lexer.combined(sid)
        for b in range(256):
            nxt = tuple(
                (lex, int(lexer.dfa(lex).trans[s, b]))
                for lex, s in combined
                if lexer.dfa(lex).trans[s, b] >= 0
            )
            want = ids[nxt] if nxt else -1
            assert trans[sid, b] == want, (sid, b)


def test_lexemes_load_when_first_needed_and_masks_stay_exact() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"enum": ["x", "yy"]}},
        },
        "required": ["name", "n"],
        "additionalProperties": {"type": "boolean"},
    }
    g = fc.Grammar.from_json_schema(schema)
    a = fc.compile(g, byte_tokenizer(), LAZY).automata
    lazy = [i for i in range(len(a.lexeme_names)) if not a.lexer.is_loaded(i)]
    assert lazy, "nothing was left to compile lazily"
    m = _walk_exact(g, '{"name": "a\\u00e9", "n": -12, "tags": ["yy", "x"], "ok": true}', LAZY)
    assert any(a.lexer.is_loaded(i) for i in lazy)
    _check_lexer_tables(m)


def test_overlapping_lexemes_share_states_exactly() -> None:
    # several lexemes alive at once: joint byte classes of lazily loaded DFAs
    g = fc.Grammar.from_lark(
        'start: "(" item (";" item)* ")"\n'
        "item: A | B | C | D\n"
        "A: /[a-f]+/\nB: /[d-k]+x/\nC: /[0-9a-c]{2}/\nD: /é|[e-z]é?/\n"
    )
    m = _walk_exact(g, "(ab;dex;0b;e;fé;é;def)")
    _check_lexer_tables(m)


def test_lexeme_failing_at_match_time_raises_the_named_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # B is not needed for the first mask, so it compiles when the matcher reaches it
    g = fc.Grammar.from_lark('start: "x" B\nB: /y[ab]{40}q7z_lazy_limit/\n')
    tok = byte_tokenizer()
    lazy = fc.compile(g, tok, LAZY)
    b = lazy.automata.lexeme_names.index("B")
    assert not lazy.automata.lexer.is_loaded(b)
    m = fc.Matcher(lazy)
    assert m.accept_string("x")
    bitmask = fc.allocate_token_bitmask(1, tok.vocab_size)
    with monkeypatch.context() as patch:
        patch.setattr(regex_dfa, "MAX_LEXEME_STATES", 10)
        with pytest.raises(fc.CompileLimitError) as info:
            m.fill_next_token_bitmask(bitmask, 0)
        assert info.value.limit == "max_lexeme_states"
        with pytest.raises(fc.CompileLimitError):
            m.accept_string("y")
    # nothing half-built was left behind: the same matcher goes on exactly
    m.fill_next_token_bitmask(bitmask, 0)
    assert (mask_to_bool(bitmask[0], tok.vocab_size) == brute_force_mask(m)).all()
    assert m.accept_string("y" + "ab" * 20 + "q7z_lazy_limit") and m.can_terminate()


def test_eager_lexemes_compile_every_dfa_and_report_a_limit_at_compile_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = fc.Grammar.from_lark('start: "x" B\nB: /y[ab]{40}q7z_eager_limit/\n')
    tok = byte_tokenizer()
    a = fc.compile(g, tok).automata  # eager_lexemes is the default
    assert all(a.lexer.is_loaded(i) for i in range(len(a.lexeme_names)))
    m = _walk_exact(g, "xy" + "ab" * 20 + "q7z_eager_limit")
    _check_lexer_tables(m)
    with monkeypatch.context() as patch:
        patch.setattr(regex_dfa, "MAX_LEXEME_STATES", 10)
        with pytest.raises(fc.CompileLimitError) as info:
            fc.compile(fc.Grammar.from_lark('start: "x" B\nB: /y[ab]{40}q7z_eager_2/\n'), tok)
        assert info.value.limit == "max_lexeme_states"
    with pytest.raises(ValueError, match="eager_lexemes"):
        fc.CompileOptions(eager_lexemes=1)  # type: ignore[arg-type]


def test_lexeme_too_large_by_estimate_fails_at_compile_time() -> None:
    g = fc.Grammar.from_lark('start: "x" B\nB: /y{200000}/\n')  # a chain: kept narrow
    with pytest.raises(fc.CompileLimitError) as info:
        fc.compile(g, byte_tokenizer())
    assert info.value.limit == "max_narrow_states"


def test_dfas_property_compiles_everything() -> None:
    g = fc.Grammar.from_lark('start: "x" B | C\nB: /b+/\nC: /c?d/\n')
    a = fc.compile(g, byte_tokenizer(), LAZY).automata
    assert not all(a.lexer.is_loaded(i) for i in range(len(a.lexeme_names)))
    dfas = a.dfas
    for i, name in enumerate(a.lexeme_names):
        assert a.lexer.is_loaded(i)
        assert dfas[i] is a.lexer.dfa(i)
        assert dfas[i].matches(g.lexemes[name].pattern.encode()) == (name not in "BC")
