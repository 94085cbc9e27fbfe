"""Combined lexer: a state is the set of lexemes still alive, each with its DFA state.

Combined states are hash-consed into dense ids and their byte transitions stored in
one growing ``int32 [n_states, 256]`` table that the numba kernels read directly.
States are created lazily per *allowed lexeme set* (what the parser accepts next):
the first request for a set builds the closure of its start state, so every state
reachable from an existing one is always in the table (kernels never miss).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formcast.automata.regex_dfa import ByteDFA
from formcast.errors import CompileLimitError

DEFAULT_MAX_LEXER_STATES = 200_000

Combined = tuple[tuple[int, int], ...]  # sorted (lexeme id, dfa state) pairs


class Lexer:
    """Lazily built product automaton over a fixed list of lexeme DFAs."""

    def __init__(
        self,
        dfas: Sequence[ByteDFA],
        patterns: Sequence[str],
        *,
        max_states: int = DEFAULT_MAX_LEXER_STATES,
    ):
        self.max_states = max_states
        self._patterns = list(patterns)
        # Content keys name a state independently of lexeme numbering, so trie walks can be
        # shared between grammars; ambiguous when two lexemes share a pattern.
        self.content_addressable = len(set(self._patterns)) == len(self._patterns)
        self._by_content: dict[tuple[tuple[str, int], ...], int] = {}
        # Byte classes shared by all lexemes: bytes whose columns agree in every DFA.
        tables = [d.trans for d in dfas] or [np.zeros((1, 256), dtype=np.int32)]
        self.byte_class = _classes(np.concatenate(tables, axis=0))
        n_classes = int(self.byte_class.max()) + 1
        self._class_rep = np.zeros(n_classes, dtype=np.int64)
        self._class_rep[self.byte_class[::-1]] = np.arange(255, -1, -1)  # first byte of each class
        self._n_classes = n_classes
        self._dfas = list(dfas)
        # per lexeme, per DFA state: the target of each byte class (Python lists: fast to
        # scan), built when a lexeme first takes part in a lexer state
        self._class_rows: list[list[list[int]] | None] = [None] * len(self._dfas)
        self._accept = [d.accept for d in dfas]
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

    def start_state(self, allowed: frozenset[int]) -> int:
        """The state at the start of a lexeme drawn from ``allowed`` (-1 if empty)."""
        sid = self._starts.get(allowed)
        if sid is not None:
            return sid
        if not allowed:
            self._starts[allowed] = -1
            return -1
        combined = tuple((lex, 0) for lex in sorted(allowed))
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

    def _rows(self, lex: int) -> list[list[int]]:
        rows = self._class_rows[lex]
        if rows is None:
            rows = self._class_rows[lex] = self._dfas[lex].trans[:, self._class_rep].tolist()
        return rows

    def _close(self, sid: int) -> None:
        """Build every state reachable from ``sid`` (states already built are closed)."""
        todo = [sid]
        ids = self._ids
        while todo:
            cur = todo.pop()
            combined = self._states[cur]
            class_targets = [-1] * self._n_classes
            if len(combined) == 1:  # the common case: one lexeme alive
                lex, st = combined[0]
                for c, t in enumerate(self._rows(lex)[st]):
                    if t >= 0:
                        nxt: Combined = ((lex, t),)
                        tid = ids.get(nxt)
                        if tid is None:
                            tid = self._intern(nxt)
                            todo.append(tid)
                        class_targets[c] = tid
            else:
                lexes = [lex for lex, _ in combined]
                rows = [self._rows(lex)[st] for lex, st in combined]
                by_column: dict[tuple[int, ...], int] = {}  # classes often share a column
                for c, col in enumerate(zip(*rows, strict=True)):
                    tid = by_column.get(col)
                    if tid is None:
                        tid = -1
                        if max(col) >= 0:
                            pairs = zip(lexes, col, strict=True)
                            nxt = tuple([(lex, t) for lex, t in pairs if t >= 0])
                            tid = ids.get(nxt, -1)
                            if tid < 0:
                                tid = self._intern(nxt)
                                todo.append(tid)
                        by_column[col] = tid
                    class_targets[c] = tid
            self._trans[cur] = np.asarray(class_targets, dtype=np.int32)[self.byte_class]


def _classes(table: np.ndarray) -> np.ndarray:
    """``int64 [256]``: the class of each byte, bytes with equal columns in ``table``
    sharing one; classes are numbered in order of first appearance."""
    ids: dict[bytes, int] = {}
    columns = np.ascontiguousarray(table.T)
    return np.fromiter((ids.setdefault(c.tobytes(), len(ids)) for c in columns), np.int64, 256)
