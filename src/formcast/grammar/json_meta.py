"""Meta-schema validation of JSON Schemas: one table-driven walk per draft.

For every keyword that a draft's meta-schema constrains, a table gives the shape its
value must have (a schema, an array of schemas, a non-negative integer, a regex, ...);
:func:`check_schema` walks the schema once, descending only where the meta-schema
does, and raises :class:`~formcast.errors.SchemaError` at the first bad value.

It accepts exactly what ``jsonschema``'s ``check_schema`` accepts for drafts 4, 6, 7,
2019-09 and 2020-12 on JSON data (``tests/test_json_meta.py`` checks this against
``jsonschema`` as the oracle), with two deliberate differences: objects and arrays must
be ``dict`` and ``list`` (other ``Mapping`` or sequence types are refused), and a
``pattern`` that makes Python's ``re`` raise ``OverflowError`` or ``RecursionError``
(where ``jsonschema`` crashes) is an invalid regex. Formats other than ``regex`` are
not checked, as ``jsonschema`` does not check them without optional packages.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urldefrag

from formcast.errors import SchemaError

#: drafts in the order they are tried when ``$schema`` names none of them
DRAFTS = ("draft2020-12", "draft2019-09", "draft7", "draft6", "draft4")
_META_URIS = {
    "draft2020-12": "https://json-schema.org/draft/2020-12/schema",
    "draft2019-09": "https://json-schema.org/draft/2019-09/schema",
    "draft7": "http://json-schema.org/draft-07/schema",
    "draft6": "http://json-schema.org/draft-06/schema",
    "draft4": "http://json-schema.org/draft-04/schema",
}
_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_TYPE_EXPECTED = (
    f"a type name ({', '.join(sorted(_SIMPLE_TYPES))}) or a non-empty array of distinct ones"
)
_ID_2019 = re.compile(r"^[^#]*#?$")
_ANCHOR_2019 = re.compile(r"^[A-Za-z][-A-Za-z0-9.:_]*$")
_ANCHOR_2020 = re.compile(r"^[A-Za-z_][-A-Za-z0-9._]*$")


class _Invalid(Exception):
    """The first meta-schema violation: where (JSON Pointer) and what was expected."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


def check_meta(root: Any) -> str:
    """Check ``root`` against its draft's meta-schema and return the draft's name.

    ``$schema`` picks the draft when it names draft 4, 6 or 7; otherwise the drafts of
    :data:`DRAFTS` are tried in order and the first that accepts ``root`` is returned.

    Raises
    ------
    SchemaError
        ``root`` is valid under no candidate draft; the message and pointer are those
        of the first candidate's first violation.
    """
    if not isinstance(root, (dict, bool)):
        raise SchemaError(f"a schema must be an object or a boolean, got {type(root).__name__}")
    declared = root.get("$schema") if isinstance(root, dict) else None
    order: tuple[str, ...] = DRAFTS
    if isinstance(declared, str):
        # the 2019-09 and 2020-12 URIs are https and never match after this rewrite:
        # those two drafts are told apart by trying them, newest first
        uri = urldefrag(declared)[0].rstrip("/")
        uri = uri.replace("https://json-schema.org", "http://json-schema.org")
        order = tuple(d for d in DRAFTS if _META_URIS[d] == uri) or DRAFTS
    first: _Invalid | None = None
    for draft in order:
        try:
            _Checker(draft).schema(root, "")
        except _Invalid as exc:
            first = first or exc
            continue
        return draft
    assert first is not None  # the loop ran at least once
    raise SchemaError(f"invalid schema: {first.message}", first.pointer)


def check_schema(schema: Any, draft: str) -> None:
    """Check ``schema`` against the meta-schema of ``draft`` (one of :data:`DRAFTS`).

    Raises
    ------
    SchemaError
        At the JSON Pointer of the first value the meta-schema forbids.
    """
    try:
        _Checker(draft).schema(schema, "")
    except _Invalid as exc:
        raise SchemaError(f"invalid schema: {exc.message}", exc.pointer) from None


# ----------------------------------------------------------------------------- values


def _join(pointer: str, key: object) -> str:
    part = str(key)
    if "~" in part or "/" in part:
        part = part.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{part}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value!r}"[:80]
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    if type(value) is int or type(value) is float:
        return True
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_regex(text: str) -> bool:
    try:
        re.compile(text)
    except (re.error, OverflowError, RecursionError):
        return False
    return True


def _key(value: Any) -> object:
    """A hashable key equal for JSON-equal values (``1 == 1.0``, ``True != 1``)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, list):
        return ("l", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _key(v)) for k, v in value.items()))
    return ("v", value)


def _unique(values: list[Any]) -> bool:
    if all(type(v) is str for v in values):
        return len(set(values)) == len(values)
    try:
        return len({_key(v) for v in values}) == len(values)
    except TypeError:  # an unhashable non-JSON value: compare pairwise
        keys = [_key(v) for v in values]
        return all(keys[i] not in keys[:i] for i in range(len(keys)))


# ----------------------------------------------------------------------------- the walk

_Rule = Callable[["_Checker", Any, str, str], None]


class _Checker:
    """One draft's checker; ``schema`` raises :class:`_Invalid` at the first violation."""

    def __init__(self, draft: str) -> None:
        self.rules = _RULES[draft]
        self.draft4 = draft == "draft4"

    def fail(self, pointer: str, expected: str, value: Any) -> None:
        raise _Invalid(pointer, f"expected {expected}, got {_kind(value)}")

    def schema(self, node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            rules = self.rules
            for key, value in node.items():
                rule = rules.get(key)
                if rule is not None:
                    rule(self, value, pointer, key)
            if self.draft4:
                for bound in ("Maximum", "Minimum"):
                    if f"exclusive{bound}" in node and bound.lower() not in node:
                        raise _Invalid(
                            _join(pointer, f"exclusive{bound}"),
                            f"'exclusive{bound}' needs '{bound.lower()}' beside it (draft 4)",
                        )
        elif not isinstance(node, bool) or self.draft4:
            self.fail(pointer, "a schema (an object)" if self.draft4 else "a schema", node)

    def integer(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return not self.draft4 and isinstance(value, float) and value.is_integer()

    def string_array(self, value: Any, pointer: str) -> None:
        if not isinstance(value, list):
            self.fail(pointer, "an array of strings", value)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(_join(pointer, i), "a string", item)
        if self.draft4 and not value:
            self.fail(pointer, "a non-empty array of strings (draft 4)", value)
        if len(set(value)) != len(value):
            raise _Invalid(pointer, f"{value!r} has non-unique elements")


def _string(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, str):
        c.fail(_join(pointer, key), "a string", value)


def _boolean(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, bool):
        c.fail(_join(pointer, key), "a boolean", value)


def _number(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not _is_number(value):
        c.fail(_join(pointer, key), "a number", value)


def _positive(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not _is_number(value) or value <= 0:
        c.fail(_join(pointer, key), "a number greater than 0", value)


def _count(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not c.integer(value) or value < 0:
        c.fail(_join(pointer, key), "a non-negative integer", value)


def _regex(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, str):
        c.fail(_join(pointer, key), "a string", value)
    elif not _is_regex(value):
        raise _Invalid(_join(pointer, key), f"{value!r} is not a 'regex' (Python re)")


def _sub(c: _Checker, value: Any, pointer: str, key: str) -> None:
    c.schema(value, _join(pointer, key))


def _sub_or_bool(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, bool):
        c.schema(value, _join(pointer, key))


def _sub_array(c: _Checker, value: Any, pointer: str, key: str) -> None:
    at = _join(pointer, key)
    if not isinstance(value, list) or not value:
        c.fail(at, "a non-empty array of schemas", value)
    for i, item in enumerate(value):
        c.schema(item, _join(at, i))


def _items(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if isinstance(value, list):
        _sub_array(c, value, pointer, key)
    else:
        c.schema(value, _join(pointer, key))


def _entries(
    c: _Checker, value: Any, pointer: str, key: str, expected: str
) -> Iterator[tuple[str, Any, str]]:
    """(name, value, pointer) of each entry of the object ``value`` at ``pointer/key``."""
    at = _join(pointer, key)
    if not isinstance(value, dict):
        c.fail(at, expected, value)
    for name, item in value.items():
        yield name, item, _join(at, name)


def _sub_map(c: _Checker, value: Any, pointer: str, key: str) -> None:
    for _, item, at in _entries(c, value, pointer, key, "an object of schemas"):
        c.schema(item, at)


def _pattern_map(c: _Checker, value: Any, pointer: str, key: str) -> None:
    for name, item, at in _entries(c, value, pointer, key, "an object of schemas"):
        if not _is_regex(name):
            raise _Invalid(at, f"{name!r} is not a 'regex' (Python re)")
        c.schema(item, at)


def _dependencies(c: _Checker, value: Any, pointer: str, key: str) -> None:
    for _, item, at in _entries(c, value, pointer, key, "an object"):
        if isinstance(item, list):
            c.string_array(item, at)
        else:
            c.schema(item, at)


def _string_array(c: _Checker, value: Any, pointer: str, key: str) -> None:
    c.string_array(value, _join(pointer, key))


def _string_array_map(c: _Checker, value: Any, pointer: str, key: str) -> None:
    for _, item, at in _entries(c, value, pointer, key, "an object of string arrays"):
        c.string_array(item, at)


def _type(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if isinstance(value, str) and value in _SIMPLE_TYPES:
        return
    if not (
        isinstance(value, list)
        and value
        and all(isinstance(item, str) and item in _SIMPLE_TYPES for item in value)
        and len(set(value)) == len(value)
    ):
        c.fail(_join(pointer, key), _TYPE_EXPECTED, value)


def _enum(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, list):
        c.fail(_join(pointer, key), "an array", value)
    if c.draft4 and not (value and _unique(value)):
        c.fail(_join(pointer, key), "a non-empty array of unique values (draft 4)", value)


def _array(c: _Checker, value: Any, pointer: str, key: str) -> None:
    if not isinstance(value, list):
        c.fail(_join(pointer, key), "an array", value)


def _matching(pattern: re.Pattern[str]) -> _Rule:
    def rule(c: _Checker, value: Any, pointer: str, key: str) -> None:
        if not isinstance(value, str):
            c.fail(_join(pointer, key), "a string", value)
        elif not pattern.search(value):
            raise _Invalid(_join(pointer, key), f"{value!r} does not match {pattern.pattern!r}")

    return rule


def _vocabulary(c: _Checker, value: Any, pointer: str, key: str) -> None:
    at = _join(pointer, key)
    if not isinstance(value, dict):
        c.fail(at, "an object of booleans", value)
    for name, item in value.items():
        if not isinstance(item, bool):
            c.fail(_join(at, name), "a boolean", item)


# ----------------------------------------------------------------------------- the tables

_NUMBERS: dict[str, _Rule] = {
    "multipleOf": _positive,
    "maximum": _number,
    "minimum": _number,
    "maxLength": _count,
    "minLength": _count,
    "pattern": _regex,
    "maxItems": _count,
    "minItems": _count,
    "uniqueItems": _boolean,
    "maxProperties": _count,
    "minProperties": _count,
    "required": _string_array,
    "enum": _enum,
    "type": _type,
    "format": _string,
    "title": _string,
    "description": _string,
    "$schema": _string,
    "properties": _sub_map,
    "definitions": _sub_map,
    "dependencies": _dependencies,
    "allOf": _sub_array,
    "anyOf": _sub_array,
    "oneOf": _sub_array,
    "not": _sub,
}
_DRAFT4 = {
    **_NUMBERS,
    "id": _string,
    "exclusiveMaximum": _boolean,
    "exclusiveMinimum": _boolean,
    "additionalItems": _sub_or_bool,
    "additionalProperties": _sub_or_bool,
    "items": _items,
    "patternProperties": _sub_map,
}
_DRAFT6 = {
    **_NUMBERS,
    "$id": _string,
    "$ref": _string,
    "examples": _array,
    "exclusiveMaximum": _number,
    "exclusiveMinimum": _number,
    "additionalItems": _sub,
    "additionalProperties": _sub,
    "items": _items,
    "contains": _sub,
    "patternProperties": _pattern_map,
    "propertyNames": _sub,
}
_DRAFT7 = {
    **_DRAFT6,
    "$comment": _string,
    "readOnly": _boolean,
    "contentMediaType": _string,
    "contentEncoding": _string,
    "if": _sub,
    "then": _sub,
    "else": _sub,
}
_DRAFT2019 = {
    **_DRAFT7,
    "$id": _matching(_ID_2019),
    "$anchor": _matching(_ANCHOR_2019),
    "$recursiveRef": _string,
    "$recursiveAnchor": _boolean,
    "$vocabulary": _vocabulary,
    "$defs": _sub_map,
    "unevaluatedItems": _sub,
    "unevaluatedProperties": _sub,
    "dependentSchemas": _sub_map,
    "maxContains": _count,
    "minContains": _count,
    "dependentRequired": _string_array_map,
    "deprecated": _boolean,
    "writeOnly": _boolean,
    "contentSchema": _sub,
}
_DRAFT2020 = {
    **{k: v for k, v in _DRAFT2019.items() if k != "additionalItems"},
    "$anchor": _matching(_ANCHOR_2020),
    "$dynamicRef": _string,
    "$dynamicAnchor": _matching(_ANCHOR_2020),
    "$recursiveAnchor": _matching(_ANCHOR_2020),
    "prefixItems": _sub_array,
    "items": _sub,
}
_RULES: dict[str, dict[str, _Rule]] = {
    "draft4": _DRAFT4,
    "draft6": _DRAFT6,
    "draft7": _DRAFT7,
    "draft2019-09": _DRAFT2019,
    "draft2020-12": _DRAFT2020,
}
