"""Hypothesis strategies that draw strings of a grammar's language, for property tests.

>>> from hypothesis import given
>>> from formcast.grammar.shipped import load_grammar
>>> @given(from_grammar(load_grammar("arithmetic")))
... def test_parses(text):
...     assert isinstance(text, str)
>>> test_parses()

The strings respect formcast's lexing (contextual maximal munch, DESIGN.md decision 2): two
adjacent lexemes never merge, because a separator drawn from an ``%ignore`` lexeme is put
between them when needed, and every candidate is checked by simulating the lexer.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from formcast.errors import GrammarError
from formcast.grammar.ir import Grammar
from formcast.testing.oracle import accepts

__all__ = ["from_grammar", "from_regex"]

# Cheap, yet exercising multi-byte UTF-8: printable ASCII, common whitespace, a few others.
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from("\t\n\r\u00e9\u00df\u4e2d\U0001f600"),
)


def from_regex(
    pattern: str, *, alphabet: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[str]:
    """Strings that fully match ``pattern`` (checked like :func:`~formcast.Grammar.from_regex`).

    ``alphabet`` defaults to printable ASCII plus tab, newlines and a few non-ASCII characters.

    Raises
    ------
    GrammarError, UnsupportedFeatureError
        As :func:`formcast.grammar.regex.check_regex_supported`.
    """
    from formcast.grammar.regex import check_regex_supported

    normalized = check_regex_supported(pattern)
    return st.from_regex(re.compile(normalized), fullmatch=True, alphabet=alphabet or _ALPHABET)


def _min_heights(grammar: Grammar) -> dict[str, float]:
    """Height of the shallowest derivation tree of each symbol (lexemes: 0)."""
    height: dict[str, float] = {name: 0 for name in grammar.lexemes}
    height.update({name: math.inf for name in grammar.rules})
    changed = True
    while changed:
        changed = False
        for name, alts in grammar.rules.items():
            best = min((_alt_height(alt, height) for alt in alts), default=math.inf)
            if best < height[name]:
                height[name] = best
                changed = True
    return height


def _alt_height(alt: Sequence[str], height: Mapping[str, float]) -> float:
    return 1 + max((height[s] for s in alt), default=0)


class _Munch:
    """Simulates the lexer's decision to end a lexeme: it ends only where the next character
    cannot extend any lexeme (all lexemes are considered: a superset of what the parser allows,
    so a string that passes is lexed as intended). Uses formcast's own lexeme automata."""

    def __init__(self, patterns: Iterable[str]) -> None:
        from formcast.automata.regex_dfa import compile_regex

        self.dfas = [compile_regex(p) for p in dict.fromkeys(patterns)]

    def extends(self, text: str, nxt: str) -> bool:
        """Whether ``text + nxt`` is a prefix of some lexeme (the automata are trimmed: a
        state that is reached can still reach acceptance)."""
        data = (text + nxt).encode()
        for dfa in self.dfas:
            state = 0
            for b in data:
                state = dfa.step(state, b)
                if state < 0:
                    break
            else:
                return True
        return False

    def ok(self, pieces: Sequence[str]) -> bool:
        return all(not self.extends(a, b[0]) for a, b in itertools.pairwise(pieces))


def _needs_automaton(pattern: str) -> bool:
    """Whether the regex holds a look-around or a residue group (formcast's own JSON
    Schema lexemes use top-level look-aheads for intersections, and residue groups for
    ``multipleOf``; hypothesis cannot draw those)."""
    from formcast.automata.regex_dfa import parse_regex, residue_groups

    tree = parse_regex(pattern)
    if residue_groups(tree):
        return True
    todo: list[Any] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, tuple) and node and str(node[0]) in ("ASSERT", "ASSERT_NOT"):
            return True
        if isinstance(node, (list, tuple)) or type(node).__name__ == "SubPattern":
            todo.extend(node)
    return False


def _from_automaton(pattern: str, max_bytes: int = 48) -> st.SearchStrategy[str]:
    """Non-empty strings fully matching ``pattern``, drawn by a random walk on its byte DFA.

    Printable ASCII bytes are preferred where allowed; after ``max_bytes`` the walk takes
    the shortest way to acceptance, so drawing always ends.
    """
    from formcast.automata.regex_dfa import compile_regex

    dfa = compile_regex(pattern)
    accept = dfa.accept
    # distance (in bytes) from each state to an accepting one: BFS on reversed edges
    preds: list[set[int]] = [set() for _ in range(dfa.n_states)]
    for s, row in enumerate(dfa.table.tolist()):  # the successors, narrow or not
        for t in set(row):
            if t >= 0:
                preds[t].add(s)
    dist = [math.inf] * dfa.n_states
    frontier = [s for s in range(dfa.n_states) if accept[s]]
    for s in frontier:
        dist[s] = 0
    while frontier:
        nxt = []
        for t in frontier:
            for s in preds[t]:
                if dist[s] == math.inf:
                    dist[s] = dist[t] + 1
                    nxt.append(s)
        frontier = nxt
    if dist[0] == math.inf:
        raise GrammarError(f"lexeme {pattern!r} matches no non-empty string")

    @st.composite
    def walk(draw: st.DrawFn) -> str:
        out = bytearray()
        s = 0
        while True:
            row = dfa.rows(s, s + 1)[0]
            allowed = [b for b in range(256) if row[b] >= 0]
            if accept[s] and (not allowed or len(out) >= max_bytes or draw(st.integers(0, 3)) == 0):
                break
            if len(out) >= max_bytes:
                allowed = [b for b in allowed if dist[row[b]] < dist[s]]
            nice = [b for b in allowed if 0x20 <= b < 0x7F]
            prefer_nice = bool(nice) and draw(st.integers(0, 4)) > 0
            pool = nice if prefer_nice else allowed
            b = pool[draw(st.integers(0, len(pool) - 1))]
            out.append(b)
            s = int(row[b])
        return out.decode("utf-8")

    return walk()


def from_grammar(
    grammar: Grammar,
    *,
    max_depth: int = 8,
    max_lexemes: int = 64,
    alphabet: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[str]:
    """Strings of ``grammar``'s language, as formcast's lexer and parser read them.

    Nonterminals are expanded at random up to ``max_depth`` levels (or ``max_lexemes``
    lexemes); past that, only alternatives of minimal derivation height are taken, so
    generation always ends. Lexemes are drawn with :func:`hypothesis.strategies.from_regex`
    over ``alphabet`` (default: printable ASCII, tab, newlines and a few non-ASCII
    characters), never empty. Strings that repeat a distinct value, or a once rule's lexeme
    (:attr:`Grammar.once`), are left out.

    Parameters
    ----------
    grammar:
        Any :class:`~formcast.grammar.ir.Grammar` (Lark, regex, JSON Schema front ends).
    max_depth:
        Depth of free random expansion.
    max_lexemes:
        Soft bound on the number of lexemes per string.
    alphabet:
        Characters lexemes are drawn from.

    Raises
    ------
    GrammarError
        The start symbol derives no finite string.
    """
    height = _min_heights(grammar)
    if height.get(grammar.start, math.inf) == math.inf:
        raise GrammarError(f"start symbol {grammar.start!r} derives no finite string")
    alpha = alphabet or _ALPHABET
    lex_st = {
        name: _from_automaton(lex.pattern)
        if _needs_automaton(lex.pattern)
        else st.from_regex(re.compile(lex.pattern), fullmatch=True, alphabet=alpha).filter(bool)
        for name, lex in grammar.lexemes.items()
    }
    alts = {
        name: [(alt, _alt_height(alt, height)) for alt in options]
        for name, options in grammar.rules.items()
    }
    alts = {k: [(a, h) for a, h in v if h < math.inf] for k, v in alts.items()}
    munch = _Munch(lex.pattern for lex in grammar.lexemes.values())
    ignore = list(grammar.ignore)

    @st.composite
    def lexemes(draw: st.DrawFn) -> list[str]:
        out: list[str] = []

        def expand(symbol: str, depth: int) -> None:
            if symbol in lex_st:
                out.append(draw(lex_st[symbol]))
                return
            options = alts[symbol]
            if depth >= max_depth or len(out) >= max_lexemes:
                best = min(h for _, h in options)
                options = [(a, h) for a, h in options if h == best]
            alt, _ = (
                options[draw(st.integers(0, len(options) - 1))] if len(options) > 1 else options[0]
            )
            for sym in alt:
                expand(sym, depth + 1)

        expand(grammar.start, 0)
        return out

    def separator(draw: st.DrawFn, prev: str | None, nxt: str | None) -> str | None:
        """An ignored text that fits between ``prev`` and ``nxt`` without merging."""
        for name in draw(st.permutations(ignore)):
            text = draw(lex_st[name])
            if (prev is None or not munch.extends(prev, text[0])) and (
                nxt is None or not munch.extends(text, nxt[0])
            ):
                return text
        return None

    @st.composite
    def pieces(draw: st.DrawFn) -> list[str]:
        toks = draw(lexemes())
        if not ignore:
            return toks
        out: list[str] = []
        if toks and draw(st.integers(0, 9)) == 0:
            sep = separator(draw, None, toks[0])
            out += [sep] if sep else []
        for i, tok in enumerate(toks):
            out.append(tok)
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None:
                if draw(st.integers(0, 9)) == 0:
                    sep = separator(draw, tok, None)
                    out += [sep] if sep else []
                continue
            if munch.extends(tok, nxt[0]) or draw(st.booleans()):
                sep = separator(draw, tok, nxt)
                out += [sep] if sep else []
        return out

    out = pieces().filter(munch.ok).map("".join)
    if grammar.distinct or grammar.once:  # scans the rules alone do not keep distinct
        out = out.filter(lambda text: accepts(grammar, text))
    return out
