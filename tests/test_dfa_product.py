"""DFA products (lookaheads as intersection / difference) and their clean-up: the numba
kernels against a pure-Python reference, state for state; a product over the state limit
is refused as soon as it passes it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from formcast.automata import regex_dfa
from formcast.automata.regex_dfa import ByteDFA, compile_regex
from formcast.errors import CompileLimitError
from formcast.kernels import dfa_product

# The columns a random DFA tells apart; every other byte follows the last one.
LETTERS = [ord("a"), ord("b"), 0xC3]


def _ref_product(left: ByteDFA, right: ByteDFA, both: bool) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first over bytes from (0, 0), pairs numbered in order of discovery;
    ``right`` gets an absorbing "free" state (index ``n``) for the difference."""
    n = right.n_states
    ids = {(0, 0): 0}
    pairs = [(0, 0)]
    accept = [left.nullable and right.nullable == both]
    rows = []
    for a, b in pairs:  # grows while it is read
        row = []
        for byte in range(256):
            na = int(left.trans[a, byte])
            nb = int(right.trans[b, byte]) if b < n else n
            if nb < 0 and not both:
                nb = n
            if na < 0 or nb < 0:
                row.append(-1)
                continue
            if (na, nb) not in ids:
                ids[(na, nb)] = len(pairs)
                pairs.append((na, nb))
                accept.append(bool(left.accept[na]) and (nb < n and right.accept[nb]) == both)
            row.append(ids[(na, nb)])
        rows.append(row)
    return np.array(rows, dtype=np.int32), np.array(accept, dtype=bool)


def _ref_trim(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep state 0 and the states with a path to acceptance, in their order."""
    live = accept.copy()
    while True:
        grown = live | np.array([any(live[t] for t in row if t >= 0) for row in trans])
        if (grown == live).all():
            break
        live = grown
    live[0] = True
    keep = np.flatnonzero(live).tolist()
    new = {s: i for i, s in enumerate(keep)}
    rows = [[new.get(int(t), -1) for t in trans[s]] for s in keep]
    return np.array(rows, dtype=np.int32).reshape(len(keep), -1), accept[keep]


def _ref_minimize(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moore refinement, classes numbered in order of first occurrence."""
    if len(trans) > regex_dfa._MINIMIZE_MAX_STATES:
        return trans, accept
    cls = [int(a) for a in accept]
    n_cls = len(set(cls))
    while True:
        sigs = [(cls[s], *(cls[t] if t >= 0 else -1 for t in trans[s])) for s in range(len(cls))]
        ids: dict[tuple[int, ...], int] = {}
        cls = [ids.setdefault(sig, len(ids)) for sig in sigs]
        done = len(ids) in (n_cls, len(cls))
        n_cls = len(ids)
        if done:
            break
    rep = [cls.index(c) for c in range(n_cls)]
    rows = [[cls[t] if t >= 0 else -1 for t in trans[s]] for s in rep]
    return np.array(rows, dtype=np.int32), accept[rep]


@st.composite
def dfas(draw: st.DrawFn, max_states: int = 6) -> ByteDFA:
    """A random DFA over :data:`LETTERS` (the other bytes follow the last letter), with
    what :class:`ByteDFA` promises: no edge into state 0, which does not accept."""
    n = draw(st.integers(1, max_states))
    cols = draw(st.lists(st.sampled_from([-1, *range(1, n)]), min_size=n * 4, max_size=n * 4))
    trans = np.empty((n, 256), dtype=np.int32)
    for s in range(n):
        trans[s, :] = cols[4 * s + 3]
        trans[s, LETTERS] = cols[4 * s : 4 * s + 3]
    accept = np.array([False, *draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))])
    return ByteDFA(trans, accept, draw(st.booleans()))


def _same(got: ByteDFA, want: ByteDFA) -> None:
    assert got.trans.dtype == np.int32 and got.trans.flags["C_CONTIGUOUS"]
    assert got.trans.shape == want.trans.shape
    assert (got.trans == want.trans).all()
    assert (got.accept == want.accept).all()
    assert got.nullable == want.nullable


def _check_product(left: ByteDFA, right: ByteDFA, both: bool) -> ByteDFA:
    """``_product`` is the reference product, trimmed and minimized."""
    got = regex_dfa._product(left, right, both, "test")
    _same(got, regex_dfa._finish(*_ref_product(left, right, both), trim=True, minimize=True))
    return got


@given(left=dfas(), right=dfas(), both=st.booleans(), dense=st.booleans())
def test_product_is_the_reference_product(
    left: ByteDFA, right: ByteDFA, both: bool, dense: bool
) -> None:
    with pytest.MonkeyPatch.context() as patch:  # the hash table of pairs, or the dense one
        patch.setattr(dfa_product, "DENSE_MAX_PAIRS", dfa_product.DENSE_MAX_PAIRS if dense else 0)
        got = _check_product(left, right, both)
    for word in ([], [0], [1], [0, 1], [2, 0, 1, 1], [1, 3, 0], [0, 0, 2, 2, 1]):
        text = bytes(LETTERS[i] if i < 3 else ord("z") for i in word)
        assert got.matches(text) == (left.matches(text) and right.matches(text) == both)


# (pattern, lookahead) pairs compiled as lexemes are: top-level (?=X) / (?!X) of JSON strings
PAIRS = [
    ('[^"]*"', '(?:ab|a)(?![^"])'),
    ("[ab]{0,30}", "a[ab]*b"),
    ('(?:[^"\\\\]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,12}"', '(?:[^"]{0,8}"|x)'),
    ("[a-z0-9]+(?:\\.[a-z0-9]+)*@[a-z0-9]+", "[a-z0-9.@]{0,24}"),
    ("[a-zé日]{1,6}", "(?:é|[a-c])+"),
    ("(?s:.){0,3}", "(?s:.)*"),
    ("", "a"),
]


@pytest.mark.parametrize(("rest", "ahead"), PAIRS)
@pytest.mark.parametrize("both", [True, False])
@pytest.mark.parametrize("dense", [True, False])
def test_lexeme_products_are_the_reference_products(
    rest: str, ahead: str, both: bool, dense: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dfa_product, "DENSE_MAX_PAIRS", dfa_product.DENSE_MAX_PAIRS if dense else 0)
    _check_product(compile_regex(rest), compile_regex(ahead + "(?s:.)*"), both)


@given(
    n=st.integers(1, 30),
    n_cols=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    density=st.sampled_from([0.3, 0.7, 1.0]),
)
def test_clean_is_the_reference(n: int, n_cols: int, seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    trans = rng.integers(0, n, (n, n_cols)).astype(np.int32)
    trans[rng.random((n, n_cols)) > density] = -1
    accept = rng.random(n) < 0.3
    for trim, minimize in ((True, False), (False, True), (True, True), (False, False)):
        want = (trans, accept)
        if trim:
            want = _ref_trim(*want)
        if minimize:
            want = _ref_minimize(*want)
        want = _ref_fresh_start(*want)
        limit = regex_dfa._MINIMIZE_MAX_STATES if minimize else -1
        got = dfa_product.clean(trans, accept, trim, limit)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def _ref_fresh_start(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A non-accepting copy of state 0 in front, where state 0 accepts or is entered
    (with no edges if nothing accepts)."""
    if not accept[0] and not (trans == 0).any():
        return trans, accept
    rows = [[t + 1 if t >= 0 else -1 for t in row] for row in trans.tolist()]
    first = rows[0] if accept.any() else [-1] * trans.shape[1]
    return np.array([first, *rows], dtype=np.int32), np.array([False, *accept.tolist()])


@given(left=dfas(), right=dfas())
def test_joint_classes_are_the_classes_of_both_tables(left: ByteDFA, right: ByteDFA) -> None:
    got = dfa_product.joint_classes(left.byte_classes()[0], right.byte_classes()[0])
    want = dfa_product.byte_classes(np.concatenate([left.trans, right.trans]))
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


@given(
    words=st.lists(st.text("ab\u00e9", min_size=1, max_size=4), min_size=1, max_size=6),
    extra=st.integers(0, 2),
)
def test_word_trie_is_the_trie(words: list[str], extra: int) -> None:
    data = [w.encode() for w in words]
    ends = np.cumsum([len(d) for d in data])
    trans, end = dfa_product.word_trie(np.frombuffer(b"".join(data), np.uint8), ends, extra)
    nodes: dict[bytes, int] = {b"": 0}
    for d in data:
        for i in range(1, len(d) + 1):
            nodes.setdefault(d[:i], len(nodes))
    assert trans.shape == (len(nodes) + extra, 256)
    for prefix, node in nodes.items():
        row = {b: int(t) for b, t in enumerate(trans[node]) if t >= 0}
        assert row == {p[-1]: q for p, q in nodes.items() if p and p[:-1] == prefix}
    assert (trans[len(nodes) :] == -1).all()
    assert end.tolist() == [nodes[d] for d in data]


@given(left=dfas(), right=dfas())
def test_concat_direct_reads_both_in_turn(left: ByteDFA, right: ByteDFA) -> None:
    ends = left.accept.copy()
    ends[0] = left.nullable
    trans, accept, glued = dfa_product.concat_direct(
        left.trans, left.accept, ends, right.trans, right.accept, right.nullable
    )
    clash = (left.trans[ends][:, right.trans[0] >= 0] >= 0).any()
    assert glued == (not clash)
    if glued:
        accept[0] = left.nullable and right.nullable
        glued_dfa = ByteDFA(trans, accept, accept[0])
        for word in ([], [0], [1], [0, 1], [2, 0, 1, 1], [1, 3, 0], [0, 0, 2, 2, 1]):
            text = bytes(LETTERS[i] if i < 3 else ord("z") for i in word)
            want = any(
                left.matches(text[:k]) and right.matches(text[k:]) for k in range(len(text) + 1)
            )
            assert _runs(glued_dfa, text) == want


def _runs(dfa: ByteDFA, text: bytes) -> bool:
    """Whether ``dfa``'s table accepts ``text`` (the empty text: ``accept[0]``)."""
    state = 0
    for b in text:
        state = int(dfa.trans[state, b])
        if state < 0:
            return False
    return bool(dfa.accept[state])


@pytest.mark.parametrize("both", [True, False])
def test_product_limit_counts_untrimmed_states(both: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # the limit counts pairs found, before trimming: exactly at it passes, one more fails
    left, right = compile_regex("[ab]{0,12}c"), compile_regex("(?:ab)*(?s:.)*")
    size = len(_ref_product(left, right, both)[1])
    monkeypatch.setattr(regex_dfa, "MAX_LEXEME_STATES", size)
    regex_dfa._product(left, right, both, "limit test")
    monkeypatch.setattr(regex_dfa, "MAX_LEXEME_STATES", size - 1)
    with pytest.raises(CompileLimitError) as err:
        regex_dfa._product(left, right, both, "limit test")
    assert err.value.limit == "max_lexeme_states"
    assert err.value.value == size - 1
    assert "regex 'limit test' is too large" in str(err.value)


@pytest.mark.parametrize("dense", [True, False])
def test_large_product(dense: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # hundreds of states: the output arrays grow and the hash table is rebuilt wider
    left, right = compile_regex("[a-z]{0,200}"), compile_regex("[a-z]*aaa(?s:.)*")
    monkeypatch.setattr(dfa_product, "DENSE_MAX_PAIRS", dfa_product.DENSE_MAX_PAIRS if dense else 0)
    assert _check_product(left, right, False).n_states > 600
    monkeypatch.setattr(regex_dfa, "MAX_LEXEME_STATES", 100)
    with pytest.raises(CompileLimitError, match="max_lexeme_states"):
        regex_dfa._product(left, right, False, "test")
