"""Fast paths of lexeme compilation agree with the general paths they shortcut: literal
runs built as chains, lexeme facts read from cached parts of a pattern, parse trees cached."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.automata import compiled, regex_dfa
from formcast.automata.earley import EarleyTables
from formcast.automata.regex_dfa import ByteDFA
from formcast.errors import CompileLimitError
from formcast.grammar.json_strings import KEY_UNIT

BODY = '(?:[^"\\\\\\x00-\\x1f]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*"'


def _general(pattern: str) -> ByteDFA:
    """The whole pattern through one Thompson NFA (no pieces, no fast paths)."""
    tree = regex_dfa.parse_regex(pattern)
    nfa = regex_dfa._NFA(pattern, 100_000)
    start, final = nfa.seq(list(tree), int(tree.state.flags))
    trans, accept = regex_dfa._subset(nfa, start, final, pattern)
    return regex_dfa._finish(trans, accept, trim=True, minimize=True)


def _same_language(a: ByteDFA, b: ByteDFA) -> bool:
    differ = (regex_dfa._product(x, y, False, "test") for x, y in ((a, b), (b, a)))
    return a.nullable == b.nullable and all(d.is_empty for d in differ)


@given(st.text(min_size=1, max_size=12))
@example("width")
@example("é日😀")
@example("a\ud800b")  # a lone surrogate has no UTF-8 encoding: matches nothing
def test_literal_chain_equals_general_construction(text: str) -> None:
    pattern = re.escape(text)
    dfa = regex_dfa.compile_regex(pattern)
    assert _same_language(dfa, _general(pattern))
    try:
        data = text.encode()
    except UnicodeEncodeError:
        assert dfa.is_empty
        return
    assert dfa.matches(data) and not dfa.matches(data[:-1]) and not dfa.matches(data + b"a")
    assert dfa.n_states == len(data) + 1  # a chain: minimal as built


@given(st.text(alphabet='ab-\\.*+?|()[]{}^$"# \t\né日😀', max_size=8))
@example("\\d")
@example("a\\")
def test_plain_text_patterns_are_read_without_parsing(pattern: str) -> None:
    text = regex_dfa.literal_text(pattern)
    if text is None:
        return
    assert re.fullmatch(pattern, text)  # parses, and matches the text
    assert all(op is regex_dfa._c.LITERAL for op, _ in regex_dfa.parse_regex(pattern))
    assert compiled._tree_facts.__wrapped__(pattern) == compiled._whole_facts(pattern)
    assert _same_language(regex_dfa.compile_regex(pattern), _general(pattern))


@given(st.text(min_size=1, max_size=12))
def test_escaped_text_is_plain(text: str) -> None:
    surrogate = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    assert regex_dfa.literal_text(re.escape(text)) == (None if surrogate else text)


WORDS = st.lists(st.text(alphabet="ab_-.|é日😀", min_size=1, max_size=6), min_size=2, max_size=8)


@given(WORDS, st.booleans())
@example(["a", "ab", "abc"], True)  # prefixes of each other
@example(["b", "b"], False)  # repeated
@example(["a|b", "c"], True)  # an escaped bar is text
def test_word_alternation_trie_equals_general_construction(words: list[str], group: bool) -> None:
    inner = "|".join(map(re.escape, words))
    pattern = f"(?:{inner})" if group else inner
    assert regex_dfa.literal_words(pattern) == words
    dfa = regex_dfa.compile_regex(pattern)
    general = _general(pattern)
    assert _same_language(dfa, general)
    assert dfa.n_states == general.n_states  # minimal, as the general path's
    for word in words:
        assert dfa.matches(word.encode())


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("a", None),  # one word: a literal
        ("(?:a)", ["a"]),  # one word in a group
        ("a||b", None),  # an empty word
        ("|a", None),
        ("(?:a|b)c", None),
        ("(?:a)|(?:b)", None),
        ("a|b*", None),
        ("(?i:a|b)", None),
        (r"a\|b", None),  # an escaped bar: one word
        (r"a\\|b", ["a\\", "b"]),  # an escaped backslash, then a bar
    ],
)
def test_word_alternations_are_read_exactly(pattern: str, words: list[str] | None) -> None:
    assert regex_dfa.literal_words(pattern) == words


def test_literal_chain_respects_ignorecase() -> None:
    assert regex_dfa._literal([(regex_dfa._c.LITERAL, ord("a"))], regex_dfa._IGNORECASE) is None
    for pattern in ("(?i)width", "(?i:ab)c"):
        assert _same_language(regex_dfa.compile_regex(pattern), _general(pattern))
    assert regex_dfa.compile_regex("(?i)ab").matches(b"aB")
    assert not regex_dfa.compile_regex("ab").matches(b"aB")


def test_parse_trees_are_cached_by_pattern() -> None:
    assert regex_dfa.parse_regex("a[bc]+") is regex_dfa.parse_regex("a[bc]+")
    assert regex_dfa.parse_regex("(?i)ab") is not regex_dfa.parse_regex("ab")


@pytest.mark.parametrize(
    ("pattern", "split"),
    [
        ("a(?!b)c", ("a", "b", True, "c")),
        ("[(](?=x)y", ("[(]", "x", False, "y")),
        ("[]()](?!a)b", ("[]()]", "a", True, "b")),
        ("\\((?=x)y\\)", ("\\(", "x", False, "y\\)")),
        ("(?:x)(?!(?:a|b)(?![^c]))c", ("(?:x)", "(?:a|b)(?![^c])", True, "c")),
        ('"(?!(?:a|b)(?![^"]))' + BODY, ('"', '(?:a|b)(?![^"])', True, BODY)),
        ("a|(?=b)b", None),  # top-level alternation
        ("a(?!b)c|d", None),
        ("a(?!b)c(?=d)d", ("a", "b", True, "c(?=d)d")),
        ("a(?!b(?=c))", ("a", "b(?=c)", True, "")),
        ("(?i)a(?!b)c", None),  # flags apply to the whole pattern
        ("a(?i:b)(?!c)d", ("a(?i:b)", "c", True, "d")),  # scoped flags parse alone
        ("(?x: a )(?!b)c", None),  # verbose: whitespace and comments
        ("a(?!b)c(?s)", None),
        ("(?P<x>a)(?!b)(?P=x)", None),
        ("((?!a)b)c", None),  # not at the top level
        ("a(?!b)*c", None),
        ("abc", None),
    ],
)
def test_split_lookahead(pattern: str, split: tuple[str, str, bool, str] | None) -> None:
    assert regex_dfa.split_lookahead(pattern) == split


@pytest.mark.parametrize(
    "pattern",
    [
        '"(?!(?:a|b)(?![^"]))' + BODY,
        '"(?!(?:)(?![^"]))' + BODY,  # refuses only the empty key
        '"(?!(?:|a|b|c|x|y|z|0|1|2)(?![^"]))[abcxyz012]?"',  # every key refused: empty
        "(?!a)a",
        "(?=a)b",
        "(?=a)a?",
        "(?!a)[ab]",
        "(?=[ab]{3})[ab]*",
        "a(?=b)",
        "a(?=b)b",
        "a(?=(?!c)b)b",
        "(?=a)(?=b)c",
        "x(?!y)(?i:y|z)",
        "x(?!\\1)(a)",
    ],
)
def test_split_facts_equal_whole_facts(pattern: str) -> None:
    split = compiled._split_facts(pattern)
    if split is not None:  # word sets are read without a parse: their size is an upper bound
        whole = compiled._whole_facts(pattern)
        assert split[0] == whole[0] and split[1] >= whole[1]


def test_split_facts_apply_to_json_keys() -> None:
    # the common case they exist for: "any key but the declared ones", decided from parts
    for keys in ("a|b", "name|owner_name", "x", "ab|ac|b"):
        pattern = f'"(?!(?:{keys})(?![^"]))' + BODY
        split, whole = compiled._split_facts(pattern), compiled._whole_facts(pattern)
        assert split is not None and split[0] == whole[0] == (False, False)
        assert split[1] >= whole[1]


KEY_WORDS = st.lists(st.text(alphabet='ab"_é', min_size=1, max_size=4), min_size=1, max_size=5)


@given(KEY_WORDS, st.text(alphabet='ab"_é', max_size=8), st.integers(0, 8))
@example(["a"], 'a"', 0)
@example(["ab", "a"], "ab", 0)
def test_word_bodies_match_as_python_re(words: list[str], text: str, pos: int) -> None:
    body = "(?:" + "|".join(map(re.escape, words)) + ')(?![^"])'
    found = compiled._word_body(body)
    assert found is not None
    matches_at, size = found
    assert size >= compiled._size(list(regex_dfa.parse_regex(body)))
    pos = min(pos, len(text))
    assert matches_at(text, pos) == (re.compile(body).match(text, pos) is not None)
    pattern = '"(?!' + body + ')(?:[ab_]|")*"'
    split = compiled._split_facts(pattern)
    assert split is None or split[0] == compiled._whole_facts(pattern)[0]


@given(st.lists(st.tuples(st.integers(2, 6), st.lists(st.integers(0, 7), max_size=3)), max_size=12))
def test_lazy_closure_equals_prediction_by_rules(rules: list[tuple[int, list[int]]]) -> None:
    # symbols 0-1 are lexemes, 2-6 nonterminals (7 no rules, or the augmented start)
    tables = EarleyTables.build(2, rules, 2)
    all_rules = [(tables.start_sym, [2]), *rules]  # with the augmented start rule
    has_rules = set(tables.rule_starts)
    for nt in [*range(8, 1, -1), *range(2, 9)]:  # asked in two orders, then from the cache
        expected = {nt} & has_rules
        todo = list(expected)
        while todo:  # B after a nullable prefix of a rule of A: predicting A predicts B
            cur = todo.pop()
            for lhs, rhs in all_rules:
                for sym in rhs if lhs == cur else ():
                    if sym in has_rules and sym not in expected:
                        expected.add(sym)
                        todo.append(sym)
                    if sym not in tables.nullable:
                        break
        assert tables.closure[nt] == tuple(sorted(expected))


@given(KEY_WORDS, st.booleans())
@example(["a"], False)
@example(["ab", "a"], True)  # a word ends where another goes on
@example(['a"', "a"], False)  # a word goes on with the quote after another ends
def test_key_set_guards_equal_the_parsed_construction(words: list[str], negative: bool) -> None:
    """ "Any key but these" (and "one of these keys, then anything") built from the words'
    trie is the DFA the parsed lookahead gives."""
    body = "(?:" + "|".join(map(re.escape, words)) + ')(?![^"])'
    rest = '(?:[ab_]|\\\\"|é)*"'
    regex_dfa._guarded.cache_clear()
    fast = regex_dfa._guarded(body, negative, rest)
    parsed = regex_dfa._product(
        regex_dfa.compile_regex(rest),
        regex_dfa.compile_regex(f"{body}(?s:.)*"),
        not negative,
        "test",
    )
    assert _same_language(fast, parsed)
    assert fast.n_states == parsed.n_states


@given(KEY_WORDS, st.sampled_from(['(?:[ab_]|\\\\"|é)*"', KEY_UNIT + '*"', "[ab]*"]))
@example(["a"], "[ab]*")  # the text may end right after a word
@example(["ab", "a"], KEY_UNIT + '*"')  # a word ends where another goes on
@example(['a"', "a"], '(?:[ab_]|\\\\"|é)*"')  # a word goes on with the quote after another
@example(["é", "a\x01"], KEY_UNIT + '*"')  # a word the rest cannot read
def test_excluded_words_equal_the_product(words: list[str], rest: str) -> None:
    """ "Any key but these" built in one pass over the words' trie is the product of the
    text with the words' lookahead (where that pass applies)."""
    body = "(?:" + "|".join(map(re.escape, words)) + ')(?![^"])'
    found = regex_dfa.words_then_end(body)
    assert found is not None
    fast = regex_dfa._excluded_words('"', *found, rest, "test")
    regex_dfa._guarded.cache_clear()
    product = regex_dfa._concat(
        regex_dfa.compile_regex('"'), regex_dfa._guarded(body, True, rest), "test"
    )
    # None exactly where a word goes on with the quote after another ends
    goes_on = any(v.startswith(w + '"') for w in words for v in words)
    assert (fast is None) == goes_on
    if fast is not None:
        assert _same_language(fast, product)
    assert _same_language(regex_dfa.compile_regex(f'"(?!{body}){rest}'), product)


def test_excluded_words_past_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    words = [f"key{i}" for i in range(40)]
    body = "(?:" + "|".join(words) + ')(?![^"])'
    found = regex_dfa.words_then_end(body)
    assert found is not None
    monkeypatch.setattr(regex_dfa, "MAX_LEXEME_STATES", 50)
    with pytest.raises(CompileLimitError) as info:
        regex_dfa._excluded_words('"', *found, KEY_UNIT + '*"', "test")
    assert info.value.limit == "max_lexeme_states"
