"""pydantic front end: a model or type → its JSON Schema → the JSON Schema front end."""

from __future__ import annotations

from typing import Any

from formcast.grammar.ir import Grammar


def grammar_from_pydantic(model_or_type: Any, **options: Any) -> Grammar:
    """Build a grammar for the JSON that ``model_or_type`` validates.

    ``model_or_type`` is a pydantic model class or any type pydantic understands
    (``list[int]``, ``Literal[...]``, an ``Enum``, ``Annotated[int, Field(ge=0)]``).
    ``options`` are those of :func:`~formcast.grammar.json_schema.grammar_from_json_schema`.

    Raises
    ------
    UnsupportedFeatureError
        The generated schema uses a keyword formcast cannot enforce exactly.
    """
    import pydantic

    from formcast.grammar.json_schema import grammar_from_json_schema

    schema = pydantic.TypeAdapter(model_or_type).json_schema(mode="validation")
    return grammar_from_json_schema(schema, **options)
