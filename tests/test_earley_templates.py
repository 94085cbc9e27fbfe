"""Earley closure templates: a row closed from one seed that completes nothing from an
earlier row is copied from the first such closure at the seed's position. Copied rows must
equal rows closed afresh, on random scans through grammars with nested and nullable rules.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formcast as fc
from formcast.automata.earley import EarleyParser, EarleySet

NESTED = r"""
?start: value
?value: list | map | WORD | NUM
list: "[" [value ("," value)*] "]"
map: "{" [WORD ":" value ("," WORD ":" value)*] "}"
WORD: /[a-z]+/
NUM: /[0-9]+/
%ignore " "
"""
NULLABLE = r"""
start: item+
item: head tail | "(" start? ")"
head: opt opt "x" | opt "y"
tail: opt | tail "," opt
opt: "z"?
"""


def _vocab() -> fc.TokenizerInfo:
    vocab = [bytes([b]) for b in b"[]{},:() xyzab01"]
    return fc.TokenizerInfo.from_vocab([*vocab, b"<eos>"], eos_ids=[len(vocab)])


class _Forgetful(dict):  # type: ignore[type-arg]
    """A template store that keeps nothing: every row is closed afresh."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def _row(s: EarleySet) -> tuple[object, ...]:
    return s.items, s.spans, s.expected, s.accepting


@pytest.mark.parametrize("source", [NESTED, NULLABLE])
@settings(max_examples=60, deadline=None)
@given(picks=st.lists(st.integers(0, 2**16), min_size=1, max_size=40))
def test_template_rows_equal_fresh_rows(source: str, picks: list[int]) -> None:
    tables = fc.compile(fc.Grammar.from_lark(source), _vocab()).automata.parser.t
    kept, fresh = EarleyParser(tables), EarleyParser(tables)
    fresh._templates = _Forgetful()
    # walk the same lexemes through both parsers twice: the second pass meets the
    # positions of the first again, so kept's rows then come from its templates
    for _ in range(2):
        rows_k, rows_f = [kept.initial()], [fresh.initial()]
        for pick in picks:
            expected = sorted(rows_k[-1].expected)
            if not expected:
                break
            lex = (expected[pick % len(expected)],)
            a, b = kept.scan(rows_k, lex), fresh.scan(rows_f, lex)
            assert a is not None and b is not None
            assert _row(a) == _row(b)
            rows_k.append(a)
            rows_f.append(b)
    assert not fresh._templates


def test_templates_are_used() -> None:
    """Values of an array are closed from one seed each: after the first, templates."""
    compiled = fc.compile(fc.Grammar.from_lark(NESTED), _vocab())
    m = fc.Matcher(compiled)
    assert m.accept_string("[" + ", ".join(["[1]"] * 8) + "]")
    assert compiled.automata.parser._templates
