"""Earley parser over lexemes, with sets kept as an immutable chain for cheap rollback.

Items are ints ``origin << 20 | pos`` where ``pos`` indexes a flat array of dotted
rules; advancing the dot is ``item + 1``. Nullable nonterminals are skipped at
prediction time (Aycock & Horspool), so completion never needs the current set.
Each :class:`EarleySet` memoizes its successors by scanned lexemes: re-pushing the
same lexeme after a pop (mask computation, rollback) reuses the row. A row closed from one
seed that completes nothing of an earlier row is the same, up to origins, wherever that seed
occurs: it is kept as a template by the seed's position and copied the next time.

*Once* rules (the member lists of a JSON object in any order, the item lists of a
``uniqueItems`` array of listed values) scan each lexeme at most once per origin: each
row carries, per origin, the lexemes that items of once rules of that origin have scanned
so far (a row fixes the rows below it, so this is a function of the row); a scan skips
such an item when its origin has scanned the lexeme, and a row does not expect a lexeme
that only such items expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from formcast.errors import CompileLimitError
from formcast.grammar.ir import derivable

POS_BITS = 20
POS_MASK = (1 << POS_BITS) - 1
DEFAULT_MAX_ITEMS_PER_SET = 50_000


@dataclass(frozen=True, eq=False)
class EarleyTables:
    """Flat dotted-rule tables. Symbols ``< n_lexemes`` are lexemes, others nonterminals."""

    n_lexemes: int
    next_sym: tuple[int, ...]  # symbol after the dot at pos, -1 when complete
    lhs: tuple[int, ...]  # rule head at pos
    rule_starts: Mapping[int, tuple[int, ...]]  # nonterminal -> first pos of each rule
    nullable: frozenset[int]
    final_pos: int  # pos of "S' -> S ." (the augmented start rule, complete)
    start_sym: int
    # Prediction is static: predicting A adds, for every nonterminal B in closure[A], the
    # positions own[B] (rule starts advanced over nullable symbols) with the current origin.
    own: Mapping[int, tuple[tuple[int, int], ...]]  # nonterminal -> (pos, next symbol)
    closure: Mapping[int, tuple[int, ...]]  # nonterminal -> nonterminals it predicts
    max_items: int = DEFAULT_MAX_ITEMS_PER_SET
    # positions in once rules before a lexeme, and those lexemes
    once_pos: frozenset[int] = frozenset()
    once_lex: frozenset[int] = frozenset()

    @classmethod
    def build(
        cls,
        n_lexemes: int,
        rules: Sequence[tuple[int, Sequence[int]]],
        start: int,
        *,
        max_items: int = DEFAULT_MAX_ITEMS_PER_SET,
        once: frozenset[int] = frozenset(),
    ) -> EarleyTables:
        """``rules`` are (lhs, rhs) over symbol ids; an augmented start rule is added;
        ``once``: nonterminals whose rules scan each lexeme at most once per origin."""
        aug = max([start, n_lexemes - 1, *(lhs for lhs, _ in rules)]) + 1
        all_rules = [(aug, (start,)), *[(lhs, tuple(rhs)) for lhs, rhs in rules]]
        next_sym: list[int] = []
        lhs_of: list[int] = []
        rule_starts: dict[int, list[int]] = {}
        final_pos = -1
        once_pos: list[int] = []
        for lhs, rhs in all_rules:
            rule_starts.setdefault(lhs, []).append(len(next_sym))
            if lhs in once:
                once_pos += [len(next_sym) + i for i, x in enumerate(rhs) if x < n_lexemes]
            next_sym += rhs
            if lhs == aug:
                final_pos = len(next_sym)
            next_sym.append(-1)
            lhs_of += [lhs] * (len(rhs) + 1)
        if len(next_sym) > POS_MASK:
            raise CompileLimitError("max_grammar_size", POS_MASK, "grammar has too many symbols")
        # (a rule with a lexeme on its right derives no empty string: not looked at)
        nullable: set[int] = derivable(
            [(lhs, rhs) for lhs, rhs in all_rules if not rhs or min(rhs) >= n_lexemes], set()
        )
        own: dict[int, tuple[tuple[int, int], ...]] = {}
        for nt, starts in rule_starts.items():
            positions: list[tuple[int, int]] = []
            for pos in starts:
                positions.append((pos, next_sym[pos]))
                while next_sym[pos] >= 0 and next_sym[pos] in nullable:
                    pos += 1
                    positions.append((pos, next_sym[pos]))
            own[nt] = tuple(positions)
        return cls(
            n_lexemes=n_lexemes,
            next_sym=tuple(next_sym),
            lhs=tuple(lhs_of),
            rule_starts={k: tuple(v) for k, v in rule_starts.items()},
            nullable=frozenset(nullable),
            final_pos=final_pos,
            start_sym=aug,
            own=own,
            closure=_Closure(own, n_lexemes),
            max_items=max_items,
            once_pos=frozenset(once_pos),
            once_lex=frozenset(next_sym[p] for p in once_pos),
        )


class _Closure(dict[int, tuple[int, ...]]):
    """Nonterminal -> the nonterminals that predicting it adds (itself included), each
    computed when first asked for: the first rows predict few of a grammar's nonterminals.
    Symbols without rules add nothing."""

    def __init__(self, own: Mapping[int, tuple[tuple[int, int], ...]], n_lexemes: int) -> None:
        super().__init__()
        self.own = own
        self.n_lexemes = n_lexemes

    def __missing__(self, nt: int) -> tuple[int, ...]:
        if nt not in self.own:
            return ()
        seen = {nt}
        todo = [nt]
        while todo:
            for _, sym in self.own[todo.pop()]:
                if sym >= self.n_lexemes and sym not in seen and sym in self.own:
                    seen.add(sym)
                    todo.append(sym)
        self[nt] = value = tuple(sorted(seen))
        return value


_NONE_USED: Mapping[int, frozenset[int]] = MappingProxyType({})


class EarleySet:
    """One Earley row: its items grouped by the symbol after the dot, in one tuple.

    A row lives as long as its parent's cache, so it keeps few objects for the garbage
    collector to visit: no list per symbol, a tuple of ints (which the collector stops
    tracking), expected sets shared between rows, and memo dicts made when first written
    (most rows are leaves of trial scans, which never fill them).
    """

    __slots__ = (
        "accepting",
        "children",
        "expected",
        "finished",
        "index",
        "items",
        "masks",
        "spans",
        "start",
        "start_after_ignore",
        "used",
    )

    def __init__(self, index: int, used: Mapping[int, frozenset[int]] = _NONE_USED) -> None:
        self.index = index
        # lexemes scanned by once rules so far, per origin (shared with the parent row when
        # no such scan led to this one; never modified)
        self.used = used
        self.items: tuple[int, ...] = ()
        # symbol after the dot -> where its items are in ``items``: start << 32 | end
        self.spans: dict[int, int] = {}
        self.expected: frozenset[int] = frozenset()
        self.accepting = False
        # successor per scanned lexeme set (None: no dict yet)
        self.children: dict[tuple[int, ...], EarleySet | None] | None = None
        # matcher memo: lexer start state after this row, and after an ignored lexeme here
        self.start: int | None = None
        self.start_after_ignore: int | None = None
        # matcher memo: complete lexemes -> next row (this one after an ignored lexeme) or
        # None
        self.finished: dict[tuple[int, ...], EarleySet | None] | None = None
        # matcher memo: lexer state -> trace of the mask there (key of the grammar's mask cache)
        self.masks: dict[int, tuple[int, ...]] | None = None

    def waiting(self, sym: int) -> tuple[int, ...]:
        """The items with ``sym`` after the dot."""
        span = self.spans.get(sym)
        return () if span is None else self.items[span >> 32 : span & 0xFFFFFFFF]


class EarleyParser:
    """Stateless operations on :class:`EarleySet` chains for one grammar."""

    def __init__(self, tables: EarleyTables) -> None:
        self.t = tables
        # one object per distinct expected-lexeme set, shared by the rows that expect it
        self._expected: dict[frozenset[int], frozenset[int]] = {}
        # closures of one seed that complete nothing from an earlier row, by the seed's
        # position (see _close); not kept for grammars with once rules (their rows
        # depend on the lexemes scanned)
        self._templates: dict[int, tuple[tuple[int, ...], dict[int, int], frozenset[int]]] = {}

    def initial(self) -> EarleySet:
        """A fresh first row (not shared, so its successor cache dies with its matcher)."""
        s = EarleySet(0)
        self._close(s, [0 << POS_BITS | self.t.rule_starts[self.t.start_sym][0]], [])
        return s

    def scan(self, rows: list[EarleySet], lexemes: tuple[int, ...]) -> EarleySet | None:
        """The row after ``rows[-1]`` scanning any of ``lexemes``; None when none fits.

        ``rows`` is the stack of rows so far (rows[i].index == i); it is not modified.
        """
        top = rows[-1]
        children = top.children
        if children is None:
            children = top.children = {}
        elif lexemes in children:
            return children[lexemes]
        used = top.used
        if self.t.once_lex.isdisjoint(lexemes):
            seeds = [item + 1 for lex in lexemes for item in top.waiting(lex)]
        else:
            seeds, used = self._seeds_once(top, lexemes)
        child: EarleySet | None = None
        if seeds:
            child = EarleySet(top.index + 1, used)
            self._close(child, seeds, rows)
        children[lexemes] = child
        return child

    def _seeds_once(
        self, top: EarleySet, lexemes: tuple[int, ...]
    ) -> tuple[list[int], Mapping[int, frozenset[int]]]:
        """The items scanning ``lexemes`` advance (those of once rules only where their
        origin has not scanned the lexeme) and the child row's scanned lexemes per origin."""
        once_pos, used = self.t.once_pos, top.used
        seeds: list[int] = []
        scanned: dict[int, set[int]] = {}
        for lex in lexemes:
            for item in top.waiting(lex):
                if item & POS_MASK in once_pos:
                    origin = item >> POS_BITS
                    if lex in used.get(origin, ()):
                        continue
                    scanned.setdefault(origin, set()).add(lex)
                seeds.append(item + 1)
        if not scanned:
            return seeds, used
        grown = dict(used)
        for origin, lexes in scanned.items():
            grown[origin] = grown.get(origin, frozenset()) | lexes
        return seeds, MappingProxyType(grown)

    def _close(self, cur: EarleySet, seeds: list[int], rows: list[EarleySet]) -> None:
        """Fill ``cur`` with the closure of ``seeds`` (``rows``: the rows before it).

        A single seed whose closure completes no item of an earlier row (it predicts, or
        waits for a lexeme) closes the same way whatever its origin: the items predicted
        here have this row's origin, the others the seed's. Such a closure is kept as a
        template by the seed's position; the next row seeded there copies it, with its
        spans and expected set.
        """
        t = self.t
        k = cur.index
        base = k << POS_BITS
        single = len(seeds) == 1 and not t.once_pos
        if single:
            tpl = self._templates.get(seeds[0] & POS_MASK)
            if tpl is not None:
                rel, cur.spans, cur.expected = tpl
                at = seeds[0] & ~POS_MASK  # the seed's origin, shifted
                cur.items = tuple([base + x if x >= 0 else at + ~x for x in rel])
                return
        next_sym, lhs_of, nullable, own, closure = t.next_sym, t.lhs, t.nullable, t.own, t.closure
        seen = set(seeds)
        agenda = list(seeds)
        by_next: dict[int, list[int]] = {}  # grouped into cur.items at the end
        predicted: set[int] = set()
        n_lex = t.n_lexemes
        max_items = t.max_items
        earlier = False  # whether an item of an earlier row was completed
        while agenda:
            item = agenda.pop()
            pos = item & POS_MASK
            sym = next_sym[pos]
            if sym < 0:
                origin = item >> POS_BITS
                head = lhs_of[pos]
                if origin != k:
                    earlier = True
                    waiting = rows[origin].waiting(head)
                else:  # (in this row, a copy: completing may add to the list)
                    waiting = tuple(by_next.get(head, ()))
                for w in waiting:
                    nxt = w + 1
                    if nxt not in seen:
                        seen.add(nxt)
                        agenda.append(nxt)
                continue
            lst = by_next.get(sym)
            if lst is None:
                by_next[sym] = [item]
            else:
                lst.append(item)
            if sym >= n_lex:
                if sym not in predicted:
                    for nt in closure[sym]:
                        if nt in predicted:
                            continue
                        predicted.add(nt)
                        for p, nsym in own[nt]:
                            new = base | p
                            if new in seen:
                                continue
                            seen.add(new)
                            if nsym >= 0:
                                lst = by_next.get(nsym)
                                if lst is None:
                                    by_next[nsym] = [new]
                                else:
                                    lst.append(new)
                if sym in nullable:
                    nxt = item + 1
                    if nxt not in seen:
                        seen.add(nxt)
                        agenda.append(nxt)
            if len(seen) > max_items:
                raise CompileLimitError(
                    "max_items_per_set", max_items, "Earley row too large; simplify the grammar"
                )
        spans = {}
        items: list[int] = []
        for sym, lst in by_next.items():
            start = len(items)
            items += lst
            spans[sym] = start << 32 | len(items)
        # a tuple of ints: the collector stops tracking it at its first collection
        cur.items, cur.spans = tuple(items), spans
        expected = frozenset([s for s in by_next if s < n_lex])
        used = cur.used
        if used and not t.once_lex.isdisjoint(expected):
            # not expected: a lexeme that only once items whose origin scanned it expect
            once_pos = t.once_pos
            spent = [
                s
                for s in t.once_lex.intersection(expected)
                if all(
                    item & POS_MASK in once_pos and s in used.get(item >> POS_BITS, ())
                    for item in by_next[s]
                )
            ]
            expected = expected.difference(spent)
        cur.expected = expected = self._expected.setdefault(expected, expected)
        cur.accepting = (0 << POS_BITS | t.final_pos) in seen
        if single and not earlier and not cur.accepting:
            # this row's items by position, the seed's as the complement of theirs
            rel = tuple([x - base if x >= base else ~(x & POS_MASK) for x in cur.items])
            self._templates[seeds[0] & POS_MASK] = (rel, spans, expected)
