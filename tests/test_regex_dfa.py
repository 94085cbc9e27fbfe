"""Regex → byte DFA against Python's `re` (the oracle): never wider, exact where ASCII."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formcast.automata import compiled
from formcast.automata.regex_dfa import compile_regex, residue_group, utf8_sequences
from formcast.errors import CompileLimitError, UnsupportedFeatureError

# (pattern, exact): exact patterns must agree with re.fullmatch on every string; the others
# use \d \w \s or case folding, where formcast reads a subset of Python's Unicode classes.
PATTERNS = [
    (r"[0-9]+", True),
    (r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", True),
    (r'"([^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"', True),
    (r"(ab)*", True),
    (r"a|é|日本|😀+", True),
    (r"[^a]", True),
    (r".{0,3}", True),
    (r"(?s:.)x", True),
    (r"a{2,4}?b", True),
    (r"[a-zA-Z_][a-zA-Z0-9_]*", True),
    (r"\d{4}-\d{2}-\d{2}", False),
    (r"\w+\s\W\S\D", False),
    (r"[^\d\s]|[^\w]", False),
    (r"(?i:select)|(?i:[^k])", False),
    # top-level lookaheads (intersection and difference by product)
    (r'"(?!(?:ab|a)(?![^"]))(?:[ab]|\\")*"', True),
    (r"(?=a)(?!ab)[ab]{0,3}", True),
    (r"(?=[ab]{2})(?![ab]{3})[ab]*", True),
    (r"a(?=b)b*", True),
    (r"(?:x(?=a|b))[ab]+", True),
    (r"(?=é)..?", True),
]
ALPHABET = 'ab0159-.eE+x\n"\\/_é日本😀SELCTselctkKK٣\u2003 \t'


@pytest.mark.parametrize(("pattern", "exact"), PATTERNS)
@given(text=st.text(alphabet=ALPHABET, max_size=8))
def test_dfa_never_accepts_what_python_rejects(pattern: str, exact: bool, text: str) -> None:
    ours = compile_regex(pattern).matches(text.encode())
    theirs = re.fullmatch(pattern, text) is not None
    if ours:
        assert theirs
    if exact:
        assert ours == theirs


LONG = [
    r'"[ab]{0,20}"',
    r"x(?:a|é){3,17}y?",
    r"[ab]{16,}",
    r"(?:ab|😀){16}",
    r"(?=(?:ab)*b)[ab]{16,20}",
    r"(?!a{17})[ab]{16,30}",
    r"(?:a|ab){16,18}",  # not prefix-free: built through the NFA
    r"x?(?:a|é){0,17}y?",  # nullable pieces glued in one table: the whole is nullable
    r"[ab]{0,16}b",  # a piece's end continues on the next piece's first byte: pairwise
]


@pytest.mark.parametrize("pattern", LONG)
@given(
    text=st.text(alphabet="ab", min_size=14, max_size=34).map(
        lambda t: t.replace("aa", "é").replace("bb", "😀")
    ),
    frame=st.sampled_from(["{}", '"{}"', "x{}", "x{}y"]),
)
def test_long_repetitions_match_python(pattern: str, text: str, frame: str) -> None:
    text = frame.format(text)
    assert compile_regex(pattern).matches(text.encode()) == bool(re.fullmatch(pattern, text))


@pytest.mark.parametrize("pattern", [r"(?<=a)b", r"a(?:(?=b)b|c)", r"(?:(?=a)a){20}", r"a|(?=b)b"])
def test_lookarounds_outside_the_top_level_are_refused(pattern: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match="look-around"):
        compile_regex(pattern)


def test_long_repetition_grows_linearly() -> None:
    dfa = compile_regex("[a-z]{0,5000}")
    assert dfa.n_states <= 5002
    assert dfa.matches(b"q" * 5000) and not dfa.matches(b"q" * 5001)


@pytest.mark.parametrize("pattern", [r"\D", r"\W", r"\S", r"[^\d]", r"[^\w]", r"(?i:[^k])"])
def test_negated_classes_are_subsets_of_python_on_all_planes(pattern: str) -> None:
    rng = random.Random(0)
    cps = [c for c in rng.sample(range(0x110000), 20000) if not 0xD800 <= c <= 0xDFFF]
    cps += [0x212A, 0x17F, 0x130, 0x131, 0x663, 0x2003]  # Kelvin sign, long s, Arabic 3, em space
    dfa = compile_regex(pattern)
    wider = [
        hex(c) for c in cps if dfa.matches(chr(c).encode()) and not re.fullmatch(pattern, chr(c))
    ]
    assert not wider


@pytest.mark.parametrize(("lo", "hi"), [(0, 0x10FFFF), (0x80, 0x7FF), (0x7F0, 0x10010)])
def test_utf8_sequences_cover_each_code_point_once(lo: int, hi: int) -> None:
    seqs = utf8_sequences(lo, hi)
    count = 0
    for seq in seqs:
        n = 1
        for a, b in seq:
            n *= b - a + 1
        count += n
    surrogates = max(0, min(hi, 0xDFFF) - max(lo, 0xD800) + 1)
    assert count == hi - lo + 1 - surrogates


def test_bytes_split_inside_a_character() -> None:
    dfa = compile_regex("é+")
    state = int(dfa.trans[0, 0xC3])
    assert state >= 0 and not dfa.accept[state]  # half a character: alive, not accepting
    assert dfa.accept[int(dfa.trans[state, 0xA9])]


@given(
    m=st.sampled_from([1, 2, 3, 7, 11, 13, 99, 997]),
    zero=st.booleans(),
    text=st.text("0123456789.", max_size=12),
)
def test_residue_groups_read_digits_modulo(m: int, zero: bool, text: str) -> None:
    """A residue group matches digit strings (points skipped) by their value mod m, in a
    lookahead, repeated in one pattern (the names are made distinct), and in a sequence."""
    digits = text.replace(".", "")
    want = (int(digits or "0") % m == 0) == zero
    group = residue_group(m, zero)
    assert compile_regex(group).matches(text.encode()) == want
    ahead = compile_regex(f"[ab](?={group}(?![0-9.])){group}")
    either = compile_regex(f"a{group}|b{group}")
    for dfa in (ahead, either):
        assert dfa.matches(b"a" + text.encode()) == want
        assert dfa.matches(b"b" + text.encode()) == want


def test_residue_groups_are_not_decided_by_pythons_re() -> None:
    """Python's `re` reads a residue group as its superset body: the lexeme facts leave
    such a pattern to the automaton (here: no non-empty string is a multiple of 7 and not)."""
    pattern = f"(?={residue_group(7, True)}(?![0-9.])){residue_group(7, False)}"
    assert compiled.lexeme_facts(pattern) is None
    assert compile_regex(pattern).is_empty


@given(text=st.text(alphabet="ab", max_size=14))
def test_subset_construction_past_its_first_tables(text: str) -> None:
    # "an a nine from the end": 512 states, past the kernel's first tables and hash size
    pattern = "(?:a|b)*a(?:a|b){8}"
    dfa = compile_regex(pattern)
    assert dfa.n_states >= 512
    assert dfa.matches(text.encode()) == bool(re.fullmatch(pattern, text))


def test_subset_construction_stops_at_the_state_limit() -> None:
    with pytest.raises(CompileLimitError, match="max_lexeme_states"):
        compile_regex("(?:a|b)*a(?:a|b){15}")
