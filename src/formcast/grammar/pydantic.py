"""pydantic front end: a model or type → its JSON Schema → the JSON Schema front end."""

from __future__ import annotations

from typing import Any

from formcast.grammar.ir import Grammar


def grammar_from_pydantic(model_or_type: Any, *, closed: bool = True, **options: Any) -> Grammar:
    """Build a grammar for the JSON that ``model_or_type`` validates.

    ``model_or_type`` is a pydantic model class or any type pydantic understands
    (``list[int]``, ``Literal[...]``, an ``Enum``, ``Annotated[int, Field(ge=0)]``).
    With ``closed`` (default), objects whose schema says nothing about extra keys (pydantic's
    default ``extra="ignore"``) admit none: the model would drop them anyway, and a weak model
    could otherwise wander through junk keys. ``extra="allow"`` models keep their extras.
    ``options`` are those of :func:`~formcast.grammar.json_schema.grammar_from_json_schema`.

    Raises
    ------
    UnsupportedFeatureError
        The generated schema uses a keyword formcast cannot enforce exactly.
    """
    import pydantic

    from formcast.grammar.json_schema import grammar_from_json_schema

    schema = pydantic.TypeAdapter(model_or_type).json_schema(mode="validation")
    if closed:
        schema = _close_objects(schema)
    return grammar_from_json_schema(schema, **options)


_OPEN_KEYS = ("additionalProperties", "patternProperties", "unevaluatedProperties")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)


def _close_objects(schema: Any) -> Any:
    """A copy of ``schema`` where objects with ``properties`` admit no other keys."""
    if not isinstance(schema, dict):
        return schema  # a boolean schema
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _close_objects(sub) for name, sub in out[key].items()}
    for key in (*_SCHEMA_LISTS, *_SCHEMA_ONE):
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [_close_objects(sub) for sub in value]
        elif value is not None:
            out[key] = _close_objects(value)
    if "properties" in out and not any(k in out for k in _OPEN_KEYS):
        out["additionalProperties"] = False
    return out
