"""Lark front end: Lark EBNF text to the grammar IR, through lark's own grammar loader.

Lark does the heavy lifting (``%import``, templates, EBNF expansion of ``* + ? [] ~n..m``,
anonymous terminals for literals); this module maps its compiled terminals and rules onto
:class:`~formcast.grammar.ir.GrammarBuilder` and turns every failure into a typed error with a
line, a column and a caret excerpt, as lark itself prints them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from formcast.errors import GrammarError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar, GrammarBuilder
from formcast.grammar.regex import normalize_regex

__all__ = ["grammar_from_lark"]

# Readable forms of the meta-grammar's terminal names, for "expected one of" lists.
_META_NAMES = {
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LBRA": "'['",
    "_RBRA": "']'",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "OP": "an operator (+ * ?)",
    "_COLON": "':'",
    "_COMMA": "','",
    "_OR": "'|'",
    "_NL_OR": "'|'",
    "_DOT": "'.'",
    "_DOTDOT": "'..'",
    "TILDE": "'~'",
    "RULE": "a rule name",
    "TERMINAL": "a terminal name",
    "STRING": "a string literal",
    "REGEXP": "a regex literal",
    "_NL": "a newline",
    "NUMBER": "a number",
    "_TO": "'->'",
    "RULE_MODIFIERS": "a rule modifier (! or ?)",
}


def _excerpt(text: str, pos: int, span: int = 40) -> str:
    start = max(pos - span, 0)
    before = text[start:pos].rsplit("\n", 1)[-1]
    after = text[pos : pos + span].split("\n", 1)[0]
    return f"    {before}{after}\n    {' ' * len(before.expandtabs())}^"


def _located(message: str, text: str, line: int, column: int, pos: int) -> str:
    return f"{message}, at line {line} column {column}\n\n{_excerpt(text, pos)}"


class _Locations:
    """Positions of names in the grammar text, from lark's meta-parse tree."""

    def __init__(self, text: str, tree: Any) -> None:
        from lark import Token, Tree

        self.text = text
        self.first: dict[str, Any] = {}  # name -> first token mentioning it
        self.defs: dict[str, list[Any]] = {}  # name -> tokens that define it
        self.priority: dict[str, Any] = {}  # terminal -> its priority token
        self.declared: dict[str, Any] = {}
        self.relative_imports: list[Any] = []
        self.imports: list[Any] = []
        for tok in tree.scan_values(lambda v: isinstance(v, Token)):
            if tok.type in ("RULE", "TERMINAL"):
                self.first.setdefault(tok.value, tok)
        for stmt in tree.children:
            if not isinstance(stmt, Tree):
                continue
            node = stmt.children[0] if stmt.data in ("override", "extend") else stmt
            if isinstance(node, Tree) and node.data in ("term", "rule"):
                toks = [c for c in node.children if isinstance(c, Token)]
                name = next(t for t in toks if t.type in ("RULE", "TERMINAL"))
                self.defs.setdefault(name.value, []).append(name)
                if node.data == "term" and len(node.children) == 3:
                    self.priority[name.value] = node.children[1]
            elif stmt.data == "declare":
                for sym in stmt.scan_values(lambda v: isinstance(v, Token)):
                    self.declared.setdefault(sym.value, sym)
            elif stmt.data == "import":
                first = next(stmt.scan_values(lambda v: isinstance(v, Token)), None)
                if stmt.children and getattr(stmt.children[0], "data", "") == "import_rel":
                    self.relative_imports.append(first)
                self.imports.append(first)

    def at(self, message: str, tok: Any) -> str:
        if tok is None or getattr(tok, "line", None) is None:
            return message
        return _located(message, self.text, tok.line, tok.column, tok.start_pos)

    def definition(self, name: str) -> Any:
        """The token defining ``name`` (or, for imported/anonymous ones, its first use)."""
        defs = self.defs.get(name)
        return defs[0] if defs else self.first.get(name)

    def excerpt(self, tok: Any) -> str:
        if tok is None or getattr(tok, "line", None) is None:
            return ""
        return "\n\n" + _excerpt(self.text, tok.start_pos)

    def where(self, tok: Any) -> str:
        if tok is None or getattr(tok, "line", None) is None:
            return "grammar"
        return f"line {tok.line} column {tok.column}"

    def guess(self, message: str) -> Any:
        """The token a lark message most likely refers to (lark's own errors have no place)."""
        names = re.findall(r"'([^']+)'|\b([A-Za-z_][A-Za-z0-9_]*)\b", message)
        for quoted, bare in names:
            name = quoted or bare
            if "defined more than once" in message and len(self.defs.get(name, [])) > 1:
                return self.defs[name][1]
            if name in self.first:
                return self.first[name]
        return None


def _meta_parse(text: str) -> Any:
    """Parse the grammar text with lark's meta-parser; syntax errors get a location."""
    from lark.exceptions import UnexpectedInput
    from lark.load_grammar import _get_parser, _translate_parser_exception

    parser = _get_parser()
    try:
        return parser.parse(text + "\n", "start")
    except UnexpectedInput as exc:
        pos = exc.pos_in_stream or 0
        line, column = exc.line, exc.column
        if pos >= len(text):  # the error is on the newline we appended
            pos = max(len(text) - 1, 0)
        readable = None
        try:
            readable = _translate_parser_exception(parser.parse, exc)
        except Exception:
            readable = None
        expected = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ()
        names = sorted(
            {_META_NAMES.get(e, e) for e in expected if not e.startswith("_") or e in _META_NAMES}
        )
        message = f"invalid Lark grammar: {readable or 'unexpected input'}"
        located = _located(message, text, line, column, pos)
        if names:
            located += "\nExpected one of: " + ", ".join(names)
        raise GrammarError(located) from None


@functools.lru_cache(maxsize=1)
def _lark_common_rewrites() -> dict[str, str]:
    """Exact, lazy-free forms of the ``common.lark`` terminals written with lazy regexes.

    Lark's lexer uses ``re.match`` (first match, laziness counts); ours uses longest
    match over the regex language. These are the same lexemes written so both agree.
    """
    from lark.load_grammar import load_grammar

    src = "start: ESCAPED_STRING C_COMMENT\n%import common (ESCAPED_STRING, C_COMMENT)\n"
    terminals, _, _ = load_grammar(src, "<common>", [], False)[0].compile(["start"], set())
    by_name = {t.name: t.pattern.to_regexp() for t in terminals}
    return {
        by_name["ESCAPED_STRING"]: r'"(?:[^"\\\n]|\\[^\n])*"',
        by_name["C_COMMENT"]: r"/\*(?:[^*]|\*+[^*/])*\*+/",
    }


def grammar_from_lark(text: str, *, start: str = "start") -> Grammar:
    """Build a grammar from Lark EBNF text.

    Supported: rules with ``| * + ? [] ~n..m`` and groups, ``?rule``/``_rule``/``!rule``
    (only the language matters, not the tree shape), aliases, templates, string
    literals (``"if"i``), regex literals with flags ``i s m x u``, terminal definitions
    built from other terminals, ``%import common.X`` (library imports), ``%ignore``,
    ``%override`` and ``%extend``. Rule priorities (``rule.N``) only choose between trees,
    so they are ignored (a note is recorded on the grammar).

    Lexeme names are lark's terminal names (anonymous literals get lark's names, e.g.
    ``LPAR`` or ``__ANON_0``). Terminals are matched by longest match over their regex
    language; lark's ``common.ESCAPED_STRING`` and ``common.C_COMMENT`` are rewritten to
    equivalent lazy-free forms.

    Parameters
    ----------
    text:
        The grammar.
    start:
        The start rule.

    Raises
    ------
    GrammarError
        Syntax errors, undefined or duplicate symbols, a missing start rule, an import that
        cannot be found; the message has line, column and a caret excerpt.
    UnsupportedFeatureError
        Terminal priorities other than the default, ``%declare``d symbols that are used (they
        have no pattern to generate), relative imports, and regex constructs lexemes cannot
        express (look-around, back-references, lazy quantifiers, anchors, the ``l`` flag...).
    """
    from lark.exceptions import LarkError
    from lark.lexer import PatternStr
    from lark.load_grammar import TOKEN_DEFAULT_PRIORITY, load_grammar

    if not isinstance(text, str):
        raise GrammarError(f"expected Lark grammar text as str, got {type(text).__name__}")
    if not isinstance(start, str):
        raise GrammarError(f"expected the start rule name as str, got {type(start).__name__}")
    locs = _Locations(text, _meta_parse(text))
    if locs.relative_imports:
        tok = locs.relative_imports[0]
        raise UnsupportedFeatureError(
            "relative %import",
            locs.where(tok),
            "inline the imported definitions, or import from lark's library (common.X)",
        )
    try:
        lark_grammar, _ = load_grammar(text, "<string>", [], False)
        terminals, rules, ignore = lark_grammar.compile([start], set())
    except LarkError as exc:
        msg = str(exc).strip()
        raise GrammarError(locs.at(f"invalid Lark grammar: {msg}", locs.guess(msg))) from None
    except OSError as exc:
        tok = locs.imports[0] if locs.imports else None
        raise GrammarError(locs.at(f"invalid Lark grammar: %import failed: {exc}", tok)) from None
    except (AssertionError, KeyError, TypeError) as exc:  # lark's unchecked invariants
        raise GrammarError(f"invalid Lark grammar: lark failed with {exc!r}") from None

    if not any(r.origin.name == start for r in rules):
        known = sorted(locs.defs)
        raise GrammarError(
            f"start rule {start!r} is not defined; pass start= one of {known}"
            if known
            else "the grammar defines no rules"
        )

    b = GrammarBuilder()
    rewrites = _lark_common_rewrites()
    for t in terminals:
        def_tok = locs.definition(t.name)
        where = f"terminal {t.name} ({locs.where(def_tok)})"
        if t.priority != TOKEN_DEFAULT_PRIORITY:
            raise UnsupportedFeatureError(
                f"terminal priority {t.name}.{t.priority}",
                where,
                "formcast's lexer has no priorities: lexemes the parser allows are all "
                "tried, longest match wins; remove the priority or make the terminals disjoint"
                + locs.excerpt(def_tok),
            )
        regexp = t.pattern.to_regexp()
        if regexp in rewrites:
            regexp = rewrites[regexp]
        if isinstance(t.pattern, PatternStr) and not t.pattern.flags:
            pattern = regexp  # re.escape output: always supported
        else:
            pattern = normalize_regex(regexp, where, allow_lazy=False)
        b.lexeme(pattern, name=str(t.name))
    known_terms = {t.name for t in terminals}

    for name in _used_symbols(rules, ignore):
        if name in known_terms or name in {r.origin.name for r in rules}:
            continue
        tok = locs.declared.get(name)
        if tok is not None:
            raise UnsupportedFeatureError(
                f"%declare'd symbol {name} is used but has no definition",
                locs.where(tok),
                "formcast generates text, so every terminal needs a pattern; define it"
                + locs.excerpt(tok),
            )
        raise GrammarError(
            locs.at(f"symbol {name!r} is used but not defined", locs.first.get(name))
        )

    by_origin: dict[str, list[tuple[str, ...]]] = {}
    has_priority = False
    for r in rules:
        by_origin.setdefault(str(r.origin.name), []).append(tuple(str(s.name) for s in r.expansion))
        has_priority |= bool(r.options and r.options.priority)
    for name in by_origin:
        b.rule(name)
    for name, alts in by_origin.items():
        b.define(name, alts)
    grammar = b.build(start, ignore=[str(n) for n in ignore])
    if has_priority:
        grammar = replace(grammar, notes=("rule priorities ignored (they only choose trees)",))
    return grammar


def _used_symbols(rules: Any, ignore: Any) -> Iterator[str]:
    for r in rules:
        for s in r.expansion:
            yield s.name
    yield from ignore
