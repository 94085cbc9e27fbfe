"""pydantic front end: generated text validates with the model itself."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Literal, Optional

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formcast.grammar.ir import Grammar
from formcast.testing.oracle import accepts


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Inner(pydantic.BaseModel):
    tag: Literal["a", "b"]
    weight: Annotated[int, pydantic.Field(ge=0, le=100)]


class Outer(pydantic.BaseModel):
    name: Annotated[str, pydantic.Field(min_length=1, max_length=8)]
    color: Color
    items: list[int]
    inner: Inner
    note: Optional[str] = None  # noqa: UP045 - the spelling under test


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return Grammar.from_pydantic(Outer)


def test_simple_types() -> None:
    g = Grammar.from_pydantic(list[int])
    assert accepts(g, "[1, 2]") and not accepts(g, '["x"]')
    g = Grammar.from_pydantic(Literal["x", "y"])
    assert accepts(g, '"x"') and not accepts(g, '"z"')
    g = Grammar.from_pydantic(Color)
    assert accepts(g, '"red"') and not accepts(g, '"blue"')


_outer = st.builds(
    Outer,
    name=st.text(min_size=1, max_size=8),
    color=st.sampled_from(Color),
    items=st.lists(st.integers(-(10**6), 10**6), max_size=4),
    inner=st.builds(Inner, tag=st.sampled_from(["a", "b"]), weight=st.integers(0, 100)),
    note=st.none() | st.text(max_size=5),
)


@settings(max_examples=30, deadline=None)
@given(_outer)
def test_model_instances_accepted(grammar: Grammar, model: Outer) -> None:
    text = model.model_dump_json()
    assert accepts(grammar, text)
    assert accepts(grammar, json.dumps(json.loads(text), indent=2))


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "", "color": "red", "items": [], "inner": {"tag": "a", "weight": 1}}',
        '{"name": "x", "color": "blue", "items": [], "inner": {"tag": "a", "weight": 1}}',
        '{"name": "x", "color": "red", "items": [1.5], "inner": {"tag": "a", "weight": 1}}',
        '{"name": "x", "color": "red", "items": [], "inner": {"tag": "c", "weight": 1}}',
        '{"name": "x", "color": "red", "items": [], "inner": {"tag": "a", "weight": 101}}',
        '{"name": "x", "color": "red", "items": []}',
    ],
)
def test_invalid_rejected(grammar: Grammar, text: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Outer.model_validate_json(text)
    assert not accepts(grammar, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "x", "color": "red", "items": [], "inner": {"tag": "a", "weight": 1}}',
        '{"name": "é", "color": "green", "items": [-1], "inner": {"tag": "b", "weight": 0},'
        ' "note": null}',
    ],
)
def test_accepted_text_validates(grammar: Grammar, text: str) -> None:
    assert accepts(grammar, text)
    Outer.model_validate_json(text)


def test_objects_are_closed_unless_the_model_allows_extra_keys() -> None:
    from formcast.grammar.pydantic import _close_objects

    class Person(pydantic.BaseModel):
        name: str

    class Loose(pydantic.BaseModel, extra="allow"):
        a: int

    class Outer(pydantic.BaseModel):
        properties: Person  # a property named like the keyword
        loose: Loose
        tags: dict[str, int]

    schema = _close_objects(pydantic.TypeAdapter(Outer).json_schema())
    assert schema["additionalProperties"] is False
    assert "additionalProperties" not in schema["properties"]["properties"]
    assert schema["$defs"]["Person"]["additionalProperties"] is False
    assert schema["$defs"]["Loose"]["additionalProperties"] is True
    assert schema["properties"]["tags"]["additionalProperties"] == {"type": "integer"}
    assert _close_objects(True) is True


def test_closed_grammar_rejects_extra_keys_open_one_accepts() -> None:
    class Point(pydantic.BaseModel):
        x: int

    extra = '{"x": 1, "y": 2}'
    assert not accepts(Grammar.from_pydantic(Point), extra)
    assert accepts(Grammar.from_pydantic(Point, closed=False), extra)
    assert accepts(Grammar.from_pydantic(Point), '{"x": 1}')
