"""Exact regexes for JSON numbers: integer ranges, bounded decimals, fixed-width hex ranges.

Every regex here matches the JSON number grammar (no leading zeros, no ``+``) and is
exact for the bound it encodes: it accepts a number text iff its value lies in range.
Decimal bounds (``minimum: 0.5``) are exact too: the fraction digits are compared digit
by digit against the bound's. Bounded non-integer numbers are written without an exponent
(a documented restriction: ``1e2`` is refused where a bound applies; the accepted language
is then a subset).
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

from formcast.automata.regex_dfa import residue_group

INT = r"-?(?:0|[1-9][0-9]*)"
NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"

_ANY_FRAC = r"(?:\.[0-9]+)?"
_ZERO_FRAC = r"(?:\.0+)?"
_NONZERO_FRAC = r"\.[0-9]*[1-9][0-9]*"


def _alt(parts: list[str]) -> str:
    parts = [p for p in parts if p is not None]
    if len(parts) == 1:
        return parts[0]
    return "(?:" + "|".join(parts) + ")"


def _dec_digits(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    if lo == 0 and hi == 9:
        return "[0-9]"
    return f"[{lo}-{hi}]"


def _hex_digits(lo: int, hi: int) -> str:
    """A class of hex digits with values in [lo, hi], both letter cases."""
    parts = []
    if lo <= 9:
        d_hi = min(hi, 9)
        parts.append(str(lo) if lo == d_hi else f"{lo}-{d_hi}")
    if hi >= 10:
        a, b = max(lo, 10), hi
        for first in ("a", "A"):
            x, y = chr(ord(first) + a - 10), chr(ord(first) + b - 10)
            parts.append(x if a == b else f"{x}-{y}")
    if len(parts) == 1 and len(parts[0]) == 1:
        return parts[0]
    return "[" + "".join(parts) + "]"


def fixed_width_range(lo: int, hi: int, width: int, base: int = 10) -> str:
    """Regex for numerals of exactly ``width`` digits (leading zeros kept) in [lo, hi]."""
    if lo > hi:
        raise ValueError("empty range")
    return _digit_range(_to_digits(lo, width, base), _to_digits(hi, width, base), base)


def _to_digits(n: int, width: int, base: int) -> list[int]:
    out = []
    for _ in range(width):
        out.append(n % base)
        n //= base
    return out[::-1]


def _digit_range(a: list[int], b: list[int], base: int) -> str:
    """Regex for the digit strings from ``a`` to ``b`` (digit lists of one length).

    A module function, not a closure: a recursive closure is a reference cycle that only
    the garbage collector frees (thousands per compile)."""
    if not a:
        return ""
    digits = _dec_digits if base == 10 else _hex_digits
    if a[0] == b[0]:
        return digits(a[0], a[0]) + _digit_range(a[1:], b[1:], base)
    n, top = len(a) - 1, base - 1
    if all(d == 0 for d in a[1:]) and all(d == top for d in b[1:]):
        return digits(a[0], b[0]) + (_rep(digits(0, top), n))
    parts = [digits(a[0], a[0]) + _digit_range(a[1:], [top] * n, base)]
    if b[0] - a[0] > 1:
        parts.append(digits(a[0] + 1, b[0] - 1) + _rep(digits(0, top), n))
    parts.append(digits(b[0], b[0]) + _digit_range([0] * n, b[1:], base))
    return _alt(parts)


def _rep(cls: str, n: int) -> str:
    if n == 0:
        return ""
    if n == 1:
        return cls
    return f"{cls}{{{n}}}"


def natural_range(lo: int, hi: int | None) -> str | None:
    """Regex for naturals (no leading zeros) in [lo, hi]; ``hi=None`` is unbounded.

    Returns ``None`` when the range is empty.

    >>> import re
    >>> r = natural_range(7, 123)
    >>> [n for n in range(200) if re.fullmatch(r, str(n))] == list(range(7, 124))
    True
    """
    lo = max(lo, 0)
    if hi is not None and hi < lo:
        return None
    parts: list[str] = []
    if lo == 0:
        parts.append("0")
        lo = 1
        if hi is not None and hi < 1:
            return _alt(parts)
    length = len(str(lo))
    while True:
        first = 10 ** (length - 1)
        last = 10**length - 1
        a = max(lo, first)
        if hi is not None and a > hi:
            break
        if hi is None and a == first:
            # every number of this length or longer
            parts.append(f"[1-9][0-9]{{{length - 1},}}" if length > 1 else "[1-9][0-9]*")
            break
        b = last if hi is None else min(hi, last)
        parts.append(fixed_width_range(a, b, length))
        if hi is not None and b == hi:
            break
        length += 1
    return _alt(parts) if parts else None


def integer_range(lo: int | None, hi: int | None) -> str | None:
    """Regex for JSON integers (``-0`` counts as 0) in [lo, hi]; None bounds are open.

    Returns ``None`` when the range is empty.

    >>> import re
    >>> r = integer_range(-12, 5)
    >>> [n for n in range(-30, 30) if re.fullmatch(r, str(n))] == list(range(-12, 6))
    True
    """
    if lo is not None and hi is not None and lo > hi:
        return None
    parts: list[str] = []
    # negative numbers: -y with y in [max(1, -hi), -lo]
    if lo is None or lo < 0:
        y_lo = 1 if hi is None or hi >= 0 else -hi
        y_hi = None if lo is None else -lo
        r = natural_range(y_lo, y_hi)
        if r is not None:
            parts.append("-" + r)
    zero_in = (lo is None or lo <= 0) and (hi is None or hi >= 0)
    if zero_in:
        parts.append("-?0")
    if hi is None or hi > 0:
        r = natural_range(max(1, lo if lo is not None else 1), hi)
        if r is not None:
            parts.append(r)
    return _alt(parts) if parts else None


def _digit(ds: str, i: int) -> int:
    return int(ds[i]) if i < len(ds) else 0


def _frac_digits(d: Decimal) -> str:
    """The digits after the point of a non-negative decimal, without trailing zeros."""
    text = format(d - d.to_integral_value(rounding="ROUND_FLOOR"), "f")
    return text.partition(".")[2].rstrip("0")


def _fraction(
    a: str, a_excl: bool, b: str | None, b_excl: bool, limit: int | None = None
) -> str | None:
    """The optional ``.F`` suffix of a number whose fraction 0.F lies in [0.a, 0.b].

    ``a`` and ``b`` are digit strings without trailing zeros; ``b=None`` means no upper
    bound below 1. Exclusive ends are honoured; returns None when no suffix fits.
    ``limit``: only zeros may follow the first ``limit`` fraction digits (the bounds must
    then be inclusive and have at most ``limit`` digits).
    """
    memo: dict[tuple[int, bool, bool], tuple[bool, str | None]] = {}
    stop, rest = _fraction_rest(0, True, b is not None, a, a_excl, b, b_excl, limit, memo)
    if rest is None:
        return "" if stop else None
    return f"(?:\\.{rest})?" if stop else f"\\.{rest}"


def _fraction_rest(
    i: int,
    tlo: bool,
    thi: bool,
    a: str,
    a_excl: bool,
    b: str | None,
    b_excl: bool,
    limit: int | None,
    memo: dict[tuple[int, bool, bool], tuple[bool, str | None]],
) -> tuple[bool, str | None]:
    """For :func:`_fraction`, at digit ``i`` (``tlo``/``thi``: the prefix equals that of
    ``a``/``b``): (whether stopping here fits, regex for the non-empty digit strings that
    fit). A module function, not a recursive closure (a cycle only the collector frees)."""
    if tlo and i >= len(a) and not a_excl:
        tlo = False  # any continuation is >= a
    hb = b or ""
    if thi and i >= len(hb):
        # the prefix equals b: only zeros may follow, and only if b itself is allowed
        if b_excl or tlo:
            return False, None
        return True, "0+"
    if tlo and i >= len(a) and not thi:
        # strictly above a, which the prefix equals
        if limit is None:
            return False, "0*[1-9][0-9]*"
        return False, (f"[0-9]{{0,{limit - i - 1}}}[1-9]0*" if limit > i else None)
    if not tlo and not thi:
        return True, "[0-9]+" if limit is None else _free_digits(limit - i)
    key = (i, tlo, thi)
    if key in memo:
        return memo[key]
    stop = not tlo and not (thi and i >= len(hb) and b_excl)
    dlo = _digit(a, i) if tlo else 0
    dhi = _digit(hb, i) if thi else 9
    groups: dict[tuple[bool, bool], list[int]] = {}
    for d in range(dlo, dhi + 1):
        groups.setdefault((tlo and d == dlo, thi and d == dhi), []).append(d)
    parts = []
    for (nlo, nhi), ds in groups.items():
        e, r = _fraction_rest(i + 1, nlo, nhi, a, a_excl, b, b_excl, limit, memo)
        part = _then(_dec_digits(ds[0], ds[-1]), e, r)
        if part is not None:
            parts.append(part)
    out = (stop, _alt(parts) if parts else None)
    memo[key] = out
    return out


def _free_digits(n: int) -> str:
    """Non-empty digit strings whose digits after the first ``n`` are all zeros."""
    return f"[0-9]{{1,{n}}}0*" if n > 0 else "0+"


def _nonneg_decimal(
    lo: Decimal,
    lo_excl: bool,
    hi: Decimal | None,
    hi_excl: bool,
    frac_only: bool = False,
    limit: int | None = None,
) -> str | None:
    """Decimals ``I(.F)?`` (no exponent) with value y, lo <(=) y <(=) hi, lo >= 0.

    ``frac_only``: only non-integral values (the fraction must be above zero).
    ``limit``: at most that many significant fraction digits (see :func:`_fraction`).
    """
    if hi is not None and (hi < lo or (hi == lo and (lo_excl or hi_excl))):
        return None
    li = int(lo.to_integral_value(rounding="ROUND_FLOOR"))
    la = _frac_digits(lo)
    parts: list[str] = []
    if hi is not None:
        hi_int = int(hi.to_integral_value(rounding="ROUND_FLOOR"))
        hb = _frac_digits(hi)
        if hi_int == li:
            f = _fraction(la, lo_excl or (frac_only and not la), hb, hi_excl, limit)
            return None if f is None else str(li) + f
    f = _fraction(la, lo_excl or (frac_only and not la), None, False, limit)
    if f is not None:
        parts.append(str(li) + f)
    mid = natural_range(li + 1, None if hi is None else hi_int - 1)
    if mid is not None:
        if limit is not None:
            parts.append(mid + rf"(?:\.{_free_digits(limit)})?")
        else:
            parts.append(mid + (_NONZERO_FRAC if frac_only else _ANY_FRAC))
    if hi is not None:
        f = _fraction("", frac_only, hb, hi_excl, limit)
        if f is not None:
            parts.append(str(hi_int) + f)
    return _alt(parts) if parts else None


_MANTISSA = r"(?:0|[1-9][0-9]*)" + _ANY_FRAC
_NONZERO_MANTISSA = f"(?:[1-9][0-9]*{_ANY_FRAC}|0{_NONZERO_FRAC})"
_EXPONENT = r"[eE][+-]?[0-9]+"


def signed_exponents(
    lo: Decimal | None, lo_excl: bool, hi: Decimal | None, hi_excl: bool
) -> str | None:
    """Regex for the number texts *with* an exponent that lie within the bounds, when the
    only bound is 0 (then only the sign and a zero mantissa matter); None otherwise.

    >>> import re
    >>> r = signed_exponents(Decimal(0), False, None, False)
    >>> [t for t in ["1e-06", "0E5", "-0.0e1", "-1e-9", "2.5E+3"] if re.fullmatch(r, t)]
    ['1e-06', '0E5', '-0.0e1', '2.5E+3']
    """
    zero = Decimal(0)
    if hi is None and lo == zero:
        above = _NONZERO_MANTISSA if lo_excl else f"(?:{_MANTISSA}|-0{_ZERO_FRAC})"
        return above + _EXPONENT
    if lo is None and hi == zero:
        below = f"-{_NONZERO_MANTISSA}" if hi_excl else f"(?:-{_MANTISSA}|0{_ZERO_FRAC})"
        return below + _EXPONENT
    return None


def decimal_range(
    lo: Decimal | None,
    lo_excl: bool,
    hi: Decimal | None,
    hi_excl: bool,
    *,
    frac_only: bool = False,
    limit: int | None = None,
) -> str | None:
    """Regex for JSON numbers without exponent whose value lies within the bounds.

    Bounds are any finite decimals; ``frac_only`` keeps only non-integral values;
    ``limit`` keeps values with at most that many significant fraction digits (bounds
    must then be inclusive, with at most ``limit`` digits, and ``frac_only`` off).
    Returns ``None`` when no number fits.

    >>> import re
    >>> r = decimal_range(Decimal(-1), True, Decimal(2), False)
    >>> [t for t in ["-1", "-0.5", "-0", "0", "2", "2.0", "2.01", "-1.0"] if re.fullmatch(r, t)]
    ['-0.5', '-0', '0', '2', '2.0']
    >>> r = decimal_range(Decimal("0.25"), False, Decimal("1.5"), True)
    >>> [t for t in ["0.2", "0.25", "0.250", "1", "1.49", "1.5", "1.50"] if re.fullmatch(r, t)]
    ['0.25', '0.250', '1', '1.49']
    """
    zero = Decimal(0)
    parts: list[str] = []
    # x >= 0 part
    if hi is None or hi > 0 or (hi == 0 and not hi_excl):
        if lo is None or lo < 0:
            r = _nonneg_decimal(zero, False, hi, hi_excl, frac_only, limit)
        else:
            r = _nonneg_decimal(lo, lo_excl, hi, hi_excl, frac_only, limit)
        if r is not None:
            parts.append(r)
    # x < 0 part: y = -x > 0 with -hi <(=) y <(=) -lo
    if lo is None or lo < 0:
        if hi is None or hi >= 0:
            y_lo, y_lo_excl = zero, True
        else:
            y_lo, y_lo_excl = -hi, hi_excl
        y_hi = None if lo is None else -lo
        r = _nonneg_decimal(y_lo, y_lo_excl, y_hi, lo_excl, frac_only, limit)
        if r is not None:
            parts.append("-" + r)
    # "-0", "-0.00": value zero
    zero_in = (lo is None or lo < 0 or (lo == 0 and not lo_excl)) and (
        hi is None or hi > 0 or (hi == 0 and not hi_excl)
    )
    if zero_in and not frac_only:
        parts.append("-0" + _ZERO_FRAC)
    return _alt(parts) if parts else None


def integer_multiple_of(k: int) -> str | None:
    """Regex for JSON integers divisible by ``k`` when ``k`` divides a power of ten.

    Divisibility by k | 10^m depends only on the last m digits. Returns ``None`` when k
    does not divide 10**4 (callers refuse).

    >>> import re
    >>> r = integer_multiple_of(4)
    >>> [n for n in range(-20, 21) if re.fullmatch(r, str(n))] == list(range(-20, 21, 4))
    True
    """
    if k <= 0:
        return None
    if k == 1:
        return INT
    m = next((m for m in range(1, 5) if 10**m % k == 0), None)
    if m is None:
        return None
    tails = [f"{n:0{m}d}" for n in range(0, 10**m, k)]
    # numbers with at least m+1 digits: [1-9][0-9]* followed by m digits forming a multiple
    long_form = "[1-9][0-9]*(?:" + "|".join(tails) + ")"
    # numbers with exactly d digits (1 <= d <= m): enumerate
    exact = [str(n) for n in range(1, 10**m) if n % k == 0]
    body = "(?:" + "|".join([*exact, long_form]) + ")"
    return f"(?:-?0|-?{body})"


MAX_LISTED_MULTIPLES = 1000


class MultipleNotExpressible(Exception):
    """``multipleOf`` with these bounds has no regex here; the message says why."""


def multiple_of_range(
    step: Decimal,
    lo: Decimal | None,
    lo_excl: bool,
    hi: Decimal | None,
    hi_excl: bool,
    *,
    integers_only: bool,
) -> str | None:
    """Regex for JSON numbers (no exponent) that are multiples of ``step`` within bounds.

    Exact in three shapes: steps ``10**-d`` with any bounds (at most ``d`` significant
    fraction digits), ranges holding at most ``MAX_LISTED_MULTIPLES`` multiples (listed),
    and unbounded integer steps dividing ``10**4``. ``integers_only`` spells integral
    values without a fraction (``type: integer``). Returns ``None`` when no number fits;
    raises :class:`MultipleNotExpressible` otherwise.

    >>> import re
    >>> r = multiple_of_range(Decimal("0.01"), Decimal(0), False, Decimal(10), True,
    ...                       integers_only=False)
    >>> [t for t in ["0", "9.99", "9.990", "9.999", "10", "-0.01", "3.5"] if re.fullmatch(r, t)]
    ['0', '9.99', '9.990', '3.5']
    """
    if step <= 0:
        raise MultipleNotExpressible("multipleOf must be positive")
    # the multiples n * step with lo <(=) n * step <(=) hi
    n_lo = n_hi = None
    if lo is not None:
        q = Fraction(lo) / Fraction(step)  # exact, whatever the decimal context
        n_lo = math.ceil(q) + (1 if lo_excl and q.denominator == 1 else 0)
    if hi is not None:
        q = Fraction(hi) / Fraction(step)
        n_hi = math.floor(q) - (1 if hi_excl and q.denominator == 1 else 0)
    if n_lo is not None and n_hi is not None and n_lo > n_hi:
        return None
    integral_step = step == step.to_integral_value()
    if integers_only and not integral_step:
        # integers are the multiples of the smallest integer multiple of the step
        num, den = step.as_integer_ratio()
        return multiple_of_range(Decimal(num), lo, lo_excl, hi, hi_excl, integers_only=True)
    if integral_step:
        r = _integral_multiples(int(step), n_lo, n_hi)
        if r is not None:
            return (r if integers_only else f"(?:{r}){_ZERO_FRAC}") if r else None
    num, den = step.as_integer_ratio()
    digits = len(str(den)) - 1
    exact = localcontext(prec=1000)  # products of a step and a multiplier stay exact
    if num == 1 and den == 10**digits and digits > 0:
        with exact:
            snap_lo = None if n_lo is None else n_lo * step
            snap_hi = None if n_hi is None else n_hi * step
        return decimal_range(snap_lo, False, snap_hi, False, limit=digits)
    if n_lo is not None and n_hi is not None and n_hi - n_lo < MAX_LISTED_MULTIPLES:
        with exact:
            values = [n * step for n in range(n_lo, n_hi + 1)]
        return _alt([_spell(v, integers_only) for v in values])
    raise MultipleNotExpressible(
        f"multipleOf {step} with these bounds (more than {MAX_LISTED_MULTIPLES} multiples)"
        if lo is not None and hi is not None
        else f"multipleOf {step} needs both bounds, or an integer dividing 10000"
    )


def _integral_multiples(k: int, n_lo: int | None, n_hi: int | None) -> str | None:
    """Integers n*k for n in [n_lo, n_hi] (None: open) as a regex ("" when none), or None
    when this shape is not handled here (see :func:`multiple_of_range`)."""
    if n_lo is not None and n_hi is not None and n_lo > n_hi:
        return ""
    if k == 1:
        return integer_range(n_lo, n_hi) or ""
    m = next((m for m in range(1, 5) if 10**m % k == 0), None)
    if m is None or (n_lo is None and n_hi is None):
        return None if m is None else integer_multiple_of(k)
    if n_lo is not None and n_hi is not None:
        return None  # both bounds: listing decides
    if n_hi is None:  # values >= a
        a = n_lo * k  # type: ignore[operator]
        if a > 0:
            return _naturals_from(a, k, m)
        listed = [f"-{-v}" for v in range(a, 0, k)]
        return _alt([*listed, "-?0", _naturals_from(k, k, m)])
    b = n_hi * k  # values <= b
    if b < 0:
        return "-" + _naturals_from(-b, k, m)
    listed = [str(v) for v in range(k, b + 1, k)]
    return _alt([*listed, "-?0", "-" + _naturals_from(k, k, m)])


def _naturals_from(a: int, k: int, m: int) -> str:
    """Naturals >= a (a >= 1, a multiple of k, k | 10**m): those below the first power of
    ten with more than ``m`` digits at or above ``a`` are listed, longer ones end in one of
    the m-digit multiples of k."""
    width = m + 1
    while 10 ** (width - 1) < a:
        width += 1
    listed = [str(v) for v in range(a, 10 ** (width - 1), k)]
    if len(listed) > MAX_LISTED_MULTIPLES:
        raise MultipleNotExpressible(f"multipleOf {k} from {a} (too many short multiples)")
    tails = "|".join(f"{n:0{m}d}" for n in range(0, 10**m, k))
    return _alt([*listed, f"[1-9][0-9]{{{width - 1 - m},}}(?:{tails})"])


def _spell(value: Decimal, integers_only: bool) -> str:
    """Every exponent-free spelling of one value: trailing fraction zeros allowed."""
    text = format(abs(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    sign = "-?" if value == 0 else ("-" if value < 0 else "")
    if "." in text:
        return sign + text.replace(".", r"\.") + "0*"
    return sign + text + ("" if integers_only else _ZERO_FRAC)


def common_step(steps: tuple[Decimal, ...]) -> Decimal:
    """The least common multiple of positive decimals: multiples of all are multiples of it.

    >>> common_step((Decimal("0.5"), Decimal("0.75")))
    Decimal('1.5')
    """
    num, den = steps[0].as_integer_ratio()
    for d in steps[1:]:
        n2, d2 = d.as_integer_ratio()
        num, den = num * n2 // math.gcd(num, n2), math.gcd(den, d2)
    with localcontext(prec=1000):  # den divides a power of ten: the quotient is exact
        return Decimal(num) / Decimal(den)


# ----------------------------------------------------------------- multiples of any step
#: a number text without exponent (the shape every multiple and non-multiple takes here)
PLAIN_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"
#: after a number piece read as a lookahead: the lexeme ends there
NUMBER_END = r"(?![0-9.eE+\-])"
#: decimals of a step (each is one level of the fraction-digit recursion)
MAX_STEP_DIGITS = 64
#: decimal digits of the residue window (steps whose 2/5 part needs more are refused)
MAX_WINDOW_DIGITS = 4
#: the largest modulus of a residue group (the lexeme automaton has about this many
#: states times the other pieces')
MAX_RESIDUE_MODULUS = 1000


def intersect_numbers(pieces: list[str]) -> str:
    """Lexeme regex of the number texts every piece matches: all but the last become
    top-level lookaheads (DFA products in ``regex_dfa``)."""
    heads = "".join(f"(?=(?:{p}){NUMBER_END})" for p in pieces[:-1])
    return heads + f"(?:{pieces[-1]})"


def step_pieces(step: Decimal, *, multiple: bool, integers_only: bool) -> list[str] | None:
    """Regexes whose intersection is the exponent-free number texts that are (or, with
    ``multiple=False``, are not) multiples of ``step``, for any bounds.

    With ``step = P * M / 10**d`` (``P`` made of 2s and 5s, ``M`` prime to 10), ``x`` is a
    multiple iff ``x * 10**d`` is an integer whose last digits (a window around the point)
    are a multiple of ``P``, and the digits of ``x`` read as one integer (the point skipped;
    powers of ten are invertible mod ``M``) are a multiple of ``M``. Returns None when no
    number fits; raises :class:`MultipleNotExpressible` when the window or the residue
    automaton is too large.

    >>> from formcast.automata.regex_dfa import compile_regex
    >>> r = intersect_numbers(step_pieces(Decimal("1.5"), multiple=False, integers_only=False))
    >>> dfa = compile_regex(r)
    >>> [t for t in ["3", "4.5", "-1.50", "1", "0.15", "2.25"] if dfa.matches(t.encode())]
    ['1', '0.15', '2.25']
    """
    if step <= 0:
        raise MultipleNotExpressible("multipleOf must be positive")
    num, den = step.as_integer_ratio()
    d = next(d for d in range(den.bit_length() + 1) if 10**d % den == 0)
    if d > MAX_STEP_DIGITS:
        raise MultipleNotExpressible(f"multipleOf {step}: more than {MAX_STEP_DIGITS} decimals")
    scaled = num * 10**d // den
    p, m = _split_two_five(scaled)
    k = next((k for k in range(MAX_WINDOW_DIGITS + 1) if 10**k % p == 0), None)
    if k is None:
        raise MultipleNotExpressible(
            f"multipleOf {step}: its factor {p} needs more than {MAX_WINDOW_DIGITS} digits"
        )
    window = _window_number(p, k, d, multiple, integers_only)
    if m == 1 or (multiple and not window):
        return [window] if window else None
    if m > MAX_RESIDUE_MODULUS:
        raise MultipleNotExpressible(
            f"multipleOf {step}: its factor {m} prime to 10 is over {MAX_RESIDUE_MODULUS}"
        )
    digits = residue_group(m, zero=multiple)
    if multiple:
        return [window, "-?" + digits]
    # not a multiple: the window fails, or the digits leave a remainder
    syntax = INT if integers_only else PLAIN_NUMBER
    return [syntax, _alt([x for x in (window, "-?" + digits) if x])]


@functools.lru_cache(maxsize=256)
def step_expressible(step: Decimal) -> bool:
    """Whether :func:`step_pieces` can write the (non-)multiples of ``step``."""
    try:
        step_pieces(step, multiple=False, integers_only=False)
    except MultipleNotExpressible:
        return False
    return True


def _split_two_five(n: int) -> tuple[int, int]:
    """``n`` as (its factors 2 and 5, the rest)."""
    p = 1
    for f in (2, 5):
        while n % f == 0:
            n //= f
            p *= f
    return p, n


def _window_number(p: int, k: int, d: int, multiple: bool, integers_only: bool) -> str:
    """Number texts whose value times ``10**d`` is an integer (``multiple``: and whose last
    ``k`` digits are a multiple of ``p``), or the other number texts; "" when none."""
    w = min(k, d)  # window digits after the point
    h = k - w  # window digits before it
    groups: dict[frozenset[str], list[int]] = {}
    for high in range(10**h):
        lows = frozenset(_pad(low, w) for low in range(10**w) if (high * 10**w + low) % p == 0)
        groups.setdefault(lows, []).append(high)
    zero = "0" * w
    parts = []
    for lows, highs in groups.items():
        if integers_only:
            if (zero in lows) == multiple:
                parts.append(_int_part(highs, h))
            continue
        frac = _fraction_part(d, w, lows, multiple)
        if frac is not None:
            parts.append(_int_part(highs, h) + frac)
    return "-?" + _alt(parts) if parts else ""


def _pad(value: int, width: int) -> str:
    """``value`` in exactly ``width`` digits ("" for width 0)."""
    return f"{value:0{width}d}" if width else ""


def _int_part(highs: list[int], h: int) -> str:
    """Integer parts (no sign) whose last ``h`` digits, zero-padded, are one of ``highs``."""
    if h == 0:
        return "(?:0|[1-9][0-9]*)"
    short = [str(v) for v in highs]
    tails = frozenset(_pad(v, h) for v in highs)
    return _alt([*short, "[1-9][0-9]*" + _digit_strings(tails)])


def _digit_strings(strings: frozenset[str]) -> str:
    """Regex for a non-empty set of equally long digit strings (shared suffixes merged)."""
    if "" in strings:
        return ""
    by_digit: dict[frozenset[str], list[int]] = {}
    for c in range(10):
        sub = frozenset(s[1:] for s in strings if s[0] == str(c))
        if sub:
            by_digit.setdefault(sub, []).append(c)
    return _alt([_digit_class(cs) + _digit_strings(sub) for sub, cs in by_digit.items()])


def _digit_class(digits: list[int]) -> str:
    """A class of decimal digits."""
    if len(digits) == 1:
        return str(digits[0])
    runs: list[list[int]] = []
    for c in sorted(digits):
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    body = "".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
    return f"[{body}]"


def _fraction_part(d: int, w: int, lows: frozenset[str], multiple: bool) -> str | None:
    """The optional ``.F`` of a number: ``multiple``: the digits of F (zero-padded) at
    positions ``d-w+1 .. d`` spell one of ``lows`` and the digits after ``d`` are zeros;
    otherwise the other fractions. None when no fraction fits."""
    if multiple:
        cases = [(lows, "zero")]
    else:
        other = frozenset(_pad(x, w) for x in range(10**w)) - lows
        cases = [(other, "any"), (lows, "nonzero")]
    memo: dict[tuple[int, frozenset[str], str], tuple[bool, str | None]] = {}
    ends, bodies = False, []
    for window, tail in cases:
        if window:
            end, body = _fraction_digits(0, d, w, window, tail, memo)
            ends = ends or end
            if body is not None:
                bodies.append(body)
    if not bodies:
        return "" if ends else None
    dot = r"\." + _alt(bodies)
    return f"(?:{dot})?" if ends else dot


def _fraction_digits(
    i: int,
    d: int,
    w: int,
    window: frozenset[str],
    tail: str,
    memo: dict[tuple[int, frozenset[str], str], tuple[bool, str | None]],
) -> tuple[bool, str | None]:
    """(whether the fraction may stop before digit ``i``, regex for the non-empty rest).

    ``window``: the allowed rest of the window digits; ``tail``: what the digits after
    position ``d`` may be (``zero``, ``any``, ``nonzero``: some digit there is not 0).
    """
    key = (i, window, tail)
    if key in memo:
        return memo[key]
    if i >= d:
        out: tuple[bool, str | None] = {
            "zero": (True, "0+"),
            "any": (True, "[0-9]+"),
            "nonzero": (False, "0*[1-9][0-9]*"),
        }[tail]
    else:
        stop = "0" * len(next(iter(window))) in window and tail != "nonzero"
        if i < d - w:  # a digit outside the window: any
            nxt = {c: window for c in range(10)}
        else:
            nxt = {c: frozenset(s[1:] for s in window if s[0] == str(c)) for c in range(10)}
        by_rest: dict[frozenset[str], list[int]] = {}
        for c, rest in nxt.items():
            if rest:
                by_rest.setdefault(rest, []).append(c)
        parts = []
        for rest, cs in by_rest.items():
            end, body = _fraction_digits(i + 1, d, w, rest, tail, memo)
            part = _then(_digit_class(cs), end, body)
            if part is not None:
                parts.append(part)
        out = (stop, _alt(parts) if parts else None)
    memo[key] = out
    return out


def _then(head: str, may_end: bool, rest: str | None) -> str | None:
    """``head`` followed by ``rest`` (optional when the text ``may_end`` after ``head``);
    None when nothing can follow and the text may not end."""
    if rest is not None:
        return head + (f"(?:{rest})?" if may_end else f"(?:{rest})")
    return head if may_end else None
