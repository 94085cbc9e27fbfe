"""Matcher: the per-sequence state (Earley rows + lexer state) and exact token masks.

A mask is the union of cached trie walks: for the current lexer state, the tokens
that stay inside the current lexeme come from a cache keyed by lexer state alone
(DESIGN.md decision 4); tokens that end a lexeme inside themselves are grouped by
the lexer state at that boundary, the parser is asked once per group, and the rest
of those tokens is walked from the next lexer state (also cached, keyed by path).
Root walks skip the plain-text subtrees of the trie no deeper than the length up to
which the lexer state provably keeps every plain-text token inside the lexeme (any length
in a string body, the remaining length in a bounded one), taking those tokens wholesale.

Whole masks are cached too, keyed by their *trace* (the walks they OR and whether EOS
is allowed); each Earley row remembers the trace per lexer state, so a repeated state
costs two dictionary look-ups and one row copy.

Distinct lexemes (JSON ``uniqueItems`` over strings, :attr:`Grammar.distinct`) make masks
depend on text: a scan that repeats a value of an earlier scan from the same Earley origin is
dropped. The matcher then keeps the text and the values scanned; a walk exit that ends such
a lexeme is split by value (the exit's trie node spells the lexeme's end), and masks that
meet one are never memoized on their row.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np

from formcast.automata.compiled import SHARED_WALKS, CompiledGrammar, WalkResult
from formcast.automata.earley import POS_BITS, EarleySet
from formcast.errors import MatcherError
from formcast.kernels.bitmask import allocate_token_bitmask

_FORCED_LIMIT = 64
_STEP = 5  # ints per step in a matcher's rollback history
# (lexer state, text state) pairs explored to find how deep a root walk may skip plain text
_SLICE_CHECK_BUDGET = 4096
# a root walk takes the tokens made of a state's class-loop bytes wholesale from this many bytes
_LOOP_SLICE_FROM = 16


@functools.cache
def _kernels() -> ModuleType:
    """The numba walk kernels, imported (and compiled) on first use."""
    from formcast.kernels import trie_walk

    return trie_walk


_SCRATCH = threading.local()


def _slice_scratch() -> tuple[np.ndarray, np.ndarray]:
    """This thread's scratch for :func:`slice_depth`: its pair set (all -1 between calls)
    and its queue, allocated once per thread rather than once per root walk."""
    found = getattr(_SCRATCH, "slice", None)
    if found is None:
        size = 16
        while size < 2 * (_SLICE_CHECK_BUDGET + 1):
            size *= 2
        found = _SCRATCH.slice = (
            np.full(size, -1, dtype=np.int64),
            np.empty(2 * (_SLICE_CHECK_BUDGET + 1), dtype=np.int64),
        )
    return found


class Matcher:
    """Tracks one sequence against a :class:`CompiledGrammar`.

    Parameters
    ----------
    compiled:
        From :func:`formcast.compile`.
    max_rollback_tokens:
        How many accepted tokens :meth:`rollback` can undo (-1: unlimited).
    """

    def __init__(self, compiled: CompiledGrammar, *, max_rollback_tokens: int = -1) -> None:
        self.compiled = compiled
        self._a = compiled.automata
        tok = compiled.tokenizer
        self._trie = tok.trie
        self._n_words = (tok.vocab_size + 31) // 32
        self._eos = tuple(tok.eos_ids)
        self._max_rollback = max_rollback_tokens
        self._scratch_nodes = np.empty(len(self._trie.node_byte) + 1, dtype=np.int32)
        self._scratch_states = np.empty_like(self._scratch_nodes)
        self._scratch_groups = np.empty_like(self._scratch_nodes)
        self._distinct = self._a.distinct
        self.reset()

    # ---- state -------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the start of the grammar."""
        first = self._a.parser.initial()
        self._rows: list[EarleySet] = [first]
        self._lx = self._start(first, after_ignore=False)
        # before each step, _STEP ints: rows, lexer state, terminated, text length, start of
        # the lexeme (flat: a tuple per token would be one more object for the collector)
        self._history: list[int] = []
        self._terminated = False
        # kept for distinct lexemes only: the text, where the current lexeme starts, and
        # (row after the scan, origin, value) of each distinct scan
        self._text = bytearray()
        self._lex_from = 0
        self._values: list[tuple[int, int, str]] = []
        self._volatile = False
        self._n_kept = 1

    def _start(self, top: EarleySet, after_ignore: bool) -> int:
        """The lexer state at the start of the next lexeme after row ``top``."""
        sid = top.start_after_ignore if after_ignore else top.start
        if sid is None:
            with self._a.lock:
                allowed = self._a.allowed_lexemes(top.expected, after_ignore)
                sid = self._a.lexer.start_state(allowed)
            if after_ignore:
                top.start_after_ignore = sid
            else:
                top.start = sid
        return sid

    def _finish_lexeme(
        self, rows: list[EarleySet], lx: int, drop: tuple[int, ...] = ()
    ) -> tuple[EarleySet, int] | None:
        """End the lexeme in lexer state ``lx``, not scanning the lexemes in ``drop``:
        (new top row, next lexer start) or None.

        Memoized on the top row by the set of complete lexemes (rows are immutable): the
        new top row (the next start is memoized on it).
        """
        done = self._a.lexer.accept_lexemes[lx]
        top = rows[-1]
        memo = top.finished
        if memo is None:
            memo = top.finished = {}
        key = (*done, -1, *drop) if drop else done
        if key in memo:
            row = memo[key]
            return None if row is None else (row, self._start(row, after_ignore=row is top))
        row = None
        if drop or not top.expected.issuperset(done):
            real = tuple(x for x in done if x in top.expected and x not in drop)
        else:
            real = done  # no new tuple: the scan keys its successor by it
        if real:
            row = self._a.parser.scan(rows, real)
        elif any(x in self._a.ignore for x in done):
            row = top
        if row is None:
            memo[key] = None
            return None
        start = self._start(row, after_ignore=row is top)  # may raise: memoize after it
        memo[key] = row
        return row, start

    # ---- distinct lexemes ----------------------------------------------------------
    def _distinct_done(self, top: EarleySet, lx: int) -> tuple[int, ...]:
        """The distinct lexemes that end in lexer state ``lx`` and that ``top`` expects."""
        return tuple(
            x for x in self._a.lexer.accept_lexemes[lx] if x in self._distinct and x in top.expected
        )

    @staticmethod
    def _origins(top: EarleySet, lex: int) -> set[int]:
        return {item >> POS_BITS for item in top.waiting(lex)}

    def _seen(self, top: EarleySet, lex: int, values: list[tuple[int, int, str]]) -> set[str]:
        """Values scanned before as ``lex`` from the origins ``top`` would scan it from."""
        origins = self._origins(top, lex)
        return {v for _, o, v in values if o in origins}

    def _drops(
        self, top: EarleySet, lexes: tuple[int, ...], value: str, values: list[tuple[int, int, str]]
    ) -> tuple[int, ...]:
        """The distinct ``lexes`` for which ``value`` repeats an earlier value."""
        return tuple(x for x in lexes if value in self._seen(top, x, values))

    def _lexeme(self, lex_from: int, pending: bytes) -> bytes:
        """The lexeme from offset ``lex_from`` of the kept text followed by ``pending``."""
        base = len(self._text)
        if lex_from < base:
            return bytes(self._text[lex_from:]) + pending
        return pending[lex_from - base :]

    def _run(
        self,
        rows: list[EarleySet],
        values: list[tuple[int, int, str]],
        lx: int,
        lex_from: int,
        data: bytes,
    ) -> tuple[int, int] | None:
        """Feed ``data`` (after the kept text) from lexer state ``lx``, pushing rows and
        distinct values: (lexer state, start of the current lexeme), or None."""
        lexer = self._a.lexer
        base = len(self._text)
        for i, b in enumerate(data):
            nxt = lexer.step(lx, b) if lx >= 0 else -1
            if nxt < 0 and lx >= 0 and lexer.is_accepting(lx):
                top = rows[-1]
                lexes = self._distinct_done(top, lx) if self._distinct else ()
                drop: tuple[int, ...] = ()
                value = ""
                if lexes:
                    value = _string_value(self._lexeme(lex_from, data[:i]))
                    drop = self._drops(top, lexes, value, values)
                fin = self._finish_lexeme(rows, lx, drop)
                if fin is not None:
                    child, start = fin
                    if child is not top:
                        rows.append(child)
                        for x in lexes:
                            if x not in drop:
                                values += [(len(rows) - 1, o, value) for o in self._origins(top, x)]
                    lex_from = base + i
                    nxt = lexer.step(start, b) if start >= 0 else -1
            if nxt < 0:
                return None
            lx = nxt
        return lx, lex_from

    def _feed_bytes(self, data: bytes) -> bool:
        """Run ``data`` from the current state; on failure the state is left unchanged."""
        rows, values = self._rows, self._values
        n_rows, n_values = len(rows), len(values)
        out = self._run(rows, values, self._lx, self._lex_from, data)
        if out is None:
            del rows[n_rows:]
            del values[n_values:]
            return False
        self._record(n_rows)
        if self._max_rollback >= 0 and len(self._history) > self._max_rollback * _STEP:
            del self._history[: len(self._history) - self._max_rollback * _STEP]
        self._lx, self._lex_from = out
        if self._distinct:
            self._text += data
        return True

    def accept_token(self, token_id: int) -> bool:
        """Consume one token; False (state unchanged) when the grammar forbids it."""
        if self._terminated:
            return False
        tok = self.compiled.tokenizer
        if token_id in self._eos:
            if not self.can_terminate():
                return False
            self._record(len(self._rows))
            self._terminated = True
            return True
        if (
            token_id < 0
            or token_id >= len(tok.token_bytes)
            or token_id in tok.special_ids
            or not tok.token_bytes[token_id]
        ):
            return False
        return self._feed_bytes(tok.token_bytes[token_id])

    def accept_string(self, text: str | bytes) -> bool:
        """Consume text regardless of tokenization (one rollback step); False if forbidden."""
        if self._terminated:
            return False
        return self._feed_bytes(text.encode() if isinstance(text, str) else text)

    def rollback(self, num_tokens: int = 1) -> None:
        """Undo the last ``num_tokens`` accepted tokens (or strings)."""
        steps = len(self._history) // _STEP
        if num_tokens < 0 or num_tokens > steps:
            raise MatcherError(f"cannot roll back {num_tokens} tokens: {steps} can be undone")
        if num_tokens == 0:
            return
        at = len(self._history) - num_tokens * _STEP
        n_rows, lx, term, n_text, lex_from = self._history[at : at + _STEP]
        del self._history[at:]
        del self._rows[n_rows:]
        while self._values and self._values[-1][0] >= n_rows:
            self._values.pop()
        del self._text[n_text:]
        self._lx, self._lex_from = lx, lex_from
        self._terminated = bool(term)

    def _record(self, n_rows: int) -> None:
        """Remember the state before a step (``n_rows``: its row count), for rollback."""
        self._history += (n_rows, self._lx, int(self._terminated), len(self._text), self._lex_from)

    def is_terminated(self) -> bool:
        """True once EOS was accepted."""
        return self._terminated

    def can_terminate(self) -> bool:
        """Whether the text so far is a complete sentence of the grammar."""
        if self._terminated:
            return True
        if self._lx < 0 or self._a.lexer.is_start(self._lx):  # -1: no lexeme can follow
            return self._rows[-1].accepting
        if not self._a.lexer.is_accepting(self._lx):
            return False
        top = self._rows[-1]
        lexes = self._distinct_done(top, self._lx) if self._distinct else ()
        value = _string_value(self._lexeme(self._lex_from, b"")) if lexes else ""
        drop = self._drops(top, lexes, value, self._values) if lexes else ()
        fin = self._finish_lexeme(self._rows, self._lx, drop)
        return fin is not None and fin[0].accepting

    # ---- masks -------------------------------------------------------------------
    def fill_next_token_bitmask(self, bitmask: np.ndarray, index: int = 0) -> None:
        """Write the allowed next tokens into row ``index`` of ``bitmask`` (int32 words)."""
        if bitmask.dtype != np.int32 or bitmask.ndim not in (1, 2):
            raise MatcherError(
                f"expected an int32 bitmask of shape (batch, {self._n_words}), "
                f"got {bitmask.dtype} {bitmask.shape}; use formcast.allocate_token_bitmask"
            )
        row = bitmask if bitmask.ndim == 1 else bitmask[index]
        n = self._n_words
        if row.shape[0] < n:
            raise MatcherError(f"bitmask row has {row.shape[0]} words, need {n}")
        if self._terminated:
            row[:] = 0
            self._set_eos(row)
            return
        top = self._rows[-1]
        trace = None if top.masks is None else top.masks.get(self._lx)
        mask = None if trace is None else self.compiled.mask_cache.get(trace)
        if mask is None:
            mask = self._build_mask(top)
        if row.shape[0] == n:
            row[:] = mask
        else:
            row[:n] = mask
            row[n:] = 0

    def _build_mask(self, top: EarleySet) -> np.ndarray:
        """The mask at the current state, found or stored in the grammar's mask cache.

        The trace (every walk the mask ORs, and whether EOS is allowed) determines the
        mask, and (top row, lexer state) determines the trace: a row fixes the rows
        below it, since it was created once as the successor of one row.
        """
        lx = self._lx
        parts: list[WalkResult] = []
        steps = [lx]
        self._volatile = False
        self._n_kept = len(self._rows)
        if lx >= 0:
            self._trace(self._rows, lx, (lx,), None, parts, steps)
        steps.append(int(self.can_terminate()))
        trace = tuple(steps)
        if not self._volatile:  # else the mask depends on the values scanned so far
            if top.masks is None:
                top.masks = {}
            top.masks[lx] = trace
        cache = self.compiled.mask_cache
        mask = cache.get(trace)
        if mask is not None:
            return mask
        mask = np.zeros(self._n_words, dtype=np.int32)
        for res in parts:
            res.or_into(mask)
        if steps[-1]:
            self._set_eos(mask)
        mask.setflags(write=False)
        with self.compiled.lock:
            cache[trace] = mask
            while len(cache) > self.compiled.automata.options.max_mask_cache_entries:
                cache.popitem(last=False)
        return mask

    def _set_eos(self, row: np.ndarray) -> None:
        for e in self._eos:
            row[e >> 5] |= np.int32(np.uint32(1 << (e & 31)).view(np.int32))

    def _trace(
        self,
        rows: list[EarleySet],
        lx: int,
        key: tuple[int, ...],
        nodes: np.ndarray | None,
        parts: list[WalkResult],
        steps: list[int],
    ) -> None:
        """Collect the walks whose union is the mask from lexer state ``lx``.

        ``steps`` records the boundaries crossed: ``lk, start`` on entering the walk of
        ``(*key, lk, start)`` and ``-1`` on leaving it, so it names the walks uniquely.
        """
        res = self.compiled.walk_cache.get(key) or self._walk(key, lx, nodes)
        parts.append(res)
        for lk, exit_nodes in res.exits:
            lexes = self._distinct_done(rows[-1], lk) if self._distinct else ()
            if not lexes:
                self._follow(rows, lk, (), exit_nodes, key, (), parts, steps)
                continue
            self._volatile = True
            by_drop = self._split_exits(rows, lexes, exit_nodes, root=nodes is None)
            if list(by_drop) == [()]:  # no value repeats: the plain, cacheable walk
                self._follow(rows, lk, (), exit_nodes, key, (), parts, steps)
                continue
            # the split, spelled out: (drop size, drop, node count, nodes) per repeating group
            tag: list[int] = []
            for drop in sorted(d for d in by_drop if d):
                tag += (len(drop), *drop, len(by_drop[drop]), *by_drop[drop].tolist())
            for i, (drop, sub) in enumerate(sorted(by_drop.items(), key=lambda g: g[0])):
                marker = (-2, i, len(tag), *tag)
                self._follow(rows, lk, drop, sub, key, marker, parts, steps)

    def _follow(
        self,
        rows: list[EarleySet],
        lk: int,
        drop: tuple[int, ...],
        exit_nodes: np.ndarray,
        key: tuple[int, ...],
        marker: tuple[int, ...],
        parts: list[WalkResult],
        steps: list[int],
    ) -> None:
        """Trace on from the exit ``exit_nodes`` in lexer state ``lk`` (``drop``: distinct
        lexemes not scanned there; ``marker`` names such a split in keys and steps)."""
        fin = self._finish_lexeme(rows, lk, drop)
        if fin is None or fin[1] < 0:
            return
        top, start = fin
        steps += (lk, start, *marker)
        depth = len(rows)
        if top is not rows[-1]:
            rows.append(top)
        try:
            self._trace(rows, start, (*key, lk, start, *marker), exit_nodes, parts, steps)
        finally:
            del rows[depth:]
        steps.append(-1)

    def _split_exits(
        self,
        rows: list[EarleySet],
        lexes: tuple[int, ...],
        exit_nodes: np.ndarray,
        root: bool,
    ) -> dict[tuple[int, ...], np.ndarray]:
        """Exit nodes that end distinct ``lexes``, grouped by the lexemes whose value they
        repeat. At the root walk the lexeme is the kept text's last one plus the node's
        prefix, checked where the length (or an escape) allows a repeat; deeper in a token
        each node is replayed from the kept state."""
        repeats: dict[int, tuple[int, ...]] = {}
        if root:
            top, trie, tok = rows[-1], self._trie, self.compiled.tokenizer
            head = self._lexeme(self._lex_from, b"")
            seen = {x: self._seen(top, x, self._values) for x in lexes}
            if not any(seen.values()):
                return {(): exit_nodes}
            # An exit node's prefix ends with the byte after the lexeme (a closing quote),
            # so the lexeme is head + prefix[:-1]. Without escapes, a repeat of v ends at
            # the node spelling the rest of '"v' after head, then '"'; nodes with an
            # escape, or a head with one, are decoded.
            if b"\\" in head:
                maybe = set(exit_nodes.tolist())
            else:
                maybe = set(exit_nodes[trie.backslashed[exit_nodes]].tolist())
                for v in set().union(*seen.values()):
                    spelled = b'"' + v.encode("utf-8", "surrogatepass")
                    if spelled.startswith(head):
                        node = trie.find(spelled[len(head) :] + b'"')
                        if node > 0 and (exit_nodes == node).any():
                            maybe.add(node)
            for n in maybe:
                value = _string_value(head + trie.prefix(n, tok.token_bytes)[:-1])
                drop = tuple(x for x in lexes if value in seen[x])
                if drop:
                    repeats[n] = drop
        else:
            for n in exit_nodes.tolist():
                drop = self._replay_drop(n)
                if drop:
                    repeats[n] = drop
        if not repeats:
            return {(): exit_nodes}
        groups: dict[tuple[int, ...], np.ndarray] = {
            (): exit_nodes[~np.isin(exit_nodes, list(repeats))]
        }
        for n, drop in repeats.items():
            groups[drop] = np.append(groups.get(drop, exit_nodes[:0]), np.int32(n))
        return {d: ns for d, ns in groups.items() if len(ns)}

    def _replay_drop(self, node: int) -> tuple[int, ...]:
        """The distinct lexemes that end at trie ``node`` with a repeated value, replaying
        the node's prefix from the kept state (rare: a token ending two such lexemes)."""
        rows = self._rows[: self._n_kept]
        values = list(self._values)
        data = self._trie.prefix(node, self.compiled.tokenizer.token_bytes)[:-1]
        out = self._run(rows, values, self._lx, self._lex_from, data)
        if out is None:
            return ()
        lx, lex_from = out
        top = rows[-1]
        lexes = self._distinct_done(top, lx)
        return self._drops(top, lexes, _string_value(self._lexeme(lex_from, data)), values)

    def _walk(self, key: tuple[int, ...], lx: int, nodes: np.ndarray | None) -> WalkResult:
        """Walk the trie (or fetch the walk shared by lexer-state content) and cache it."""
        cache = self.compiled.walk_cache
        hit = cache.get(key)
        shared = None
        if hit is None:
            shared = SHARED_WALKS.key(self.compiled.tokenizer, self._a.lexer, lx, nodes)
            hit = None if shared is None else SHARED_WALKS.get(shared, self._a.lexer)
            if hit is not None:
                with self.compiled.lock:
                    cache[key] = hit
        if hit is not None:
            return hit
        while True:
            bits, n, n_groups, n_words = self._walk_once(lx, nodes)
            if n >= 0:
                break
            self._a.lexer.expand(-1 - n)  # a long lexeme's frontier: build on, walk again
        # exits grouped by what ends there, so the parser is asked once per group
        exits: tuple[tuple[int, np.ndarray], ...] = ()
        if n:
            cuts = self._scratch_groups[: n_groups + 1].tolist()
            states = self._scratch_states[cuts[:-1]].tolist()  # one per group
            exits = tuple(
                (state, self._scratch_nodes[a:b].copy())
                for (a, b), state in zip(itertools.pairwise(cuts), states, strict=True)
            )
        res = WalkResult.pack(bits, exits, n_words)
        if shared is not None:
            SHARED_WALKS.put(shared, self._a.lexer, res)
        with self.compiled.lock:
            cache[key] = res
            if len(cache) > self.compiled.automata.options.max_walk_cache_entries:
                cache.popitem(last=False)
        return res

    def _walk_once(self, lx: int, nodes: np.ndarray | None) -> tuple[np.ndarray, int, int, int]:
        """One trie walk from ``lx`` over ``nodes`` (None: the root's children): the bits
        of the tokens inside the lexeme and :func:`walk_trie`'s counts (the exits are in
        the scratch arrays), or a negative count naming a state whose row is not built."""
        kernels = _kernels()
        trie = self._trie
        lexer = self._a.lexer
        with self._a.lock:
            flat, accepting = lexer.trans.reshape(-1), lexer.accepting  # (state * 256 + byte)
            rep, built = lexer.representative, lexer.built
        bits = np.zeros(self._n_words, dtype=np.int32)
        text = trie.text_slice
        # From the root, plain-text subtrees no deeper than ``depth`` need no visit when no
        # plain text of that length can end the lexeme: their tokens are all allowed and
        # none exits.
        depth, used = -1, text
        if nodes is None:
            depth = kernels.slice_depth(
                flat,
                lx,
                text.trans,
                _SLICE_CHECK_BUDGET,
                trie.max_depth,
                built,
                *_slice_scratch(),
            )
            loop = self._loop_bytes(flat, built, lx) if depth == 0 else None
            if loop is None:
                bits[: text.short.shape[1]] = text.short[depth]
            else:
                # no plain text at all, but the tokens made of bytes that lead back to
                # ``lx`` (a pattern's character class, say) stay there: taken wholesale
                used = trie.byte_set_slice(loop)
                bits[: used.short.shape[1]] = used.bits
                depth = trie.max_depth
        # every pure subtree skipped: walk the few nodes that are visited then, laid out
        # together (their exits are renamed to trie nodes below)
        skel = used.skeleton if nodes is None and depth >= trie.max_depth else None
        walked = trie if skel is None else skel.nodes
        n, n_groups, n_words = kernels.walk_trie(
            walked.node_byte,
            walked.node_depth,
            walked.node_end,
            walked.node_tok_start,
            walked.node_tok_end,
            walked.tok_ids,
            flat,
            accepting,
            rep,
            built,
            walked.root_children if nodes is None else nodes,
            walked.root_bytes if nodes is None else walked.node_byte[nodes],
            lx,
            bits,
            self._scratch_nodes,
            self._scratch_states,
            self._scratch_groups,
            trie.max_depth,
            used.pure if skel is None else skel.pure,
            walked.subtree_depth,
            depth,
        )
        if skel is not None and n > 0:
            self._scratch_nodes[:n] = skel.orig[self._scratch_nodes[:n]]
        return bits, n, n_groups, n_words

    @staticmethod
    def _loop_bytes(flat: np.ndarray, built: np.ndarray, lx: int) -> bytes | None:
        """Bytes that keep a walk from lexer state ``lx`` within ``lx`` and the state most
        of its bytes lead to (a pattern's character class: ``[a-z ]+`` after its first
        character, or before it), where there are at least :data:`_LOOP_SLICE_FROM` of
        them; else None (too few tokens to skip). Tokens made of them are all allowed and
        end no lexeme inside. ``flat``: the lexer table raveled."""
        loop = _kernels().loop_bytes(flat, built, lx, _LOOP_SLICE_FROM)
        return bytes(loop) if len(loop) else None

    def forced_tokens(self) -> list[int]:
        """Tokens the grammar forces next (each the only allowed token); state unchanged."""
        out: list[int] = []
        mask = allocate_token_bitmask(1, self.compiled.tokenizer.vocab_size)
        try:
            while len(out) < _FORCED_LIMIT and not self._terminated:
                self.fill_next_token_bitmask(mask, 0)
                allowed = np.flatnonzero(np.unpackbits(mask[0].view(np.uint8), bitorder="little"))
                if len(allowed) != 1 or int(allowed[0]) in self._eos:
                    break
                tid = int(allowed[0])
                if not self.accept_token(tid):
                    raise MatcherError(f"mask allowed token {tid} that the matcher rejected")
                out.append(tid)
        finally:
            self.rollback(len(out))
        return out


class BatchMatcher:
    """Fills the masks of many matchers in parallel threads (the trie walk drops the GIL)."""

    def __init__(self, max_threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_threads) if max_threads > 1 else None

    def fill_next_token_bitmask(
        self, matchers: Sequence[Matcher], bitmask: np.ndarray, indices: Sequence[int] | None = None
    ) -> None:
        """Row ``indices[i]`` (default ``i``) of ``bitmask`` gets ``matchers[i]``'s mask."""
        idx = list(range(len(matchers))) if indices is None else list(indices)
        if len(idx) != len(matchers):
            raise MatcherError(f"got {len(matchers)} matchers but {len(idx)} indices")
        if self._pool is None or len(matchers) < 2:
            for m, i in zip(matchers, idx, strict=True):
                m.fill_next_token_bitmask(bitmask, i)
            return
        list(
            self._pool.map(
                lambda mi: mi[0].fill_next_token_bitmask(bitmask, mi[1]),
                zip(matchers, idx, strict=True),
            )
        )


def _string_value(lexeme: bytes) -> str:
    """The string a distinct lexeme spells: a JSON string without its closing quote."""
    return json.loads(lexeme + b'"')
