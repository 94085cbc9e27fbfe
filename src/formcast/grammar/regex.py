"""Regex front end: a Python regex matched against the whole output becomes a one-lexeme grammar.

Lexemes are regular languages (compiled to byte DFAs through interegular), so only the
regular part of Python's ``re`` syntax is accepted. Constructs that are not regular, or that
depend on the surrounding text, are refused with :class:`~formcast.errors.UnsupportedFeatureError`
naming the construct and its offset: back-references, look-around, conditionals, atomic
groups, possessive quantifiers, anchors and word boundaries (``^ $ \\A \\Z \\b \\B``), and the
``a``/``L`` flags. Comments, the verbose flag and the no-op ``u``/``m`` flags are rewritten away,
so the pattern handed to the compiler is plain, interegular-parsable syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from formcast.errors import GrammarError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar, GrammarBuilder

__all__ = ["check_regex_supported", "grammar_from_regex", "normalize_regex"]

_QUANT_BRACE = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_SCOPED_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_KEPT_FLAGS = "is"  # understood by interegular and meaningful for a whole-lexeme match
_DROPPED_FLAGS = "um"  # no effect once anchors are refused (``u`` is the default for str)


def _excerpt(text: str, pos: int, span: int = 40) -> str:
    """Lark-style excerpt: the line around ``pos`` and a caret under it."""
    start = max(pos - span, 0)
    before = text[start:pos].rsplit("\n", 1)[-1]
    after = text[pos : pos + span].split("\n", 1)[0]
    return f"    {before}{after}\n    {' ' * len(before.expandtabs())}^"


@dataclass
class _Refusal:
    feature: str
    offset: int
    hint: str


class _Scanner:
    """One left-to-right pass: copies the pattern, drops comments and verbose whitespace,
    rewrites flag groups, and records the first unsupported construct with its offset."""

    def __init__(self, pattern: str, *, allow_lazy: bool) -> None:
        self.p = pattern
        self.allow_lazy = allow_lazy
        self.out: list[str] = []
        self.verbose_stack: list[bool] = [False]
        self.after_quant = False  # last emitted token was a quantifier (for ``*+`` / ``*?``)

    def refuse(self, feature: str, offset: int, hint: str = "") -> None:
        raise _RefusalError(_Refusal(feature, offset, hint))

    def run(self) -> str:
        p, i, n = self.p, 0, len(self.p)
        while i < n:
            c = p[i]
            verbose = self.verbose_stack[-1]
            if verbose and c in " \t\n\r\f\v":
                i += 1
                continue
            if verbose and c == "#":
                while i < n and p[i] != "\n":
                    i += 1
                continue
            if c == "\\":
                i = self._escape(i)
                self.after_quant = False
            elif c == "[":
                i = self._char_class(i)
                self.after_quant = False
            elif c == "(":
                i = self._group(i)
                self.after_quant = False
            elif c == ")":
                if len(self.verbose_stack) > 1:
                    self.verbose_stack.pop()
                self.out.append(c)
                i += 1
                self.after_quant = False
            elif c in "^$":
                self.refuse(f"anchor `{c}`", i, "the pattern always matches a whole lexeme")
            elif c in "*+?" or (c == "{" and _QUANT_BRACE.match(p, i)):
                i = self._quantifier(i)
            else:
                self.out.append(c)
                i += 1
                self.after_quant = False
        return "".join(self.out)

    def _quantifier(self, i: int) -> int:
        p = self.p
        if self.after_quant:
            # a quantifier directly after a quantifier: lazy (``?``) or possessive (``+``)
            if p[i] == "+":
                self.refuse("possessive quantifier", i, "use a plain greedy quantifier")
            if p[i] == "?" and not self.allow_lazy:
                self.refuse(
                    "lazy quantifier",
                    i,
                    "lexemes end by longest match, so laziness would change the language; "
                    "write the terminal without it (e.g. a negated character class)",
                )
            self.out.append(p[i])
            self.after_quant = False
            return i + 1
        m = _QUANT_BRACE.match(p, i) if p[i] == "{" else None
        end = m.end() if m else i + 1
        self.out.append(p[i:end])
        self.after_quant = True
        return end

    def _escape(self, i: int) -> int:
        p = self.p
        if i + 1 >= len(p):
            self.out.append("\\")  # re.compile reports it
            return i + 1
        c = p[i + 1]
        if c in "bBAZ":
            name = "word boundary" if c in "bB" else "anchor"
            self.refuse(f"{name} `\\{c}`", i, "the pattern always matches a whole lexeme")
        if c in "123456789":
            if re.match(r"[0-3][0-7]{2}", p[i + 1 : i + 4]):  # three octal digits: a character
                self.out.append(p[i : i + 4])
                return i + 4
            self.refuse(f"back-reference `\\{c}`", i, "back-references are not regular")
        if c == "N":
            self.refuse("named character escape `\\N{...}`", i, "write the character itself")
        self.out.append(p[i : i + 2])
        return i + 2

    def _char_class(self, i: int) -> int:
        p, n = self.p, len(self.p)
        j = i + 1
        if j < n and p[j] == "^":
            j += 1
        if j < n and p[j] == "]":  # a leading ``]`` is literal
            j += 1
        while j < n and p[j] != "]":
            j += 2 if p[j] == "\\" else 1
        self.out.append(p[i : j + 1])
        return j + 1

    def _group(self, i: int) -> int:
        p = self.p
        verbose = self.verbose_stack[-1]
        if not p.startswith("(?", i):
            self.verbose_stack.append(verbose)
            self.out.append("(")
            return i + 1
        rest = p[i + 2 : i + 4]
        if rest[:1] in ("=", "!") or rest in ("<=", "<!"):
            self.refuse("look-around assertion", i, "look-around is not supported by lexemes")
        if rest[:1] == ">":
            self.refuse("atomic group `(?>...)`", i, "use a plain group `(?:...)`")
        if rest[:1] == "(":
            self.refuse("conditional group `(?(...)...)`", i, "conditionals are not regular")
        if rest == "P=":
            self.refuse("back-reference `(?P=name)`", i, "back-references are not regular")
        if rest[:1] == "#":
            j = p.find(")", i)
            return len(p) if j < 0 else j + 1
        if rest == "P<":  # the name means nothing to a full match (and some are formcast's)
            self.verbose_stack.append(verbose)
            j = p.find(">", i)
            self.out.append("(" if j > 0 else "(?P<")  # re.compile reports a bad name
            return j + 1 if j > 0 else i + 4
        if rest[:1] == ":":
            self.verbose_stack.append(verbose)
            self.out.append("(?:")
            return i + 3
        m = _SCOPED_FLAGS.match(p, i)
        if not m:
            self.verbose_stack.append(verbose)
            self.out.append("(")  # re.compile reports the syntax error
            return i + 1
        on, off, kind = m.group(1), m.group(2) or "", m.group(3)
        for f in on + off:
            if f not in _KEPT_FLAGS + _DROPPED_FLAGS + "x":
                self.refuse(
                    f"regex flag `{f}`", i, f"only the flags {_KEPT_FLAGS + _DROPPED_FLAGS}x work"
                )
        if "x" in on:
            verbose = True
        if "x" in off:
            verbose = False
        keep_on = "".join(f for f in on if f in _KEPT_FLAGS)
        keep_off = "".join(f for f in off if f in _KEPT_FLAGS)
        if kind == ")":  # global flags: ``(?x)`` etc., only valid at the start
            self.verbose_stack[-1] = verbose
            if keep_on:
                self.out.append(f"(?{keep_on})")
            return m.end()
        self.verbose_stack.append(verbose)
        flags = keep_on + (f"-{keep_off}" if keep_off else "")
        self.out.append(f"(?{flags}:")
        return m.end()


class _RefusalError(Exception):
    def __init__(self, refusal: _Refusal) -> None:
        super().__init__(refusal.feature)
        self.refusal = refusal


def _where(pattern: str, where: str, offset: int) -> str:
    return f"{where + ', ' if where else ''}offset {offset} of regex {pattern!r}"


def normalize_regex(pattern: str, where: str = "", *, allow_lazy: bool = True) -> str:
    """Check ``pattern`` and rewrite it into plain syntax the lexer compiler understands.

    Parameters
    ----------
    pattern:
        A Python ``re`` pattern, meant to match a whole lexeme.
    where:
        Location prefix for error messages (a JSON Pointer, a grammar position, ...).
    allow_lazy:
        Lazy quantifiers do not change a full-match language, so they are allowed unless
        the caller relies on ``re.match`` semantics (Lark terminals do).

    Returns
    -------
    str
        An equivalent pattern (same full-match language) without comments, verbose
        whitespace or the ``u``/``m``/``x`` flags.

    Raises
    ------
    GrammarError
        ``pattern`` is not a valid Python regex.
    UnsupportedFeatureError
        The pattern uses a construct lexemes cannot express (see module docstring).
    """
    try:  # scan first: a flag re rejects (lark's ``l``) is an unsupported feature, not a typo
        out = _Scanner(pattern, allow_lazy=allow_lazy).run()
    except _RefusalError as exc:
        r = exc.refusal
        hint = (r.hint + "\n\n" if r.hint else "\n\n") + _excerpt(pattern, r.offset)
        raise UnsupportedFeatureError(r.feature, _where(pattern, where, r.offset), hint) from None
    _compile_or_raise(pattern, where)
    _compile_or_raise(out, where)
    _check_interegular(out, where)
    return out


def check_regex_supported(pattern: str, where: str = "") -> str:
    """Refuse ``pattern`` unless it can be a lexeme; return its normalized form.

    The same checks as :func:`grammar_from_regex`, for reuse by other front ends (for
    example JSON Schema ``pattern``, with ``where`` the JSON Pointer of the keyword).

    Raises
    ------
    GrammarError
        ``pattern`` is not a valid Python regex.
    UnsupportedFeatureError
        Back-references, look-around, conditionals, atomic groups, possessive
        quantifiers, anchors, word boundaries or unsupported flags.
    """
    return normalize_regex(pattern, where)


def _compile_or_raise(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        pos = exc.pos or 0
        loc = _where(pattern, where, pos)
        raise GrammarError(
            f"invalid regex: {exc.msg} (at {loc})\n\n{_excerpt(pattern, pos)}"
        ) from exc
    except (OverflowError, RecursionError) as exc:
        loc = _where(pattern, where, 0)
        msg = f"invalid regex: a repeat count or nesting too large (at {loc})"
        raise GrammarError(msg) from exc


def _check_interegular(pattern: str, where: str) -> None:
    from interegular.patterns import Unsupported, parse_pattern

    try:
        parse_pattern(pattern)
    except Unsupported as exc:
        raise UnsupportedFeatureError(
            f"regex construct ({exc})", f"{where + ', ' if where else ''}regex {pattern!r}"
        ) from exc
    except Exception as exc:  # interegular's own syntax errors on patterns re accepts
        raise UnsupportedFeatureError(
            f"regex syntax not understood by the lexer compiler ({exc})",
            f"{where + ', ' if where else ''}regex {pattern!r}",
        ) from exc


def grammar_from_regex(pattern: str) -> Grammar:
    """Grammar whose language is the full-match language of ``pattern``.

    The grammar has one rule, ``start -> REGEX``, where ``REGEX`` is the normalized pattern.

    >>> g = grammar_from_regex(r"[0-9]{3}-[0-9]{4}")
    >>> g.lexemes["REGEX"].pattern
    '[0-9]{3}-[0-9]{4}'

    Raises
    ------
    GrammarError
        ``pattern`` is not a valid Python regex.
    UnsupportedFeatureError
        See :func:`check_regex_supported`.
    """
    if not isinstance(pattern, str):
        raise GrammarError(f"expected a regex as str, got {type(pattern).__name__}")
    normalized = normalize_regex(pattern)
    b = GrammarBuilder()
    lex = b.lexeme(normalized, name="REGEX")
    start = b.rule("start")
    b.define(start, [(lex,)])
    return b.build(start)
