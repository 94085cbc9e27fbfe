"""Error types: one root, one subclass per stage.

Errors caused by user input also subclass :class:`ValueError`.
"""

from __future__ import annotations


class FormcastError(Exception):
    """Root of every error raised by formcast."""


class GrammarError(FormcastError, ValueError):
    """A grammar (Lark text, regex, IR) is malformed; the message names line and column."""


class SchemaError(FormcastError, ValueError):
    """A JSON Schema is invalid; ``pointer`` is the JSON Pointer of the subschema."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(f"{message} (at {pointer or '#'})")
        self.pointer = pointer


class UnsupportedFeatureError(FormcastError, ValueError):
    """A valid input uses a feature formcast cannot enforce exactly; refused, never ignored."""

    def __init__(self, feature: str, where: str = "", hint: str = "") -> None:
        msg = f"unsupported: {feature}"
        if where:
            msg += f" (at {where})"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)
        self.feature = feature
        self.where = where


class TokenizerError(FormcastError, ValueError):
    """A tokenizer or vocabulary cannot be turned into exact token bytes."""


class CompileLimitError(FormcastError):
    """A named resource limit was hit while compiling or matching."""

    def __init__(self, limit: str, value: int, hint: str = "") -> None:
        msg = f"resource limit {limit}={value} exceeded"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)
        self.limit = limit
        self.value = value


class MatcherError(FormcastError):
    """A matcher was used in a way its state does not allow (e.g. rollback too far)."""
