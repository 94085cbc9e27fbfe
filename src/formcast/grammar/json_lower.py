"""Typed spec → grammar IR: the lowering phase (through the shared GrammarBuilder).

Each JSON scalar is one lexeme (a whole string with quotes and escapes, a whole number);
object keys are literal lexemes. Whitespace is folded into the punctuation lexemes
(``{`` takes trailing, ``}`` leading, ``,`` and ``:`` both), each run bounded, so no
whitespace can appear before the first or after the last token.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any as TAny

from formcast.automata.regex_dfa import compile_regex
from formcast.errors import CompileLimitError
from formcast.grammar.ir import GrammarBuilder
from formcast.grammar.json_formats import FORMATS
from formcast.grammar.json_keysets import (
    BODY_ENDS,
    KeySetTooLarge,
    key_sets,
    narrow_body,
    wide_body,
)
from formcast.grammar.json_numbers import (
    INT,
    NUMBER,
    PLAIN_NUMBER,
    MultipleNotExpressible,
    common_step,
    decimal_range,
    intersect_numbers,
    multiple_of_range,
    signed_exponents,
    step_pieces,
)
from formcast.grammar.json_patterns import (
    PatternUnsupported,
    bound_free_lengths,
    largest_bound,
    simple_repeat,
)
from formcast.grammar.json_spec import (
    KINDS,
    ArrC,
    NumC,
    ObjC,
    Ref,
    SchemaParser,
    Spec,
    StrC,
    Typed,
    Union,
    kind_of,
    plain,
)
from formcast.grammar.json_strings import (
    complement_body,
    encode_set,
    exclude_words,
    has_surrogate,
    intersect_bodies,
    length_body,
    literal,
    literal_body,
)

_FRAC = r"-?(?:0|[1-9][0-9]*)\.[0-9]*[1-9][0-9]*"
#: names taking part in `dependencies` of one object (the grammar tracks their subsets)
MAX_DEPENDENCY_NAMES = 10
#: undeclared optional dependency names whose every order is allowed (k! object rules)
MAX_PERMUTED_NAMES = 4
#: sets of distinct values (one rule each) for `uniqueItems` over listed values
MAX_UNIQUE_SUBSETS = 1024
#: items of an array with `contains` and `minItems` > 1 or `maxItems` (one rule each)
MAX_CONTAINS_COUNT = 256
#: items of a `uniqueItems` array of strings, when `minItems` or `maxItems` counts them
#: (one rule per count)
MAX_DISTINCT_COUNT = 1024
#: states of an object in any property order (sets of named members seen, times counts of
#: extra keys where they matter); above it only required and dependency names are
#: remembered (the others may repeat), and above it again the object keeps definition order
MAX_ANY_ORDER_STATES = 1024
#: alternatives of once rules: of an object in any order past MAX_ANY_ORDER_STATES,
#: (required names + 1) * (names + 1) per dependency variant; of a `uniqueItems` array of
#: listed scalars past MAX_UNIQUE_SUBSETS, values * counted item levels
MAX_ONCE_ALTERNATIVES = 20_000
#: keys of `dependencies` that such an object may lack while their names are optional (the
#: object is written once per subset of them present)
MAX_ONCE_DEPENDENCY_KEYS = 3
#: a string's `maxLength` from which its automaton is built while lowering, to lower the
#: bound where a format or pattern makes it exceed max_lexeme_states
FIT_LENGTH_FROM = 64
#: "some key is bad" conditions on one object (each needs a witness pair, see _object)
MAX_SOME_KEYS = 5
#: ways to meet them (each by one of the named members it may fall on, or by extra pairs)
MAX_SOME_WAYS = 64
#: pair rules of an object's witnesses, each with the bit mask of the conditions it meets
Witnesses = tuple[tuple[str, int], ...]
#: a pattern's largest repetition bound from which its automaton is built while lowering,
#: to lower its bounds where they make it exceed max_lexeme_states
FIT_COUNT_FROM = 32
#: longest string a `maxLength` lets formcast generate: a counted string costs about 20 DFA
#: states per character (kept narrow, see regex_dfa.NARROW_FROM), so a larger bound is
#: enforced as this one (a restriction, noted)
MAX_STRING_LENGTH = 4096


class Lowerer:
    def __init__(
        self,
        parser: SchemaParser,
        *,
        whitespace: str,
        max_whitespace: int,
        property_order: str = "definition",
    ) -> None:
        self.p = parser
        self.any_order = property_order == "any"
        # lexeme regexes here are built by formcast (user patterns are translated and
        # checked by json_patterns); compile_regex still refuses any invalid one
        self.b = GrammarBuilder(check_patterns=False)
        ws = f"[ \\t\\n\\r]{{0,{max_whitespace}}}" if whitespace == "flexible" else ""
        self.lbrace = self.b.lexeme(r"\{" + ws)
        self.rbrace = self.b.lexeme(ws + r"\}")
        self.lbrack = self.b.lexeme(r"\[" + ws)
        self.rbrack = self.b.lexeme(ws + r"\]")
        self.comma = self.b.lexeme(ws + "," + ws)
        self.colon = self.b.lexeme(ws + ":" + ws)
        self._refs: dict[str, str] = {}
        self._meets: dict[tuple[str, ...], str] = {}  # see _meet_all
        self._lowered: dict[int, tuple[Typed, str | None]] = {}  # see lower
        self._fitted_lengths: dict[StrC, int | None] = {}  # see _fitted_length
        self._fitted_counts: dict[tuple[str, int | None], int | None] = {}  # see _fit_count
        self._any_name: str | None = None
        #: distinct lexemes (`uniqueItems` over strings), for the grammar's ``distinct``
        self.distinct: set[str] = set()
        #: once rules (member lists of objects in any order, item lists of `uniqueItems`
        #: arrays of listed scalars), for the grammar's ``once``
        self.once: set[str] = set()

    # -- entry ------------------------------------------------------------------------------
    def lower(self, spec: Spec) -> str | None:
        """Nonterminal or lexeme for ``spec``; None when no instance can satisfy it."""
        if isinstance(spec, Ref):
            if spec.target not in self._refs:
                name = self.b.rule()
                self._refs[spec.target] = name
                body = self.lower(self.p.spec(spec.target))
                self.b.define(name, [(body,)] if body is not None else [])
            return self._refs[spec.target]
        if isinstance(spec, Union):
            alts = [x for x in (self.lower(s) for s in spec.branches) if x is not None]
            return self.b.alt(*alts) if alts else None
        # a spec met again (an intersection shared through a $ref) is lowered once; the
        # memo keeps the spec alive, so its id is not reused
        hit = self._lowered.get(id(spec))
        if hit is None or hit[0] is not spec:
            hit = self._lowered[id(spec)] = (spec, self._typed(spec))
        return hit[1]

    def _meet_all(self, specs: list[Spec], where: str) -> str | None:
        """:meth:`lower` of the intersection of ``specs``, named by a rule: a pattern's
        schema may hold the same patterns again (recursion), so each intersection is
        lowered once, like a reference."""
        if len(specs) == 1:
            return self.lower(specs[0])
        key = tuple(sorted(s.target if isinstance(s, Ref) else repr(s) for s in specs))
        if key not in self._meets:
            name = self._meets[key] = self.b.rule()
            body = self.lower(functools.reduce(lambda a, b: self.p.merge(a, b, where), specs))
            self.b.define(name, [(body,)] if body is not None else [])
        return self._meets[key]

    def _typed(self, t: Typed) -> str | None:
        if t.enum is not None:
            vals = [v for v in t.enum if self.p.matches(v, t)]
            lits = [x for x in (self.value(v) for v in vals) if x is not None]
            return self.b.alt(*lits) if lits else None
        alts: list[str] = []
        if "null" in t.kinds:
            alts.append(self.b.literal("null"))
        if "boolean" in t.kinds:
            alts.append(self.b.lexeme("true|false"))
        num = self._number(t.kinds & {"int", "frac"}, t.n)
        if num is not None:
            alts.append(num)
        if "string" in t.kinds:
            s = self._string_value(self._capped(t.s, t.pointer), t.pointer)
            if s is not None:
                alts.append(s)
        if "array" in t.kinds:
            a = self._array(t.a)
            if a is not None:
                alts.append(a)
        if "object" in t.kinds:
            o = self._object(t.o)
            if o is not None:
                alts.append(o)
        if not alts:
            return None
        return alts[0] if len(alts) == 1 else self.b.alt(*alts)

    # -- literal values (enum/const) --------------------------------------------------------
    def value(self, v: TAny) -> str | None:
        if isinstance(v, str):
            if has_surrogate(v):
                self.p.refuse("enum", "", "string with a lone surrogate")
                return None
            return self.b.lexeme(literal(v))
        if isinstance(v, list):
            items = [self.value(x) for x in v]
            if any(i is None for i in items):
                return None
            seq: list[str] = [self.lbrack]
            for i, x in enumerate(items):
                if i:
                    seq.append(self.comma)
                seq.append(x)  # type: ignore[arg-type]
            return self.b.seq(*seq, self.rbrack)
        if isinstance(v, dict):
            seq = [self.lbrace]
            for i, (k, x) in enumerate(v.items()):
                kx, vx = self.value(k), self.value(x)
                if kx is None or vx is None:
                    return None
                if i:
                    seq.append(self.comma)
                seq += [kx, self.colon, vx]
            return self.b.seq(*seq, self.rbrace)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and _integral(v):
            # 2 and 2.0 are the same number: either spelling is the value
            spellings = dict.fromkeys([json.dumps(v), str(int(v)), f"{int(v)}.0"])
            return self.b.lexeme("|".join(map(re.escape, spellings)))
        return self.b.literal(json.dumps(v))

    # -- numbers ----------------------------------------------------------------------------
    def _number(self, kinds: frozenset[str], n: NumC) -> str | None:
        if not kinds:
            return None
        if n.multiple_of or n.not_multiple_of:
            try:
                r = self._number_steps(kinds, n)
            except MultipleNotExpressible as exc:
                self.p.refuse("multipleOf", n.pointer, str(exc))
                return self.b.lexeme(NUMBER if "frac" in kinds else INT)  # lenient
            return self.b.lexeme(r) if r is not None else None
        if kinds == {"frac"}:
            if n.lo is not None or n.hi is not None:
                r = decimal_range(n.lo, n.lo_excl, n.hi, n.hi_excl, frac_only=True)
                return self.b.lexeme(r) if r is not None else None
            return self.b.lexeme(_FRAC)
        if kinds == {"int"}:
            if n.lo is None and n.hi is None:
                return self.b.lexeme(INT)
            # integers in range are the multiples of 1 there
            one = Decimal(1)
            r = multiple_of_range(one, n.lo, n.lo_excl, n.hi, n.hi_excl, integers_only=True)
            return self.b.lexeme(r) if r is not None else None
        if n.lo is None and n.hi is None:
            return self.b.lexeme(NUMBER)
        r = decimal_range(n.lo, n.lo_excl, n.hi, n.hi_excl)
        # a bound at 0 is a matter of sign: exponents too (other bounds: written without)
        sci = signed_exponents(n.lo, n.lo_excl, n.hi, n.hi_excl)
        if sci is not None:
            r = sci if r is None else f"(?:{r})|(?:{sci})"
        return self.b.lexeme(r) if r is not None else None

    def _number_steps(self, kinds: frozenset[str], n: NumC) -> str | None:
        """Numbers in range that are multiples of ``n.multiple_of`` and of none of
        ``n.not_multiple_of``: an intersection of exact pieces (None: no number fits)."""
        ints = "frac" not in kinds
        # the range (with the multiples, when the fast shapes of multiple_of_range apply)
        pieces: list[str | None] = [self._number_range(kinds, n)]
        if n.multiple_of:
            step = common_step(n.multiple_of)
            bounds = (n.lo, n.lo_excl, n.hi, n.hi_excl)
            try:
                if kinds == {"frac"}:
                    raise MultipleNotExpressible("non-integral multiples")
                pieces = [multiple_of_range(step, *bounds, integers_only=ints)]
            except MultipleNotExpressible:
                pieces += step_pieces(step, multiple=True, integers_only=ints) or [None]
        for step in n.not_multiple_of:
            pieces += step_pieces(step, multiple=False, integers_only=ints) or [None]
        regexes = [p for p in pieces if p is not None]
        if len(regexes) < len(pieces):
            return None
        return intersect_numbers(list(dict.fromkeys(regexes)))

    @staticmethod
    def _number_range(kinds: frozenset[str], n: NumC) -> str | None:
        """Exponent-free numbers of ``kinds`` within the bounds (None: none)."""
        if kinds == {"int"}:
            one = Decimal(1)
            return multiple_of_range(one, n.lo, n.lo_excl, n.hi, n.hi_excl, integers_only=True)
        if n.lo is None and n.hi is None:
            return _FRAC if kinds == {"frac"} else PLAIN_NUMBER
        return decimal_range(n.lo, n.lo_excl, n.hi, n.hi_excl, frac_only=kinds == {"frac"})

    # -- strings ----------------------------------------------------------------------------
    def string_body(self, s: StrC) -> str | None:
        """Body regex for the strings ``s`` allows; None if there is none.

        Every rule (formats, patterns, a length range, excluded values) is a body regex and
        the body is their intersection (lookaheads, built as DFA products); a rule that
        cannot be enforced exactly is refused.
        """
        lo, hi = s.min_len, s.max_len
        if hi is not None and hi < lo:
            return None
        if s.anti_formats:
            for name, where in s.anti_formats:
                self.p.note(
                    f"narrowed: strings failing format {name!r} (the `not` of {where or '#'}) "
                    "are not produced: formcast's format regexes are strict subsets"
                )
            return None
        rules = [FORMATS[f] for f in dict.fromkeys(f for f, _ in s.formats)]
        patterns = list(dict.fromkeys(s.patterns))
        length = lo > 0 or hi is not None
        rep = simple_repeat(patterns[0][0]) if length and len(patterns) == 1 else None
        if rep is not None:  # ^C{m,n}$ and a length range: one repetition, no product
            cs, plo, phi = rep
            nlo = max(lo, plo)
            nhi = phi if hi is None else (hi if phi is None else min(hi, phi))
            unit = encode_set(cs)
            if unit is None or (nhi is not None and nhi < nlo):
                return None
            rules.append(f"{unit}{{{nlo},}}" if nhi is None else f"{unit}{{{nlo},{nhi}}}")
            patterns, length = [], False
        for pattern, where in patterns:
            try:
                rules.append(narrow_body(pattern, hi, s.max_count))
            except PatternUnsupported as exc:
                self.p.refuse("pattern", where, str(exc.args[0]))
            except re.error as exc:
                self.p.refuse("pattern", where, f"not a regex Python can read: {exc}")
        if length:
            rules.append(length_body(lo, hi))
        if s.exclude and has_surrogate("".join(s.exclude)):
            self.p.refuse("not", s.exclude_at, "excluded strings with a lone surrogate")
        elif s.exclude and not rules:
            return complement_body(s.exclude)
        elif s.exclude:
            return exclude_words(s.exclude, intersect_bodies(rules))
        return intersect_bodies(rules)

    def _capped(self, s: StrC, where: str) -> StrC:
        """``s`` with ``maxLength`` lowered to :data:`MAX_STRING_LENGTH` (noted); a
        ``minLength`` above it is refused."""
        cap = MAX_STRING_LENGTH
        if s.max_len is None or s.max_len <= cap:
            return s
        if s.min_len > cap:
            self.p.refuse("minLength", where or "#", f"strings of more than {cap} characters")
            s = replace(s, min_len=0)  # lenient: minLength is not enforced
        note = f"restricted: maxLength {s.max_len} at {where or '#'} is enforced as {cap}"
        self.p.note(note)
        return replace(s, max_len=cap)

    def _string_value(self, s: StrC, where: str) -> str | None:
        """The string lexeme of ``s``, keeping out the strings an ``anti`` pattern may
        match; a ``maxLength`` that makes a format's or a pattern's automaton exceed
        ``max_lexeme_states`` is lowered until it fits (a restriction, noted), and where
        nothing fits the pattern or format is refused (under ``lenient``, not enforced)."""
        if len(s.patterns) == 1 and s.max_count is None:
            s = self._fit_count(s)
        pattern = self._string_pattern(s)
        if pattern is None or s.max_len is None or s.max_len < FIT_LENGTH_FROM:
            return None if pattern is None else self.b.lexeme(pattern)
        if not (s.formats or s.patterns):
            return self.b.lexeme(pattern)
        hi = self._fitted_length(s, pattern, s.max_len)
        if hi is None:  # too large at any length: refused now, not at the first mask
            kw, at = (s.patterns or s.formats)[0]
            self.p.refuse(
                "pattern" if s.patterns else "format",
                at,
                f"{kw!r} with minLength {s.min_len} and maxLength {s.max_len}: "
                "its automaton exceeds max_lexeme_states at every length (lenient: "
                "the string's patterns and formats are not enforced)",
            )
            wide = self._string_pattern(replace(s, patterns=(), formats=()))
            return None if wide is None else self.b.lexeme(wide)  # lenient
        if hi < s.max_len:
            lowered = self._string_pattern(replace(s, max_len=hi))
            if lowered is None:
                return None
            pattern = lowered
            self.p.note(
                f"restricted: maxLength {s.max_len} at {where or '#'} is enforced as {hi} "
                "(with its format or pattern, a longer bound exceeds max_lexeme_states)"
            )
        return self.b.lexeme(pattern)

    def _fitted_length(self, s: StrC, pattern: str, max_len: int) -> int | None:
        """The ``maxLength`` at which ``pattern``, the lexeme of ``s``, fits
        ``max_lexeme_states``: ``max_len`` (that of ``s``), or lower by quarters (stopping
        first where a repetition bound drops); None where no length fits. Remembered by the
        shape of ``s`` (pointers aside), as schemas repeat a string rule over many
        properties."""
        key = _shape(s)
        if key in self._fitted_lengths:
            return self._fitted_lengths[key]
        hi, fitted = max_len, None
        free_at = {n for p, _ in s.patterns for n in bound_free_lengths(p)}
        while True:
            try:
                compile_regex(pattern)  # cached: the grammar's compile reuses it
            except CompileLimitError:
                if hi * 3 // 4 < max(s.min_len, 1) or self._too_large_alone(s):
                    break
                # a quarter lower, or the bound at which a repetition bound drops
                hi = max([hi * 3 // 4, *(n for n in free_at if n < hi)])
                lowered = self._string_pattern(replace(s, max_len=hi))
                if lowered is not None:
                    pattern = lowered
                    continue
            fitted = hi  # fits, or no string does at this bound (the caller finds so too)
            break
        self._fitted_lengths[key] = fitted
        return fitted

    def _fit_count(self, s: StrC) -> StrC:
        """``s`` with its one pattern's repetition bounds lowered (by quarters) until the
        pattern's automaton fits ``max_lexeme_states`` on its own, read as for the least
        length bound tried (a restriction, noted: ``^(?:\\S+\\s+){0,199}\\S+$`` is
        enforced as at most 111 repetitions); ``s`` itself where it fits, where its bounds
        are below :data:`FIT_COUNT_FROM`, or where no lower bound fits."""
        pattern, at = s.patterns[0]
        count = largest_bound(pattern)
        if count < FIT_COUNT_FROM:
            return s
        least = None if s.max_len is None else max(s.min_len, 1)
        key = (pattern, least)
        if key not in self._fitted_counts:
            self._fitted_counts[key] = None
            lowered = None
            while count >= 1:
                try:
                    compile_regex(f'"{narrow_body(pattern, least, lowered)}"')  # cached
                except (PatternUnsupported, re.error):
                    break  # refused with its reason by string_body
                except CompileLimitError:
                    lowered = count = count * 3 // 4
                    continue
                self._fitted_counts[key] = lowered
                break
        lowered = self._fitted_counts[key]
        if lowered is None:
            return s
        self.p.note(
            f"restricted: repetitions of the pattern at {at} are enforced as at most "
            f"{lowered} (a larger count exceeds max_lexeme_states)"
        )
        return replace(s, max_count=lowered)

    def _too_large_alone(self, s: StrC) -> bool:
        """Whether ``s`` has one pattern and nothing else but length bounds, and that
        pattern alone exceeds ``max_lexeme_states``, so that no lower ``maxLength`` can fit
        (the product is built from it). Not for one simple repetition ``^C{m,n}$``, which
        the bound narrows, nor for several patterns, whose product a bound may trim. The
        pattern is read as for the least bound tried, with the most repetition bounds
        dropped (:func:`~formcast.grammar.json_patterns.pattern_body`)."""
        if len(s.patterns) != 1 or s.formats or s.anti or s.exclude:
            return False
        if simple_repeat(s.patterns[0][0]):
            return False
        try:
            least = narrow_body(s.patterns[0][0], max(s.min_len, 1), s.max_count)
        except (PatternUnsupported, re.error):
            return False
        try:
            compile_regex(f'"{least}"')  # cached
        except CompileLimitError:
            return True
        return False

    def _string_pattern(self, s: StrC) -> str | None:
        """Lexeme regex of the strings ``s`` allows (``anti`` patterns read widely)."""
        body = self.string_body(replace(s, anti=()))
        if body is None:
            return None
        return '"' + self._anti_lookaheads(s) + body + '"'

    def _anti_lookaheads(self, s: StrC) -> str:
        """Negative lookaheads, one per ``anti`` pattern (read widely: a superset)."""
        out = []
        for pattern, where in dict.fromkeys(s.anti):
            try:
                out.append(f"(?!(?:{wide_body(pattern)}){BODY_ENDS})")
            except PatternUnsupported as exc:
                self.p.refuse("not", where, f"pattern: {exc.args[0]}")
            except re.error as exc:
                self.p.refuse("not", where, f"pattern Python cannot read: {exc}")
        return "".join(out)

    # -- arrays -----------------------------------------------------------------------------
    def _array(self, a: ArrC) -> str | None:
        lo, hi = a.min_items, a.max_items
        if hi is not None and hi < lo:
            return None
        items_never = a.items is not None and self._is_never(a.items)
        if items_never:
            hi = len(a.prefix) if hi is None else min(hi, len(a.prefix))
            if hi < lo:
                return None
        if a.unique and (hi is None or hi > 1):
            values = self._unique_domain(a)
            if values is not None:
                top = len(values) if hi is None else min(hi, len(values))
                if sum(math.comb(len(values), k) for k in range(top + 1)) <= MAX_UNIQUE_SUBSETS:
                    return self._array_distinct(values, lo, hi)
                levels = max(lo, 1) if top == len(values) else top  # rules of _array_once
                scalars = not any(isinstance(v, (list, dict)) for v in values)
                if scalars and levels * len(values) <= MAX_ONCE_ALTERNATIVES:
                    return self._array_once(values, lo, hi)
            lexeme = self._distinct_lexeme(a)
            if lexeme is not None and max(lo, hi or 0) <= MAX_DISTINCT_COUNT:
                return self._array_of_distinct(lexeme, lo, hi)
            self.p.refuse(
                "uniqueItems",
                a.pointer,
                f"only enforced when maxItems <= 1, when `items` lists its values (enum, "
                f"const, booleans): scalars, or at most {MAX_UNIQUE_SUBSETS} sets of them, "
                f"or when `items` are strings that can always grow (no maxLength, at most "
                f"{MAX_DISTINCT_COUNT} counted items)",
            )
        if a.contains is not None:
            return self._array_contains(a, lo, hi)
        prefix = [self.lower(s) for s in a.prefix]
        rest = self.lower(a.items) if a.items is not None else self._any()
        # elements from position i on (a comma first when i > 0), built from the last
        # position down: `body` is that from position `top`, then from each one before
        top = len(prefix) if hi is None else min(len(prefix), hi)
        body: str | None
        if (hi is not None and top >= hi) or rest is None:
            body = self.b.choice(()) if top >= lo else None
        elif top == 0:
            body = self.b.separated(rest, self.comma, lo, hi)
        else:
            more_hi = None if hi is None else hi - top
            body = self.b.repeat(self.b.seq(self.comma, rest), max(lo - top, 0), more_hi)
        for i in reversed(range(top)):
            alts: list[tuple[str, ...]] = []
            item = prefix[i]
            if item is not None and body is not None:
                alts.append((self.comma, item, body) if i > 0 else (item, body))
            if i >= lo:
                alts.append(())
            body = self.b.choice(*alts) if alts else None
        if body is None:
            return None
        return self.b.seq(self.lbrack, body, self.rbrack)

    def _unique_domain(self, a: ArrC) -> tuple[TAny, ...] | None:
        """The values of plain ``items`` when they are listed."""
        if a.items is None or a.prefix or a.contains is not None:
            return None
        return self.p.finite_values(a.items)

    def _array_distinct(self, values: tuple[TAny, ...], lo: int, hi: int | None) -> str | None:
        """Arrays of ``lo`` to ``hi`` distinct ``values``: one rule per set of values used."""
        lits = [x for x in (self.value(v) for v in values) if x is not None]
        top = len(lits) if hi is None else min(hi, len(lits))
        memo: dict[frozenset[int], str | None] = {}

        def rest(used: frozenset[int]) -> str | None:
            """The items after those in ``used`` (a comma first when ``used``)."""
            if used not in memo:
                alts: list[tuple[str, ...]] = [()] if len(used) >= lo else []
                for i, lit in enumerate(lits):
                    nxt = rest(used | {i}) if i not in used and len(used) < top else None
                    if nxt is not None:
                        alts.append((self.comma, lit, nxt) if used else (lit, nxt))
                memo[used] = self.b.choice(*alts) if alts else None
            return memo[used]

        body = rest(frozenset())
        rest = None  # type: ignore[assignment]  # no function-cell cycle left to collect
        return None if body is None else self.b.seq(self.lbrack, body, self.rbrack)

    def _array_once(self, values: tuple[TAny, ...], lo: int, hi: int | None) -> str | None:
        """Arrays of ``lo`` to ``hi`` distinct scalar ``values`` (each one lexeme), too many
        for a rule per set: *once* rules (:attr:`Grammar.once`, left recursive, so every
        item is scanned from the origin just after ``[``) scan each value at most once;
        ``chain[j]`` holds exactly ``j + 1`` items, and past ``lo`` items, up to every
        value or ``hi``, the last level repeats."""
        lits = [x for x in (self.value(v) for v in values) if x is not None]
        top = len(lits) if hi is None else min(hi, len(lits))
        if lo > top:
            return None
        sep = self.b.seq(self.comma)
        chain: list[str] = []
        for j in range(max(lo, 1) if top == len(lits) else top):
            head = self.b.rule()
            alts = [(lit,) for lit in lits] if j == 0 else [(chain[-1], sep, lit) for lit in lits]
            chain.append(self.b.define(head, alts))
        if top == len(lits):  # each value at most once bounds the count: a loop
            loop = self.b.rule()
            self.b.define(loop, [(chain[-1],), *[(loop, sep, lit) for lit in lits]])
            chain.append(loop)
            ends = [loop]
        else:
            ends = chain[max(lo, 1) - 1 :]
        self.once.update(chain)
        alts_out: list[tuple[str, ...]] = [(self.lbrack, end, self.rbrack) for end in ends]
        if lo == 0:
            alts_out.append((self.lbrack, self.rbrack))
        return self.b.choice(*alts_out)

    def _distinct_lexeme(self, a: ArrC) -> str | None:
        """For `uniqueItems` over plain string ``items`` whose every prefix has infinitely
        many completions (so a repeat can always be avoided): a distinct lexeme, the
        string without its closing quote, which the matcher keeps distinct per array."""
        if a.prefix or a.contains is not None or a.items is None:
            return None
        spec = self.p.deref(a.items)
        if not isinstance(spec, Typed):
            return None
        s = spec.s
        if spec.kinds != {"string"} or spec.enum is not None or s.anti or s.anti_formats:
            return None
        body = self.string_body(s)
        if body is None or re.search(r"\(\?<?[=!]", body):  # lookarounds may need the quote
            return None
        pattern = '"' + body
        try:
            if not compile_regex(pattern).always_infinite():
                return None
        except CompileLimitError:
            return None
        lexeme = self.b.lexeme(pattern)
        self.distinct.add(lexeme)
        return lexeme

    def _array_of_distinct(self, lexeme: str, lo: int, hi: int | None) -> str:
        """Arrays of ``lo`` to ``hi`` strings with distinct values: left-recursive rules, so
        that every item is scanned from the Earley origin just after ``[``."""
        quote = self.b.literal('"')
        chain = [self.b.seq(lexeme, quote)]  # chain[k]: exactly k + 1 items
        while len(chain) < (max(lo, 1) if hi is None else hi):
            chain.append(self.b.seq(chain[-1], self.comma, lexeme, quote))
        first = max(lo, 1) - 1
        if hi is None:
            items = self.b.rule()
            self.b.define(items, [(chain[first],), (items, self.comma, lexeme, quote)])
        else:
            items = self.b.alt(*chain[first:])
        alts = [(self.lbrack, items, self.rbrack)] + (
            [(self.lbrack, self.rbrack)] if lo == 0 else []
        )
        return self.b.choice(*alts)

    def _array_contains(self, a: ArrC, lo: int, hi: int | None) -> str | None:
        assert a.contains is not None
        if a.min_contains != 1 or a.max_contains is not None:
            return self._array_counting(a, lo, hi)
        counted = lo > 1 or hi is not None
        if a.prefix or (counted and (a.also is not None or (hi or lo) > MAX_CONTAINS_COUNT)):
            self.p.refuse(
                "contains",
                a.pointer,
                f"only with plain `items`; with minItems > 1 or maxItems, one `contains` "
                f"and at most {MAX_CONTAINS_COUNT} counted items",
            )
            return self._array(ArrC(items=a.items, min_items=lo, max_items=hi))
        item = self.lower(a.items) if a.items is not None else self._any()
        base = a.items if a.items is not None else Typed(a.pointer)
        after = self.b.star(self.b.seq(self.comma, item)) if item else self.b.choice(())
        hits = self._contains_hits(a, base, after)
        if hits is None:
            return None
        if counted:
            assert item is not None  # else no item, so no hit either
            return self._counted_contains(item, hits, lo, hi)
        before = self.b.star(self.b.seq(item, self.comma)) if item else self.b.choice(())
        return self.b.seq(self.lbrack, before, hits, after, self.rbrack)

    def _array_counting(self, a: ArrC, lo: int, hi: int | None) -> str | None:
        """Arrays with ``minContains`` to ``maxContains`` items matching `contains`: with no
        maximum, that many hits with any items around them (a hit among them is fine);
        with one, every item a hit or a miss (the complement), counted exactly (left
        recursive rules, one per number of hits)."""
        assert a.contains is not None
        least, most = a.min_contains, a.max_contains
        top = least if most is None else most
        if (
            a.prefix
            or a.also is not None
            or hi is not None
            or lo > least
            or top > MAX_CONTAINS_COUNT
        ):
            self.p.refuse(
                "minContains",
                a.pointer,
                f"counted `contains` only with plain `items`, no other `contains`, no "
                f"maxItems, no minItems above minContains, and at most "
                f"{MAX_CONTAINS_COUNT} counted items",
            )
            return self._array(ArrC(items=a.items, min_items=lo, max_items=hi))
        base = a.items if a.items is not None else Typed(a.pointer)
        hit = self.lower(self.p.merge(base, a.contains, a.pointer))
        if most is None:
            item = self.lower(a.items) if a.items is not None else self._any()
            if hit is None or item is None:
                return None
            # [ (item ,)* hit ((, item)* , hit){least-1} (, item)* ]
            gap = self.b.star(self.b.seq(self.comma, item))
            body = [self.b.star(self.b.seq(item, self.comma)), hit]
            for _ in range(least - 1):
                body += [gap, self.comma, hit]
            return self.b.seq(self.lbrack, *body, gap, self.rbrack)
        other = self.p.complement(a.contains, a.pointer)
        if other is None:
            self.p.refuse(
                "maxContains", a.pointer, "the complement of `contains` cannot be written"
            )
            return self._array(ArrC(items=a.items, min_items=lo, max_items=hi))
        miss = self.lower(self.p.merge(base, other, a.pointer))
        # runs[c]: non-empty item lists with exactly c hits (None: there is none)
        runs: list[str | None] = []
        for c in range(most + 1):
            alts: list[tuple[str, ...]] = []
            if c == 0 and miss is not None:
                alts.append((miss,))
            if c == 1 and hit is not None:
                alts.append((hit,))
            prev = runs[c - 1] if c > 0 else None
            if prev is not None and hit is not None:
                alts.append((prev, self.comma, hit))
            if not alts:
                runs.append(None)
                continue
            name = self.b.rule()
            if miss is not None:
                alts.append((name, self.comma, miss))
            runs.append(self.b.define(name, alts))
        arrays: list[tuple[str, ...]] = [(self.lbrack, self.rbrack)] if least == 0 else []
        arrays += [(self.lbrack, r, self.rbrack) for r in runs[least:] if r is not None]
        return self.b.choice(*arrays) if arrays else None

    def _counted_contains(self, item: str, hit: str, lo: int, hi: int | None) -> str:
        """Arrays of ``lo`` to ``hi`` items, one of which is ``hit``: one alternative per
        number ``k`` of items before a hit (any hit will do, so readings may overlap; with
        no ``hi``, every ``k >= lo - 1`` is one alternative)."""
        lead, trail = self.b.seq(item, self.comma), self.b.seq(self.comma, item)
        alts: list[tuple[str, ...]] = []
        last = lo - 1 if hi is None else hi - 1
        for k in range(last + 1):
            before = self.b.repeat(lead, k, None if hi is None and k == last else k)
            after = self.b.repeat(trail, max(lo - 1 - k, 0), None if hi is None else hi - 1 - k)
            alts.append((self.lbrack, before, hit, after, self.rbrack))
        return self.b.choice(*alts)

    def _contains_hits(self, a: ArrC, base: Spec, between: str) -> str | None:
        """The items from the first `contains` match to the last: with a second
        `contains` (``a.also``), one item matching both, or one for each in either order
        with ``between`` (``(, item)*``) between them."""
        assert a.contains is not None
        ptr = a.pointer
        hit = self.lower(self.p.merge(base, a.contains, ptr))
        if a.also is None:
            return hit
        other = self.lower(self.p.merge(base, a.also, ptr))
        both = self.lower(self.p.merge(self.p.merge(base, a.contains, ptr), a.also, ptr))
        alts: list[tuple[str, ...]] = [(both,)] if both is not None else []
        if hit is not None and other is not None:
            alts += [(hit, between, self.comma, other), (other, between, self.comma, hit)]
        return self.b.choice(*alts) if alts else None

    # -- objects ----------------------------------------------------------------------------
    def _object(self, o: ObjC, wits: Witnesses = ()) -> str | None:
        """The object rule; ``wits``: pair rules, each with the conditions it meets (bits),
        of which the extra pairs must include enough to meet every condition."""
        if o.some:
            return self._object_with_some(o)
        declared = dict(o.props)
        members: list[tuple[str, Spec, bool]] = []  # name, spec, required
        for name, spec in o.props:
            members.append((name, spec, name in o.required))
        # the names a key requires come before it (the order writers tend to use)
        involved = [n for k, ns in o.deps for n in (*ns, k)]
        loose: list[tuple[str, Spec, bool]] = []  # optional dependency names, undeclared
        for name in dict.fromkeys([*o.required, *involved]):
            if name not in declared:
                # required-only and dependency names get a fixed place after the declared
                hits = self._pattern_specs(o, name)
                spec = hits[0] if hits else (o.additional or Typed(o.pointer))
                if o.additional is not None and hits and not plain(name):
                    spec = self.p.merge(spec, o.additional, o.pointer)
                if name in o.required:
                    members.append((name, spec, True))
                else:
                    loose.append((name, spec, False))
        deps = o.deps
        if len(set(involved)) > MAX_DEPENDENCY_NAMES:
            limit = f"more than {MAX_DEPENDENCY_NAMES} names involved"
            self.p.refuse("dependencies", o.pointer, limit)
            deps, involved = (), []
        if self.any_order:
            named = [*members, *loose]
            states = 2 ** len(named) * self._extra_counts(o, False)
            if states <= MAX_ANY_ORDER_STATES:
                return self._object_any_order(o, named, deps, wits=wits)
            if self._once_fits(o, named, deps, wits):
                return self._object_once(o, named, deps)
            # too many names to remember each: remember only the required and dependency
            # names; the other declared names may come any number of times, like extra keys
            required = {n for n, _, r in named if r}
            tracked = required | set(involved)
            free = frozenset(n for n, _, _ in named if n not in tracked)
            states = 2 ** len(tracked) * self._extra_counts(o, bool(free))
            where = o.pointer or "#"
            # repeatable pairs count toward minProperties at most once (see below)
            if states <= MAX_ANY_ORDER_STATES and o.min_props <= len(required) + 1:
                self.p.note(
                    f"repeatable names: object at {where} ({len(named)} names; {len(free)} "
                    "optional ones are not remembered, so a repeated one is not detected)"
                )
                return self._object_any_order(o, named, deps, free, wits)
            self.p.note(
                f"definition order: object at {where} (any property order would need "
                f"{states} states, more than {MAX_ANY_ORDER_STATES})"
            )
        if 2 <= len(loose) <= MAX_PERMUTED_NAMES:
            # undeclared names have no order of their own: allow each
            alts = [
                self._object_in_order(o, [*members, *order], deps, involved, wits)
                for order in itertools.permutations(loose)
            ]
            found = [a for a in alts if a is not None]
            return self.b.alt(*found) if found else None
        return self._object_in_order(o, [*members, *loose], deps, involved, wits)

    def _object_with_some(self, o: ObjC) -> str | None:
        """An object with a pair meeting each condition of ``o.some``: for each, a named
        member that surely falls under its key rule (its value narrowed), or an extra
        pair; the extra pairs must then include witnesses of those conditions (one pair
        may witness several: see :meth:`_witnesses`)."""
        some = o.some
        if len(some) > MAX_SOME_KEYS:
            hint = f'more than {MAX_SOME_KEYS} "some key is bad" conditions in one object'
            self.p.refuse("not", o.pointer or "#", hint)  # lenient: the first ones only
            some = some[:MAX_SOME_KEYS]
        base = replace(o, some=())
        named = list(
            dict.fromkeys(
                [*(n for n, _ in o.props), *o.required, *(n for k, ns in o.deps for n in (*ns, k))]
            )
        )
        # names beyond printable ASCII may match in one regex dialect only: left out
        choices = [
            [*(n for n in named if plain(n) and self.p.matches(n, key)), None] for key, _ in some
        ]
        if math.prod(len(c) for c in choices) > MAX_SOME_WAYS:
            hint = f'more than {MAX_SOME_WAYS} ways to meet "some key is bad" conditions'
            self.p.refuse("not", o.pointer or "#", hint)  # lenient: extra pairs only
            choices = [[None] for _ in some]
        alts: list[str] = []
        for pick in itertools.product(*choices):
            obj = base
            for (_, value), name in zip(some, pick, strict=True):
                if name is not None:
                    obj = self._with_value(obj, name, value)
            rest = tuple(c for c, name in zip(some, pick, strict=True) if name is None)
            wits = self._witnesses(obj, rest, named) if rest else ()
            if rest and _conditions(wits) != 2 ** len(rest) - 1:
                continue  # some condition no extra pair can meet
            alt = self._object(obj, wits)
            if alt is not None:
                alts.append(alt)
        return self.b.alt(*alts) if alts else None

    def _with_value(self, o: ObjC, name: str, value: Spec) -> ObjC:
        """``o`` with ``name`` required and its value also meeting ``value``."""
        props = dict(o.props)
        if name in props:
            props[name] = self.p.merge(props[name], value, o.pointer)
        elif self._pattern_specs(o, name) or o.additional is None:
            props[name] = value  # its pattern schemas are merged in by _member_rules
        else:
            props[name] = self.p.merge(o.additional, value, o.pointer)
        required = o.required if name in o.required else (*o.required, name)
        return replace(o, props=tuple(props.items()), required=required)

    def _witnesses(
        self, o: ObjC, conds: tuple[tuple[Spec, Spec], ...], named: list[str]
    ) -> tuple[tuple[str, int], ...]:
        """Extra pairs of ``o`` meeting conditions ``(key, value)``: for each nonempty set
        of conditions (a bit mask), the pair rules whose key meets each key rule and whose
        value meets each value rule."""
        guards = [self._key_guards(key) for key, _ in conds]
        out: list[tuple[str, int]] = []
        for mask in range(1, 2 ** len(conds)):
            picked = [i for i in range(len(conds)) if mask >> i & 1]
            value: Spec = Typed(o.pointer)
            for i in picked:
                value = self.p.merge(value, conds[i][1], o.pointer)
            narrowed = replace(
                o,
                patterns=tuple((p, self.p.merge(s, value, o.pointer)) for p, s in o.patterns),
                additional=self.p.merge(o.additional or Typed(o.pointer), value, o.pointer),
            )
            for combo in itertools.product(*(guards[i] for i in picked)):
                pair = self._extra_member(narrowed, named, "".join(combo))
                if pair is not None:
                    out.append((pair, mask))
        return tuple(out)

    def _key_guards(self, key: Spec) -> list[str]:
        """Lookaheads, one per string branch of ``key``, that a key body passes when that
        branch holds it (their union is ``key``'s strings)."""
        out = []
        key = self.p.deref(key)
        for branch in key.branches if isinstance(key, Union) else (key,):
            t = self.p.deref(branch)
            if not isinstance(t, Typed) or "string" not in t.kinds:
                continue
            if t.enum is not None:
                words = [w for w in t.enum if isinstance(w, str) and self.p.matches(w, t)]
                bodies = [literal_body(w) for w in words if not has_surrogate(w)]
                body = "(?:" + "|".join(bodies) + ")" if bodies else None
            else:
                inner = self.string_body(replace(t.s, anti=()))
                body = None if inner is None else self._anti_lookaheads(t.s) + inner
            if body is not None:
                out.append(f"(?=(?:{body}){BODY_ENDS})")
        return out

    def _pattern_specs(self, o: ObjC, name: str) -> list[Spec]:
        """Schemas of the patterns that match ``name``; all of them when the regex dialects
        may disagree on it (a name beyond printable ASCII): over-constraining is safe."""
        if not o.patterns:
            return []
        if plain(name):
            return [s for p, s in o.patterns if re.search(p, name)]
        return [s for _, s in o.patterns]

    def _object_in_order(
        self,
        o: ObjC,
        members: list[tuple[str, Spec, bool]],
        deps: tuple[tuple[str, tuple[str, ...]], ...],
        involved: list[str],
        wits: Witnesses = (),
    ) -> str | None:
        final = self._member_rules(o, members)
        if final is None:
            return None
        extra = self._extra_member(o, [n for n, _, _ in members])
        n_req = sum(1 for _, _, r in final if r)
        lo, hi = o.min_props, o.max_props
        if hi is not None and hi < n_req:
            return None
        # counting covers declared members; extra pairs count fully against maxProperties,
        # but toward minProperties at most one (duplicate extra keys could make a larger
        # lower bound lie): a sound restriction.
        counting = lo > n_req or hi is not None
        cap = max(lo, hi or 0)
        # dependencies: members are in a fixed order, so the grammar remembers which of
        # the names involved are present so far; `needs[k]` are the names k requires
        needs: dict[str, set[str]] = {}
        for k, ns in deps:
            needs.setdefault(k, set()).update(ns)
        index = {name: i for i, (name, _, _) in enumerate(final)}
        tracked = set(involved)
        memo: dict[tuple[int, bool, int, frozenset[str]], str | None] = {}

        def may_add(i: int, present: frozenset[str]) -> bool:
            # every name it requires is present already or can still come
            name = final[i][0]
            return all(n in present or (n in index and index[n] > i) for n in needs.get(name, ()))

        def may_skip(i: int, present: frozenset[str]) -> bool:
            name = final[i][0]
            return not any(name in needs.get(k, ()) for k in present)

        def body(
            i: int, started: bool, c: int, present: frozenset[str] = frozenset()
        ) -> str | None:
            key = (i, started, c, present)
            if key in memo:
                return memo[key]
            result: str | None
            if i == len(final) and wits:
                result = self._tail_with(wits, extra, started, c, lo if counting else 0, hi)
                if result is None and counting and lo - c > 1 and extra is not None:
                    short_of_min.append(c)
            elif i == len(final):
                if counting and c < lo:
                    # one extra pair surely adds one distinct key; two pairs might repeat one
                    ok = extra is not None and lo - c == 1 and (hi is None or c < hi)
                    if extra is not None and lo - c > 1:
                        short_of_min.append(c)
                    if not ok or extra is None:
                        result = None
                    elif started:
                        more = None if hi is None else hi - c - 1
                        pair = self.b.seq(self.comma, extra)
                        result = self.b.seq(pair, self.b.repeat(pair, 0, more))
                    else:
                        result = self.b.separated(
                            extra, self.comma, 1, None if hi is None else hi - c
                        )
                elif extra is None:
                    result = self.b.choice(())
                else:
                    room = None if hi is None else hi - c
                    if room == 0:
                        result = self.b.choice(())
                    elif started:
                        result = self.b.repeat(self.b.seq(self.comma, extra), 0, room)
                    else:
                        result = self.b.separated(extra, self.comma, 0, room)
            else:
                name, member, req = final[i]
                alts: list[tuple[str, ...]] = []
                if (hi is None or c + 1 <= hi) and (not needs or may_add(i, present)):
                    now = present | {name} if name in tracked else present
                    nxt = body(i + 1, True, min(c + 1, cap) if counting else 0, now)
                    if nxt is not None:
                        alts.append((self.comma, member, nxt) if started else (member, nxt))
                if not req and (not present or may_skip(i, present)):
                    nxt = body(i + 1, started, c, present)
                    if nxt is not None:
                        alts.append((nxt,))
                result = self.b.choice(*alts) if alts else None
            memo[key] = result
            return result

        short_of_min: list[int] = []
        inner = body(0, False, 0)
        body = None  # type: ignore[assignment]  # no function-cell cycle left to collect
        if inner is None and short_of_min:
            self._refuse_min_extras(o)  # lenient: minProperties is not enforced
            o = replace(o, min_props=0)
            return self._object_in_order(o, members, deps, involved, wits)
        if inner is None:
            return None
        return self.b.seq(self.lbrace, inner, self.rbrace)

    def _tail_with(
        self, wits: Witnesses, extra: str | None, started: bool, c: int, lo: int, hi: int | None
    ) -> str | None:
        """The extra pairs after ``c`` named members, with witnesses of every condition
        among them (see :meth:`_object`) and ``extra`` pairs anywhere, at most ``hi - c``
        pairs in all; a witness is the one extra pair counted toward ``lo`` (see
        :meth:`_object_in_order`)."""
        room = None if hi is None else hi - c
        if lo - c > 1 or room == 0:
            return None
        full = _conditions(wits)
        memo: dict[tuple[int, int, bool], str] = {}

        def tail(met: int, n: int, first: bool) -> str:
            # n pairs so far (counted only under a bound), the conditions ``met`` met
            if room is None:
                n = 0
            pre = () if first else (self.comma,)
            if met == full:  # the rest: plain extra pairs (a loop, left recursive)
                left = None if room is None else room - n
                if extra is None or left == 0:
                    return self.b.choice(())
                return self.b.repeat(self.b.seq(self.comma, extra), 0, left)
            if (met, n, first) in memo:
                return memo[(met, n, first)]
            name = memo[(met, n, first)] = self.b.rule()
            alts: list[tuple[str, ...]] = []
            if room is None or n < room:
                if extra is not None:
                    alts.append((*pre, extra, tail(met, n + 1, False)))
                for rule, mask in wits:
                    if mask & ~met:
                        alts.append((*pre, rule, tail(met | mask, n + 1, False)))
            self.b.define(name, alts)
            return name

        out = tail(0, 0, not started)
        tail = None  # type: ignore[assignment]  # no function-cell cycle left to collect
        return out

    def _refuse_min_extras(self, o: ObjC) -> None:
        # not unsatisfiable: formcast's own restriction on extra keys; say so
        self.p.refuse(
            "minProperties",
            o.pointer,
            "would need two or more extra keys; formcast counts at most one "
            "(duplicate keys are not detected)",
        )

    def _member_rules(
        self, o: ObjC, members: list[tuple[str, Spec, bool]]
    ) -> list[tuple[str, str, bool]] | None:
        """``(name, key: value rule, required)`` of the members that can appear; None when
        a required one cannot."""
        values = self._member_values(o, members)
        if values is None:
            return None
        return [
            (name, self.b.seq(self.b.lexeme(literal(name)), self.colon, value), req)
            for name, value, req in values
        ]

    def _member_values(
        self, o: ObjC, members: list[tuple[str, Spec, bool]]
    ) -> list[tuple[str, str, bool]] | None:
        """``(name, value symbol, required)`` of the members that can appear; None when a
        required one cannot."""
        final: list[tuple[str, str, bool]] = []
        for name, spec, req in members:
            if has_surrogate(name):
                self.p.refuse("properties", o.pointer, "property name with a lone surrogate")
                continue
            for ps in self._pattern_specs(o, name):
                spec = self.p.merge(spec, ps, o.pointer)
            if o.names is not None and not self.p.matches(name, o.names):
                if req:
                    return None
                continue
            value = self.lower(spec)
            if value is None:
                if req:
                    return None
                continue
            final.append((name, value, req))
        return final

    @staticmethod
    def _once_fits(
        o: ObjC,
        members: list[tuple[str, Spec, bool]],
        deps: tuple[tuple[str, tuple[str, ...]], ...],
        wits: Witnesses,
    ) -> bool:
        """Whether :meth:`_object_once` is exact for ``o``: no witnesses, no
        ``maxProperties``, a ``minProperties`` the required names meet, at most
        ``MAX_ONCE_DEPENDENCY_KEYS`` keys whose dependencies are not met anyway, and at
        most ``MAX_ONCE_ALTERNATIVES`` list alternatives in all."""
        required = _needed({n for n, _, r in members if r}, deps)
        keys = _open_keys(required, deps)
        return (
            not wits
            and o.max_props is None
            and o.min_props <= max(len(required), 1)
            and len(keys) <= MAX_ONCE_DEPENDENCY_KEYS
            and 2 ** len(keys) * (len(members) + 1) ** 2 <= MAX_ONCE_ALTERNATIVES
        )

    def _object_once(
        self,
        o: ObjC,
        members: list[tuple[str, Spec, bool]],
        deps: tuple[tuple[str, tuple[str, ...]], ...],
    ) -> str | None:
        """The object with its named members in any order, each at most once, and extra
        pairs anywhere, without a state per set of names seen (see :meth:`_once_lists`).
        A dependency whose key may be absent splits the object in two: without the key,
        and with the key and the names it requires required."""
        extra = self._extra_member(o, [n for n, _, _ in members])
        required = _needed({n for n, _, r in members if r}, deps)
        keys = _open_keys(required, deps)
        variants = []
        for present in itertools.product((False, True), repeat=len(keys)):
            absent = {k for k, p in zip(keys, present, strict=True) if not p}
            need = _needed(required | (set(keys) - absent), deps)
            if need & absent:  # a key present requires one absent
                continue
            chosen = [(n, spec, n in need) for n, spec, _ in members if n not in absent]
            found = self._once_lists(o, chosen, extra)
            if found is not None:
                variants.append(found)
        return self.b.alt(*variants) if variants else None

    def _once_lists(
        self, o: ObjC, members: list[tuple[str, Spec, bool]], extra: str | None
    ) -> str | None:
        """``{`` list ``}``, where list rule ``lists[c]`` holds exactly ``c`` required
        members and ``}`` follows ``lists[-1]``. The lists are *once* rules
        (:attr:`Grammar.once`) whose only lexemes are the keys, so the parser scans each
        key at most once per object (left recursive, every list of one object shares the
        origin just after ``{``)."""
        values = self._member_values(o, members)
        if values is None:
            return None
        sep = self.b.seq(self.comma)
        pairs: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
        for name, value, req in values:
            pairs[req].append((self.b.lexeme(literal(name)), self.b.seq(self.colon, value)))
        more = [*pairs[False], *([(extra,)] if extra else [])]
        lists = [self.b.rule() for _ in range(len(pairs[True]) + 1)]
        for c, head in enumerate(lists):
            alts: list[tuple[str, ...]] = list(more) if c == 0 else []
            if c == 1:
                alts += pairs[True]
            if c > 0:
                alts += [(lists[c - 1], sep, *pair) for pair in pairs[True]]
            alts += [(head, sep, *pair) for pair in more]
            self.b.define(head, alts)
        self.once.update(lists)
        body: list[tuple[str, ...]] = [(self.lbrace, lists[-1], self.rbrace)]
        if len(lists) == 1 and o.min_props == 0:
            body.append((self.lbrace, self.rbrace))
        return self.b.choice(*body)

    def _extra_counts(self, o: ObjC, free: bool) -> int:
        """How many counts of extra pairs (``free`` names included) an any-order state may
        need to tell apart: none in a closed object, "none or some" without
        ``maxProperties``, else 0..max."""
        closed = not o.patterns and o.additional is not None and self._is_never(o.additional)
        if closed and not free:
            return 1
        return 2 if o.max_props is None else o.max_props + 1

    def _object_any_order(
        self,
        o: ObjC,
        members: list[tuple[str, Spec, bool]],
        deps: tuple[tuple[str, tuple[str, ...]], ...],
        free: frozenset[str] = frozenset(),
        wits: Witnesses = (),
    ) -> str | None:
        """The object with its named members in any order, each at most once, and extra
        pairs anywhere: a state is the set of named members seen (a bit mask), the
        number of extra pairs as far as the bounds need it, and the conditions of
        ``wits`` met so far (see :meth:`_object`). The ``free`` names count as
        extra pairs: any number of times (json.loads keeps the last; each one is valid)."""
        rules = self._member_rules(o, members)
        if rules is None:
            return None
        extra = self._extra_member(o, [n for n, _, _ in members])
        final = [m for m in rules if m[0] not in free]
        repeated = [rule for name, rule, _ in rules if name in free]
        if repeated:
            extra = self.b.alt(*repeated, *([extra] if extra is not None else []))
        lo, hi = o.min_props, o.max_props
        bit = {name: 1 << i for i, (name, _, _) in enumerate(final)}
        required = sum(bit[n] for n, _, r in final if r)
        n_req = required.bit_count()
        if hi is not None and hi < n_req:
            return None
        # needs[i]: names member i requires; None when one of them can never appear
        needs: list[int | None] = []
        for name, _, _ in final:
            names = {n for k, ns in deps if k == name for n in ns}
            needs.append(None if names - bit.keys() else sum(bit[n] for n in names))
        # extra pairs count toward minProperties at most once (as in definition order)
        count_extra = extra is not None and lo > n_req
        more = (
            None if extra is None or hi is not None else self.b.star(self.b.seq(self.comma, extra))
        )
        full = _conditions(wits)
        memo: dict[tuple[int, int, int], str | None] = {}
        short_of_min: list[int] = []

        def complete(seen: int, e: int, w: int) -> bool:
            """Whether the object may end here (noting ends only two extra keys could reach)."""
            if (
                w != full
                or seen & required != required
                or any(seen >> i & 1 and seen & m != m for i, m in enumerate(needs) if m)
            ):
                return False
            if seen.bit_count() + min(e, 1) >= lo:
                return True
            if extra is not None and lo - seen.bit_count() > 1:
                short_of_min.append(seen)
            return False

        def state(seen: int, e: int, w: int) -> str | None:
            if hi is None and seen and not count_extra:
                e = 0  # e would only tell whether the object has started
            if (seen, e, w) in memo:
                return memo[(seen, e, w)]
            started = bool(seen) or e > 0
            pre = (self.comma,) if started else ()
            # without maxProperties, extra pairs after the first are a loop (left recursive)
            loop = more is not None and started and (e > 0 or not count_extra)
            alts: list[tuple[str, ...]] = []
            if hi is None or seen.bit_count() + e < hi:
                for i, (_, member, _) in enumerate(final):
                    done = seen >> i & 1 or needs[i] is None
                    nxt = None if done else state(seen | 1 << i, e, w)
                    if nxt is not None:
                        alts.append((*pre, member, nxt))
                nxt = state(seen, e + 1, w) if extra is not None and not loop else None
                if extra is not None and nxt is not None:
                    alts.append((*pre, extra, nxt))
                for rule, mask in wits:
                    nxt = state(seen, e + 1, w | mask) if mask & ~w else None
                    if nxt is not None:
                        alts.append((*pre, rule, nxt))
            if complete(seen, e, w):
                alts.append(())
            out = self.b.choice(*alts) if alts else None
            if out is not None and loop:
                assert more is not None  # a loop needs extra pairs
                out = self.b.seq(more, out)
            memo[(seen, e, w)] = out
            return out

        inner = state(0, 0, 0)
        state = None  # type: ignore[assignment]  # no function-cell cycle left to collect
        if inner is None and short_of_min:
            self._refuse_min_extras(o)  # lenient: minProperties is not enforced
            o = replace(o, min_props=0)
            return self._object_any_order(o, members, deps, free, wits)
        if inner is None:
            return None
        return self.b.seq(self.lbrace, inner, self.rbrace)

    def _extra_member(self, o: ObjC, declared: list[str], guard: str = "") -> str | None:
        """One ``key: value`` pair for keys beyond the declared ones, or None; ``guard``: a
        lookahead every key body must also pass."""
        add = o.additional
        add_never = add is not None and self._is_never(add)
        pats_matter = any(not (isinstance(s, Typed) and s.is_any()) for _, s in o.patterns)
        if o.patterns and (add is not None or pats_matter):
            return self._pattern_extra(o, declared, add, add_never, guard)
        if add_never:
            return None
        if o.names is not None:
            return self._named_extra(o, declared, add, guard)
        if has_surrogate("".join(declared)):
            return None
        key = self.b.lexeme('"' + guard + complement_body(declared) + '"')
        value = self.lower(add) if add is not None else self._any()
        return None if value is None else self.b.seq(key, self.colon, value)

    def _pattern_extra(
        self, o: ObjC, declared: list[str], add: Spec | None, add_never: bool, guard: str
    ) -> str | None:
        """Extra pairs under ``patternProperties``: each pattern's keys get its schema, the
        keys no pattern matches get ``additionalProperties`` (see :mod:`json_keysets`)."""
        if o.names is not None:
            # every extra key also meets propertyNames: the pairs of each of its string rules
            free = replace(o, names=None)
            parts = [
                self._pattern_extra(free, declared, add, add_never, guard + g)
                for g in self._key_guards(o.names)
            ]
            found = [x for x in parts if x is not None]
            return self.b.alt(*found) if found else None
        where = f"{o.pointer}/patternProperties"
        if has_surrogate("".join(declared)):
            return None
        try:
            regions, rest = key_sets([p for p, _ in o.patterns], declared)
        except (PatternUnsupported, KeySetTooLarge, re.error) as exc:
            why = str(exc.args[0]) if exc.args else "patterns too large to complement"
            self.p.refuse("patternProperties", where, why)
            # lenient: every extra key, with additionalProperties' value
            regions, rest = [], complement_body(declared)
        alts = []
        for inside, body in regions:
            # a key every pattern of the region matches meets all their schemas
            value = self._meet_all([o.patterns[i][1] for i in inside], where)
            if value is not None:
                key = self.b.lexeme('"' + guard + body + '"')
                alts.append(self.b.seq(key, self.colon, value))
        if rest is not None and not add_never:
            value = self.lower(add) if add is not None else self._any()
            if value is not None:
                key = self.b.lexeme('"' + guard + rest + '"')
                alts.append(self.b.seq(key, self.colon, value))
        return self.b.alt(*alts) if alts else None

    def _named_extra(
        self, o: ObjC, declared: list[str], add: Spec | None, guard: str
    ) -> str | None:
        names = self.p.deref(o.names) if o.names is not None else None
        value = self.lower(add) if add is not None else self._any()
        if value is None or names is None:
            return None
        if isinstance(names, Typed) and names.enum is not None:
            keys = [
                k
                for k in names.enum
                if isinstance(k, str) and k not in declared and self.p.matches(k, names)
            ]
            spelled = [self.b.lexeme('"' + guard + literal_body(k) + '"') for k in keys]
            alts = [self.b.seq(k, self.colon, value) for k in spelled]
            return self.b.alt(*alts) if alts else None
        rule = self._name_rule(names)
        if rule is not None:
            body = self.string_body(replace(rule, anti=()))
            if body is None:
                return None
            if declared:
                body = exclude_words(declared, body)
            avoid = self._anti_lookaheads(rule)
            key = self.b.lexeme('"' + guard + avoid + body + '"')
            return self.b.seq(key, self.colon, value)
        # one key rule per string branch (their union is the names), none declared
        rest = complement_body(declared)
        pairs = [
            self.b.seq(self.b.lexeme('"' + guard + g + rest + '"'), self.colon, value)
            for g in self._key_guards(names)
        ]
        return self.b.alt(*pairs) if pairs else None

    def _name_rule(self, names: Spec) -> StrC | None:
        """The string rules of a ``propertyNames`` schema without ``enum`` (only its
        string part matters: a branch with other kinds alone adds no name)."""
        branches = names.branches if isinstance(names, Union) else (names,)
        found: list[StrC] = []
        for b in branches:
            t = self.p.deref(b)
            if not isinstance(t, Typed) or t.enum is not None:
                return None
            if "string" in t.kinds:
                found.append(t.s)
        return found[0] if len(found) == 1 else None

    # -- helpers ----------------------------------------------------------------------------
    def _any(self) -> str:
        if self._any_name is None:
            self._any_name = self.b.rule()
            body = self._typed(Typed("", kinds=KINDS))
            assert body is not None
            self.b.define(self._any_name, [(body,)])
        return self._any_name

    def _is_never(self, spec: Spec) -> bool:
        return self.p._never(spec)


__all__ = ["Lowerer", "kind_of"]


def _shape(s: StrC) -> StrC:
    """``s`` without the pointers it carries: what a string lowers to, wherever it is."""
    return replace(
        s,
        patterns=tuple((p, "") for p, _ in s.patterns),
        formats=tuple((f, "") for f, _ in s.formats),
        anti=tuple((p, "") for p, _ in s.anti),
        anti_formats=tuple((f, "") for f, _ in s.anti_formats),
        exclude_at="",
    )


def _conditions(wits: Witnesses) -> int:
    """The conditions (bits) the witness pairs ``wits`` can meet between them."""
    return functools.reduce(operator.or_, (m for _, m in wits), 0)


def _integral(v: float) -> bool:
    """Whether ``v`` is a whole number written without an exponent by ``json.dumps``."""
    return isinstance(v, int) or (v.is_integer() and abs(v) < 1e16)


def _needed(names: set[str], deps: tuple[tuple[str, tuple[str, ...]], ...]) -> set[str]:
    """``names`` with every name a present key's dependencies require, to a fixpoint."""
    need = set(names)
    while True:
        more = {n for k, ns in deps if k in need for n in ns} - need
        if not more:
            return need
        need |= more


def _open_keys(required: set[str], deps: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    """Keys of ``deps`` that may be absent and whose names are not all ``required``."""
    return sorted({k for k, ns in deps if k not in required and not set(ns) <= required})
