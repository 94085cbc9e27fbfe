"""String ``format`` values as regexes over the string body, and the format policy.

Each regex accepts a *subset* of the format (never a string outside it): e.g. dates are
checked day-by-month with leap years, but RFC 3339's lowercase ``t``/``z`` and leap
seconds are not accepted. Bodies are printable ASCII written raw (no escapes), except in
IRIs and JSON pointers, which take other characters in their JSON spellings.

Policy (see ``docs/json_schema.md``): formats in :data:`FORMATS` are enforced; the other
formats that JSON Schema itself defines (:data:`SPEC_FORMATS`) are refused, since
validators commonly assert them; any other name is a custom format, which the
specification lets validators treat as an annotation: it is ignored and recorded in
``Grammar.notes``.
"""

from __future__ import annotations

from formcast.grammar.json_strings import ALL, chars, charset, encode_char, encode_set, minus

_D2 = "[0-9]{2}"
_MONTH31 = "(?:0[13578]|1[02])"
_MONTH30 = "(?:0[469]|11)"
# year 0000 is left out: RFC 3339 allows it, Python's ``date`` (jsonschema's checker) not
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
DATE = (
    f"(?:{_YEAR}-(?:"
    f"{_MONTH31}-(?:0[1-9]|[12][0-9]|3[01])"
    f"|{_MONTH30}-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEAR}-02-29)"
)
_HMS = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?"
_OFFSET = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIME = _HMS + _OFFSET
DATE_TIME = DATE + "T" + TIME
_DUR_TIME = "T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
_DUR_DATE = "(?:[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?|[0-9]+M(?:[0-9]+D)?|[0-9]+D)"
DURATION = f"P(?:{_DUR_DATE}(?:{_DUR_TIME})?|{_DUR_TIME}|[0-9]+W)"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"
_H16 = "[0-9a-fA-F]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{IPV4})"
IPV6 = (
    "(?:"
    f"(?:{_H16}:){{6}}{_LS32}"
    f"|::(?:{_H16}:){{5}}{_LS32}"
    f"|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}"
    f"|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    f"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}"
    f"|(?:(?:{_H16}:){{0,6}}{_H16})?::"
    ")"
)
_AN = "[A-Za-z0-9]"
_LDH = "[A-Za-z0-9-]"


def _label(most: int) -> str:
    """An LDH label of 1 to ``most`` characters without ``--`` in positions 3 and 4.

    Such labels are reserved (``xn--`` starts an IDNA A-label, valid only when it decodes
    to a valid U-label, which no regex checks), so we reject them all.
    """
    long = f"{_LDH}(?:{_AN}{_LDH}|-{_AN}){_LDH}{{0,{most - 5}}}{_AN}"
    return f"{_AN}(?:{_LDH}?{_AN}|{_LDH}{{2}}{_AN}|{long})?"


_LABEL63 = _label(63)
_LABEL30 = _label(30)
# total length must stay <= 253: up to 3 labels of 63 or up to 8 labels of 30 characters
HOSTNAME = f"(?:{_LABEL63}(?:\\.{_LABEL63}){{0,2}}|{_LABEL30}(?:\\.{_LABEL30}){{0,7}})"
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL = f"{_ATOM}(?:\\.{_ATOM})*@{HOSTNAME}"
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PCT = "%[0-9a-fA-F]{2}"
_UNRESERVED_SUB = "A-Za-z0-9._~!$&'()*+,;=\\-"
# RFC 3987's ucschar (IRIs only): non-ASCII, written raw or as \\u escapes
_UCS = encode_set(
    charset(
        [(0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF)]
        + [(p << 16, (p << 16) + 0xFFFD) for p in range(1, 14)]
        + [(0xE1000, 0xEFFFD)]
    )
)


def _uri(iri: bool) -> tuple[str, str]:
    """(absolute, reference) regexes of RFC 3986 URIs, or RFC 3987 IRIs.

    Stricter than the RFCs: no IP literals (``[...]``) and, in IRIs, no private-use
    characters in queries.
    """
    more = f"|{_UCS}" if iri else ""
    pchar = f"(?:[{_UNRESERVED_SUB}:@]|{_PCT}{more})"
    plain = f"(?:[{_UNRESERVED_SUB}]|{_PCT}{more})"
    user = f"(?:[{_UNRESERVED_SUB}:]|{_PCT}{more})"
    authority = f"(?:{user}*@)?(?:{IPV4}|{plain}*)(?::[0-9]*)?"
    query = f"(?:{pchar}|[/?])*"
    tail = f"(?:\\?{query})?(?:#{query})?"
    absolute = (
        "[A-Za-z][A-Za-z0-9+.-]*:"
        f"(?://{authority}(?:/{pchar}*)*|/?(?:{pchar}+(?:/{pchar}*)*)?){tail}"
    )
    # a relative reference's first segment holds no colon (it would read as a scheme)
    first = f"(?:[{_UNRESERVED_SUB}@]|{_PCT}{more})+"
    relative = (
        f"(?://{authority}(?:/{pchar}*)*|/(?:{pchar}+(?:/{pchar}*)*)?|{first}(?:/{pchar}*)*)?"
    )
    return absolute, f"(?:{absolute}|{relative}{tail})"


URI, URI_REFERENCE = _uri(iri=False)
IRI, IRI_REFERENCE = _uri(iri=True)
# RFC 6901: any character, ``~`` and ``/`` written ``~0`` and ``~1`` (the separating ``/``
# may be written ``\\/``)
JSON_POINTER = f"(?:{encode_char('/')}(?:{encode_set(minus(ALL, chars('/~')))}|~[01])*)*"
RELATIVE_JSON_POINTER = f"(?:0|[1-9][0-9]*)(?:#|{JSON_POINTER})"
# RFC 6570 level 4, ASCII literals
_VARCHAR = f"(?:[A-Za-z0-9_]|{_PCT})"
_VARSPEC = f"{_VARCHAR}(?:\\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\\*)?"
URI_TEMPLATE = (
    f"(?:[!#$&()*+,\\-./0-9:;=?@A-Z\\[\\]_a-z~]|{_PCT}"
    f"|\\{{[+#./;?&=,!@|]?{_VARSPEC}(?:,{_VARSPEC})*\\}})*"
)


# -- regex: strings that both Python's `re` and ECMA-262 (with or without the `u` flag) read
# as a valid regex, written as json.dumps writes them. A subset: printable ASCII, groups
# nested at most _REGEX_DEPTH deep (plain, non-capturing and lookaheads, which are not
# quantified), escapes of syntax characters (and `-` in classes) and of the common
# classes and controls, `\u`/`\x` escapes, class ranges within digits or one letter
# case, repeat counts up to 4 digits.
_REGEX_DEPTH = 3
_RX_BS = r"\\\\"  # one backslash of the regex, written \\ in JSON
_RX_QUOTE = r'\\"'  # a double quote of the regex, written \" in JSON
_RX_HEX = r"(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})"
_RX_ESC = rf"{_RX_BS}(?:[dDwWsSnrtfv.*+?()\[\]{{}}|^$/]|{_RX_BS}|{_RX_HEX})"
_RX_CLASS_ESC = rf"{_RX_BS}(?:[dDwWsSnrtfv.*+?()\[\]{{}}|^$/\-]|{_RX_BS}|{_RX_HEX})"
_RX_LITERAL = rf"(?:[ !#%&',\-/0-9:;<=>@A-Z_`a-z~]|{_RX_QUOTE})"
_RX_CLASS_CHAR = rf"(?:[\x20\x21\x23-\x2c\x2e-\x5a\x5e-\x7e]|{_RX_QUOTE})"
# ranges from 0, 1, a or A (a range's end must not come before its start, and each start
# kept apart costs the automaton states)
_RX_RANGE = "0-[0-9]|1-[1-9]|a-[a-z]|A-[A-Z]"
_RX_CLASS = rf"\[\^?-?(?:{_RX_RANGE}|{_RX_CLASS_ESC}|{_RX_CLASS_CHAR})+-?\]"
_RX_COUNT = "(?:0|[1-9][0-9]{0,3})"
# {n,m} with n <= m: fewer digits in n, or one digit each, or two with n's first smaller
_RX_BOUNDS = "|".join(
    [
        f"{'[0-9]' if a == 1 else f'[1-9][0-9]{{{a - 1}}}'},[1-9][0-9]{{{b - 1}}}"
        for a in range(1, 4)
        for b in range(a + 1, 5)
    ]
    + [f"{n},[{n}-9]" for n in range(10)]
    + [f"{n}[0-9],[{n + 1}-9][0-9]" for n in range(1, 9)]
)
_RX_QUANT = rf"(?:[*+?]|\{{(?:{_RX_COUNT},?|{_RX_BOUNDS})\}})\??"
_RX_ANCHOR = rf"(?:[$^]|{_RX_BS}[bB])"


def _regex_alternatives(depth: int) -> str:
    """Alternatives (``|`` anywhere) of pieces, with groups nested at most ``depth``."""
    atoms = [_RX_LITERAL, _RX_ESC, _RX_CLASS, r"\."]
    looks = []
    if depth:
        inner = _regex_alternatives(depth - 1)
        atoms.append(rf"\((?:\?:)?{inner}\)")
        looks.append(rf"\(\?[=!]{inner}\)")
    piece = "|".join([f"(?:{'|'.join(atoms)})(?:{_RX_QUANT})?", _RX_ANCHOR, *looks])
    return rf"(?:{piece}|\|)*"


REGEX = _regex_alternatives(_REGEX_DEPTH)

FORMATS: dict[str, str] = {
    "date-time": DATE_TIME,
    "date": DATE,
    "time": TIME,
    "duration": DURATION,
    "email": EMAIL,
    "hostname": HOSTNAME,
    # internationalized names: their ASCII subset only (U-labels need IDNA2008's tables)
    "idn-email": EMAIL,
    "idn-hostname": HOSTNAME,
    "ipv4": IPV4,
    "ipv6": IPV6,
    "uri": URI,
    "uri-reference": URI_REFERENCE,
    "iri": IRI,
    "iri-reference": IRI_REFERENCE,
    "json-pointer": JSON_POINTER,
    "relative-json-pointer": RELATIVE_JSON_POINTER,
    "uri-template": URI_TEMPLATE,
    "uuid": UUID,
    "regex": REGEX,
}
