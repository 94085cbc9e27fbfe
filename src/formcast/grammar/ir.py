"""The grammar IR shared by every front end: rules over lexemes, lexemes are regexes.

A :class:`Grammar` is a context-free grammar whose terminals are *lexemes*: regular
languages written as Python regexes (full match, over text, compiled to UTF-8 byte
DFAs later). Front ends (Lark, regex, JSON Schema, pydantic) build it through
:class:`GrammarBuilder`, the one shared builder.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from formcast.errors import GrammarError

Alternative = tuple[str, ...]


@dataclass(frozen=True)
class Lexeme:
    """A terminal: ``pattern`` is a Python regex that must match a whole lexeme."""

    name: str
    pattern: str


@dataclass(frozen=True, eq=False)
class Grammar:
    """A context-free grammar over lexemes.

    Attributes
    ----------
    start:
        The start nonterminal.
    rules:
        Nonterminal name to its alternatives; an alternative is a tuple of symbol
        names (nonterminals or lexemes); the empty tuple is epsilon.
    lexemes:
        Lexeme name to :class:`Lexeme`.
    ignore:
        Lexemes that may appear between any two lexemes and are dropped (Lark ``%ignore``).
    ignore_repeats:
        Whether two ignored lexemes may follow each other. ``False`` bounds whitespace
        runs to one ignored lexeme per gap (so a bounded regex really bounds them).
    distinct:
        Lexemes whose values must differ within one rule instance (JSON ``uniqueItems``).
        Each is a JSON string without its closing quote; its value is the string it
        spells (escapes decoded). Two scans of such a lexeme from Earley items of the same
        origin (the items of one array, when the array's rules are left recursive) must
        have different values: the matcher drops a scan that repeats one.
    once:
        Rules that scan each lexeme at most once per rule instance (the member lists of a
        JSON object in any order, whose only lexemes are the keys; the item lists of a
        `uniqueItems` array of listed scalars, whose only lexemes are the values): the
        parser does not scan a lexeme from an Earley item of these rules whose origin has
        scanned it from such an item before (all the items of one object or array, its
        lists being left recursive), and does not expect a lexeme that only such items
        expect. Their lexemes must not match the empty string.
    """

    start: str
    rules: Mapping[str, tuple[Alternative, ...]]
    lexemes: Mapping[str, Lexeme]
    ignore: tuple[str, ...] = ()
    ignore_repeats: bool = True
    distinct: tuple[str, ...] = ()
    once: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.start not in self.rules and self.start not in self.lexemes:
            raise GrammarError(f"start symbol {self.start!r} is not defined")
        for lhs, alts in self.rules.items():
            if lhs in self.lexemes:
                raise GrammarError(f"{lhs!r} is both a rule and a lexeme")
            for alt in alts:
                for sym in alt:
                    if sym not in self.rules and sym not in self.lexemes:
                        raise GrammarError(f"rule {lhs!r} uses undefined symbol {sym!r}")
        for name in self.ignore:
            if name not in self.lexemes:
                raise GrammarError(f"ignored symbol {name!r} is not a lexeme")
        for name in self.distinct:
            if name not in self.lexemes or name in self.ignore:
                raise GrammarError(f"distinct symbol {name!r} is not a lexeme (or is ignored)")
        for name in self.once:
            if name not in self.rules:
                raise GrammarError(f"once symbol {name!r} is not a rule")

    def _content(self) -> tuple[Any, ...]:
        """The grammar's content, ``notes`` aside, rules and lexemes sorted by name."""
        return (
            self.start,
            tuple(sorted(self.rules.items())),
            tuple(sorted((k, v.pattern) for k, v in self.lexemes.items())),
            self.ignore_repeats,
            *self._names(),
        )

    def _names(self) -> tuple[tuple[str, ...], ...]:
        return tuple(self.ignore), tuple(self.distinct), tuple(self.once)

    def content_key(self) -> str:
        """The compile cache's key: a digest of the content's ``marshal`` bytes, in the
        order the rules were added (ten times cheaper than :meth:`fingerprint`), and a
        string (a key of tuples would keep thousands of objects per cached grammar for
        every full garbage collection to visit). ``marshal`` output decodes to its input,
        so different grammars get different keys; equal ones built in another order (or
        where marshal shares a repeated string differently) may not: a cache miss, no
        more."""
        rules = self.rules if type(self.rules) is dict else dict(self.rules)
        patterns = {k: v.pattern for k, v in self.lexemes.items()}
        content = (self.start, rules, patterns, self.ignore_repeats, *self._names())
        try:
            data = marshal.dumps(content)
        except ValueError:  # rule bodies of other types than str, tuple and list
            data = repr(content).encode()
        return hashlib.sha256(data).hexdigest()

    def fingerprint(self) -> str:
        """A content hash, stable across processes."""
        return hashlib.sha256(repr(self._content()).encode()).hexdigest()

    def __repr__(self) -> str:
        return (
            f"Grammar(start={self.start!r}, rules={len(self.rules)}, "
            f"lexemes={len(self.lexemes)}, ignore={list(self.ignore)})"
        )

    # Front ends; imported lazily so that ``import formcast`` stays light.
    @classmethod
    def from_lark(cls, text: str, *, start: str = "start") -> Grammar:
        """Build from a Lark grammar (see :mod:`formcast.grammar.lark`)."""
        from formcast.grammar.lark import grammar_from_lark

        return grammar_from_lark(text, start=start)

    @classmethod
    def from_regex(cls, pattern: str) -> Grammar:
        """Build from a Python regex matched against the whole output."""
        from formcast.grammar.regex import grammar_from_regex

        return grammar_from_regex(pattern)

    @classmethod
    def from_json_schema(
        cls,
        schema: object,
        *,
        whitespace: str = "flexible",
        max_whitespace: int | None = None,
        lenient: bool = False,
        property_order: str = "definition",
    ) -> Grammar:
        """Build from a JSON Schema (dict, bool or JSON text); see ``grammar.json_schema``."""
        from formcast.grammar.json_schema import DEFAULT_MAX_WHITESPACE, grammar_from_json_schema

        return grammar_from_json_schema(
            schema,
            whitespace=whitespace,
            max_whitespace=DEFAULT_MAX_WHITESPACE if max_whitespace is None else max_whitespace,
            lenient=lenient,
            property_order=property_order,
        )

    @classmethod
    def from_pydantic(cls, model: object, **options: Any) -> Grammar:
        """Build from a pydantic model or a plain Python type; ``options`` (``closed``,
        ``property_order``, ...) are those of ``grammar.pydantic.grammar_from_pydantic``."""
        from formcast.grammar.pydantic import grammar_from_pydantic

        return grammar_from_pydantic(model, **options)


class GrammarBuilder:
    """Incrementally builds a :class:`Grammar`; lexemes are deduplicated by pattern.

    ``check_patterns`` makes :meth:`lexeme` compile each new pattern with ``re`` to report
    an invalid one at once; front ends whose patterns are generated or already checked
    pass ``False`` (an invalid pattern is then a :class:`GrammarError` at compile time).

    >>> b = GrammarBuilder()
    >>> item = b.lexeme(r"[0-9]+")
    >>> lst = b.seq(b.literal("["), b.separated(item, b.literal(",")), b.literal("]"))
    >>> g = b.build(lst)
    >>> len(g.lexemes)
    4
    """

    def __init__(self, *, check_patterns: bool = True) -> None:
        self.check_patterns = check_patterns
        self._rules: dict[str, list[Alternative]] = {}
        self._lexemes: dict[str, Lexeme] = {}
        self._by_pattern: dict[str, str] = {}
        self._by_body: dict[tuple[Alternative, ...], str] = {}
        self._counter = 0

    def _fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def lexeme(self, pattern: str, name: str | None = None) -> str:
        """Return the name of a lexeme for ``pattern`` (a Python regex), adding it if new."""
        if pattern in self._by_pattern and name is None:
            return self._by_pattern[pattern]
        if self.check_patterns:
            try:
                re.compile(pattern)
            except (re.error, OverflowError) as exc:  # OverflowError: a huge repeat count
                raise GrammarError(f"invalid regex {pattern!r}: {exc}") from exc
        return self._add_lexeme(pattern, name)

    def _add_lexeme(self, pattern: str, name: str | None) -> str:
        name = name or self._fresh("LEX")
        if name in self._lexemes or name in self._rules:
            raise GrammarError(f"symbol {name!r} defined twice")
        self._lexemes[name] = Lexeme(name, pattern)
        self._by_pattern.setdefault(pattern, name)
        return name

    def literal(self, text: str) -> str:
        """Lexeme matching exactly ``text``."""
        pattern = re.escape(text)  # always a valid regex: nothing to check
        return self._by_pattern.get(pattern) or self._add_lexeme(pattern, None)

    def rule(self, name: str | None = None) -> str:
        """Reserve a nonterminal (to be filled by :meth:`define`), e.g. for recursion."""
        name = name or self._fresh("rule")
        if name in self._rules or name in self._lexemes:
            raise GrammarError(f"symbol {name!r} defined twice")
        self._rules[name] = []
        return name

    def define(self, name: str, alternatives: Iterable[Sequence[str]]) -> str:
        """Add alternatives to a reserved nonterminal."""
        if name not in self._rules:
            raise GrammarError(f"rule {name!r} was not reserved")
        self._rules[name].extend(tuple(a) for a in alternatives)
        return name

    def choice(self, *alternatives: Sequence[str]) -> str:
        """Nonterminal with the given alternatives; identical bodies share one rule."""
        body = tuple(map(tuple, alternatives))
        name = self._by_body.get(body)
        if name is None:
            name = self.rule()
            self._rules[name].extend(body)
            self._by_body[body] = name
        return name

    def seq(self, *symbols: str) -> str:
        """Nonterminal for the concatenation of ``symbols``."""
        return self.choice(symbols)

    def alt(self, *symbols: str) -> str:
        """Nonterminal for one of ``symbols``."""
        return self.choice(*[(s,) for s in symbols])

    def optional(self, symbol: str) -> str:
        return self.choice((symbol,), ())

    def star(self, symbol: str) -> str:
        """Zero or more ``symbol`` (left recursive: cheap for Earley)."""
        name = self.rule()
        return self.define(name, [(), (name, symbol)])

    def plus(self, symbol: str) -> str:
        name = self.rule()
        return self.define(name, [(symbol,), (name, symbol)])

    def repeat(self, symbol: str, lo: int, hi: int | None) -> str:
        """Between ``lo`` and ``hi`` (None: unbounded) copies of ``symbol``.

        Sizes grow as O(log n) rules via binary splitting of the exact counts.
        """
        if lo < 0 or (hi is not None and hi < lo):
            raise GrammarError(f"bad repetition bounds {{{lo},{hi}}}")
        head = self._exactly(symbol, lo)
        tail = self.star(symbol) if hi is None else self._at_most(symbol, hi - lo)
        return self.seq(*[s for s in (head, tail) if s is not None])

    def _exactly(self, symbol: str, n: int) -> str | None:
        if n == 0:
            return None
        if n == 1:
            return symbol
        half = self._exactly(symbol, n // 2)
        assert half is not None
        parts = [half, half] + ([symbol] if n % 2 else [])
        return self.seq(*parts)

    def _at_most(self, symbol: str, n: int) -> str:
        # at_most(a + b) = at_most(a) at_most(b): O(log n) distinct rules thanks to choice() sharing
        if n == 0:
            return self.choice(())
        if n == 1:
            return self.optional(symbol)
        a = self._at_most(symbol, n // 2)
        b = self._at_most(symbol, n - n // 2)
        return self.seq(a, b)

    def separated(self, item: str, sep: str, lo: int = 0, hi: int | None = None) -> str:
        """``item (sep item)*`` with between ``lo`` and ``hi`` items."""
        if hi is not None and hi < lo:
            raise GrammarError(f"bad repetition bounds {{{lo},{hi}}}")
        if hi == 0:
            return self.choice(())
        pair = self.seq(sep, item)
        more = self.repeat(pair, max(lo - 1, 0), None if hi is None else hi - 1)
        nonempty = self.seq(item, more)
        return self.optional(nonempty) if lo == 0 else nonempty

    def build(
        self,
        start: str,
        *,
        ignore: Sequence[str] = (),
        ignore_repeats: bool = True,
        distinct: Sequence[str] = (),
        once: Sequence[str] = (),
    ) -> Grammar:
        """Freeze into a :class:`Grammar`."""
        rules = {k: tuple(v) for k, v in self._rules.items()}
        return Grammar(
            start=start,
            rules=rules,
            lexemes=dict(self._lexemes),
            ignore=tuple(ignore),
            ignore_repeats=ignore_repeats,
            distinct=tuple(distinct),
            once=tuple(once),
        )


Sym = TypeVar("Sym")


def derivable(rules: Iterable[tuple[Sym, Sequence[Sym]]], known: set[Sym]) -> set[Sym]:
    """Grow ``known`` (in place) with the left side of every rule whose right side is all
    known, to a fixpoint: the productive symbols (``known``: the terminals), or the
    nullable ones (``known``: empty).

    Each pass visits only the rules whose left side is not known yet; given children
    before parents (as the front ends define them), the first pass does most of the work.
    """
    pending = list(rules)
    while True:
        rest = []
        for rule in pending:
            lhs, rhs = rule
            if lhs in known:
                continue
            if all(map(known.__contains__, rhs)):
                known.add(lhs)
            else:
                rest.append(rule)
        if len(rest) == len(pending):
            return known
        pending = rest
