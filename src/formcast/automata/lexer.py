"""Combined lexer: a state is the set of lexemes still alive, each with its DFA state.

Combined states are hash-consed into dense ids and their byte transitions stored in
one growing ``int32 [n_states, 256]`` table that the numba kernels read directly.
States are created lazily per *allowed lexeme set* (what the parser accepts next):
the first request for a set builds the closure of its start state, so every state
reachable from an existing one is always in the table (kernels never miss).

Lexeme DFAs are lazy too: a lexeme's DFA is loaded (compiled) when it first takes part
in a start state, before any state of that closure is built, so a failed load (a
:class:`~formcast.errors.CompileLimitError`) leaves the tables as they were. Byte
classes are therefore per lexeme (bytes with equal columns in its DFA) and, for states
where several lexemes are alive, per set of lexemes (the common refinement).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from formcast.automata.regex_dfa import ByteDFA, compile_regex
from formcast.errors import CompileLimitError

DEFAULT_MAX_LEXER_STATES = 200_000

Combined = tuple[tuple[int, int], ...]  # sorted (lexeme id, dfa state) pairs
_UNLOADED = np.zeros(0, dtype=np.int64)


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
        self._by_content: dict[tuple[tuple[str, int], ...], int] = {}
        n_lex = len(dfas)
        self._dfas: list[ByteDFA | None] = list(dfas)
        # per loaded lexeme: the class of each byte (bytes whose columns agree in its DFA),
        # and per DFA state the target of each class (Python lists: fast to scan)
        self._class_of: list[np.ndarray] = [_UNLOADED] * n_lex
        self._class_rows: list[list[list[int]]] = [[] for _ in range(n_lex)]
        self._accept: list[list[bool]] = [[] for _ in range(n_lex)]
        # per set of lexemes alive together: the joint class of each byte, and for each
        # lexeme the lexeme's own class of each joint class
        self._joint: dict[tuple[int, ...], tuple[np.ndarray, list[list[int]]]] = {}
        self._ids: dict[Combined, int] = {}
        self._states: list[Combined] = []
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
        return len(self._states)

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

    def content(self, state: int) -> tuple[tuple[str, int], ...]:
        """Grammar-independent name of a state: sorted (lexeme pattern, DFA state) pairs."""
        return tuple(sorted((self._patterns[lex], s) for lex, s in self._states[state]))

    def by_content(self, content: tuple[tuple[str, int], ...]) -> int:
        """The state with this :meth:`content` (-1 if it was never built)."""
        return self._by_content.get(content, -1)

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
        if not self._class_rows[lex]:
            class_of = _classes(dfa.trans)
            rep = np.zeros(int(class_of.max()) + 1, dtype=np.int64)
            rep[class_of[::-1]] = np.arange(255, -1, -1)  # first byte of each class
            self._class_rows[lex] = dfa.trans[:, rep].tolist()
            self._accept[lex] = dfa.accept.tolist()
            self._class_of[lex] = class_of
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
        sid = self._intern(combined)
        self._is_start[sid] = True
        self._close(sid)
        self._starts[allowed] = sid
        return sid

    def _intern(self, combined: Combined) -> int:
        sid = self._ids.get(combined)
        if sid is not None:
            return sid
        sid = len(self._states)
        if sid >= self.max_states:
            raise CompileLimitError(
                "max_lexer_states",
                self.max_states,
                "too many combined lexer states; simplify overlapping lexemes",
            )
        if sid >= self._trans.shape[0]:
            grow = self._trans.shape[0]
            self._trans = np.vstack([self._trans, np.full((grow, 256), -1, dtype=np.int32)])
            self._accepting = np.concatenate([self._accepting, np.zeros(grow, dtype=np.bool_)])
            self._is_start = np.concatenate([self._is_start, np.zeros(grow, dtype=np.bool_)])
            self._rep = np.concatenate([self._rep, np.zeros(grow, dtype=np.int32)])
        self._ids[combined] = sid
        self._states.append(combined)
        if self.content_addressable:
            self._by_content[self.content(sid)] = sid
        done = tuple(lex for lex, s in combined if self._accept[lex][s])
        self.accept_lexemes.append(done)
        self._accepting[sid] = bool(done)
        self._rep[sid] = self._representative.setdefault(done, sid)
        return sid

    def _joint_classes(self, lexes: tuple[int, ...]) -> tuple[np.ndarray, list[list[int]]]:
        """Classes of bytes that agree in every DFA of ``lexes`` (class of each byte), and
        per lexeme its own class of each joint class."""
        joint = self._joint.get(lexes)
        if joint is None:
            own = [self._class_of[lex] for lex in lexes]
            class_of = _classes(np.stack(own))
            rep = np.zeros(int(class_of.max()) + 1, dtype=np.int64)
            rep[class_of[::-1]] = np.arange(255, -1, -1)
            joint = self._joint[lexes] = (class_of, [c[rep].tolist() for c in own])
        return joint

    def _close(self, sid: int) -> None:
        """Build every state reachable from ``sid`` (states already built are closed)."""
        todo = [sid]
        ids = self._ids
        while todo:
            cur = todo.pop()
            combined = self._states[cur]
            if len(combined) == 1:  # the common case: one lexeme alive
                lex, st = combined[0]
                class_targets = []
                for t in self._class_rows[lex][st]:
                    tid = -1
                    if t >= 0:
                        nxt: Combined = ((lex, t),)
                        tid = ids.get(nxt, -1)
                        if tid < 0:
                            tid = self._intern(nxt)
                            todo.append(tid)
                    class_targets.append(tid)
                class_of = self._class_of[lex]
            else:
                lexes = tuple([lex for lex, _ in combined])
                class_of, subs = self._joint_classes(lexes)
                rows = [
                    [row[c] for c in sub]
                    for row, sub in zip(
                        [self._class_rows[lex][st] for lex, st in combined], subs, strict=True
                    )
                ]
                by_column: dict[tuple[int, ...], int] = {}  # classes often share a column
                class_targets = []
                for col in zip(*rows, strict=True):
                    tid = by_column.get(col, -2)
                    if tid == -2:
                        tid = -1
                        if max(col) >= 0:
                            pairs = zip(lexes, col, strict=True)
                            nxt = tuple([(lex, t) for lex, t in pairs if t >= 0])
                            tid = ids.get(nxt, -1)
                            if tid < 0:
                                tid = self._intern(nxt)
                                todo.append(tid)
                        by_column[col] = tid
                    class_targets.append(tid)
            self._trans[cur] = np.asarray(class_targets, dtype=np.int32)[class_of]


def _classes(table: np.ndarray) -> np.ndarray:
    """``int64 [256]``: the class of each byte, bytes with equal columns in ``table``
    sharing one; classes are numbered in order of first appearance."""
    ids: dict[bytes, int] = {}
    columns = np.ascontiguousarray(table.T)
    return np.fromiter((ids.setdefault(c.tobytes(), len(ids)) for c in columns), np.int64, 256)
