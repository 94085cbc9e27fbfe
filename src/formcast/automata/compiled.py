"""Compile a :class:`Grammar` to automata, and bind them to a tokenizer.

:class:`GrammarAutomata` (tokenizer independent): lexeme DFAs, the lazy combined
lexer and the Earley tables. :class:`CompiledGrammar`: automata + tokenizer + the
per-lexer-state cache of trie walks shared by every matcher of that pair.

Lexeme DFAs are compiled with the grammar (``CompileOptions.eager_lexemes``, the
default) and join the lexer's tables when a lexeme first takes part in a lexer state.
Without that option they are compiled lazily, at that moment (a first mask typically
needs a few of many lexemes). The Earley tables need two facts per lexeme up front,
whether it matches the empty string and whether it matches nothing else;
:func:`lexeme_facts` reads them off the regex parse tree where that is exact, and lexemes
it cannot decide are compiled with the grammar in any case, as are those the first lexer
state needs.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from re import _compiler as _re_compiler  # type: ignore[attr-defined]
from types import ModuleType
from typing import Any

import numpy as np

from formcast.automata import regex_dfa
from formcast.automata.earley import EarleyParser, EarleyTables
from formcast.automata.lexer import Lexer
from formcast.automata.regex_dfa import (
    ByteDFA,
    compile_regex,
    has_top_lookahead,
    literal_text,
    parse_regex,
    residue_groups,
    split_lookahead,
)
from formcast.errors import CompileLimitError, GrammarError
from formcast.grammar.ir import Grammar, derivable
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
    eager_lexemes:
        Compile every lexeme's DFA when the grammar is compiled (the default), so that
        masks never wait for one (the slowest masks of a grammar's first output were
        mostly such waits), and a lexeme too large to compile is reported by the compile.
        Each DFA joins the lexer's tables only when its lexeme first takes part in a lexer
        state, which keeps the compile cheap. False compiles a lexeme's DFA only then
        (lazily), where its two facts (matches the empty string, matches nothing else)
        can be read off its regex: a faster compile for a grammar of many lexemes that
        few outputs use, slower first masks, and a lexeme too large to compile reported
        by the first mask that needs it.
    """

    max_lexer_states: int = 200_000
    max_items_per_set: int = 50_000
    max_walk_cache_entries: int = 4096
    max_mask_cache_entries: int = 512
    eager_lexemes: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.eager_lexemes, bool):
            raise ValueError(
                f"CompileOptions.eager_lexemes: expected a bool, got {self.eager_lexemes!r}"
            )
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
    """Tokenizer-independent automata of one grammar.

    Lexeme DFAs are compiled here (under ``CompileOptions.eager_lexemes``, the default;
    else those of the first lexer state and those whose facts must be compiled to be
    known). One compiled later, lazily, when its lexeme first takes part in a lexer state,
    may make matching raise :class:`CompileLimitError` when it is too large (as the
    combined lexer states may).
    """

    def __init__(self, grammar: Grammar, options: CompileOptions | None = None) -> None:
        self.grammar = grammar
        self.options = options or CompileOptions()
        names = sorted(grammar.lexemes)
        self.lexeme_names = names
        patterns = [grammar.lexemes[n].pattern for n in names]
        eager: list[ByteDFA | None] = []
        facts: list[tuple[bool, bool]] = []  # (nullable, is_empty) per lexeme
        for name, pattern in zip(names, patterns, strict=True):
            dfa = None
            try:
                # under eager_lexemes every DFA is compiled now: no facts to predict
                known = None if self.options.eager_lexemes else lexeme_facts(pattern)
                if known is None:
                    dfa = compile_regex(pattern)
                    known = dfa.nullable, dfa.is_empty
            except GrammarError as exc:
                raise GrammarError(f"lexeme {name}: {exc}") from exc
            eager.append(dfa)
            facts.append(known)
        nullable = [f[0] for f in facts]
        empty = [f[1] for f in facts]
        lex_id = {n: i for i, n in enumerate(names)}
        n_lex = len(names)
        nt_names = sorted(grammar.rules)
        nt_id = {n: n_lex + i for i, n in enumerate(nt_names)}
        next_id = n_lex + len(nt_names)
        # Lexemes cannot be empty: X that also matches "" becomes X? (X | epsilon).
        optional_of: dict[int, int] = {}
        rules: list[tuple[int, tuple[int, ...]]] = []
        for i in lex_id.values():
            if nullable[i]:
                optional_of[i] = next_id
                rules.append((next_id, ()))
                if not empty[i]:
                    rules.append((next_id, (i,)))
                next_id += 1

        for name in grammar.once:  # such a lexeme is scanned from a rule of its own
            for x in {x for alt in grammar.rules[name] for x in alt if x in lex_id}:
                if nullable[lex_id[x]]:
                    raise GrammarError(f"once rule {name!r}: lexeme {x!r} matches ''")
        sym = nt_id | {n: optional_of.get(i, i) for n, i in lex_id.items()}
        for lhs in nt_names:
            head = nt_id[lhs]
            rules += [(head, tuple(map(sym.__getitem__, alt))) for alt in grammar.rules[lhs]]
        start = sym[grammar.start]
        if start < n_lex:  # a lexeme as start symbol
            rules.append((next_id, (start,)))
            start = next_id
        rules = self._productive_only(rules, n_lex, empty)
        if not any(lhs == start for lhs, _ in rules):
            raise GrammarError(f"grammar {grammar!r} generates no string (start is unproductive)")
        self.tables = EarleyTables.build(
            n_lex,
            rules,
            start,
            max_items=self.options.max_items_per_set,
            once=frozenset(nt_id[n] for n in grammar.once),
        )
        self.parser = EarleyParser(self.tables)
        self.ignore = frozenset(lex_id[n] for n in grammar.ignore if not empty[lex_id[n]])
        self.distinct = frozenset(lex_id[n] for n in grammar.distinct)
        self.ignore_repeats = grammar.ignore_repeats
        self.lock = threading.RLock()  # guards the lazily grown lexer tables
        self.lexer = Lexer(
            eager,
            patterns,
            max_states=self.options.max_lexer_states,
            # no reference to self: dropping the automata frees its tables at once, not at
            # the next full collection (which would land in some other grammar's mask)
            load=functools.partial(_load_lexeme, patterns, tuple(facts), tuple(names)),
            lock=self.lock,
        )
        # the first mask needs these anyway; compiling them here also reports a lexeme
        # too large to compile at compile time for single-regex grammars (under
        # eager_lexemes every DFA is compiled above; the lexer takes each in when first used)
        first = self.allowed_lexemes(self.parser.initial().expected, False)
        self.lexer.take_in(sorted(first))

    @property
    def dfas(self) -> list[ByteDFA]:
        """Every lexeme's DFA, compiling those not compiled yet (for inspection)."""
        with self.lock:
            return [self.lexer.dfa(i) for i in range(len(self.lexeme_names))]

    @staticmethod
    def _productive_only(
        rules: list[tuple[int, tuple[int, ...]]], n_lex: int, empty: list[bool]
    ) -> list[tuple[int, tuple[int, ...]]]:
        productive = derivable(rules, {i for i in range(n_lex) if not empty[i]})
        return [(lhs, rhs) for lhs, rhs in rules if all(map(productive.__contains__, rhs))]

    def allowed_lexemes(self, expected: frozenset[int], after_ignore: bool) -> frozenset[int]:
        """Lexemes the lexer may start: what the parser expects, plus ignored ones."""
        if after_ignore and not self.ignore_repeats:
            return expected
        return expected | self.ignore


def _load_lexeme(
    patterns: Sequence[str], facts: Sequence[tuple[bool, bool]], names: Sequence[str], lex: int
) -> ByteDFA:
    """Compile lexeme ``lex`` (the lexer calls this on its first use), checking the facts
    the Earley tables were built from.

    Raises
    ------
    CompileLimitError
        The lexeme's DFA exceeds a named limit.
    """
    dfa = compile_regex(patterns[lex])
    if (dfa.nullable, dfa.is_empty) != facts[lex]:
        # the Earley tables were built from the predicted facts: refuse to go on
        raise RuntimeError(
            f"internal error: lexeme {names[lex]} compiled to "
            f"(nullable, empty) = {(dfa.nullable, dfa.is_empty)}, predicted {facts[lex]}"
        )
    return dfa


@dataclass(eq=False, slots=True)
class WalkResult:
    """A cached trie walk: tokens allowed without leaving the lexeme, and exits grouped
    by the lexer state in which a lexeme ended (the parser decides about those). Tuples
    and slots: cached walks leave the garbage collector little to track."""

    inside: np.ndarray  # int32 bitmask words (all of them, or those at ``words``)
    exits: tuple[tuple[int, np.ndarray], ...]  # (lexer state at the boundary, trie nodes)
    words: np.ndarray | None = None  # indices of ``inside`` words when stored sparsely

    def or_into(self, out: np.ndarray) -> None:
        """OR the allowed tokens into the bitmask row ``out``."""
        words = self.words
        if words is None:
            n = len(self.inside)
            if n == len(out):
                np.bitwise_or(out, self.inside, out=out)
            else:
                np.bitwise_or(out[:n], self.inside, out=out[:n])
        elif words.size:
            _walk_kernels().or_words(out, words, self.inside)

    @classmethod
    def pack(
        cls, bits: np.ndarray, exits: tuple[tuple[int, np.ndarray], ...], n_words: int
    ) -> WalkResult:
        """Store ``bits`` (``n_words`` of them nonzero) sparsely when few words are set
        (walks deep inside tokens)."""
        if n_words * 8 < len(bits):
            inside, words = _walk_kernels().sparse_words(bits)
            return cls(inside, exits, words)
        return cls(bits, exits)


@functools.cache
def _walk_kernels() -> ModuleType:
    """The numba walk kernels (a sparse walk into a mask, and out of a bitmask), imported
    on first use."""
    from formcast.kernels import trie_walk

    return trie_walk


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


# tokenizer fingerprint, walk content of the start state, start nodes (None: the root)
SharedKey = tuple[str, object, bytes | None]


class SharedWalks:
    """Trie walks keyed by tokenizer, lexer-state *content* and start nodes (None: the
    root), shared by all grammars.

    A lexeme such as a JSON string body is walked once per tokenizer and process, not once
    per grammar; so is the rest of a token after a boundary (``",`` after a string).
    Exit groups are stored by content and translated to a grammar's ids.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[SharedKey, tuple[np.ndarray, np.ndarray | None, tuple]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    @staticmethod
    def key(
        tok: TokenizerInfo, lexer: Lexer, state: int, nodes: np.ndarray | None
    ) -> SharedKey | None:
        """The key of the walk from ``state`` over the subtrees at ``nodes`` (None: the
        whole trie); None where ``lexer``'s states have no content to share by."""
        if not lexer.content_addressable:
            return None
        content = lexer.walk_content(state, tok.trie.max_depth)
        return tok.fingerprint(), content, None if nodes is None else nodes.tobytes()

    def get(self, key: SharedKey, lexer: Lexer) -> WalkResult | None:
        """The walk stored under ``key``, its exits named by ``lexer``'s state ids."""
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
        return WalkResult(inside, tuple(local), words)

    def put(self, key: SharedKey, lexer: Lexer, res: WalkResult) -> None:
        """Share ``res``, a walk of ``lexer`` with this ``key``."""
        exits = tuple((lexer.content(sid), ex_nodes) for sid, ex_nodes in res.exits)
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
    options = options or CompileOptions()
    key = (grammar.content_key() + repr(options), tokenizer.fingerprint())
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


# ---- lexeme facts without compiling: nullable / empty, from the regex parse tree ---------

_c = re._constants
_CHAR_OPS = frozenset([_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN])
_IGNORECASE = int(re.IGNORECASE)  # a plain int: RegexFlag arithmetic is slow
# Printable ASCII, likely characters first. On these every reading of a class agrees:
# formcast's ASCII \d \w \s, Python's Unicode ones, and their complements (they differ only
# beyond ASCII and on \x1c-\x1f), so Python's `re` decides membership of such strings exactly.
_POOL = "abcxyz0123456789" + "".join(
    ch for ch in map(chr, range(0x20, 0x7F)) if ch not in "abcxyz0123456789"
)
_POOL_CODES = [(ch, ord(ch)) for ch in _POOL]
_DIGITS = "0123456789"
_WORD = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
# pool characters of each category item of a set
_CATEGORY_POOL = {
    _c.CATEGORY_DIGIT: [ord(ch) for ch in _DIGITS],
    _c.CATEGORY_SPACE: [ord(" ")],
    _c.CATEGORY_WORD: [ord(ch) for ch in _WORD],
    _c.CATEGORY_NOT_DIGIT: [ord(ch) for ch in _POOL if ch not in _DIGITS],
    _c.CATEGORY_NOT_SPACE: [ord(ch) for ch in _POOL if ch != " "],
    _c.CATEGORY_NOT_WORD: [ord(ch) for ch in _POOL if ch not in _WORD],
}
_WITNESSES = 6  # candidate strings kept per node when searching a witness
_WITNESS_LEN = 256
_SURROGATES = range(0xD800, 0xE000)


class _Undecided(Exception):
    """The facts cannot be read off the tree exactly: compile the lexeme instead."""


def _pick(inside: bytearray, want: bool) -> str:
    """The first two pool characters ``c`` with ``bool(inside[ord(c)]) == want``."""
    out = [ch for ch, code in _POOL_CODES if bool(inside[code]) == want][:2]
    return "".join(out)


def _char_pool(op: object, arg: Any, icase: bool) -> str:
    """Up to two pool characters of a one-character item (witness material); raises
    ``_Undecided`` when the item might match nothing (which the DFA would know) or is not
    one formcast compiles."""
    if op is _c.LITERAL:
        if arg in _SURROGATES:
            raise _Undecided  # no UTF-8 encoding: matches nothing
        return chr(arg) if chr(arg) in _POOL else ""
    if op is _c.NOT_LITERAL:
        return "" if icase else ("b" if arg == ord("a") else "a")
    if op is _c.ANY:
        return _POOL[:2]
    return _set_pool(tuple(arg), icase)


@functools.lru_cache(maxsize=1024)
def _set_pool(items: tuple[tuple[Any, Any], ...], icase: bool) -> str:
    """:func:`_char_pool` of a set ``[...]`` (sets recur across lexemes: cached)."""
    inside = bytearray(128)  # pool characters (all ASCII) in the listed items
    negate = False
    nonempty = False  # some member at all, for a positive set
    for item_op, item in items:
        if item_op is _c.NEGATE:
            negate = True
        elif item_op is _c.LITERAL:
            if item < 128:
                inside[item] = 1
            nonempty = nonempty or item not in _SURROGATES
        elif item_op is _c.RANGE:
            lo, hi = item
            if lo < 128:
                inside[lo : min(hi, 127) + 1] = bytes([1]) * (min(hi, 127) + 1 - lo)
            nonempty = nonempty or lo < _SURROGATES.start or hi >= _SURROGATES.stop
        elif item_op is _c.CATEGORY and item in _CATEGORY_POOL:
            for code in _CATEGORY_POOL[item]:
                inside[code] = 1
            nonempty = True
        else:
            raise _Undecided
    if negate:
        if icase:  # the case closure of the set may cover the pool characters left
            raise _Undecided
        left = _pick(inside, False)
        if not left:
            raise _Undecided
        return left
    if not nonempty:
        raise _Undecided
    return "" if icase else _pick(inside, True)


class _Facts:
    """Reads nullability and emptiness off a parse tree; lookaheads are skipped (they only
    narrow the language) and noted, so the caller can check a witness with Python's `re`."""

    def __init__(self, flags: int, witness: bool) -> None:
        self.icase = bool(flags & _IGNORECASE)
        self.lookahead = False
        self.witness = witness  # collect witness candidates (else lists stay trivial)

    def seq(self, items: Any, flags: int, top: bool) -> tuple[bool, bool, list[str]]:
        """(nullable, some non-empty string, witness candidates) of a sequence."""
        nullable, nonempty, cands = True, False, [""]
        for op, arg in getattr(items, "data", items):  # a SubPattern's list: faster to scan
            if op is _c.SUBPATTERN and top and not arg[1] and not arg[2]:
                n, e, w = self.seq(arg[3], flags, top=True)  # spliced, as the compiler does
            elif op in (_c.ASSERT, _c.ASSERT_NOT) and top and arg[0] == 1:
                self.lookahead = True
                self.seq(arg[1], flags, top=True)  # read for support only
                continue
            else:
                n, e, w = self.item(op, arg, flags)
            nullable, nonempty = nullable and n, nonempty or e
            if self.witness:
                cands = [a + b for a in cands for b in w if len(a) + len(b) <= _WITNESS_LEN]
                cands = cands[:_WITNESSES]
        return nullable, nonempty, cands

    def item(self, op: object, arg: Any, flags: int) -> tuple[bool, bool, list[str]]:
        if op in _CHAR_OPS:
            icase = bool(flags & _IGNORECASE)
            return False, True, list(_char_pool(op, arg, icase))
        if op is _c.BRANCH:
            parts = [self.seq(option, flags, top=False) for option in arg[1]]
            if not self.witness:
                return any(p[0] for p in parts), any(p[1] for p in parts), []
            mixed = [w for ws in itertools.zip_longest(*(p[2] for p in parts)) for w in ws]
            cands = list(dict.fromkeys(w for w in mixed if w is not None))[:_WITNESSES]
            return any(p[0] for p in parts), any(p[1] for p in parts), cands
        if op is _c.SUBPATTERN:
            _, add, remove, sub = arg
            inner = (flags | add) & ~remove
            self.icase = self.icase or bool(inner & _IGNORECASE)
            return self.seq(sub, inner, top=False)
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = arg
            n, e, w = self.seq(sub, flags, top=False)
            if hi == 0:
                return True, False, [""]
            if not self.witness:
                return lo == 0 or n, e, []
            counts = [k for k in (lo, lo + 1, lo + 2) if hi is _c.MAXREPEAT or k <= hi]
            fit = [s * k for k in counts for s in w if len(s) * k <= _WITNESS_LEN]
            cands = list(dict.fromkeys(fit))[:_WITNESSES]
            return lo == 0 or n, e, cands
        raise _Undecided


def _size(items: Any) -> int:
    """A rough size of a pattern with repetitions expanded (its Thompson NFA, about)."""
    n = 0
    for op, arg in getattr(items, "data", items):
        if op is _c.BRANCH:
            n += 2 + sum(_size(option) for option in arg[1])
        elif op is _c.SUBPATTERN:
            n += _size(arg[3])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = arg
            n += 2 + _size(sub) * (lo + 1 if hi is _c.MAXREPEAT else max(hi, 1))
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            n += _size(arg[1])
        else:
            n += 2
    return n


def lexeme_facts(pattern: str) -> tuple[bool, bool] | None:
    """``(nullable, is_empty)`` of ``compile_regex(pattern)`` without compiling it, or None
    when the lexeme is to be compiled now: the parse tree does not decide them exactly, or
    compiling could raise (unsupported features; a size past ``MAX_LEXEME_STATES`` by a
    rough estimate, so that long counted repetitions still fail at compile time).

    Lookaheads narrow the language: a pattern with one is known non-empty only through a
    witness, a printable-ASCII string the pattern fully matches under Python's `re`
    (which agrees with formcast there; case-insensitive patterns are not decided).

    Raises
    ------
    GrammarError
        The pattern does not parse.
    """
    facts, size = _tree_facts(pattern)
    return facts if size <= regex_dfa.MAX_LEXEME_STATES else None


@functools.lru_cache(maxsize=4096)
def _tree_facts(pattern: str) -> tuple[tuple[bool, bool] | None, int]:
    """(facts or None, size estimate) of ``pattern`` (see :func:`lexeme_facts`)."""
    text = literal_text(pattern)
    if text is not None:  # as the tree reads it: one literal item (size 2) per character
        return (False, False), 2 * len(text)
    split = _split_facts(pattern)
    return _whole_facts(pattern) if split is None else split


def _whole_facts(pattern: str) -> tuple[tuple[bool, bool] | None, int]:
    """:func:`_tree_facts` read off the parse tree of the whole pattern."""
    tree = parse_regex(pattern)
    flags = int(tree.state.flags)
    if residue_groups(tree):  # Python's `re` reads such a group as a superset
        return None, _size(list(tree))
    try:
        # witness candidates are only needed past a lookahead: collect them in the same pass
        facts = _Facts(flags, witness=has_top_lookahead(tree))
        nullable, nonempty, cands = facts.seq(list(tree), flags, top=True)
        size = _size(list(tree))
    except (_Undecided, RecursionError):
        return None, 0
    if not facts.lookahead:
        return (nullable, not nonempty), size
    if nullable:  # a lookahead may refuse the empty string
        return None, size
    if not nonempty:
        return (False, True), size
    if facts.icase:
        return None, size
    try:
        matcher = _re_compiler.compile(tree)  # what re.compile(pattern) gives, unparsed again
        if any(w and matcher.fullmatch(w) for w in cands):
            return (False, False), size
    except (re.error, RecursionError, OverflowError):
        pass
    return None, size


@functools.lru_cache(maxsize=1024)
def _part_facts(text: str) -> tuple[bool, bool, list[str], int, Any] | None:
    """(nullable, non-empty, witness candidates, size, compiled Python regex) of a
    lookahead-free part of a pattern; None when undecided. Cached: the part after a
    lookahead (a JSON string body, say) recurs across patterns."""
    try:
        tree = parse_regex(text)
        flags = int(tree.state.flags)
        if has_top_lookahead(tree):
            return None
        facts = _Facts(flags, witness=True)
        nullable, nonempty, cands = facts.seq(list(tree), flags, top=True)
        if facts.icase:
            return None
        return nullable, nonempty, cands, _size(list(tree)), _re_compiler.compile(tree)
    except (GrammarError, CompileLimitError, _Undecided, RecursionError, re.error):
        return None


def _split_facts(pattern: str) -> tuple[tuple[bool, bool] | None, int] | None:
    """:func:`_tree_facts` of ``head (?!body) rest`` from its parts: the head and the rest
    are read (and cached) on their own, so a long rest is not parsed again per pattern.
    A witness is ``a + r`` with ``a`` matching the head, ``r`` the rest, and the lookahead
    holding at ``len(a)`` (all under Python's `re`). None where this does not apply."""
    split = split_lookahead(pattern)
    if split is None:
        return None
    head_text, body_text, negative, rest_text = split
    head, rest = _part_facts(head_text), _part_facts(rest_text)
    if head is None or rest is None:
        return None
    found = _word_body(body_text) or _body(body_text)
    if found is None:
        return None
    matches_at, body_size = found
    size = head[3] + body_size + rest[3]
    if head[0] and rest[0]:  # a lookahead may refuse the empty string
        return None, size
    if not (head[1] or rest[1]):
        return (False, True), size
    pairs = [(a, r) for a in head[2] for r in rest[2] if len(a) + len(r) <= _WITNESS_LEN]
    for a, r in pairs[:_WITNESSES]:
        w = a + r
        holds = w and head[4].fullmatch(a) and rest[4].fullmatch(r)
        if holds and (not matches_at(w, len(a))) == negative:
            return (False, False), size
    return None, size


_Matcher = Callable[[str, int], bool]  # whether a body matches a string at a position


def _word_body(text: str) -> tuple[_Matcher, int] | None:
    """(matcher, size estimate) of a lookahead body ``(?:w1|w2|...)(?![^c])`` read
    without a parse; None for any other body. The estimate counts every word's characters
    (an upper bound of :func:`_size`, which sees common prefixes factored out)."""
    found = regex_dfa.words_then_end(text)
    if found is None:
        return None
    words, end = found

    def matches_at(s: str, pos: int) -> bool:
        for word in words:
            stop = pos + len(word)
            if s.startswith(word, pos) and (stop == len(s) or s[stop] == end):
                return True
        return False

    return matches_at, 4 + 2 * sum(map(len, words))


def _body(text: str) -> tuple[_Matcher, int] | None:
    """(matcher, size) of a lookahead body through its parse tree; None when undecided."""
    try:
        body = parse_regex(text)
        flags = int(body.state.flags)
        looks = _Facts(flags, witness=False)
        looks.seq(list(body), flags, top=True)  # read for support only, as in the whole
        if looks.icase:
            return None
        rx = _re_compiler.compile(body)
        return (lambda s, pos: rx.match(s, pos) is not None), _size(list(body))
    except (GrammarError, CompileLimitError, _Undecided, RecursionError, re.error):
        return None
