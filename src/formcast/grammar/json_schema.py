"""JSON Schema front end: ``grammar_from_json_schema``.

Two phases (see :mod:`formcast.grammar.json_spec` and :mod:`formcast.grammar.json_lower`):
the schema is checked against its draft's meta-schema and parsed into a typed spec, where
refs are resolved and every unsupported keyword is refused; the spec is then lowered
through the shared :class:`~formcast.grammar.ir.GrammarBuilder`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from formcast.errors import SchemaError
from formcast.grammar.ir import Grammar, derivable
from formcast.grammar.json_lower import Lowerer
from formcast.grammar.json_spec import SchemaParser

DEFAULT_MAX_WHITESPACE = 20


def grammar_from_json_schema(
    schema: Any,
    *,
    whitespace: str = "flexible",
    max_whitespace: int = DEFAULT_MAX_WHITESPACE,
    lenient: bool = False,
    property_order: str = "definition",
) -> Grammar:
    """Build a grammar whose language is the JSON text of instances valid under ``schema``.

    Parameters
    ----------
    schema:
        A JSON Schema as a dict, a boolean, or JSON text. Draft 2020-12 semantics; older
        spellings (``definitions``, array ``items``, ``additionalItems``, boolean
        ``exclusiveMinimum``) are read too, and ``$schema`` selects the meta-schema.
    whitespace:
        ``"flexible"``: JSON whitespace between tokens, each run at most
        ``max_whitespace`` characters, none before the first or after the last token;
        ``"compact"``: none at all.
    max_whitespace:
        Longest whitespace run on each side of a punctuation mark (flexible mode).
    lenient:
        Turn refusals of unsupported keywords into warnings; the grammar's ``notes`` list
        what was not enforced.
    property_order:
        ``"definition"``: object members in the schema's order (declared properties, then
        extra keys); ``"any"``: named members in any order, each at most once, extra keys
        anywhere. In objects with too many names to remember, optional declared names may
        repeat, or definition order is kept (each listed in ``notes``; see
        ``docs/json_schema.md``).

    Raises
    ------
    SchemaError
        The schema is not valid under its meta-schema (the pointer names the place), or
        no value satisfies it.
    UnsupportedFeatureError
        The schema uses a keyword or combination formcast cannot enforce exactly.

    >>> g = grammar_from_json_schema({"type": "object", "properties": {"a": {"type": "integer"}}})
    >>> g.start in g.rules
    True
    """
    if whitespace not in ("flexible", "compact"):
        raise ValueError(f"whitespace must be 'flexible' or 'compact', got {whitespace!r}")
    if not isinstance(max_whitespace, int) or max_whitespace < 0:
        raise ValueError(f"max_whitespace must be a non-negative int, got {max_whitespace!r}")
    if property_order not in ("definition", "any"):
        raise ValueError(f"property_order must be 'definition' or 'any', got {property_order!r}")
    if isinstance(schema, (str, bytes)):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc}") from exc
    options = (whitespace, max_whitespace, property_order)
    parser, grammar = _lower(schema, lenient, True, *options)
    if grammar is None and parser.format_negated:
        # maybe empty only because a negated `format` produced no string: refuse those
        parser, grammar = _lower(schema, lenient, False, *options)
    if grammar is None:
        raise SchemaError("no JSON value satisfies this schema (as formcast enforces it)", "")
    if parser.notes:
        grammar = replace(grammar, notes=tuple(parser.notes))
    return grammar


def _lower(
    schema: Any,
    lenient: bool,
    negate_formats: bool,
    whitespace: str,
    max_whitespace: int,
    property_order: str,
) -> tuple[SchemaParser, Grammar | None]:
    """Parse and lower ``schema``; the grammar is None when no value is left."""
    parser = SchemaParser(schema, lenient=lenient, negate_formats=negate_formats)
    root = parser.spec("")
    lowerer = Lowerer(
        parser,
        whitespace=whitespace,
        max_whitespace=max_whitespace,
        property_order=property_order,
    )
    start = lowerer.lower(root)
    grammar = None
    if start is not None:
        grammar = lowerer.b.build(
            start, distinct=sorted(lowerer.distinct), once=sorted(lowerer.once)
        )
    if grammar is None or not _productive(grammar):  # e.g. {"$ref": "#"}: no way out
        return parser, None
    return parser, grammar


def _productive(grammar: Grammar) -> bool:
    """Whether the start symbol derives at least one string."""
    rules = [(lhs, alt) for lhs, alts in grammar.rules.items() for alt in alts]
    return grammar.start in derivable(rules, set(grammar.lexemes))
