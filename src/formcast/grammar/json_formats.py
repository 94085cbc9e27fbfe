"""String ``format`` values as regexes over the string body, and the format policy.

Each regex accepts a *subset* of the format (never a string outside it): e.g. dates are
checked day-by-month with leap years, but RFC 3339's lowercase ``t``/``z`` and leap
seconds are not accepted. Bodies are printable ASCII written raw (no escapes).

Policy (see ``docs/json_schema.md``): formats in :data:`FORMATS` are enforced; the other
formats that JSON Schema itself defines (:data:`SPEC_FORMATS`) are refused, since
validators commonly assert them; any other name is a custom format, which the
specification lets validators treat as an annotation: it is ignored and recorded in
``Grammar.notes``.
"""

from __future__ import annotations

_D2 = "[0-9]{2}"
_MONTH31 = "(?:0[13578]|1[02])"
_MONTH30 = "(?:0[469]|11)"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
DATE = (
    "(?:[0-9]{4}-(?:"
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
_LABEL63 = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LABEL30 = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,28}[A-Za-z0-9])?"
# total length must stay <= 253: up to 3 labels of 63 or up to 8 labels of 30 characters
HOSTNAME = f"(?:{_LABEL63}(?:\\.{_LABEL63}){{0,2}}|{_LABEL30}(?:\\.{_LABEL30}){{0,7}})"
_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL = f"{_ATOM}(?:\\.{_ATOM})*@{HOSTNAME}"
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PCT = "%[0-9a-fA-F]{2}"
_UNRESERVED_SUB = "A-Za-z0-9._~!$&'()*+,;=\\-"
_PCHAR = f"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_AUTHORITY = (
    f"(?:(?:[{_UNRESERVED_SUB}:]|{_PCT})*@)?(?:{IPV4}|(?:[{_UNRESERVED_SUB}]|{_PCT})*)(?::[0-9]*)?"
)
_QUERY = f"(?:{_PCHAR}|[/?])*"
URI = (
    "[A-Za-z][A-Za-z0-9+.-]*:"
    f"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    f"(?:\\?{_QUERY})?(?:#{_QUERY})?"
)

FORMATS: dict[str, str] = {
    "date-time": DATE_TIME,
    "date": DATE,
    "time": TIME,
    "duration": DURATION,
    "email": EMAIL,
    "hostname": HOSTNAME,
    "ipv4": IPV4,
    "ipv6": IPV6,
    "uri": URI,
    "uuid": UUID,
}

#: formats defined by JSON Schema (drafts 4 to 2020-12) that are not in FORMATS: refused
SPEC_FORMATS = frozenset(
    [
        "uri-reference",
        "iri",
        "iri-reference",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "idn-email",
        "idn-hostname",
        "regex",
    ]
)
