"""JSON string constraints as lexemes: complements, lengths, patterns and formats combined.

Oracles: ``json.loads`` of the lexeme text and ``len`` (lengths count code points), Python's
``re`` for the regex the lowering writes, ``jsonschema`` for whole schemas.
"""

from __future__ import annotations

import json
import pathlib
import random
import re

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from formcast.automata.regex_dfa import compile_regex
from formcast.errors import CompileLimitError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_formats import FORMATS
from formcast.grammar.json_keysets import narrow_body
from formcast.grammar.json_patterns import bound_free_lengths, pattern_body
from formcast.grammar.json_strings import (
    complement_body,
    exclude_words,
    intersect_bodies,
    length_body,
)
from formcast.testing.oracle import accepts
from formcast.testing.strategies import from_grammar

CHARS = 'ab"\\/\n\x01Aé\u2028😀'
SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\n": "\\n", "\b": "\\b", "\f": "\\f"}


def spell(text: str, seed: int) -> str:
    """One JSON spelling of the body of ``text``: raw, short or ``\\u`` escapes, at random."""
    rng = random.Random(seed)
    out = []
    for c in text:
        cp = ord(c)
        ways = ["u"]
        if cp >= 0x20 and c not in '"\\':
            ways.append("raw")
        if c in SHORT:
            ways.append("short")
        way = rng.choice(ways)
        if way == "raw":
            out.append(c)
        elif way == "short":
            out.append(SHORT[c])
        else:
            units = (
                [cp] if cp <= 0xFFFF else [0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + (cp & 0x3FF)]
            )
            for u in units:
                digits = f"{u:04x}"
                out.append("\\u" + (digits.upper() if rng.random() < 0.5 else digits))
    return "".join(out)


def _spellings(text: str, seed: int) -> list[str]:
    return [json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1], spell(text, seed)]


@given(st.lists(st.text(CHARS, max_size=4), max_size=5), st.text(CHARS, max_size=5), st.integers())
@example(["a"], "a", 0)
@example(["😀"], "😀", 0)
@example(["", "ab"], "", 0)
def test_complement_is_exact(words: list[str], key: str, seed: int) -> None:
    lexeme = '"' + complement_body(words) + '"'
    dfa = compile_regex(lexeme)
    for text in _spellings(key, seed):
        ours = dfa.matches(('"' + text + '"').encode())
        # the DFA reads the regex exactly as Python does
        assert ours == (re.fullmatch(lexeme, '"' + text + '"') is not None), text
        if ours:
            assert json.loads('"' + text + '"') not in words
    if key not in words:  # JSON writers' spellings of any other key are accepted
        for text in (json.dumps(key), json.dumps(key, ensure_ascii=False)):
            assert dfa.matches(text.encode()), text


@given(
    st.lists(st.text(CHARS, max_size=3), max_size=3),
    st.integers(0, 3),
    st.text(CHARS, max_size=5),
    st.integers(),
)
def test_excluded_words_in_any_spelling(words: list[str], lo: int, key: str, seed: int) -> None:
    lexeme = '"' + exclude_words(words, length_body(lo, None)) + '"'
    dfa = compile_regex(lexeme)
    for text in _spellings(key, seed):
        ok = key not in words and len(key) >= lo
        assert dfa.matches(('"' + text + '"').encode()) == ok, text


@given(st.integers(0, 40), st.integers(0, 40), st.text(CHARS, max_size=45), st.integers())
@example(16, 16, "a" * 16, 0)
@example(0, 17, "😀" * 17, 0)
def test_length_counts_code_points(lo: int, span: int, text: str, seed: int) -> None:
    hi = lo + span
    dfa = compile_regex('"' + length_body(lo, hi) + '"')
    for body in _spellings(text, seed):
        assert dfa.matches(('"' + body + '"').encode()) == (lo <= len(text) <= hi), body


@pytest.mark.parametrize("max_len", [1000, 1200])
def test_long_max_length_compiles_as_a_chain(max_len: int) -> None:
    dfa = compile_regex('"' + length_body(1, max_len) + '"')
    assert dfa.n_states <= 21 * max_len
    assert dfa.matches(('"' + "é" * max_len + '"').encode())
    assert not dfa.matches(('"' + "é" * (max_len + 1) + '"').encode())
    assert not dfa.matches(b'""')


def test_huge_max_length_is_a_named_limit() -> None:
    assert compile_regex('"' + length_body(0, 4096) + '"').is_narrow
    with pytest.raises(CompileLimitError) as info:
        compile_regex('"' + length_body(0, 6000) + '"')
    assert info.value.limit == "max_narrow_states"


PATTERNS = ["^[a-z]+$", "b", "^a.*b$", "^(ab|cd)*$", "[0-9]{2}", "^x?[ab]{2,20}$", "é|^$"]


@pytest.mark.parametrize("pattern", PATTERNS)
@given(
    lo=st.integers(0, 6),
    span=st.integers(0, 20),
    text=st.text("abcdx09é\n", max_size=24),
    seed=st.integers(),
)
def test_pattern_with_length_is_exact(
    pattern: str, lo: int, span: int, text: str, seed: int
) -> None:
    hi = lo + span
    lexeme = '"' + intersect_bodies([pattern_body(pattern), length_body(lo, hi)]) + '"'
    dfa = compile_regex(lexeme)
    # ECMA-262's $ (no multiline) is the very end: Python's \Z
    ok = re.search(pattern.replace("$", "\\Z"), text) is not None and lo <= len(text) <= hi
    for body in (json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]):
        assert dfa.matches(('"' + body + '"').encode()) == ok, (body, lexeme)
    body = spell(text, seed)
    if dfa.matches(('"' + body + '"').encode()):  # other spellings: never wrongly accepted
        assert ok


SCHEMAS: list[tuple[dict, list[str], list[str]]] = [
    ({"pattern": "^2024", "format": "date"}, ["2024-02-29"], ["2023-01-01", "2024-02-30"]),
    ({"pattern": "^a", "maxLength": 3}, ["a", "abc"], ["abcd", "ba", ""]),
    ({"pattern": "^a", "minLength": 2}, ["ab", "a" * 30], ["a", "ba"]),
    ({"pattern": "a", "allOf": [{"pattern": "b"}]}, ["ab", "xbya"], ["a", "b"]),
    ({"format": "ipv4", "maxLength": 8}, ["10.0.0.1"], ["10.0.0.10", "x"]),
    ({"format": "email", "pattern": "@example\\.com$"}, ["a@example.com"], ["a@example.org"]),
    ({"minLength": 2, "not": {"const": "ab"}}, ["abc", "ba", "a\u0062c"], ["ab", "a", ""]),
    ({"maxLength": 3, "not": {"enum": ["a", "é"]}}, ["b", ""], ["a", "é", "abcd"]),
    ({"pattern": "^[a-z]*$", "not": {"const": "ab"}}, ["abc", ""], ["ab", "A"]),
    (
        {"format": "regex"},
        ["^[a-z]+$", "\\d{3}-\\d{4}", "(?:ab|c)*?", "^(?=.*[A-Z]).{8,}$", 'say "hi"', ""],
        ["*", "\\", "a{2,1}", "(", "[z-a]", "a**", "\\b+"],
    ),
]


@pytest.mark.parametrize(("schema", "good", "bad"), SCHEMAS)
def test_combined_string_rules(schema: dict, good: list[str], bad: list[str]) -> None:
    schema = {"type": "string", **schema}
    g = Grammar.from_json_schema(schema)
    check = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for value in good:
        assert check.is_valid(value)
        assert accepts(g, json.dumps(value)), value
        assert accepts(g, json.dumps(value, ensure_ascii=False)), value
    for value in bad:
        assert not check.is_valid(value)
        assert not accepts(g, json.dumps(value)), value
        # nor in a spelling JSON writers do not use: every character escaped
        assert not accepts(g, '"' + "".join(f"\\u{ord(c):04X}" for c in value) + '"'), value


ANCHORED = [
    r"^(\d\.)(\d)$|^(\d)$",
    r"^$|(^(?:\S+\s+){0,3}\S+$)",
    r"(^[^5]*$)|7",
    r"^([^,]|$)",
    r"^(\/?((\.{2})|([a-z0-9\-]*))($|\/))*$",
    r"(a|^)b",
    r"x(^|$)y",
    r"(^a|b$){2}",
    r"(^a|b)*c",
    r"^(ab|$)+$",
]


@pytest.mark.parametrize("pattern", ANCHORED)
@given(text=st.text("ab57,/.x1 ", max_size=10))
@example(text="")
def test_anchors_anywhere_are_exact(pattern: str, text: str) -> None:
    body = pattern_body(pattern)
    # ECMA-262's ^ and $ without the m flag: the ends of the string
    ecma = re.search(pattern.replace("$", r"\Z"), text) is not None
    assert (re.fullmatch(body, text) is not None) == ecma
    assert compile_regex(f'"{body}"').matches(json.dumps(text).encode()) == ecma


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (r"^[^\s]+$", ["é", "a-b", "日本"], [" ", "a\u00a0", "\x1c", "\ufeff", "\u2028", "\u0085"]),
        (r"^\S+$", ["é"], ["\u3000", "a b"]),
        (r"^[^:\s]+$", ["ab"], ["a:b", "\t"]),
        (r"^\s$", [" ", "\u00a0", "\u2028"], ["\x1c", "\ufeff", "\u0085", "a"]),
        (r"^[^\d]$", ["a"], ["1", "٣", "é"]),  # non-ASCII: Python's \d is Unicode (stricter)
    ],
)
def test_space_classes_match_in_both_dialects(
    pattern: str, good: list[str], bad: list[str]
) -> None:
    dfa = compile_regex('"' + pattern_body(pattern) + '"')
    for text in good:
        assert dfa.matches(json.dumps(text, ensure_ascii=False).encode()), text
    for text in bad:
        for spelling in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
            assert not dfa.matches(spelling.encode()), text


SUITE = (
    pathlib.Path(__file__).resolve().parents[1] / ".." / "shared/data/json-schema-test-suite/tests"
)
# valid per the suite, rejected by a documented departure (docs/json_schema.md)
LEAP = ["23:59:60Z", "23:59:60+00:00", "01:29:60+01:30", "23:29:60+23:30", "15:59:60-08:00"]
STRICTER = {
    "date-time": [
        "1998-12-31T23:59:60Z",
        "1998-12-31T15:59:60.123-08:00",
        "1963-06-19t08:30:06.283185z",
    ],
    "time": [*LEAP, "00:29:60-23:30", "08:30:06z"],
    "email": [
        '"joe bloggs"@example.com',
        '"joe..bloggs"@example.com',
        '"joe@bloggs"@example.com',
        "joe.bloggs@[127.0.0.1]",
        "joe.bloggs@[IPv6:::1]",
    ],
    "iri": [
        "http://[2001:0db8:85a3:0000:0000:8a2e:0370:7334]",
        "http://[2001:db8::1]",
        "http://[V1.fe]",
        "http://ƒøø.ßår/?q=\U000f0000",
    ],
    "uri": ["ldap://[2001:db8::7]/c=GB?objectClass?one"],
    "uri-template": ["a😀b", "a'b"],
}


@pytest.mark.skipif(not SUITE.is_dir(), reason="JSON Schema Test Suite not available")
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_formats_against_the_suite(name: str) -> None:
    dfa = compile_regex('"' + FORMATS[name] + '"')
    rejected_valid = []
    for draft in ("draft2020-12", "draft7"):
        path = SUITE / draft / "optional" / "format" / f"{name}.json"
        if not path.exists():
            continue
        for group in json.loads(path.read_text()):
            for test in group["tests"]:
                if not isinstance(test["data"], str):
                    continue
                texts = {json.dumps(test["data"]), json.dumps(test["data"], ensure_ascii=False)}
                got = [dfa.matches(t.encode()) for t in texts]
                if not test["valid"]:
                    assert not any(got), (name, test["data"])
                elif not any(got):
                    rejected_valid.append(test["data"])
    allowed = STRICTER.get(name, STRICTER.get(name.removeprefix("idn-"), []))
    if name.endswith("hostname"):  # every IDNA A-label is rejected
        allowed = [v for v in rejected_valid if v.startswith("xn--")]
    if name.startswith("idn-"):  # the ASCII subset only
        allowed += [v for v in rejected_valid if not v.isascii()]
    assert set(rejected_valid) <= set(allowed), rejected_valid


def test_long_max_length_is_enforced_as_the_cap_and_noted() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 10_000}}}
    g = Grammar.from_json_schema(schema)
    assert g.notes == ("restricted: maxLength 10000 at /properties/s is enforced as 4096",)
    assert accepts(g, json.dumps({"s": "é" * 4096}))
    assert not accepts(g, json.dumps({"s": "a" * 4097}))  # valid, but over the cap
    small = Grammar.from_json_schema({"type": "string", "maxLength": 4096})
    assert small.notes == ()
    # with a pattern the product of the two automata is bounded too (max_lexeme_states)
    patterned = Grammar.from_json_schema({"type": "string", "maxLength": 3000, "pattern": "^a+$"})
    assert patterned.notes == ()
    assert accepts(patterned, json.dumps("a" * 3000))
    assert not accepts(patterned, json.dumps("a" * 3001))


def test_format_max_length_past_the_state_limit_is_lowered_and_noted() -> None:
    """An email's maxLength of 254 would need more than max_lexeme_states lexer states:
    the bound is lowered until the automaton fits (a restriction, noted)."""
    schema = {"properties": {"e": {"type": "string", "format": "email", "maxLength": 254}}}
    g = Grammar.from_json_schema(schema)
    (note,) = g.notes
    m = re.fullmatch(r"restricted: maxLength 254 at /properties/e is enforced as (\d+) .*", note)
    assert m is not None, note
    cap = int(m.group(1))
    assert 32 <= cap < 254
    local = "a" * (cap - len("@example.com"))
    assert accepts(g, json.dumps({"e": local + "@example.com"}))
    assert not accepts(g, json.dumps({"e": local + "a@example.com"}))  # over the lowered cap
    assert not accepts(g, json.dumps({"e": "not an email"}))
    short = Grammar.from_json_schema({"type": "string", "format": "email", "maxLength": 40})
    assert short.notes == ()


@pytest.mark.parametrize(
    ("pattern", "max_len", "dropped"),
    [
        (r"^(?:\S+\s+){0,9}\S+$", 19, True),  # 20 characters could hold 10 repeats
        (r"^(?:\S+\s+){0,9}\S+$", 20, False),
        (r"^\d{1,15}(?:\.\d{1,5})?$", 5, True),  # both bounds
        (r"^(?:a?){0,3}$", 2, False),  # an iteration may be empty: never dropped
        (r"^(?=(?:ab){0,2}$)", 5, True),  # inside a lookahead too
    ],
)
def test_repetition_bounds_a_max_length_implies_are_dropped(
    pattern: str, max_len: int, dropped: bool
) -> None:
    plain, fitted = narrow_body(pattern), narrow_body(pattern, max_len)
    assert (plain != fitted) == dropped
    assert (max_len in bound_free_lengths(pattern)) == dropped


WORDS = r"^(?:\S+\s+){0,99}\S+$"


@settings(max_examples=60, deadline=None)
@given(text=st.text("ab \n\t\u00a0é", max_size=40))
def test_dropped_bounds_keep_the_strings_within_the_length(text: str) -> None:
    """A count of words that a length bound implies is not built: the lexeme accepts
    exactly the strings of the pattern that fit the length (oracle: Python's re)."""
    pattern = r"^(?:\S+\s+){0,4}\S+$"  # at most 5 words; 9 characters hold at most 5
    lexeme = '"' + intersect_bodies([pattern_body(pattern, 9), length_body(0, 9)]) + '"'
    dfa = compile_regex(lexeme)
    ok = re.search(pattern.replace("$", "\\Z"), text) is not None and len(text) <= 9
    assert dfa.matches(json.dumps(text).encode()) == ok


def test_word_count_with_a_long_max_length_keeps_sentences() -> None:
    """A 100-word limit with maxLength 5000: the lowered bound is where the word count is
    implied (199 characters hold at most 100 words), not where the counted automaton fits
    (about 20 characters)."""
    schema = {"properties": {"q": {"type": "string", "pattern": WORDS, "maxLength": 5000}}}
    g = Grammar.from_json_schema(schema)
    capped, note = g.notes  # the cap of counted strings, then the fitted bound
    assert capped == "restricted: maxLength 5000 at /properties/q is enforced as 4096"
    m = re.fullmatch(r"restricted: maxLength 4096 at /properties/q is enforced as (\d+) .*", note)
    assert m is not None, note
    cap = int(m.group(1))
    assert 150 <= cap <= 199
    sentence = "What is the primary function of the human brain? " * 3
    assert accepts(g, json.dumps({"q": sentence.strip()[:cap]}))
    assert not accepts(g, json.dumps({"q": "a" * (cap + 1)}))
    assert not accepts(g, json.dumps({"q": "two  spaces "}))  # trailing space: no last word


def test_word_count_too_large_for_an_automaton_is_lowered_and_noted() -> None:
    """200 words counted take more than max_lexeme_states on their own: the count is
    lowered by quarters until the pattern's automaton fits (a restriction, noted), at the
    compile, not at the first mask."""
    schema = {"properties": {"a": {"type": "string", "pattern": r"^(?:\S+\s+){0,199}\S+$"}}}
    g = Grammar.from_json_schema(schema)
    (note,) = g.notes
    m = re.fullmatch(
        r"restricted: repetitions of the pattern at /properties/a/pattern are enforced as at "
        r"most (\d+) \(a larger count exceeds max_lexeme_states\)",
        note,
    )
    assert m is not None, note
    count = int(m.group(1))
    assert 64 <= count < 199
    words = ["word"] * (count + 1)
    assert accepts(g, json.dumps({"a": " ".join(words)}))
    assert not accepts(g, json.dumps({"a": " ".join([*words, "more"])}))  # valid, over the cap
    assert not accepts(g, json.dumps({"a": "ends with a space "}))


@pytest.mark.parametrize(
    ("string", "feature", "where", "relaxed", "still_out"),
    [
        # minLength past the cap of counted lengths
        ({"minLength": 5000, "maxLength": 6000}, "minLength", "/properties/s", "ab", None),
        # a word count of 150 words is past max_lexeme_states on its own, and a minLength
        # of 300 keeps the count from being implied by any lower maxLength: no lower bound
        # fits, so the compile refuses it (not the first mask); the lengths stay
        (
            {"pattern": r"^(?:\S+\s+){0,149}\S+$", "minLength": 300, "maxLength": 400},
            "pattern",
            "/properties/s/pattern",
            "two  words " * 30,
            "a" * 401,
        ),
    ],
)
def test_string_refusals_name_their_pointer_and_relax_under_lenient(
    string: dict, feature: str, where: str, relaxed: str, still_out: str | None
) -> None:
    schema = {"properties": {"s": {"type": "string", **string}}}
    with pytest.raises(UnsupportedFeatureError) as info:
        Grammar.from_json_schema(schema)
    assert (info.value.feature, info.value.where) == (feature, where)
    with pytest.warns(UserWarning, match=f"not enforced: {feature} at {where}"):
        lenient = Grammar.from_json_schema(schema, lenient=True)
    assert accepts(lenient, json.dumps({"s": relaxed}))
    if still_out is not None:
        assert not accepts(lenient, json.dumps({"s": still_out}))


@settings(max_examples=200, deadline=None)
@given(text=from_grammar(Grammar.from_json_schema({"type": "string", "format": "regex"})))
def test_regex_format_values_compile(text: str) -> None:
    """Every string the ``regex`` format admits is a regex Python's ``re`` compiles (the
    format is a subset chosen to be valid in ECMA-262 too)."""
    re.compile(json.loads(text))
