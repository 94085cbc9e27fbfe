"""Number regexes for ``multipleOf`` with bounds, against an exact rational oracle."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from formcast.grammar.json_numbers import (
    MultipleNotExpressible,
    common_step,
    multiple_of_range,
)

STEPS = ["0.01", "0.1", "0.25", "0.5", "2.5", "1", "3", "4", "12", "16"]
bounds = st.none() | st.integers(-30000, 30000).map(lambda n: Decimal(n) / 100)
texts = st.builds(
    lambda sign, whole, frac, zeros: (
        sign + str(whole) + (("." + frac + "0" * zeros) if frac else "")
    ),
    st.sampled_from(["", "-"]),
    st.integers(0, 400),
    st.sampled_from(["", "0", "5", "25", "75", "01", "99", "125", "001", "5001"]),
    st.integers(0, 2),
)


def _oracle(text: str, step: Decimal, lo, lo_excl, hi, hi_excl, integers_only: bool) -> bool:
    if integers_only and "." in text:
        return False
    v = Fraction(text)
    if lo is not None and (v < lo or (lo_excl and v == lo)):
        return False
    if hi is not None and (v > hi or (hi_excl and v == hi)):
        return False
    return (v / Fraction(step)).denominator == 1


@given(
    st.sampled_from(STEPS).map(Decimal),
    bounds,
    st.booleans(),
    bounds,
    st.booleans(),
    st.booleans(),
    st.lists(texts, min_size=20, max_size=40),
)
@example(Decimal("0.01"), Decimal("-1.5"), True, None, False, False, ["-1.49", "-1.5", "-0.01"])
@example(Decimal("16"), Decimal(-2032), False, Decimal(2031), False, True, ["-2032", "2032"])
def test_multiple_of_range_is_exact(step, lo, lo_excl, hi, hi_excl, integers_only, cands):
    try:
        r = multiple_of_range(step, lo, lo_excl, hi, hi_excl, integers_only=integers_only)
    except MultipleNotExpressible:
        assume(False)
        return
    # the candidates plus every spelling of the multiples near the bounds
    extra = []
    for b in (lo, hi):
        if b is not None:
            n = int(Fraction(b) / Fraction(step))
            for k in (n - 1, n, n + 1):
                v = k * step
                extra += [format(v, "f"), format(v, "f") + ("0" if "." in format(v, "f") else "")]
    for text in [*cands, *extra]:
        want = _oracle(text, step, lo, lo_excl, hi, hi_excl, integers_only)
        got = r is not None and re.fullmatch(r, text) is not None
        assert got == want, (text, r)


def test_listed_multiples_refuse_large_ranges() -> None:
    with pytest.raises(MultipleNotExpressible, match="multipleOf 3"):
        multiple_of_range(Decimal(3), Decimal(0), False, Decimal(10**6), False, integers_only=True)
    with pytest.raises(MultipleNotExpressible, match="both bounds"):
        multiple_of_range(Decimal(12), Decimal(0), False, None, False, integers_only=True)


def test_common_step() -> None:
    assert common_step((Decimal("0.01"), Decimal("0.25"))) == Decimal("0.25")
    assert common_step((Decimal(4), Decimal(6))) == 12
    assert common_step((Decimal("0.5"), Decimal("0.75"))) == Decimal("1.5")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "minimum": -2032, "maximum": 2031, "multipleOf": 16},
        {"type": "number", "minimum": 0, "maximum": 99999999999.99, "multipleOf": 0.01},
        {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.25},
        {"type": "number", "exclusiveMaximum": 100, "multipleOf": 10},
        {"type": "integer", "minimum": 2, "multipleOf": 1.0},
        {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": -3, "maximum": 3},
    ],
)
def test_schemas_with_bounded_multiples(schema: dict) -> None:
    import jsonschema

    from formcast.grammar.json_schema import grammar_from_json_schema
    from formcast.testing.oracle import accepts

    g = grammar_from_json_schema(schema)
    texts = ["0", "-0", "0.0", "16", "-2032", "-2048", "2031", "2032", "0.25", "0.250", "0.3"]
    texts += ["99.75", "100", "100.0", "90", "-10", "-1000", "1", "2", "2.0", "3", "-2.5", "-3"]
    texts += ["99999999999.99", "99999999999.999", "12.34", "12.345", "-0.01", "1.5"]
    for text in texts:
        want = jsonschema.Draft202012Validator(schema).is_valid(json.loads(text))
        # integral values written with a fraction are refused under type integer (a
        # documented restriction): only the strict direction is checked there
        if schema["type"] == "integer" and "." in text:
            assert not accepts(g, text)
            continue
        assert accepts(g, text) == want, text


_MANTISSAS = st.sampled_from(["0", "0.0", "0.001", "1", "25", "3.75", "10"])


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "minimum": 0},
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "maximum": 0},
        {"type": "number", "exclusiveMaximum": 0, "minimum": -5},
        {"type": "number", "exclusiveMaximum": 0},
    ],
)
@given(
    sign=st.sampled_from(["", "-"]),
    mantissa=_MANTISSAS,
    exponent=st.sampled_from(["", "e0", "E+2", "e-06", "e17"]),
)
@example(sign="-", mantissa="0.0", exponent="e1")
def test_bounds_at_zero_take_exponents(schema: dict, sign: str, mantissa: str, exponent: str):
    """With 0 as the only bound the sign decides, so numbers with an exponent are exact
    too; other bounds keep to numbers without one (a documented restriction)."""
    import jsonschema

    from formcast.grammar.json_schema import grammar_from_json_schema
    from formcast.testing.oracle import accepts

    text = sign + mantissa + exponent
    want = jsonschema.Draft202012Validator(schema).is_valid(json.loads(text))
    got = accepts(grammar_from_json_schema(schema), text)
    if len(schema) > 2 and exponent:
        assert not got or want, text
    else:
        assert got == want, text
