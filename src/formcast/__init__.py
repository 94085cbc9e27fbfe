"""formcast: language-model output guaranteed to fit a grammar, regex or JSON Schema."""

from formcast.automata.compiled import CompiledGrammar, CompileOptions
from formcast.automata.compiled import compile_grammar as compile
from formcast.errors import (
    CompileLimitError,
    FormcastError,
    GrammarError,
    MatcherError,
    SchemaError,
    TokenizerError,
    UnsupportedFeatureError,
)
from formcast.grammar.ir import Grammar, GrammarBuilder, Lexeme
from formcast.matcher import BatchMatcher, Matcher, allocate_token_bitmask
from formcast.tokens.vocab import TokenizerInfo

__all__ = [
    "BatchMatcher",
    "CompileLimitError",
    "CompileOptions",
    "CompiledGrammar",
    "FormcastError",
    "Grammar",
    "GrammarBuilder",
    "GrammarError",
    "Lexeme",
    "Matcher",
    "MatcherError",
    "SchemaError",
    "TokenizerError",
    "TokenizerInfo",
    "UnsupportedFeatureError",
    "allocate_token_bitmask",
    "compile",
]
