"""Combined lexer: a state is the set of lexemes still alive, each with its DFA state.

Combined states are hash-consed into dense ids and their byte transitions stored in
one growing ``int32 [n_states, 256]`` table that the numba kernels read directly.
States are created lazily per *allowed lexeme set* (what the parser accepts next):
the first request for a set builds the closure of its start state, so every state
reachable from an existing one is always in the table (kernels never miss).

Lexeme DFAs are lazy too: a lexeme's DFA is loaded (compiled) when it first takes part
in a start state, before any state of that closure is built, so a failed load (a
:class:`~formcast.errors.CompileLimitError`) leaves the tables as they were.

A state with one lexeme alive is that lexeme's DFA state renumbered, so its closure is
built in bulk by numba kernels: one graph search finds the new DFA states, and their
rows are the DFA's rows mapped to state ids. Such states keep no Python object of their
own (their lexeme and DFA state are two array entries), so a long counted string costs
no per-state bookkeeping, for the builder or for the garbage collector. A state with
several lexemes alive is built from the distinct columns (byte classes) of its lexemes'
DFA rows. A closure that hits ``max_states`` is undone before the error propagates, so
the tables stay as they were.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np

from formcast.automata.regex_dfa import ByteDFA, compile_regex
from formcast.errors import CompileLimitError

DEFAULT_MAX_LEXER_STATES = 200_000

Combined = tuple[tuple[int, int], ...]  # sorted (lexeme id, dfa state) pairs
Content = tuple[tuple[str, int], ...]  # sorted (lexeme pattern, dfa state) pairs
_UNLOADED = np.zeros(0, dtype=np.int64)


@functools.cache
def _kernels() -> ModuleType:
    """The numba build kernels, imported (and compiled) on first use."""
    from formcast.kernels import lexer_build

    return lexer_build


class Lexer:
    """Lazily built product automaton over a fixed list of (lazily loaded) lexeme DFAs.

    ``dfas[i]`` is lexeme ``i``'s DFA, or None to load it with ``load(i)`` (default:
    :func:`compile_regex` of ``patterns[i]``) when the lexeme first takes part in a
    lexer state. :meth:`start_state` then raises what ``load`` raises.
    """

    def __init__(
        self,
        dfas: Sequence[ByteDFA | None],
        patterns: Sequence[str],
        *,
        max_states: int = DEFAULT_MAX_LEXER_STATES,
        load: Callable[[int], ByteDFA] | None = None,
    ):
        self.max_states = max_states
        self._patterns = list(patterns)
        self._load = load or (lambda lex: compile_regex(self._patterns[lex]))
        # Content keys name a state independently of lexeme numbering, so trie walks can be
        # shared between grammars; ambiguous when two lexemes share a pattern.
        self.content_addressable = len(set(self._patterns)) == len(self._patterns)
        self._lex_by_pattern = {p: i for i, p in enumerate(self._patterns)}
        self._by_content: dict[Content, int] = {}  # states with several lexemes alive
        n_lex = len(dfas)
        self._dfas: list[ByteDFA | None] = list(dfas)
        # per loaded lexeme: accepting DFA states, and the id of the one-lexeme state of
        # each DFA state (-1: not built)
        self._accept: list[list[bool]] = [[] for _ in range(n_lex)]
        self._single: list[np.ndarray] = [_UNLOADED] * n_lex
        # per state: its lexeme and DFA state when one lexeme is alive (else -1, and the
        # combined state is in _joint); _ids: combined state -> id, several lexemes only
        self._n = 0
        self._lex_of = np.zeros(64, dtype=np.int32)
        self._dfa_state = np.zeros(64, dtype=np.int32)
        self._joint: dict[int, Combined] = {}
        self._ids: dict[Combined, int] = {}
        self._starts: dict[frozenset[int], int] = {}
        self._trans = np.full((64, 256), -1, dtype=np.int32)
        self._accepting = np.zeros(64, dtype=np.bool_)
        self._is_start = np.zeros(64, dtype=np.bool_)
        self.accept_lexemes: list[tuple[int, ...]] = []
        # states with the same complete lexemes end a lexeme the same way for the parser;
        # the first such state represents them all (exit groups in trie walks)
        self._representative: dict[tuple[int, ...], int] = {}
        self._rep = np.zeros(64, dtype=np.int32)

    @property
    def n_states(self) -> int:
        return self._n

    @property
    def trans(self) -> np.ndarray:
        """``int32 [n_states, 256]`` transition table (-1: dead)."""
        return self._trans[: self.n_states]

    @property
    def accepting(self) -> np.ndarray:
        """``bool [n_states]``: some lexeme is complete in this state."""
        return self._accepting[: self.n_states]

    @property
    def representative(self) -> np.ndarray:
        """``int32 [n_states]``: the first state with the same complete lexemes."""
        return self._rep[: self.n_states]

    def content(self, state: int) -> Content:
        """Grammar-independent name of a state: sorted (lexeme pattern, DFA state) pairs."""
        lex = int(self._lex_of[state])
        if lex >= 0:
            return ((self._patterns[lex], int(self._dfa_state[state])),)
        return self._content_of(self._joint[state])

    def combined(self, state: int) -> Combined:
        """The (lexeme, DFA state) pairs alive in ``state``."""
        lex = int(self._lex_of[state])
        return ((lex, int(self._dfa_state[state])),) if lex >= 0 else self._joint[state]

    def _content_of(self, combined: Combined) -> Content:
        return tuple(sorted((self._patterns[lex], s) for lex, s in combined))

    def by_content(self, content: Content) -> int:
        """The state with this :meth:`content` (-1 if it was never built)."""
        if len(content) != 1:
            return self._by_content.get(content, -1)
        pattern, st = content[0]
        lex = self._lex_by_pattern.get(pattern, -1)
        single = self._single[lex] if lex >= 0 else _UNLOADED
        return int(single[st]) if st < len(single) else -1

    def is_start(self, state: int) -> bool:
        """Whether ``state`` is the start of a lexeme (no byte consumed yet)."""
        return bool(self._is_start[state])

    def pattern(self, lex: int) -> str:
        """Lexeme ``lex``'s regex."""
        return self._patterns[lex]

    def is_loaded(self, lex: int) -> bool:
        """Whether lexeme ``lex``'s DFA has been loaded."""
        return self._dfas[lex] is not None

    def dfa(self, lex: int) -> ByteDFA:
        """Lexeme ``lex``'s DFA, loaded on first use (raises what ``load`` raises)."""
        dfa = self._dfas[lex]
        if dfa is None:
            dfa = self._load(lex)
            self._dfas[lex] = dfa
        if not self._accept[lex]:
            self._accept[lex] = dfa.accept.tolist()
            self._single[lex] = np.full(len(dfa.trans), -1, dtype=np.int32)
        return dfa

    def start_state(self, allowed: frozenset[int]) -> int:
        """The state at the start of a lexeme drawn from ``allowed`` (-1 if empty).

        Raises
        ------
        CompileLimitError
            Loading a lexeme's DFA, or building the states, exceeded a named limit.
        """
        sid = self._starts.get(allowed)
        if sid is not None:
            return sid
        if not allowed:
            self._starts[allowed] = -1
            return -1
        lexes = sorted(allowed)
        for lex in lexes:  # before any state is built: a failure leaves the tables intact
            self.dfa(lex)
        combined = tuple((lex, 0) for lex in lexes)
        n_before = self.n_states
        try:
            sid = self._intern(combined)
            self._close(sid)
        except CompileLimitError:
            self._truncate(n_before)
            raise
        self._is_start[sid] = True
        self._starts[allowed] = sid
        return sid

    def _truncate(self, n: int) -> None:
        """Forget the states from ``n`` on (a closure that failed)."""
        lexes, states = self._lex_of[n : self._n], self._dfa_state[n : self._n]
        for lex in np.unique(lexes[lexes >= 0]).tolist():
            self._single[lex][states[lexes == lex]] = -1
        for sid in [k for k in self._joint if k >= n]:
            combined = self._joint.pop(sid)
            del self._ids[combined]
            if self.content_addressable:
                del self._by_content[self._content_of(combined)]
        self._n = n
        del self.accept_lexemes[n:]
        self._representative = {k: v for k, v in self._representative.items() if v < n}
        self._trans[n:] = -1
        self._accepting[n:] = False
        self._rep[n:] = 0

    def _reserve(self, n: int) -> None:
        """Room for ``n`` states, or CompileLimitError past ``max_states``."""
        if n > self.max_states:
            raise CompileLimitError(
                "max_lexer_states",
                self.max_states,
                "too many combined lexer states; simplify overlapping lexemes",
            )
        grow = self._trans.shape[0]
        while grow < n:
            grow *= 2
        if grow > self._trans.shape[0]:
            extra = grow - self._trans.shape[0]
            self._trans = np.vstack([self._trans, np.full((extra, 256), -1, dtype=np.int32)])
            self._accepting = np.concatenate([self._accepting, np.zeros(extra, dtype=np.bool_)])
            self._is_start = np.concatenate([self._is_start, np.zeros(extra, dtype=np.bool_)])
            self._rep = np.concatenate([self._rep, np.zeros(extra, dtype=np.int32)])
            self._lex_of = np.concatenate([self._lex_of, np.zeros(extra, dtype=np.int32)])
            self._dfa_state = np.concatenate([self._dfa_state, np.zeros(extra, dtype=np.int32)])

    def _intern(self, combined: Combined) -> int:
        if len(combined) == 1:
            lex, st = combined[0]
            sid = int(self._single[lex][st])
            if sid >= 0:
                return sid
        else:
            found = self._ids.get(combined)
            if found is not None:
                return found
        sid = self._n
        self._reserve(sid + 1)
        self._n += 1
        if len(combined) == 1:
            self._single[lex][st] = sid
            self._lex_of[sid], self._dfa_state[sid] = lex, st
        else:
            self._ids[combined] = sid
            self._joint[sid] = combined
            self._lex_of[sid] = -1
            if self.content_addressable:
                self._by_content[self._content_of(combined)] = sid
        done = tuple(lex for lex, s in combined if self._accept[lex][s])
        self.accept_lexemes.append(done)
        self._accepting[sid] = bool(done)
        self._rep[sid] = self._representative.setdefault(done, sid)
        return sid

    def _close(self, sid: int) -> None:
        """Build every state reachable from ``sid`` (states already built are closed)."""
        todo = [sid]
        while todo:
            cur = todo.pop()
            combined = self.combined(cur)
            if len(combined) == 1:  # the common case: one lexeme alive
                self._close_single(cur, *combined[0])
            else:
                self._close_joint(cur, combined, todo)

    def _close_single(self, cur: int, lex: int, st: int) -> None:
        """Build state ``cur`` (lexeme ``lex`` alone, in DFA state ``st``) and every new
        state it reaches: all have only ``lex`` alive, so all are built at once."""
        dfa = self.dfa(lex)
        single = self._single[lex]
        kernels = _kernels()
        new = kernels.new_states(dfa.trans, single, st)
        base, k = self.n_states, len(new)
        self._reserve(base + k)
        done = (lex,)
        reps = self._representative
        got = kernels.write_single(
            self._trans,
            self._accepting,
            self._rep,
            self._lex_of,
            self._dfa_state,
            dfa.trans,
            dfa.accept,
            single,
            cur,
            st,
            new,
            base,
            lex,
            reps.get(done, -1),
            reps.get((), -1),
        )
        for ends, sid in zip((done, ()), got, strict=True):
            if sid >= 0:
                reps.setdefault(ends, sid)
        self._n += k
        self.accept_lexemes += [done if a else () for a in dfa.accept[new].tolist()]

    def _close_joint(self, cur: int, combined: Combined, todo: list[int]) -> None:
        """Build the row of ``cur`` (several lexemes alive), queueing new targets."""
        rows = np.stack([self.dfa(lex).trans[st] for lex, st in combined])
        class_of, first = _kernels().byte_classes(rows)  # bytes with the same targets
        lexes = [lex for lex, _ in combined]
        ids = self._ids
        targets = []
        single = self._single
        for col in rows[:, first].T.tolist():
            nxt = tuple([(lex, t) for lex, t in zip(lexes, col, strict=True) if t >= 0])
            if not nxt:
                targets.append(-1)
                continue
            tid = int(single[nxt[0][0]][nxt[0][1]]) if len(nxt) == 1 else ids.get(nxt, -1)
            if tid < 0:
                tid = self._intern(nxt)
                todo.append(tid)
            targets.append(tid)
        self._trans[cur] = np.asarray(targets, dtype=np.int32)[class_of]
