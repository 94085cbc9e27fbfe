"""Meta-schema checks (:mod:`formcast.grammar.json_meta`) agree with ``jsonschema``.

``jsonschema``'s ``check_schema`` is the oracle, for every draft, over the JSON Schema Test
Suite (its schemas and the schema-shaped instances it validates), a MaskBench sample, and
schemas mutated by hypothesis so that keywords get wrongly typed values. The draft that
``check_meta`` picks is compared with the one the ``jsonschema``-based selection picked.
"""

from __future__ import annotations

import copy
import json
import pathlib
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from formcast.errors import SchemaError
from formcast.grammar import json_meta
from formcast.grammar.ir import Grammar
from formcast.grammar.json_meta import DRAFTS, check_meta, check_schema
from formcast.testing.oracle import accepts

DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SUITE = DATA / "json-schema-test-suite" / "tests"
MASKBENCH = DATA / "maskbench"
VALIDATORS: dict[str, Any] = {
    "draft2020-12": jsonschema.Draft202012Validator,
    "draft2019-09": jsonschema.Draft201909Validator,
    "draft7": jsonschema.Draft7Validator,
    "draft6": jsonschema.Draft6Validator,
    "draft4": jsonschema.Draft4Validator,
}


def oracle(schema: Any, draft: str) -> bool:
    """``jsonschema``'s verdict; a regex that crashes ``re`` counts as invalid (documented)."""
    try:
        VALIDATORS[draft].check_schema(schema)
    except (jsonschema.exceptions.SchemaError, OverflowError, RecursionError):
        return False
    return True


def ours(schema: Any, draft: str) -> bool:
    try:
        check_schema(schema, draft)
    except SchemaError:
        return False
    return True


def oracle_draft(root: Any) -> str | None:
    """The draft selection formcast made with ``jsonschema`` (None: invalid)."""
    declared = root.get("$schema") if isinstance(root, dict) else None
    order = list(VALIDATORS)
    if isinstance(declared, str):
        uri = urldefrag(declared)[0].rstrip("/")
        uri = uri.replace("https://json-schema.org", "http://json-schema.org")
        for name, cls in VALIDATORS.items():
            if urldefrag(cls.META_SCHEMA["$schema"])[0].rstrip("/") == uri:
                order = [name]
                break
    return next((name for name in order if oracle(root, name)), None)


def ours_draft(root: Any) -> str | None:
    try:
        return check_meta(root)
    except SchemaError:
        return None


def disagreements(schemas: Iterator[tuple[str, Any]]) -> tuple[int, list[str]]:
    """Number of (schema, draft) pairs the oracle rejects, and every disagreement."""
    rejected, bad = 0, []
    for name, schema in schemas:
        for draft in DRAFTS:
            want = oracle(schema, draft)
            rejected += not want
            if ours(schema, draft) != want:
                bad.append(f"{draft} {name}: jsonschema says {'valid' if want else 'invalid'}")
        if isinstance(schema, (dict, bool)) and ours_draft(schema) != oracle_draft(schema):
            bad.append(f"draft selection differs for {name}")
    return rejected, bad


def _suite() -> Iterator[tuple[str, Any]]:
    for path in sorted(SUITE.rglob("*.json")):
        for group in json.loads(path.read_text()):
            where = f"{path.relative_to(SUITE)}: {group['description']}"
            yield where, group["schema"]
            for case in group["tests"]:
                if isinstance(case["data"], (dict, bool)):
                    yield f"{where}: {case['description']}", case["data"]


@pytest.mark.skipif(not SUITE.is_dir(), reason="JSON Schema Test Suite not available")
def test_agrees_on_the_test_suite() -> None:
    rejected, bad = disagreements(_suite())
    assert rejected > 300  # the corpus exercises rejections, not only acceptances
    assert not bad, bad[:20]


@pytest.mark.skipif(not MASKBENCH.is_dir(), reason="MaskBench data not available")
def test_agrees_on_maskbench_sample() -> None:
    files = sorted(p for p in MASKBENCH.glob("*.json") if p.stat().st_size < 20_000)
    sample = random.Random(7).sample(files, min(250, len(files)))
    rejected, bad = disagreements((p.name, json.loads(p.read_text())["schema"]) for p in sample)
    assert rejected  # a few drafts refuse a few of them
    assert not bad, bad[:20]


# ----------------------------------------------------------------------------- mutations

SEEDS: list[Any] = [
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"enum": [1, "x"]}},
        "required": ["a"],
        "definitions": {"n": {"type": ["string", "null"], "maxLength": 3}},
        "dependencies": {"a": ["b"], "b": {"not": {"type": "array"}}},
        "items": [{"type": "number", "multipleOf": 0.5}],
        "additionalItems": False,
    },
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "properties": {"s": {"type": "string", "pattern": "^a+$", "format": "date"}},
        "patternProperties": {"^x-": {"const": 1}},
        "if": {"required": ["s"]},
        "then": {"propertyNames": {"maxLength": 4}},
        "contains": {"exclusiveMinimum": 2},
        "examples": [{}],
    },
    {
        "$defs": {"t": {"$anchor": "T", "prefixItems": [{"type": "boolean"}], "items": False}},
        "$ref": "#/$defs/t",
        "$id": "https://example.com/s.json",
        "dependentRequired": {"a": ["b", "c"]},
        "dependentSchemas": {"a": {"minProperties": 1}},
        "unevaluatedProperties": {"type": "string"},
        "anyOf": [{"maxContains": 2, "minContains": 1}, True],
        "$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": True},
        "$dynamicAnchor": "meta",
        "deprecated": False,
    },
    {"$schema": "https://json-schema.org/draft/2019-09/schema", "$recursiveAnchor": True},
]
KEYWORDS = sorted(set().union(*json_meta._RULES.values()) | {"x-custom", "nullable"})
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, -1.0, 1e300]),
    st.sampled_from(["", "string", "integer", "^a$", "(", "a{99999999999}", "#x", "A#", "x\n"]),
)
VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from([*KEYWORDS, "a"]), inner)
    ),
    max_leaves=6,
)


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object inside ``node``, itself first."""
    if isinstance(node, dict):
        out, children = [node], list(node.values())
    elif isinstance(node, list):
        out, children = [], node
    else:
        return []
    for child in children:
        out += _objects(child)
    return out


@given(
    seed=st.sampled_from(range(len(SEEDS))),
    where=st.integers(0, 1000),
    key=st.sampled_from(KEYWORDS),
    value=VALUES,
)
@example(seed=0, where=0, key="exclusiveMaximum", value=True)
@example(seed=0, where=0, key="enum", value=[1, 1.0])
@example(seed=0, where=0, key="enum", value=[[1], [True]])
@example(seed=2, where=0, key="$anchor", value="x\n")
@example(seed=1, where=0, key="minLength", value=1.0)
@example(seed=0, where=0, key="minLength", value=1.0)
@example(seed=1, where=0, key="pattern", value="a{99999999999}")
def test_agrees_on_mutated_schemas(seed: int, where: int, key: str, value: Any) -> None:
    schema = copy.deepcopy(SEEDS[seed])
    objects = _objects(schema)
    objects[where % len(objects)][key] = value
    for draft in DRAFTS:
        assert ours(schema, draft) == oracle(schema, draft), (draft, schema)
    assert ours_draft(schema) == oracle_draft(schema), schema


# ----------------------------------------------------------------------------- messages


def test_error_names_pointer_and_expectation() -> None:
    with pytest.raises(SchemaError) as info:
        check_meta({"properties": {"a/b": {"items": [{"minLength": -1}]}}})
    # 2020-12 is tried first and refuses the array form of items
    assert info.value.pointer == "/properties/a~1b/items"
    with pytest.raises(SchemaError) as info:
        check_meta({"$schema": "http://json-schema.org/draft-07/schema#", "minLength": -1})
    assert info.value.pointer == "/minLength"
    assert "non-negative integer" in str(info.value)


def test_draft_selection() -> None:
    assert check_meta({"$schema": "http://json-schema.org/draft-04/schema#"}) == "draft4"
    assert check_meta({"$schema": "https://json-schema.org/draft-07/schema"}) == "draft7"
    assert check_meta(True) == "draft2020-12"
    # valid only where items may be an array: an older draft is picked
    assert check_meta({"items": [{}]}) == "draft2019-09"
    # patternProperties keys are regexes from draft 6 on
    assert check_meta({"patternProperties": {"(": {}}}) == "draft4"
    with pytest.raises(SchemaError):
        check_meta([])


@pytest.mark.parametrize(
    ("draft", "schema", "text"),
    [
        ("draft-04", {"if": {"type": "string"}, "then": {"minLength": 3}}, '"a"'),
        ("draft-04", {"const": 1}, "2"),
        ("draft-06", {"if": {"type": "string"}, "else": False}, "1"),
        ("draft-07", {"dependentRequired": {"a": ["b"]}}, '{"a": 1}'),
    ],
)
def test_keywords_unknown_to_the_declared_draft_are_ignored(
    draft: str, schema: dict, text: str
) -> None:
    declared = {"$schema": f"http://json-schema.org/{draft}/schema#", **schema}
    validator = jsonschema.validators.validator_for(declared)
    assert validator(declared).is_valid(json.loads(text))  # as jsonschema reads it
    g = Grammar.from_json_schema(declared)
    assert accepts(g, text)
    assert all(n.startswith("ignored: ") for n in g.notes) and g.notes
    # without `$schema` the draft is only inferred: every keyword stays enforced
    assert not accepts(Grammar.from_json_schema(schema), text)
