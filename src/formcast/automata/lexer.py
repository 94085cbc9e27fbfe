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
        if dfas:
            stacked = np.concatenate([d.trans for d in dfas], axis=0)
            _, byte_class = np.unique(stacked.T, axis=0, return_inverse=True)
        else:
            byte_class = np.zeros(256, dtype=np.int64)
        self.byte_class = np.asarray(byte_class, dtype=np.int64).reshape(256)
        n_classes = int(self.byte_class.max()) + 1
        rep = np.zeros(n_classes, dtype=np.int64)
        rep[self.byte_class[::-1]] = np.arange(255, -1, -1)  # first byte of each class
        self._class_trans = [d.trans[:, rep] for d in dfas]  # [n_i, n_classes]
        self._accept = [d.accept for d in dfas]
        self._ids: dict[Combined, int] = {}
        self._states: list[Combined] = []
        self._starts: dict[frozenset[int], int] = {}
        self._trans = np.full((64, 256), -1, dtype=np.int32)
        self._accepting = np.zeros(64, dtype=np.bool_)
        self._is_start = np.zeros(64, dtype=np.bool_)
        self.accept_lexemes: list[tuple[int, ...]] = []

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
        self._ids[combined] = sid
        self._states.append(combined)
        if self.content_addressable:
            self._by_content[self.content(sid)] = sid
        done = tuple(lex for lex, s in combined if self._accept[lex][s])
        self.accept_lexemes.append(done)
        self._accepting[sid] = bool(done)
        return sid

    def _close(self, sid: int) -> None:
        """Build every state reachable from ``sid`` (states already built are closed)."""
        todo = [sid]
        built = {sid}
        while todo:
            cur = todo.pop()
            combined = self._states[cur]
            lexes = [lex for lex, _ in combined]
            rows = np.stack([self._class_trans[lex][s] for lex, s in combined])  # [k, C]
            class_targets = np.full(rows.shape[1], -1, dtype=np.int32)
            for c in range(rows.shape[1]):
                col = rows[:, c]
                nxt = tuple((lexes[i], int(col[i])) for i in np.flatnonzero(col >= 0))
                if not nxt:
                    continue
                existed = nxt in self._ids
                tid = self._intern(nxt)
                class_targets[c] = tid
                if not existed and tid not in built:
                    built.add(tid)
                    todo.append(tid)
            self._trans[cur] = class_targets[self.byte_class]
