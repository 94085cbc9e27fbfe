"""Compile a :class:`Grammar` to automata, and bind them to a tokenizer.

:class:`GrammarAutomata` (tokenizer independent): lexeme DFAs, the lazy combined
lexer and the Earley tables. :class:`CompiledGrammar`: automata + tokenizer + the
per-lexer-state cache of trie walks shared by every matcher of that pair.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from formcast.automata.earley import EarleyParser, EarleyTables
from formcast.automata.lexer import Lexer
from formcast.automata.regex_dfa import ByteDFA, compile_regex
from formcast.errors import GrammarError
from formcast.grammar.ir import Grammar
from formcast.tokens.vocab import TokenizerInfo


@dataclass(frozen=True, kw_only=True)
class CompileOptions:
    """Named resource limits; unknown names are a ``TypeError``.

    Attributes
    ----------
    max_lexer_states:
        Combined lexer states (hash-consed sets of alive lexemes) per grammar.
    max_items_per_set:
        Earley items in one row.
    max_walk_cache_entries:
        Cached trie walks per compiled grammar (least recently used are dropped).
    max_mask_cache_entries:
        Cached whole masks per compiled grammar, one ``ceil(V/32)``-word row each
        (oldest are dropped).
    """

    max_lexer_states: int = 200_000
    max_items_per_set: int = 50_000
    max_walk_cache_entries: int = 4096
    max_mask_cache_entries: int = 512

    def __post_init__(self) -> None:
        for name in (
            "max_lexer_states",
            "max_items_per_set",
            "max_walk_cache_entries",
            "max_mask_cache_entries",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"CompileOptions.{name}: expected a positive int, got {value!r}")


class GrammarAutomata:
    """Tokenizer-independent automata of one grammar."""

    def __init__(self, grammar: Grammar, options: CompileOptions | None = None) -> None:
        self.grammar = grammar
        self.options = options or CompileOptions()
        names = sorted(grammar.lexemes)
        self.lexeme_names = names
        dfas: list[ByteDFA] = []
        for name in names:
            try:
                dfas.append(compile_regex(grammar.lexemes[name].pattern))
            except GrammarError as exc:
                raise GrammarError(f"lexeme {name}: {exc}") from exc
        self.dfas = dfas
        lex_id = {n: i for i, n in enumerate(names)}
        n_lex = len(names)
        nt_names = sorted(grammar.rules)
        nt_id = {n: n_lex + i for i, n in enumerate(nt_names)}
        next_id = n_lex + len(nt_names)
        # Lexemes cannot be empty: X that also matches "" becomes X? (X | epsilon).
        optional_of: dict[int, int] = {}
        rules: list[tuple[int, tuple[int, ...]]] = []
        for i in lex_id.values():
            if dfas[i].nullable:
                optional_of[i] = next_id
                rules.append((next_id, ()))
                if not dfas[i].is_empty:
                    rules.append((next_id, (i,)))
                next_id += 1

        def sym(name: str) -> int:
            if name in lex_id:
                i = lex_id[name]
                return optional_of.get(i, i)
            return nt_id[name]

        for lhs in nt_names:
            for alt in grammar.rules[lhs]:
                rules.append((nt_id[lhs], tuple(sym(s) for s in alt)))
        start = sym(grammar.start)
        if start < n_lex:  # a lexeme as start symbol
            rules.append((next_id, (start,)))
            start = next_id
        rules = self._productive_only(rules, n_lex, dfas)
        if not any(lhs == start for lhs, _ in rules):
            raise GrammarError(f"grammar {grammar!r} generates no string (start is unproductive)")
        self.tables = EarleyTables.build(
            n_lex, rules, start, max_items=self.options.max_items_per_set
        )
        self.parser = EarleyParser(self.tables)
        self.ignore = frozenset(lex_id[n] for n in grammar.ignore if not dfas[lex_id[n]].is_empty)
        self.ignore_repeats = grammar.ignore_repeats
        self.lock = threading.RLock()  # guards the lazily grown lexer tables
        self.lexer = Lexer(
            dfas,
            [grammar.lexemes[n].pattern for n in names],
            max_states=self.options.max_lexer_states,
        )

    @staticmethod
    def _productive_only(
        rules: list[tuple[int, tuple[int, ...]]], n_lex: int, dfas: list[ByteDFA]
    ) -> list[tuple[int, tuple[int, ...]]]:
        productive = {i for i in range(n_lex) if not dfas[i].is_empty}
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if lhs not in productive and all(s in productive for s in rhs):
                    productive.add(lhs)
                    changed = True
        return [(lhs, rhs) for lhs, rhs in rules if all(s in productive for s in rhs)]

    def allowed_lexemes(self, expected: frozenset[int], after_ignore: bool) -> frozenset[int]:
        """Lexemes the lexer may start: what the parser expects, plus ignored ones."""
        if after_ignore and not self.ignore_repeats:
            return expected
        return expected | self.ignore


@dataclass(eq=False)
class WalkResult:
    """A cached trie walk: tokens allowed without leaving the lexeme, and exits grouped
    by the lexer state in which a lexeme ended (the parser decides about those)."""

    inside: np.ndarray  # int32 bitmask words (all of them, or those at ``words``)
    exits: list[tuple[int, np.ndarray]]  # (lexer state at the boundary, trie nodes)
    words: np.ndarray | None = None  # indices of ``inside`` words when stored sparsely

    def or_into(self, out: np.ndarray) -> None:
        """OR the allowed tokens into the bitmask row ``out``."""
        words = self.words
        if words is None:
            n = len(self.inside)
            np.bitwise_or(out[:n], self.inside, out=out[:n])
        elif words.size:
            out[words] |= self.inside

    @classmethod
    def pack(
        cls, bits: np.ndarray, exits: list[tuple[int, np.ndarray]], n_words: int
    ) -> WalkResult:
        """Store ``bits`` (``n_words`` of them nonzero) sparsely when few words are set
        (walks deep inside tokens)."""
        if n_words * 8 < len(bits):
            words = np.flatnonzero(bits)
            return cls(bits[words], exits, words.astype(np.int32))
        return cls(bits, exits)


@dataclass(eq=False)
class CompiledGrammar:
    """A grammar's automata bound to one tokenizer; shared by matchers."""

    automata: GrammarAutomata
    tokenizer: TokenizerInfo
    walk_cache: OrderedDict[tuple[int, ...], WalkResult] = field(default_factory=OrderedDict)
    # whole masks keyed by their trace: the walks a mask ORs (see Matcher._trace) + EOS
    mask_cache: OrderedDict[tuple[int, ...], np.ndarray] = field(default_factory=OrderedDict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def grammar(self) -> Grammar:
        return self.automata.grammar


class SharedWalks:
    """Trie walks keyed by tokenizer, lexer-state *content* and start nodes (None: the
    root), shared by all grammars.

    A lexeme such as a JSON string body is walked once per tokenizer and process, not once
    per grammar; so is the rest of a token after a boundary (``",`` after a string).
    Exit groups are stored by content and translated to a grammar's ids.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[
            tuple[str, object, bytes | None], tuple[np.ndarray, np.ndarray | None, list]
        ] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(
        tok: TokenizerInfo, lexer: Lexer, state: int, nodes: np.ndarray | None
    ) -> tuple[str, object, bytes | None]:
        return tok.fingerprint(), lexer.content(state), None if nodes is None else nodes.tobytes()

    def get(
        self, tok: TokenizerInfo, lexer: Lexer, state: int, nodes: np.ndarray | None = None
    ) -> WalkResult | None:
        """The walk from ``state`` over the subtrees at ``nodes`` (None: the whole trie)."""
        if not lexer.content_addressable:
            return None
        key = self._key(tok, lexer, state, nodes)
        with self._lock:
            hit = self._data.get(key)
        if hit is None:
            return None
        inside, words, exits = hit
        local = []
        for content, ex_nodes in exits:
            sid = lexer.by_content(content)
            if sid < 0:  # cannot happen for states reachable from a built state
                return None
            local.append((sid, ex_nodes))
        return WalkResult(inside, local, words)

    def put(
        self,
        tok: TokenizerInfo,
        lexer: Lexer,
        state: int,
        nodes: np.ndarray | None,
        res: WalkResult,
    ) -> None:
        """Share ``res``, the walk from ``state`` over ``nodes`` (None: the whole trie)."""
        if not lexer.content_addressable:
            return
        exits = [(lexer.content(sid), ex_nodes) for sid, ex_nodes in res.exits]
        key = self._key(tok, lexer, state, nodes)
        with self._lock:
            self._data[key] = (res.inside, res.words, exits)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


SHARED_WALKS = SharedWalks()
_AUTOMATA: OrderedDict[str, GrammarAutomata] = OrderedDict()
_COMPILED: OrderedDict[tuple[str, str], CompiledGrammar] = OrderedDict()
_CACHE_SIZE = 64
_LOCK = threading.Lock()


def compile_grammar(
    grammar: Grammar, tokenizer: TokenizerInfo, options: CompileOptions | None = None
) -> CompiledGrammar:
    """Compile ``grammar`` for ``tokenizer``; results are cached by content.

    Raises
    ------
    GrammarError
        The grammar is malformed or generates no string.
    UnsupportedFeatureError
        A lexeme uses a regex feature that cannot be compiled to a DFA.
    CompileLimitError
        A named resource limit was exceeded.
    """
    key = (grammar.fingerprint() + repr(options), tokenizer.fingerprint())
    with _LOCK:
        hit = _COMPILED.get(key)
        if hit is not None:
            _COMPILED.move_to_end(key)
            return hit
        automata = _AUTOMATA.get(key[0])
    if automata is None:
        automata = GrammarAutomata(grammar, options)
    compiled = CompiledGrammar(automata, tokenizer)
    with _LOCK:
        _AUTOMATA[key[0]] = automata
        _COMPILED[key] = compiled
        for cache in (_AUTOMATA, _COMPILED):
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
    return compiled
