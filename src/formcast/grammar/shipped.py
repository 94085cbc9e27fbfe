"""The Lark grammars shipped with formcast (package data ``formcast/grammars/*.lark``)."""

from __future__ import annotations

from importlib import resources

from formcast.errors import GrammarError
from formcast.grammar.ir import Grammar

__all__ = ["load_grammar", "shipped_grammar_text", "shipped_grammars"]


def shipped_grammars() -> list[str]:
    """Names of the shipped grammars, sorted (``"json"``, ``"sql"``, ...)."""
    root = resources.files("formcast").joinpath("grammars")
    return sorted(p.name[: -len(".lark")] for p in root.iterdir() if p.name.endswith(".lark"))


def shipped_grammar_text(name: str) -> str:
    """The Lark source of the shipped grammar ``name``.

    Raises
    ------
    GrammarError
        No shipped grammar has that name.
    """
    names = shipped_grammars()
    if name not in names:
        raise GrammarError(f"no shipped grammar named {name!r}; expected one of {names}")
    return resources.files("formcast").joinpath("grammars", f"{name}.lark").read_text("utf-8")


def load_grammar(name: str) -> Grammar:
    """Load a shipped grammar by name.

    >>> load_grammar("arithmetic").start
    'start'

    Raises
    ------
    GrammarError
        No shipped grammar has that name.
    """
    from formcast.grammar.lark import grammar_from_lark

    return grammar_from_lark(shipped_grammar_text(name))
