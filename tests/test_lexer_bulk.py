"""Combined lexer states built in bulk (one-lexeme closures, byte classes) are the product
automaton, whatever order states are requested in; a state limit leaves the tables intact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from formcast.automata.lexer import Lexer, _walk_aliases
from formcast.automata.regex_dfa import compile_regex
from formcast.errors import CompileLimitError
from formcast.kernels.dfa_product import same_within
from formcast.kernels.lexer_build import byte_classes

PATTERNS = [
    '"(?:[^"\\\\]|\\\\["\\\\nt]){0,12}"',  # a bounded string: a long one-lexeme chain
    '"id"',
    '"idle"',
    '"[a-z]+"',
    "[ \\t\\n]{1,3}",
    "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?",
    "true|t[a-z]*",
]
DFAS = [compile_regex(p) for p in PATTERNS]
ORDERS = [
    [frozenset({0}), frozenset({1, 2, 3}), frozenset({4, 5, 6}), frozenset(range(7))],
    [frozenset(range(7)), frozenset({4, 5, 6}), frozenset({1, 2, 3}), frozenset({0})],
    [frozenset({1, 2, 3, 0}), frozenset({3}), frozenset({6}), frozenset({5, 4})],
]


def _build(order: list[frozenset[int]], max_states: int = 100_000) -> Lexer:
    lexer = Lexer(list(DFAS), PATTERNS, max_states=max_states)
    for allowed in order:
        lexer.start_state(allowed)
    return lexer


def _check_product(lexer: Lexer, dfas: list = DFAS, patterns: list[str] = PATTERNS) -> None:
    """Every state is the product of its lexemes' DFA states (the state-by-state rules)."""
    firsts: dict[tuple[int, ...], int] = {}
    ids = _ids(lexer)
    assert len(ids) == lexer.n_states  # one state per combined state
    for sid in range(lexer.n_states):
        combined = lexer.combined(sid)
        done = tuple(lex for lex, s in combined if dfas[lex].accept[s])
        assert lexer.accept_lexemes[sid] == done
        assert lexer.accepting[sid] == bool(done)
        assert lexer.representative[sid] == firsts.setdefault(done, sid)
        assert lexer.by_content(lexer.content(sid)) == sid
        assert lexer.content(sid) == tuple(sorted((patterns[lex], s) for lex, s in combined))
        for b in range(256):
            nxt = tuple(
                (lex, int(dfas[lex].trans[s, b]))
                for lex, s in combined
                if dfas[lex].trans[s, b] >= 0
            )
            assert lexer.trans[sid, b] == (ids[nxt] if nxt else -1), (sid, b)


def _ids(lexer: Lexer) -> dict[tuple, int]:
    """Combined state -> id, over every built state."""
    return {lexer.combined(sid): sid for sid in range(lexer.n_states)}


def _graph(lexer: Lexer) -> dict[tuple, tuple]:
    """The automaton named by contents, independent of state numbering."""
    name = lexer.content
    return {
        name(sid): (
            bool(lexer.accepting[sid]),
            name(int(lexer.representative[sid])),
            tuple(name(int(t)) if t >= 0 else None for t in lexer.trans[sid]),
        )
        for sid in range(lexer.n_states)
    }


@pytest.mark.parametrize("order", ORDERS)
def test_bulk_built_states_are_the_product(order: list[frozenset[int]]) -> None:
    _check_product(_build(order))


def test_states_do_not_depend_on_request_order() -> None:
    full = [*ORDERS[0], *ORDERS[2]]
    graphs = [_graph(_build(order)) for order in (full, full[::-1])]
    assert graphs[0].keys() == graphs[1].keys()
    # representatives are the first state built with the same complete lexemes: compare
    # what they stand for, not which one they are
    for content, (acc, _, row) in graphs[0].items():
        assert graphs[1][content][0] == acc and graphs[1][content][2] == row


def test_long_lexemes_beside_others_copy_their_rows_in_blocks() -> None:
    """Long counted strings (past LAZY_FROM states, and past _COPY_WHOLE but not
    LAZY_FROM) beside a long key: the states with both alive reach deep into the strings'
    DFAs, across several blocks of copied rows, and stay the product; the strings alone
    are closed from their own tables."""
    patterns = [
        '"[a-z]{0,5000}"',
        '"' + "ab" * 80 + '"',
        '"' + "a" * 130 + 'b"',
        '"[a-c]+"',
        '"[ab]{0,300}"',
    ]
    dfas = [compile_regex(p) for p in patterns]
    lexer = Lexer(list(dfas), patterns)
    lexer.start_state(frozenset({0, 1, 2}))
    lexer.start_state(frozenset({1, 3}))
    lexer.start_state(frozenset({1, 4}))
    lexer.start_state(frozenset({0}))
    lexer.start_state(frozenset({4}))
    # the string is alone past the keys' length: its later blocks are never copied
    assert lexer._n_rows < sum(len(d.accept) for d in dfas)
    while not lexer.built.all():  # the string's frontier, built on as walks would
        lexer.expand(int(np.flatnonzero(~lexer.built)[0]))
    _check_product(lexer, dfas, patterns)


def test_states_are_found_by_the_names_another_lexer_gives_them() -> None:
    """Trie walks shared between grammars name states by content: a lexer that built the
    same states in another order finds each by the other's name (through its hash table
    the first time, for states with several lexemes alive)."""
    full = [*ORDERS[0], *ORDERS[2]]
    first, second = _build(full), _build(full[::-1])
    for sid in range(first.n_states):
        found = second.by_content(first.content(sid))
        assert found >= 0 and second.content(found) == first.content(sid)
    assert second.by_content((("no such pattern", 0), (PATTERNS[1], 0))) == -1


@pytest.mark.parametrize("order", ORDERS)
def test_state_limit_raises_and_leaves_tables_intact(order: list[frozenset[int]]) -> None:
    total = _build(order).n_states
    for limit in sorted({1, 5, total // 3, total // 2, total - 1}):
        lexer = _build([], max_states=limit)
        built = []
        for allowed in order:
            before = (
                lexer.trans.copy(),
                lexer.accepting.copy(),
                lexer.representative.copy(),
                _ids(lexer),
                dict(lexer._by_content),
                list(lexer.accept_lexemes),
                dict(lexer._representative),
            )
            try:
                built.append(lexer.start_state(allowed))
                continue
            except CompileLimitError as err:
                assert err.limit == "max_lexer_states"
            after = (
                lexer.trans,
                lexer.accepting,
                lexer.representative,
                _ids(lexer),
                lexer._by_content,
                lexer.accept_lexemes,
                lexer._representative,
            )
            for was, now in zip(before, after, strict=True):
                assert (was == now).all() if isinstance(was, np.ndarray) else was == now
            _check_product(lexer)
            lexer.max_states = total  # with room, the same request now succeeds
            lexer.start_state(allowed)
            _check_product(lexer)
            break
        else:
            pytest.fail(f"limit {limit} < {total} states was never hit")


def test_many_states_with_several_lexemes_grow_the_tables() -> None:
    """Hundreds of states with several lexemes alive (object keys beside an open key)
    outgrow the initial hash table, pair store and rows, and stay the product."""
    patterns = ['"[a-z0-9_]*"', *(f'"key{i:02d}_{"x" * (i % 9)}"' for i in range(60))]
    dfas = [compile_regex(p) for p in patterns]
    lexer = Lexer(list(dfas), patterns)
    lexer.start_state(frozenset(range(len(patterns))))
    lexer.start_state(frozenset(range(0, len(patterns), 2)))
    assert len(lexer._slots) > 1024  # the hash table grew (rehashed)
    _check_product(lexer, dfas, patterns)


ALLOWED = st.lists(st.frozensets(st.integers(0, len(PATTERNS) - 1), min_size=1), max_size=6)


@given(ALLOWED)
def test_any_request_order_builds_the_product(order: list[frozenset[int]]) -> None:
    _check_product(_build(order))


TABLES = st.integers(1, 6).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(-1, 3), min_size=n, max_size=n), min_size=1, max_size=256
    ).map(lambda cols: np.array([cols[b % len(cols)] for b in range(256)], dtype=np.int32).T)
)


@given(TABLES)
def test_byte_classes_are_equal_columns_in_order(table: np.ndarray) -> None:
    table = np.ascontiguousarray(table)
    for t in (table, table.astype(np.int64)):
        classes, first = byte_classes(t)
        seen: dict[bytes, int] = {}
        want = [seen.setdefault(t[:, b].tobytes(), len(seen)) for b in range(256)]
        assert classes.tolist() == want
        assert first.tolist() == [want.index(c) for c in range(len(seen))]


def _outcomes(trans: np.ndarray, accept: np.ndarray, state: int, columns: list[int], depth: int):
    """What every string of at most ``depth`` bytes (one per byte class, the empty one
    too) does from ``state``: -1 dead, 0 live, 1 accepting, in a fixed order of strings."""
    out, level = [int(accept[state])], [state]
    for _ in range(depth):
        level = [int(trans[s, b]) if s >= 0 else -1 for s in level for b in columns]
        out += [-1 if s < 0 else int(accept[s]) for s in level]
    return tuple(out)


@pytest.mark.parametrize(
    "pattern",
    ['"[a-z]{0,40}"', "(?:ab|a){2,9}c?", PATTERNS[0], "[ab]*a[ab]{4}", "x{3,30}|y{5,20}"],
)
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_states_alike_to_a_depth_are_those_no_short_string_tells_apart(
    pattern: str, depth: int
) -> None:
    """``same_within`` holds exactly when every string of at most ``depth`` bytes leads
    both states to death, or both to life with the same acceptance (by enumeration); a
    walk alias is always such a state, and far positions of a counted string share one."""
    dfa = compile_regex(pattern)
    _, first = byte_classes(dfa.trans)
    table = np.ascontiguousarray(dfa.trans[:, first])
    seen = [_outcomes(dfa.trans, dfa.accept, s, first.tolist(), depth) for s in range(dfa.n_states)]
    for s in range(dfa.n_states):
        for t in range(s + 1):
            got = same_within(table, dfa.accept, s, t, depth, 10_000)
            assert got == int(seen[s] == seen[t]), (s, t)
            assert same_within(table, dfa.accept, s, t, depth, 0) in (got, -1)
    aliases = _walk_aliases(dfa, depth)
    if aliases is None:  # claimed only where no two states can be alike
        assert dfa.n_states <= depth + 1
        return
    reps = {aliases.of(s) for s in range(dfa.n_states)}
    for s in range(dfa.n_states):
        assert seen[aliases.of(s)] == seen[s]
    if pattern.startswith('"[a-z]'):  # positions more than depth + 1 from the bound
        assert len(reps) <= depth + 4
