"""Error types: one root, one subclass per stage.

Errors caused by user input also subclass :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Sequence


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


class IncompleteOutputError(FormcastError):
    """``max_tokens`` ran out before the output was a complete sentence of the grammar.

    ``partial_text`` holds what was generated (a valid prefix); ``tokens`` its token ids.
    """

    def __init__(
        self, partial_text: str, *, max_tokens: int | None = None, tokens: Sequence[int] = ()
    ) -> None:
        shown = partial_text if len(partial_text) <= 200 else "…" + partial_text[-200:]
        where = f"max_tokens={max_tokens}" if max_tokens is not None else "max_tokens"
        super().__init__(
            f"{where} reached before the output was complete; partial output: {shown!r}. "
            "Raise max_tokens, or bound the output's length in the grammar or schema"
        )
        self.partial_text = partial_text
        self.tokens = list(tokens)
