"""Conformance: a fixed MaskBench sample and the JSON Schema Test Suite against a baseline.

MaskBench: for every sampled schema that compiles, each valid instance is accepted (as
``json.dumps`` and ``indent=2`` text) and each invalid one rejected: zero tolerance.
Test Suite: per file, the counts of cases compiled / refused and of wrong answers are
compared with ``tests/data/json_schema_suite_baseline.json``; wrongly *accepted*
instances must be zero, the rest may only improve. Regenerate the baseline with
``FORMCAST_UPDATE_BASELINE=1 pytest tests/test_json_schema_conformance.py``.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import warnings

import pytest

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.json_schema import grammar_from_json_schema
from formcast.testing.oracle import accepts

DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MASKBENCH = DATA / "maskbench"
SUITE = DATA / "json-schema-test-suite" / "tests"
BASELINE = pathlib.Path(__file__).parent / "data" / "json_schema_suite_baseline.json"
SAMPLE_SIZE = 150
MAX_SCHEMA_BYTES = 2500  # keep the sample fast: big schemas are covered by the census script


def _depth(v: object) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _sample() -> list[pathlib.Path]:
    if not MASKBENCH.is_dir():
        return []
    files = sorted(p for p in MASKBENCH.glob("*.json") if p.stat().st_size < MAX_SCHEMA_BYTES)
    return sorted(random.Random(1234).sample(files, min(SAMPLE_SIZE, len(files))))


@pytest.mark.skipif(
    not MASKBENCH.is_dir() and not os.environ.get("CI"), reason="MaskBench data not available"
)
@pytest.mark.parametrize("path", _sample(), ids=lambda p: p.stem)
def test_maskbench_sample(path: pathlib.Path) -> None:
    case = json.loads(path.read_text())
    try:
        g = grammar_from_json_schema(case["schema"])
    except (UnsupportedFeatureError, SchemaError):
        pytest.skip("refused")
    for test in case["tests"]:
        data = test["data"]
        texts = [json.dumps(data)]
        if _depth(data) < 9:  # indent=2 runs stay within the default whitespace bound
            texts.append(json.dumps(data, indent=2))
        for text in texts:
            got = accepts(g, text)
            if test["valid"]:
                # a valid instance may be refused only by a documented restriction
                assert got or _restricted(data), f"valid instance rejected: {text[:200]}"
            else:
                assert not got, f"INVALID instance accepted: {text[:200]}"


def _restricted(data: object) -> bool:
    """Spellings we knowingly reject: exponents, float-written integers, surrogate escapes."""
    text = json.dumps(data)
    if "e+" in text or "e-" in text or "\\ud8" in text or "\\ud9" in text or "\\uda" in text:
        return True
    if "\\udb" in text:
        return True
    return _has_integral_float(data)


def _has_integral_float(v: object) -> bool:
    if isinstance(v, float):
        return v == int(v)
    if isinstance(v, dict):
        return any(_has_integral_float(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_integral_float(x) for x in v)
    return False


def _suite_results() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for draft in ("draft2020-12", "draft7"):
        for path in sorted((SUITE / draft).glob("*.json")):
            res = {"compiled": 0, "refused": 0, "valid_rejected": 0, "invalid_accepted": 0}
            for group in json.loads(path.read_text()):
                schema = group["schema"]
                if isinstance(schema, dict) and "$schema" not in schema:
                    url = "http://json-schema.org/draft-07/schema#"
                    if draft == "draft2020-12":
                        url = "https://json-schema.org/draft/2020-12/schema"
                    schema = {"$schema": url, **schema}
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        g = grammar_from_json_schema(schema)
                except (UnsupportedFeatureError, SchemaError):
                    res["refused"] += 1
                    continue
                res["compiled"] += 1
                for t in group["tests"]:
                    got = accepts(g, json.dumps(t["data"]))
                    if t["valid"] and not got:
                        res["valid_rejected"] += 1
                    if not t["valid"] and got:
                        res["invalid_accepted"] += 1
            out[f"{draft}/{path.name}"] = res
    return out


@pytest.mark.skipif(
    not SUITE.is_dir() and not os.environ.get("CI"), reason="JSON Schema Test Suite not available"
)
def test_json_schema_test_suite_baseline() -> None:
    results = _suite_results()
    if os.environ.get("FORMCAST_UPDATE_BASELINE"):
        BASELINE.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    baseline = json.loads(BASELINE.read_text())
    worse = []
    for name, res in results.items():
        base = baseline.get(name, {"compiled": 0, "valid_rejected": 0, "invalid_accepted": 0})
        if res["compiled"] < base["compiled"] or res["valid_rejected"] > base["valid_rejected"]:
            worse.append((name, base, res))
    accepted_invalid = {
        n: r["invalid_accepted"] for n, r in results.items() if r["invalid_accepted"]
    }
    assert not worse, f"regressions against the baseline: {worse}"
    assert not accepted_invalid, f"invalid instances accepted: {accepted_invalid}"
