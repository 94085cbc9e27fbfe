"""Combined lexer: a state is the set of lexemes still alive, each with its DFA state.

Combined states are hash-consed into dense ids and their byte transitions stored in
one growing ``int32 [n_states, 256]`` table that the numba kernels read directly.
States are created lazily per *allowed lexeme set* (what the parser accepts next):
the first request for a set builds the closure of its start state, so every state
reachable from an existing one is in the table, with one exception: the one-lexeme
states of a DFA past ``LAZY_FROM`` states (a long counted string) are built only up to
``NEAR_DEPTH`` bytes ahead. The farthest of those are the *frontier*: they have ids,
acceptance and representatives but no row (``built`` is False); a walk kernel that
needs such a row reports the state, and :meth:`Lexer.expand` (or :meth:`Lexer.step`)
builds on from it.

Lexeme DFAs are lazy too: a lexeme's DFA is loaded (compiled) when it first takes part
in a start state, before any state of that closure is built, so a failed load (a
:class:`~formcast.errors.CompileLimitError`) leaves the tables as they were.

A state with one lexeme alive is that lexeme's DFA state renumbered, so its closure is
built in bulk by numba kernels: one graph search finds the new DFA states and writes
their rows, the DFA's rows mapped to state ids (for all the lexemes of a closure at
once, from a table of their rows copied when they load; a long DFA from its own table,
narrow or not).
Such states keep no Python object of their own (their lexeme and DFA state are two array
entries), so a long counted string costs no per-state bookkeeping, for the builder or
for the garbage collector. States with several lexemes alive are built by a numba kernel
too, all those reachable from a start state in one call: a state's row comes from the
pieces of the byte range over which none of its lexemes' DFA rows changes, and states
are hash-consed by their (lexeme, DFA state) pairs in an open-addressing table; the
one-lexeme states they reach are then closed in bulk. A closure that hits ``max_states``
is undone before the error propagates, so the tables stay as they were.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np

from formcast.automata.regex_dfa import ByteDFA, compile_regex
from formcast.errors import CompileLimitError

DEFAULT_MAX_LEXER_STATES = 200_000
#: lexeme DFAs with more states than this (long counted strings) get their one-lexeme states
#: built only NEAR_DEPTH bytes ahead of the states that need them
LAZY_FROM = 4096
NEAR_DEPTH = 128
_ROW_BLOCK = 64  # DFA rows copied at a time for states with several lexemes alive
_ROOM_AT_MOST = 4096  # rows a lexer makes room for at first, at most
# DFAs up to this many states are copied whole into the row table when they load (their
# one-lexeme states are closed from it, with the others' of a closure, in one call); longer
# ones (counted strings) are closed from their own tables, one call each, and copied only
# in blocks where states with several lexemes alive need them
_COPY_WHOLE = 256
# a state's walk alias is looked for among this many representatives, newest first (the
# positions of a counted string come in order), each check visiting at most this many pairs
_ALIAS_TRIES = 2
_ALIAS_PAIRS = 2048

Combined = tuple[tuple[int, int], ...]  # sorted (lexeme id, dfa state) pairs
Content = tuple[tuple[str, int], ...]  # sorted (lexeme pattern, dfa state) pairs


@functools.cache
def _kernels() -> ModuleType:
    """The numba build kernels, imported (and compiled) on first use."""
    from formcast.kernels import lexer_build

    return lexer_build


@functools.cache
def _dfa_kernels() -> ModuleType:
    """The numba DFA kernels (byte classes, state-pair checks), imported on first use."""
    from formcast.kernels import dfa_product

    return dfa_product


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
        lock: threading.RLock | None = None,
    ):
        self.max_states = max_states
        #: guards :meth:`expand`, which matchers may call while others walk the tables
        self.lock = lock or threading.RLock()
        self._patterns = list(patterns)
        # the default binds the patterns, not self: a lexer is freed without a collection
        self._load = load or functools.partial(_compile_nth, self._patterns)
        # Content keys name a state independently of lexeme numbering, so trie walks can be
        # shared between grammars; ambiguous when two lexemes share a pattern.
        self.content_addressable = len(set(self._patterns)) == len(self._patterns)
        self._lex_by_pattern = {p: i for i, p in enumerate(self._patterns)}
        # names of states with several lexemes alive, both ways, filled when first asked for
        self._contents: dict[int, Content] = {}
        self._walk_contents: dict[int, dict[int, Content]] = {}  # depth -> state -> content
        self._by_content: dict[Content, int] = {}
        n_lex = len(dfas)
        self._dfas: list[ByteDFA | None] = list(dfas)
        # room for the states of the DFAs given, so that masks seldom grow the tables (a
        # growth copies them all, inside whichever mask needs the room)
        rows = _room(sum(dfa.n_states for dfa in dfas if dfa is not None))
        # per loaded lexeme, one byte per DFA state (bytes: the garbage collector does not
        # track them, while a list of bools is visited element by element)
        self._accept: list[bytes] = [b""] * n_lex
        self._long: set[int] = set()  # loaded lexemes closed from their own DFA tables
        # Every loaded lexeme's DFA states, concatenated (from _s_off[lex]): acceptance,
        # the id of the one-lexeme state (-1: not built) and where in _g_trans the DFA
        # row is (-1: not copied; rows are copied in blocks when a state with several
        # lexemes alive first needs them)
        self._n_g = 0
        self._s_off = np.full(n_lex, -1, dtype=np.int64)
        self._g_accept = np.zeros(rows, dtype=np.bool_)
        self._g_single = np.full(rows, -1, dtype=np.int32)
        self._g_row = np.full(rows, -1, dtype=np.int64)
        self._n_rows = 0
        self._g_trans = np.empty((rows, 256), dtype=np.int32)
        # per state: its lexeme and DFA state when one lexeme is alive (else -1), else
        # its (lexeme, DFA state) pairs: _j_len[sid] entries of _p_lex/_p_st from
        # _j_ofs[sid], hash-consed in _slots
        self._n = 0
        self._lex_of = np.zeros(rows, dtype=np.int32)
        self._dfa_state = np.zeros(rows, dtype=np.int32)
        self._j_ofs = np.zeros(rows, dtype=np.int64)
        self._j_len = np.zeros(rows, dtype=np.int32)
        self._n_pairs = 0
        self._p_lex = np.zeros(256, dtype=np.int32)
        self._p_st = np.zeros(256, dtype=np.int32)
        self._n_joint = 0
        self._slots = np.full(1024, -1, dtype=np.int32)
        self._starts: dict[frozenset[int], int] = {}
        # a state's row is written whole before it is read: untouched rows cost no memory
        self._trans = np.empty((rows, 256), dtype=np.int32)
        self._accepting = np.zeros(rows, dtype=np.bool_)
        self._built = np.ones(rows, dtype=np.bool_)  # False: row not written yet (frontier)
        self._is_start = np.zeros(rows, dtype=np.bool_)
        self.accept_lexemes: list[tuple[int, ...]] = []
        # states with the same complete lexemes end a lexeme the same way for the parser;
        # the first such state represents them all (exit groups in trie walks)
        self._representative: dict[tuple[int, ...], int] = {}
        self._rep = np.zeros(rows, dtype=np.int32)

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
    def built(self) -> np.ndarray:
        """``bool [n_states]``: the state's row is written (False only for the frontier of
        a long lexeme, see :meth:`expand`)."""
        return self._built[: self.n_states]

    def step(self, state: int, byte: int) -> int:
        """The state after ``byte`` from ``state`` (-1: dead); a view-free ``trans`` read."""
        if not self._built.item(state):
            self.expand(state)
        return int(self._trans.item(state, byte))

    def expand(self, state: int) -> None:
        """Write the row of frontier ``state`` (one lexeme alive) and build the states up
        to ``NEAR_DEPTH`` bytes past it (under the lexer's lock; nothing if it is built).

        Raises
        ------
        CompileLimitError
            Past ``max_states`` (the tables stay as they were).
        """
        with self.lock:
            if self._built.item(state):
                return
            lex, n0 = int(self._lex_of[state]), self._n
            sts = self._dfa_state[state : state + 1]
            self._close_near(lex, np.array([state], np.int32), sts)
            self._describe(n0)

    def is_accepting(self, state: int) -> bool:
        """Whether some lexeme is complete in ``state`` (a view-free ``accepting`` read)."""
        return bool(self._accepting.item(state))

    @property
    def representative(self) -> np.ndarray:
        """``int32 [n_states]``: the first state with the same complete lexemes."""
        return self._rep[: self.n_states]

    def content(self, state: int) -> Content:
        """Grammar-independent name of a state: sorted (lexeme pattern, DFA state) pairs."""
        lex = int(self._lex_of[state])
        if lex >= 0:
            return ((self._patterns[lex], int(self._dfa_state[state])),)
        content = self._contents.get(state)
        if content is None:
            content = tuple(sorted((self._patterns[lx], s) for lx, s in self.combined(state)))
            self._contents[state] = content
            if self.content_addressable:
                self._by_content[content] = state
        return content

    def walk_content(self, state: int, depth: int) -> Content:
        """:meth:`content` up to ``depth`` bytes: each DFA state is replaced by the state
        standing for it, one that no string of at most ``depth`` bytes tells apart from it
        (dead or not, accepting or not), where one was found.

        A trie walk reads no token past its ``depth`` bytes, so states with equal walk
        contents at the trie's depth have equal walks: the positions of a long counted
        string far from its bound share one (:class:`~formcast.automata.compiled.SharedWalks`).
        """
        by_state = self._walk_contents.get(depth)
        if by_state is None:
            by_state = self._walk_contents[depth] = {}
        found = by_state.get(state)
        if found is None:
            pairs = []
            for lex, st in self.combined(state):
                dfa = self.dfa(lex)
                # a DFA of at most depth + 1 states has no aliases (and would be kept)
                aliases = None if dfa.n_states <= depth + 1 else _walk_aliases(dfa, depth)
                pairs.append((self._patterns[lex], st if aliases is None else aliases.of(st)))
            found = by_state[state] = tuple(sorted(pairs))
        return found

    def combined(self, state: int) -> Combined:
        """The (lexeme, DFA state) pairs alive in ``state``."""
        lex = int(self._lex_of[state])
        if lex >= 0:
            return ((lex, int(self._dfa_state[state])),)
        # not kept: its two callers keep what they make of it
        o, k = int(self._j_ofs[state]), int(self._j_len[state])
        lexes, states = self._p_lex[o : o + k].tolist(), self._p_st[o : o + k].tolist()
        return tuple(zip(lexes, states, strict=True))

    def by_content(self, content: Content) -> int:
        """The state with this :meth:`content` (-1 if it was never built)."""
        if len(content) != 1:
            sid = self._by_content.get(content)
            return self._find(content) if sid is None else sid
        pattern, st = content[0]
        lex = self._lex_by_pattern.get(pattern, -1)
        if lex < 0 or st >= len(self._accept[lex]):  # unloaded lexemes accept nothing yet
            return -1
        return self._g_single.item(self._s_off.item(lex) + st)

    def _find(self, content: Content) -> int:
        """:meth:`by_content` of a state with several lexemes alive, through the hash
        table (the first time it is asked for)."""
        lexes = [self._lex_by_pattern.get(pattern, -1) for pattern, _ in content]
        if not self.content_addressable or min(lexes) < 0:
            return -1
        pairs = sorted(zip(lexes, (st for _, st in content), strict=True))
        k, lo = len(pairs), self._n_pairs
        self._ensure_pairs(k)
        self._p_lex[lo : lo + k], self._p_st[lo : lo + k] = zip(*pairs, strict=True)
        sid, _ = _kernels().find_joint(
            self._slots, self._j_ofs, self._j_len, self._p_lex, self._p_st, lo, lo + k
        )
        if sid >= 0:
            self._contents[sid] = content
            self._by_content[content] = sid
        return int(sid)

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
        if not self._accept[lex]:
            self.take_in([lex])
        return self._dfas[lex]  # type: ignore[return-value]

    def take_in(self, lexes: Sequence[int]) -> None:
        """Load the DFAs of ``lexes`` (distinct) not loaded yet and copy their acceptance
        and rows into the tables, together (the key lexemes of an object come in at
        once). Every DFA is compiled first: a failure leaves the tables as they were.
        Raises what ``load`` raises."""
        new = [lex for lex in lexes if not self._accept[lex]]
        if not new:
            return
        for lex in new:
            if self._dfas[lex] is None:
                self._dfas[lex] = self._load(lex)
        # the short DFAs first: their entries, and their rows, are then side by side
        dfas: list[ByteDFA] = [self._dfas[lex] for lex in new]  # type: ignore[misc]
        short = min(_COPY_WHOLE, LAZY_FROM)  # at most this many states: copied whole
        if len(new) > 1:
            ranks = sorted(range(len(new)), key=lambda i: dfas[i].n_states > short)
            new, dfas = [new[i] for i in ranks], [dfas[i] for i in ranks]
        off = end = self._n_g
        n_short = 0
        for lex, dfa in zip(new, dfas, strict=True):
            self._accept[lex] = np.asarray(dfa.accept, dtype=np.bool_).tobytes()
            self._s_off[lex] = end
            end += dfa.n_states
            n_short += dfa.n_states <= short
        self._n_g = end
        self._g_accept = _grown(self._g_accept, end, False)
        self._g_single = _grown(self._g_single, end, -1)
        self._g_row = _grown(self._g_row, end, -1)
        self._g_accept[off:end] = _joined([dfa.accept for dfa in dfas])
        if n_short:  # one-lexeme closures read all the rows of a short DFA
            self._place_rows(off, _joined([dfa.rows(0, dfa.n_states) for dfa in dfas[:n_short]]))
        for lex in new[n_short:]:
            self._long.add(lex)
            self._copy_rows(lex, 0, _ROW_BLOCK)  # joint start states read these rows

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
        self.take_in(lexes)  # before any state is built: a failure leaves the tables intact
        n_before, pairs_before = self.n_states, self._n_pairs
        try:
            if len(lexes) == 1:
                sid = self._intern_single(lexes[0], 0)
                if sid >= n_before:  # new (a state built before is closed)
                    self._close_singles(np.array([sid], np.int32))
                    self._describe(n_before)
            else:
                sid = self._start_joint(lexes)
        except CompileLimitError:
            self._truncate(n_before, pairs_before)
            raise
        self._is_start[sid] = True
        self._starts[allowed] = sid
        return sid

    def _truncate(self, n: int, n_pairs: int) -> None:
        """Forget the states from ``n`` on, and the pairs from ``n_pairs`` on (a closure
        that failed). Rows, flags and representatives past ``n`` are left as they are: a
        new state writes them all."""
        lexes, states = self._lex_of[n : self._n], self._dfa_state[n : self._n]
        singles = lexes >= 0
        self._g_single[self._s_off[lexes[singles]] + states[singles]] = -1
        self._built[n : self._n] = True  # states made again later write their rows
        for sid in [k for k in self._contents if k >= n]:
            self._by_content.pop(self._contents.pop(sid), None)
        for by_state in self._walk_contents.values():
            for sid in [k for k in by_state if k >= n]:
                del by_state[sid]
        self._n = n
        self._n_pairs = n_pairs
        self._j_len[n:] = 0
        self._n_joint = int(np.count_nonzero(self._lex_of[:n] < 0))
        self._slots[:] = -1
        _kernels().rehash(self._slots, self._j_ofs, self._j_len, self._p_lex, self._p_st, n)
        del self.accept_lexemes[n:]
        self._representative = {k: v for k, v in self._representative.items() if v < n}

    def _reserve(self, n: int) -> None:
        """Room for ``n`` states, or CompileLimitError past ``max_states``."""
        if n > self.max_states:
            raise self._limit_error()
        if n <= self._trans.shape[0]:  # every array has as many rows as _trans
            return
        self._trans = _grown(self._trans, n, used=self._n)  # a state's row is written whole
        self._accepting = _grown(self._accepting, n, False)
        self._built = _grown(self._built, n, True)
        self._is_start = _grown(self._is_start, n, False)
        self._rep = _grown(self._rep, n, 0)
        self._lex_of = _grown(self._lex_of, n, 0)
        self._dfa_state = _grown(self._dfa_state, n, 0)
        self._j_ofs = _grown(self._j_ofs, n, 0)
        self._j_len = _grown(self._j_len, n, 0)

    def _limit_error(self) -> CompileLimitError:
        return CompileLimitError(
            "max_lexer_states",
            self.max_states,
            "too many combined lexer states; simplify overlapping lexemes",
        )

    def _intern_single(self, lex: int, st: int) -> int:
        """The id of the state with lexeme ``lex`` alone in DFA state ``st``; a new one
        gets its entries, not its row or description (:meth:`_describe`)."""
        g = self._s_off[lex] + st
        sid = int(self._g_single[g])
        if sid >= 0:
            return sid
        sid = self._n
        self._reserve(sid + 1)
        self._n += 1
        self._g_single[g] = sid
        self._lex_of[sid], self._dfa_state[sid] = lex, st
        self._accepting[sid] = self._accept[lex][st]
        return sid

    def _describe(self, n0: int) -> None:
        """Complete lexemes and representatives of the states from ``n0`` on: Python work
        only for the accepting ones (a key set's states are mostly inside a key)."""
        n, reps = self._n, self._representative
        found, lexes, counts, idle = _kernels().describe_states(
            self._accepting,
            self._lex_of,
            self._j_ofs,
            self._j_len,
            self._p_lex,
            self._p_st,
            self._s_off,
            self._g_accept,
            self._rep,
            n0,
            n,
            reps.get((), -1),
        )
        if idle >= 0:
            reps.setdefault((), idle)
        ends: list[tuple[int, ...]] = [()] * (n - n0)
        flat, at = lexes.tolist(), 0
        for sid, k in zip(found.tolist(), counts.tolist(), strict=True):
            done = tuple(flat[at : at + k])
            at += k
            ends[sid - n0] = done
            self._rep[sid] = reps.setdefault(done, sid)
        self.accept_lexemes += ends

    def _start_joint(self, lexes: list[int]) -> int:
        """The start state of several lexemes, built with every state it reaches."""
        k = len(lexes)
        self._ensure_pairs(k)
        lo = self._n_pairs
        self._p_lex[lo : lo + k] = lexes
        self._p_st[lo : lo + k] = 0
        kernels = _kernels()
        sid, slot = kernels.find_joint(
            self._slots, self._j_ofs, self._j_len, self._p_lex, self._p_st, lo, lo + k
        )
        if sid >= 0:
            return int(sid)
        n0 = sid = self._n
        self._reserve(sid + 1)
        self._n += 1
        self._slots[slot] = sid
        self._n_joint += 1
        self._n_pairs += k
        self._j_ofs[sid], self._j_len[sid], self._lex_of[sid] = lo, k, -1
        self._accepting[sid] = any(self._accept[lex][0] for lex in lexes)
        self._close_singles(self._close_joint(sid))
        self._describe(n0)
        return n0

    def _rows_and_states(self) -> tuple[np.ndarray, ...]:
        """The tables the closure kernels share: the copied DFA rows and their lexeme-state
        entries (the ``g_`` arrays of :func:`~formcast.kernels.lexer_build.close_joint`),
        then the states' rows, flags and (lexeme, DFA state) entries."""
        return (
            self._g_trans,
            self._g_row,
            self._g_accept,
            self._g_single,
            self._s_off,
            self._trans,
            self._accepting,
            self._lex_of,
            self._dfa_state,
        )

    def _close_joint(self, sid: int) -> np.ndarray:
        """Build the rows of state ``sid`` (several lexemes alive) and of every such state
        it reaches; returns the new one-lexeme states they reach (rows not built)."""
        kernels = _kernels()
        todo = np.empty(64, dtype=np.int32)
        fresh = np.empty(64, dtype=np.int32)
        need = np.empty((len(self._dfas), 2), dtype=np.int64)
        todo[0] = sid
        counts = np.array([self._n, self._n_pairs, self._n_joint, 1, 0, 0], dtype=np.int64)
        while True:
            status = kernels.close_joint(
                *self._rows_and_states(),
                self._j_ofs,
                self._j_len,
                self._p_lex,
                self._p_st,
                self._slots,
                todo,
                fresh,
                need,
                counts,
                self.max_states,
            )
            self._n, self._n_pairs, self._n_joint = (int(c) for c in counts[:3])
            if status == kernels.DONE:
                break
            if status == kernels.LIMIT:
                raise self._limit_error()
            if status == kernels.NEED_ROWS:
                for lex, st in need[: counts[5]].tolist():
                    lo = st - st % _ROW_BLOCK
                    self._copy_rows(lex, lo, lo + _ROW_BLOCK)
                continue
            top, room = int(counts[3]), int(counts[5])
            self._reserve(min(self._n + room, self.max_states))
            self._ensure_pairs(room * int(self._j_len[todo[top - 1]]))
            todo = _grown(todo, top + room)
            fresh = _grown(fresh, int(counts[4]) + room)
        return fresh[: counts[4]]

    def _copy_rows(self, lex: int, lo: int, hi: int) -> None:
        """Copy the DFA rows ``lo:hi`` of lexeme ``lex`` into ``_g_trans`` (a long counted
        string is copied in blocks, where states with several lexemes alive reach)."""
        dfa = self.dfa(lex)
        self._place_rows(int(self._s_off[lex]) + lo, dfa.rows(lo, min(hi, dfa.n_states)))

    def _place_rows(self, g: int, rows: np.ndarray) -> None:
        """Append DFA ``rows`` to ``_g_trans``, for the lexeme-state entries from ``g``."""
        base, k = self._n_rows, len(rows)
        self._g_trans = _grown(self._g_trans, base + k, used=base)
        self._g_trans[base : base + k] = rows
        self._g_row[g : g + k] = np.arange(base, base + k)
        self._n_rows = base + k

    def _ensure_pairs(self, k: int) -> None:
        """Room for ``k`` more pairs, and for 256 more states in the hash table."""
        self._p_lex = _grown(self._p_lex, self._n_pairs + k)
        self._p_st = _grown(self._p_st, self._n_pairs + k)
        if 2 * (self._n_joint + 256) > len(self._slots):
            size = len(self._slots)
            while 2 * (self._n_joint + 256) > size:
                size *= 2
            self._slots = np.full(size, -1, dtype=np.int32)
            _kernels().rehash(
                self._slots, self._j_ofs, self._j_len, self._p_lex, self._p_st, self._n
            )

    def _close_singles(self, starts: np.ndarray) -> None:
        """Build the one-lexeme states ``starts`` (entries set, rows not) and every new
        state they reach: all have only their own lexeme alive, so one graph search over
        the copied DFA rows builds them (for a DFA past ``_COPY_WHOLE`` states, see
        :meth:`_close_near`). Complete lexemes and representatives are left to
        :meth:`_describe`."""
        lex_of = self._lex_of[starts].tolist()
        lexes = set(lex_of)
        long = lexes & self._long
        if long:
            own = np.array([lex in long for lex in lex_of], dtype=np.bool_)
            starts, rest = starts[~own], starts[own]
            lexes -= long
        room = sum(len(self._accept[lex]) for lex in lexes)
        self._reserve(min(self._n + room, self.max_states))
        n, ok = _kernels().close_singles(
            *self._rows_and_states(),
            starts,
            self._n,
            self.max_states,
        )
        self._n = n  # undone by the caller on failure
        if not ok:
            raise self._limit_error()
        for lex in sorted(long):
            curs = rest[self._lex_of[rest] == lex]
            self._close_near(lex, curs, self._dfa_state[curs])

    def _close_near(self, lex: int, curs: np.ndarray, sts: np.ndarray) -> None:
        """Build states ``curs`` (lexeme ``lex`` alone, in DFA states ``sts``, a DFA past
        ``_COPY_WHOLE`` states) and every new state they reach, from the DFA's own table;
        past ``LAZY_FROM`` states only those up to ``NEAR_DEPTH`` bytes away, the farthest
        without a row (the frontier: :meth:`expand` writes it when needed)."""
        dfa = self.dfa(lex)
        n = len(dfa.accept)
        off = int(self._s_off[lex])
        single = self._g_single[off : off + n]
        kernels = _kernels()
        depth = NEAR_DEPTH if n > LAZY_FROM else n  # n: no state is that far (no frontier)
        table, col = dfa.class_table()
        new, frontier = kernels.new_states_near(table, col, single, sts, depth)
        base, k = self.n_states, len(new)
        self._reserve(base + k)
        kernels.write_single(
            self._trans,
            self._accepting,
            self._lex_of,
            self._dfa_state,
            table,
            col,
            dfa.accept,
            single,
            curs,
            sts,
            new,
            base,
            lex,
        )
        self._built[curs] = True  # written by write_single, as are the new states' rows
        self._built[base : base + k] = True
        self._built[base + np.flatnonzero(frontier)] = False
        self._n += k


class _WalkAliases:
    """States of one DFA that stand for others in walk keys: a state stands for itself, or
    for an earlier one that no string of at most ``depth`` bytes tells apart from it (one
    of the ``_ALIAS_TRIES`` newest such representatives, checked pair by pair)."""

    def __init__(self, dfa: ByteDFA, depth: int) -> None:
        self._dfa = dfa
        self._depth = depth
        self._table: np.ndarray | None = None  # one column per byte class, when first needed
        self._accept = np.ascontiguousarray(dfa.accept, dtype=np.bool_)  # no copy, usually
        self._reps: list[int] = []
        self._of: dict[int, int] = {}

    def of(self, state: int) -> int:
        """The state standing for ``state``."""
        rep = self._of.get(state)
        if rep is None:
            rep = state
            kernels = _dfa_kernels()
            for other in reversed(self._reps[-_ALIAS_TRIES:]):
                if self._table is None:  # O(states x classes): not for a DFA walked from one state
                    self._table = self._dfa.columns(self._dfa.byte_classes()[1])
                found = kernels.same_within(
                    self._table, self._accept, state, other, self._depth, _ALIAS_PAIRS
                )
                if found == 1:
                    rep = other
                    break
            if rep == state:
                self._reps.append(state)
            self._of[state] = rep
        return rep


@functools.lru_cache(maxsize=1024)
def _walk_aliases(dfa: ByteDFA, depth: int) -> _WalkAliases:
    """The walk aliases of ``dfa``'s states up to ``depth`` bytes, shared by every lexer
    (and grammar) using it; for a DFA of more than ``depth + 1`` states (no two states of
    a minimal one of fewer are alike that far; a non-minimal one only shares fewer walks)."""
    return _WalkAliases(dfa, depth)


def _compile_nth(patterns: Sequence[str], lex: int) -> ByteDFA:
    """The DFA of ``patterns[lex]`` (the default lexeme loader)."""
    return compile_regex(patterns[lex])


def _room(n: int) -> int:
    """Rows for ``n`` states and some to spare: a power of two from 64 to
    :data:`_ROOM_AT_MOST` (past it, growing costs little next to building the states)."""
    size = 64
    while size < n + 64 and size < _ROOM_AT_MOST:
        size *= 2
    return size


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """``parts`` end to end (the one part itself: no copy)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _grown(a: np.ndarray, n: int, fill: object = None, used: int | None = None) -> np.ndarray:
    """``a``, or a copy doubled until it has ``n`` rows, the new rows ``fill`` (None:
    left unset, for rows written in full before they are read); where ``used`` is given,
    only the first ``used`` rows are copied and the rest are left unset too (the pages of
    rows never written are never touched: a fresh page costs a fault, 2.6 us here)."""
    size = a.shape[0]
    if size >= n:
        return a
    while size < n:
        size *= 2
    shape = (size, *a.shape[1:])
    out = np.empty(shape, dtype=a.dtype) if fill is None else np.full(shape, fill, dtype=a.dtype)
    keep = a.shape[0] if used is None else used
    out[:keep] = a[:keep]
    return out
