"""formcast: language-model output guaranteed to fit a grammar, regex or JSON Schema."""

from formcast.automata.compiled import CompiledGrammar, CompileOptions
from formcast.automata.compiled import compile_grammar as compile
from formcast.decoding.autoregressive import GenerationResult, generate, generate_stream
from formcast.errors import (
    CompileLimitError,
    FormcastError,
    GrammarError,
    IncompleteOutputError,
    MatcherError,
    SchemaError,
    TokenizerError,
    UnsupportedFeatureError,
)
from formcast.grammar.ir import Grammar, GrammarBuilder, Lexeme
from formcast.integrations.decorator import structured
from formcast.kernels.apply import apply_token_bitmask_inplace
from formcast.kernels.apply import apply_token_bitmask_inplace as apply_token_bitmask_
from formcast.kernels.bitmask import allocate_token_bitmask, reset_token_bitmask
from formcast.matcher import BatchMatcher, Matcher
from formcast.tokens.vocab import TokenizerInfo

__all__ = [
    "BatchMatcher",
    "CompileLimitError",
    "CompileOptions",
    "CompiledGrammar",
    "FormcastError",
    "GenerationResult",
    "Grammar",
    "GrammarBuilder",
    "GrammarError",
    "IncompleteOutputError",
    "Lexeme",
    "Matcher",
    "MatcherError",
    "SchemaError",
    "TokenizerError",
    "TokenizerInfo",
    "UnsupportedFeatureError",
    "allocate_token_bitmask",
    "apply_token_bitmask_",
    "apply_token_bitmask_inplace",
    "compile",
    "generate",
    "generate_stream",
    "reset_token_bitmask",
    "structured",
]
