"""``$ref`` resolution: which keyword changes the base URI in which draft."""

from __future__ import annotations

import pytest

from formcast.errors import SchemaError
from formcast.grammar.json_schema import grammar_from_json_schema
from formcast.testing.oracle import accepts


def _schema(draft: str, ident_key: str) -> dict:
    return {
        "$schema": draft,
        "definitions": {"n": {"type": "integer"}},
        "properties": {
            "a": {ident_key: "http://example.com/elsewhere", "$ref": "#/definitions/n"},
            "b": {
                ident_key: "http://example.com/other",
                "properties": {"c": {"$ref": "#/definitions/n"}},
            },
        },
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    ("draft", "ident_key"),
    [
        ("http://json-schema.org/draft-07/schema#", "id"),  # `id` is no keyword since draft 6
        ("http://json-schema.org/draft-04/schema#", "$id"),  # `$id` is no keyword in draft 4
    ],
)
def test_foreign_identifier_spelling_is_ignored(draft: str, ident_key: str) -> None:
    g = grammar_from_json_schema(_schema(draft, ident_key))
    assert accepts(g, '{"a": 1, "b": {"c": 2}}')
    assert not accepts(g, '{"a": 1, "b": {"c": "x"}}')


@pytest.mark.parametrize(
    ("draft", "ident_key"),
    [
        ("http://json-schema.org/draft-07/schema#", "$id"),
        ("http://json-schema.org/draft-04/schema#", "id"),
    ],
)
def test_identifier_changes_the_base(draft: str, ident_key: str) -> None:
    # under /b the base is http://example.com/other, whose document has no definitions
    with pytest.raises(SchemaError, match=r"points nowhere"):
        grammar_from_json_schema(_schema(draft, ident_key))


@pytest.mark.parametrize(
    ("base", "ref"),
    [
        ("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "#/$defs/bar"),
        ("urn:example:foo-bar-baz-qux", "#/$defs/bar"),
        ("urn:example:weather?=op=map&lat=39.56", "#/$defs/bar"),
        ("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "#something"),
        ("tag:example.com,2026:s", "#/$defs/bar"),
    ],
)
def test_urn_base_uris(base: str, ref: str) -> None:
    """A fragment resolves against a URN base (which ``urljoin`` leaves unresolved)."""
    bar = {"type": "string", "$anchor": "something"}
    schema = {"$id": base, "properties": {"foo": {"$ref": ref}}, "$defs": {"bar": bar}}
    g = grammar_from_json_schema(schema)
    assert accepts(g, '{"foo": "x"}')
    assert not accepts(g, '{"foo": 1}')
