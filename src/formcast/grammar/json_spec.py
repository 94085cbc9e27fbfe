"""JSON Schema → typed spec: the parsing phase (refs, drafts, allOf merging, refusals).

A schema becomes a tree of :class:`Typed`, :class:`Union` and :class:`Ref` nodes. A
:class:`Typed` node is a conjunction already intersected (``allOf`` merged into it):
the JSON kinds it admits, an optional ``enum``, and per-kind constraints. Every node
keeps the JSON Pointer of the subschema it came from, so errors can name it.
Anything we cannot enforce exactly is refused here (or, under ``lenient``, dropped with
a note), so that lowering never has to guess.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any as TAny
from urllib.parse import unquote, urldefrag, urljoin

from formcast.errors import FormcastError, SchemaError, UnsupportedFeatureError
from formcast.grammar.json_formats import FORMATS
from formcast.grammar.json_keysets import patterns_disjoint
from formcast.grammar.json_meta import check_meta
from formcast.grammar.json_numbers import common_step, step_expressible

KINDS = frozenset({"null", "boolean", "int", "frac", "string", "array", "object"})
_TYPE_KINDS = {
    "null": {"null"},
    "boolean": {"boolean"},
    "integer": {"int"},
    "number": {"int", "frac"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}
#: keywords with no effect on validity
ANNOTATIONS = frozenset(
    [
        "$schema",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$vocabulary",
        "$dynamicAnchor",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "discriminator",
        "nullable",
        "example",
        "xml",
        "externalDocs",
    ]
)
#: validation keywords we cannot enforce (refused unless trivially satisfied)
REFUSED = frozenset(
    [
        "$dynamicRef",
        "$recursiveRef",
        "$recursiveAnchor",
    ]
)
_SINCE_2019 = frozenset(
    [
        "dependentRequired",
        "dependentSchemas",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
        "minContains",
        "maxContains",
        "$dynamicRef",
        "$recursiveRef",
        "$recursiveAnchor",
    ]
)
#: keywords a draft does not know: where ``$schema`` names that draft they are ignored, as
#: the specification (and ``jsonschema``) ignores unknown keywords
UNKNOWN_IN = {
    "draft4": _SINCE_2019 | {"const", "contains", "propertyNames", "if", "then", "else"},
    "draft6": _SINCE_2019 | {"if", "then", "else"},
    "draft7": _SINCE_2019,
}
#: keywords whose entries make some property names depend on others
DEPENDENCIES = ("dependentRequired", "dependencies", "dependentSchemas")
MAX_UNION_BRANCHES = 256
#: pairs of branches intersected when distributing one `allOf` over unions
MAX_UNION_WORK = 1024
#: nesting of `not`/`if` complements through properties and anyOf
MAX_COMPLEMENT_DEPTH = 8
#: steps of "branch and not other branch" for one `oneOf` (the branches multiply)
MAX_ONEOF_WORK = 1000


@dataclass(frozen=True)
class StrC:
    min_len: int = 0
    max_len: int | None = None
    patterns: tuple[tuple[str, str], ...] = ()  # (pattern, pointer)
    formats: tuple[tuple[str, str], ...] = ()  # (format, pointer)
    exclude: tuple[str, ...] = ()  # values ruled out by `not: {enum}`
    exclude_at: str = ""  # pointer of that `not`
    #: (pattern, pointer) that must find no match (from `not`), in either regex dialect
    anti: tuple[tuple[str, str], ...] = ()
    #: (format, pointer) the string must fail (from `not`): formcast's format regexes are
    #: strict subsets, so no string is known to fail one and none is produced
    anti_formats: tuple[tuple[str, str], ...] = ()
    #: the bound a pattern's repetitions are lowered to where they are too large for an
    #: automaton (a restriction, noted)
    max_count: int | None = None


@dataclass(frozen=True)
class NumC:
    lo: Decimal | None = None
    lo_excl: bool = False
    hi: Decimal | None = None
    hi_excl: bool = False
    multiple_of: tuple[Decimal, ...] = ()
    #: steps of which the number must not be a multiple (from `not`)
    not_multiple_of: tuple[Decimal, ...] = ()
    pointer: str = ""


@dataclass(frozen=True)
class ArrC:
    prefix: tuple[Spec, ...] = ()
    items: Spec | None = None  # None: any
    min_items: int = 0
    max_items: int | None = None
    contains: Spec | None = None
    min_contains: int = 1  # items matching `contains`: at least this many
    max_contains: int | None = None  # and at most this many
    also: Spec | None = None  # a second `contains` (of an intersection), with `contains`
    unique: bool = False
    pointer: str = ""


@dataclass(frozen=True)
class ObjC:
    props: tuple[tuple[str, Spec], ...] = ()
    required: tuple[str, ...] = ()
    additional: Spec | None = None  # None: any
    patterns: tuple[tuple[str, Spec], ...] = ()
    names: Spec | None = None
    min_props: int = 0
    max_props: int | None = None
    deps: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, names required with it)
    #: (key, value) specs, each met by some pair of the object: "some key is bad", from
    #: the complements of patternProperties, additionalProperties and propertyNames
    some: tuple[tuple[Spec, Spec], ...] = ()
    pointer: str = ""


@dataclass(frozen=True)
class Typed:
    pointer: str
    kinds: frozenset[str] = KINDS
    enum: tuple[TAny, ...] | None = None
    s: StrC = StrC()
    n: NumC = NumC()
    a: ArrC = ArrC()
    o: ObjC = ObjC()

    def is_any(self) -> bool:
        return (
            self.kinds == KINDS
            and self.enum is None
            and self.s == _NO_STR
            and _num_free(self.n)
            and _arr_free(self.a)
            and _obj_free(self.o)
        )

    def is_never(self) -> bool:
        return not self.kinds or (self.enum is not None and not self.enum)


@dataclass(frozen=True)
class Union:
    pointer: str
    branches: tuple[Spec, ...]


@dataclass(frozen=True)
class Ref:
    pointer: str
    target: str  # absolute pointer into the root document


Spec = Typed | Union | Ref


def _num_free(n: NumC) -> bool:
    return n.lo is None and n.hi is None and not n.multiple_of and not n.not_multiple_of


def _counted(a: ArrC) -> bool:
    """Whether ``a``'s `contains` is counted (minContains other than 1, or maxContains)."""
    return a.contains is not None and (a.min_contains != 1 or a.max_contains is not None)


def _arr_free(a: ArrC) -> bool:
    return (
        not a.prefix
        and a.items is None
        and a.min_items == 0
        and a.max_items is None
        and a.contains is None
        and a.also is None
        and not a.unique
    )


def _obj_free(o: ObjC) -> bool:
    return (
        not o.props
        and not o.required
        and o.additional is None
        and not o.patterns
        and o.names is None
        and o.min_props == 0
        and o.max_props is None
        and not o.deps
        and not o.some
    )


def any_spec(pointer: str) -> Typed:
    return Typed(pointer)


def never_spec(pointer: str) -> Typed:
    return Typed(pointer, kinds=frozenset())


def canon(value: TAny) -> str:
    """A key under which JSON-equal values coincide (1 == 1.0, but true != 1)."""
    if isinstance(value, str):
        return json.dumps(value)  # no keys to sort: the shared encoder
    return json.dumps(_norm(value), sort_keys=True)


def _norm(v: TAny) -> TAny:
    """``v`` with numbers replaced by their normalized decimal text (see :func:`canon`)."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        d = Decimal(str(v))
        return ["#num", str(d.normalize()) if d != 0 else "0"]
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    return v


def kind_of(value: TAny) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "int" if value == int(value) else "frac"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def plain(text: str) -> bool:
    """Printable ASCII: where ECMA-262 and Python regexes agree on every class and anchor."""
    return text.isascii() and text.isprintable()


def _dec(v: TAny) -> Decimal:
    return Decimal(str(v))


#: the keywords each of ``_str``, ``_num``, ``_arr`` and ``_obj`` reads (none: no constraint)
_STR_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUM_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_ARR_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems"})
_OBJ_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        *DEPENDENCIES,
    }
)
_NO_STR = StrC()


def _ptr_join(pointer: str, *parts: object) -> str:
    out = pointer
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out


# ----------------------------------------------------------------------------- the parser


@dataclass
class ParseOptions:
    lenient: bool = False
    notes: list[str] = field(default_factory=list)


class SchemaParser:
    """Parses one root document; ``spec(pointer)`` is memoised so refs share work."""

    def __init__(self, root: TAny, *, lenient: bool = False, negate_formats: bool = True) -> None:
        self.root = root
        self.lenient = lenient
        #: complement a `format` as an `anti_formats` rule (else refuse such complements)
        self.negate_formats = negate_formats
        self.notes: list[str] = []
        self.draft = self._check_meta(root)
        self.legacy_ref = self.draft in ("draft4", "draft6", "draft7")
        declared = isinstance(root, dict) and isinstance(root.get("$schema"), str)
        self._unknown = UNKNOWN_IN.get(self.draft, frozenset()) if declared else frozenset()
        self._by_uri: dict[str, str] = {}  # absolute URI (no fragment) -> pointer
        self._anchors: dict[str, str] = {}  # absolute URI with #anchor -> pointer
        self._base: dict[str, str] = {}  # pointer -> base URI at that node
        ident_key = "id" if self.draft == "draft4" else "$id"
        root_id = root.get(ident_key) if isinstance(root, dict) else None
        base = (
            urljoin("https://formcast.invalid/root.json", root_id)
            if isinstance(root_id, str)
            else ""
        )
        self._ident_key = ident_key
        self._root_base = urldefrag(base or "https://formcast.invalid/root.json")[0]
        self._by_uri[self._root_base] = ""
        self._index(root, "", self._root_base)
        self._memo: dict[str, Spec] = {}
        self._inlining: list[str] = []
        self._merging: set[tuple[str, str]] = set()
        #: intersections met again while being built (recursion): each is named by a
        #: synthetic target ("&0", "&1", ...: not a JSON pointer), defined once it is built
        self._products: dict[tuple[str, str], str] = {}
        #: intersections through a $ref, built once each (a recursive pair of definitions
        #: meets its own intersections again and again: shared, not rebuilt)
        self._merged: dict[tuple[str, str], Spec] = {}
        self._work = MAX_ONEOF_WORK  # steps left to the `oneOf` at hand (see _minus)
        #: whether a complement turned a `format` into an `anti_formats` rule
        self.format_negated = False
        self._canons: dict[int, tuple[tuple[TAny, ...], frozenset[str]]] = {}

    # -- refusals ---------------------------------------------------------------------------
    def refuse(self, feature: str, where: str, hint: str = "") -> None:
        """Raise, or under ``lenient`` record that ``feature`` at ``where`` is not enforced."""
        if not self.lenient:
            raise UnsupportedFeatureError(feature, where or "#", hint)
        note = f"not enforced: {feature} at {where or '#'}" + (f" ({hint})" if hint else "")
        if note not in self.notes:
            self.notes.append(note)
            warnings.warn(note, stacklevel=3)

    def note(self, text: str) -> None:
        """Record, without a warning, a keyword ignored as the specification allows."""
        if text not in self.notes:
            self.notes.append(text)

    # -- meta-schema ------------------------------------------------------------------------
    def _check_meta(self, root: TAny) -> str:
        """Check ``root`` against its draft's meta-schema; return the draft's name."""
        return check_meta(root)

    # -- indexing and refs ------------------------------------------------------------------
    def _index(self, node: TAny, ptr: str, base: str) -> None:
        if not isinstance(node, dict):
            return
        # the identifier keyword is `id` in draft 4 and `$id` since draft 6; the other
        # spelling is an unknown keyword there (jsonschema and the spec ignore it)
        ident = node.get(self._ident_key)
        if isinstance(ident, str) and not (self.legacy_ref and "$ref" in node):
            uri, frag = urldefrag(_join(base, ident))
            if frag and self.draft in ("draft4", "draft6", "draft7") and not frag.startswith("/"):
                self._anchors[_join(base, ident)] = ptr  # draft <= 7 plain-name ids
            else:
                base = uri
                self._by_uri.setdefault(uri, ptr)
        anchor = node.get("$anchor")
        if isinstance(anchor, str):
            self._anchors[f"{base}#{anchor}"] = ptr
        self._base[ptr] = base
        if node.keys().isdisjoint(_SUB_KEYS):
            return  # a leaf
        for key, sub in _subschemas(node):
            self._index(sub, _ptr_join(ptr, *key), base)

    def resolve(self, ref: str, ptr: str) -> str:
        base = self._base.get(ptr, self._root_base)
        full = _join(base, ref)
        uri, frag = urldefrag(full)
        if full in self._anchors:
            return self._anchors[full]
        doc = self._by_uri.get(uri)
        if doc is None:
            self.refuse("$ref", ptr, f"cannot resolve {ref!r} (only local references)")
            raise _Relaxed
        frag = unquote(frag)
        if frag == "":
            return doc
        if frag.startswith("/"):
            target = doc + frag
            if self._at(target) is _MISSING:
                raise SchemaError(f"$ref {ref!r} points nowhere", ptr)
            return target
        key = f"{uri}#{frag}"
        if key in self._anchors:
            return self._anchors[key]
        raise SchemaError(f"$ref {ref!r}: unknown anchor", ptr)

    def _at(self, ptr: str) -> TAny:
        node = self.root
        if ptr == "":
            return node
        for raw in ptr.split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return _MISSING
        return node

    def raw(self, ptr: str) -> TAny:
        return self._at(ptr)

    # -- parsing ----------------------------------------------------------------------------
    def spec(self, ptr: str) -> Spec:
        if ptr not in self._memo:
            if ptr.startswith("&"):  # an intersection still being built
                raise _Recursive(ptr)
            self._memo[ptr] = self._parse(self._at(ptr), ptr)
        return self._memo[ptr]

    def _sub(self, schema: dict, ptr: str, *key: str | int) -> Spec:
        """:meth:`spec` of the subschema under ``key`` in ``schema`` (the node at ``ptr``),
        taken from ``schema`` rather than looked up from the root."""
        at = _ptr_join(ptr, *key)
        spec = self._memo.get(at)
        if spec is None:
            node = schema
            for k in key:
                node = node[k]
            spec = self._memo[at] = self._parse(node, at)
        return spec

    def deref(self, spec: Spec) -> Spec:
        """Inline a :class:`Ref` (recursion through merges is refused)."""
        seen = set()
        while isinstance(spec, Ref):
            if spec.target in seen or spec.target in self._inlining:
                raise _Recursive(spec.pointer)
            seen.add(spec.target)
            self._inlining.append(spec.target)
            try:
                spec = self.spec(spec.target)
            finally:
                self._inlining.pop()
        return spec

    def _parse(self, schema: TAny, ptr: str) -> Spec:
        if schema is True:
            return any_spec(ptr)
        if schema is False:
            return never_spec(ptr)
        assert isinstance(schema, dict)  # checked by the meta-schema
        if not self._unknown.isdisjoint(schema):
            for kw in [k for k in schema if k in self._unknown]:
                self.note(f"ignored: {kw} at {_ptr_join(ptr, kw)} (not a {self.draft} keyword)")
            schema = {k: v for k, v in schema.items() if k not in self._unknown}
        conj: list[Spec] = []
        if "$ref" in schema:
            try:
                target = self.resolve(schema["$ref"], ptr)
                conj.append(Ref(_ptr_join(ptr, "$ref"), target))
            except _Relaxed:
                pass
            if self.legacy_ref:
                return conj[0] if conj else any_spec(ptr)
        if not schema.keys().isdisjoint(REFUSED):
            self._refuse_keywords(schema, ptr)
        local = self._local(schema, ptr)
        conj.append(local)
        for i in range(len(schema.get("allOf", ()))):
            conj.append(self._sub(schema, ptr, "allOf", i))
        # unevaluated*: one conditional applicator here may evaluate per branch (credited)
        uneval = [kw for kw in UNEVALUATED if kw in schema]
        credited = _credited(schema) if uneval else None
        done = False  # whether the credited applicator's branches carry the keywords
        if "anyOf" in schema:
            p = _ptr_join(ptr, "anyOf")
            branches = [self._sub(schema, ptr, "anyOf", i) for i in range(len(schema["anyOf"]))]
            if credited == "anyOf" and self._no_overlap(branches, ptr, uneval):
                raw = [[(b, _ptr_join(p, i))] for i, b in enumerate(schema["anyOf"])]
                branches, done = self._credit(schema, ptr, uneval, branches, raw), True
            conj.append(Union(p, tuple(branches)))
        if "oneOf" in schema:
            p = _ptr_join(ptr, "oneOf")
            branches = [self._sub(schema, ptr, "oneOf", i) for i in range(len(schema["oneOf"]))]
            branches = self._exclusive(branches, p, local)
            if credited == "oneOf":
                raw = [[(b, _ptr_join(p, i))] for i, b in enumerate(schema["oneOf"])]
                branches, done = self._credit(schema, ptr, uneval, branches, raw), True
            conj.append(Union(p, tuple(branches)))
        for kw in ("dependencies", "dependentSchemas"):
            deps = schema.get(kw)
            for name, dep in deps.items() if isinstance(deps, dict) else ():
                if _dep_names(dep) is None:
                    dptr = _ptr_join(ptr, kw, name)
                    spec = self._dependent(name, dptr)
                    if credited == kw and isinstance(spec, Union):  # (absent, present)
                        raw = [[], [(dep, dptr)]]
                        credit = self._credit(schema, ptr, uneval, spec.branches, raw)
                        spec = Union(dptr, tuple(credit))
                        done = True
                    conj.append(spec)
        if "not" in schema:
            conj.append(self._negate(self._sub(schema, ptr, "not"), _ptr_join(ptr, "not")))
        if "if" in schema and ("then" in schema or "else" in schema or credited == "if"):
            spec = self._if_then_else(schema, ptr)
            if credited == "if" and isinstance(spec, Union):  # (if and then, not if and else)
                yes = [(schema[k], _ptr_join(ptr, k)) for k in ("if", "then") if k in schema]
                no = [(schema["else"], _ptr_join(ptr, "else"))] if "else" in schema else []
                credit = self._credit(schema, ptr, uneval, spec.branches, [yes, no])
                spec = Union(ptr, tuple(credit))
                done = True
            conj.append(spec)
        if not done:  # nothing credited: a conditional applicator left is refused
            conj += [self._unevaluated(schema, ptr, kw) for kw in uneval]
        result: Spec = conj[0]
        for other in conj[1:]:
            result = self.merge(result, other, ptr)
        return result

    def _credit(
        self,
        schema: dict,
        ptr: str,
        kws: list[str],
        branches: Sequence[Spec],
        raw: list[list[tuple[TAny, str]]],
    ) -> list[Spec]:
        """``branches`` of the conditional applicator of ``schema`` that at most one valid
        instance passes, each met with the unevaluated* keywords ``kws`` counting what it
        evaluates in place (its raw subschemas ``raw``) besides ``schema``'s own."""
        out = []
        for branch, extra in zip(branches, raw, strict=True):
            for kw in kws:
                branch = self.merge(branch, self._unevaluated(schema, ptr, kw, extra), ptr)
            out.append(branch)
        return out

    def _no_overlap(self, branches: list[Spec], ptr: str, kws: list[str]) -> bool:
        """Whether no two ``anyOf`` branches overlap on the objects (arrays) that ``kws``
        constrain, so that :meth:`_credit` is exact (an instance passing two would have
        both evaluate); else refused (under ``lenient``, False: the keywords ``kws`` are
        then relaxed, as refused)."""
        kinds = frozenset().union(*(_EVALUATED_KINDS[kw] for kw in kws))
        for i, j in itertools.combinations(range(len(branches)), 2):
            if not self.disjoint(branches[i], branches[j], kinds):
                for kw in kws:
                    hint = f"anyOf branches {i} and {j} may both pass (both would evaluate)"
                    self.refuse(kw, _ptr_join(ptr, kw), hint)
                return False
        return True

    def _unevaluated(
        self, schema: dict, ptr: str, kw: str, extra: list[tuple[TAny, str]] | None = None
    ) -> Spec:
        """``unevaluatedProperties`` or ``unevaluatedItems`` of ``schema``, where what is
        evaluated in place does not depend on the instance: the names, patterns and
        prefix lengths of ``schema`` and of its ``allOf`` members and ``$ref`` targets
        (recursively), which always hold when the instance is valid, and of the subschemas
        ``extra`` (the passing branch of the one conditional applicator of ``schema``,
        when :meth:`_credit` credits it). The rest of the members or items must then
        satisfy the keyword's subschema: exactly an object (array) constraint with those
        properties (prefix) free and it as the rest, so complements stay exact. Other
        conditional annotations (``anyOf``, ``oneOf``, ``if``, ``dependentSchemas``,
        ``contains``) are refused."""
        at = _ptr_join(ptr, kw)
        names: dict[str, None] = {}
        patterns: dict[str, None] = {}
        prefix = 0
        credited = _credited(schema) if extra is not None else None
        seen: set[str] = set()
        nodes = itertools.chain(
            self._in_place(schema, ptr, seen),
            *(self._in_place(node, where, seen) for node, where in extra or ()),
        )
        for node, where in nodes:
            for key in _CONDITIONAL[kw]:
                if where == ptr and key == credited:
                    continue
                if key in node and (key not in DEPENDENCIES or _schema_deps(node[key])):
                    self.refuse(
                        kw,
                        at,
                        f"annotations of `{key}` (at {_ptr_join(where, key) or '#'}) "
                        "are not collected; only those of properties, patternProperties, "
                        "prefixItems, allOf and $ref",
                    )
                    return any_spec(at)
            if (kw in node and where != ptr) or _evaluates_rest(node, kw):
                return any_spec(at)  # everything is evaluated in place: nothing is left
            names.update(dict.fromkeys(node.get("properties", ())))
            patterns.update(dict.fromkeys(node.get("patternProperties", ())))
            items = node.get("items")
            tuple_items = len(items) if isinstance(items, list) else 0
            prefix = max(prefix, len(node.get("prefixItems", ())), tuple_items)
        rest = self._sub(schema, ptr, kw)
        if kw == "unevaluatedItems":
            return Typed(at, a=ArrC(prefix=(any_spec(at),) * prefix, items=rest, pointer=at))
        free = tuple((n, any_spec(at)) for n in names)
        pats = tuple((q, any_spec(at)) for q in patterns)
        return Typed(at, o=ObjC(props=free, additional=rest, patterns=pats, pointer=at))

    def _in_place(self, schema: TAny, ptr: str, seen: set[str]) -> Iterable[tuple[dict, str]]:
        """``schema`` and the subschemas applied to the same instance whose annotations
        always count when it is valid: ``allOf`` members and ``$ref`` targets."""
        if not isinstance(schema, dict) or ptr in seen:
            return
        seen.add(ptr)
        yield schema, ptr
        for i, sub in enumerate(schema.get("allOf", ())):
            yield from self._in_place(sub, _ptr_join(ptr, "allOf", i), seen)
        if "$ref" in schema:
            with contextlib.suppress(_Relaxed):  # unresolved: refused (lenient: relaxed)
                target = self.resolve(schema["$ref"], ptr)
                yield from self._in_place(self._at(target), target, seen)

    def _refuse_keywords(self, schema: dict, ptr: str) -> None:
        """Refuse the :data:`REFUSED` keywords of ``schema`` that are not trivially true."""
        for kw in REFUSED:
            if kw in schema:
                val = schema[kw]
                trivial = val in ({}, []) or (kw == "minContains" and val == 1)
                if not trivial:
                    self.refuse(kw, _ptr_join(ptr, kw))

    def _local(self, schema: dict, ptr: str) -> Typed:
        kinds = KINDS
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            found: set[str] = set()
            for name in types:
                found |= _TYPE_KINDS[name]
            kinds = frozenset(found)
        enum = _dedup(schema["enum"]) if "enum" in schema else None
        if "const" in schema:
            vals = (schema["const"],)
            enum = vals if enum is None else _enum_meet(enum, vals)
        s, n = self._str(schema, ptr), self._num(schema, ptr)
        return Typed(ptr, kinds, enum, s, n, self._arr(schema, ptr), self._obj(schema, ptr))

    def _str(self, schema: dict, ptr: str) -> StrC:
        if schema.keys().isdisjoint(_STR_KEYS):
            return _NO_STR
        max_len = int(schema["maxLength"]) if "maxLength" in schema else None
        patterns: tuple[tuple[str, str], ...] = ()
        if "pattern" in schema:
            patterns = ((schema["pattern"], _ptr_join(ptr, "pattern")),)
        formats: tuple[tuple[str, str], ...] = ()
        if "format" in schema:
            fmt = schema["format"]
            fptr = _ptr_join(ptr, "format")
            if fmt in FORMATS:
                formats = ((fmt, fptr),)
            else:
                # a custom format: JSON Schema lets validators ignore it (an annotation)
                self.note(f"annotation only: custom format {fmt!r} at {fptr or '#'}")
        return StrC(int(schema.get("minLength", 0)), max_len, patterns, formats)

    def _num(self, schema: dict, ptr: str) -> NumC:
        if schema.keys().isdisjoint(_NUM_KEYS):
            return NumC(pointer=ptr)
        lo = hi = None
        lo_excl = hi_excl = False
        if "minimum" in schema:
            lo, lo_excl = _dec(schema["minimum"]), schema.get("exclusiveMinimum") is True
        if "maximum" in schema:
            hi, hi_excl = _dec(schema["maximum"]), schema.get("exclusiveMaximum") is True
        steps = (_dec(schema["multipleOf"]),) if "multipleOf" in schema else ()
        n = NumC(lo, lo_excl, hi, hi_excl, steps, pointer=ptr)
        # draft 6+: numeric exclusive bounds, met with the inclusive ones
        em, eM = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if isinstance(em, (int, float)) and not isinstance(em, bool):
            n = _num_meet(n, NumC(lo=_dec(em), lo_excl=True))
        if isinstance(eM, (int, float)) and not isinstance(eM, bool):
            n = _num_meet(n, NumC(hi=_dec(eM), hi_excl=True))
        return n

    def _arr(self, schema: dict, ptr: str) -> ArrC:
        if schema.keys().isdisjoint(_ARR_KEYS):
            return ArrC(pointer=ptr)
        prefix: tuple[Spec, ...] = ()
        rest: Spec | None = None
        items = schema.get("items")
        if isinstance(items, list):
            prefix = tuple(self._sub(schema, ptr, "items", i) for i in range(len(items)))
            if "additionalItems" in schema:
                rest = self._sub(schema, ptr, "additionalItems")
        else:
            if "prefixItems" in schema:
                n = len(schema["prefixItems"])
                prefix = tuple(self._sub(schema, ptr, "prefixItems", i) for i in range(n))
            if items is not None:
                rest = self._sub(schema, ptr, "items")
        contains: Spec | None = None
        least, most = int(schema.get("minContains", 1)), schema.get("maxContains")
        if "contains" in schema and (least or most is not None):  # else it always holds
            contains = self._sub(schema, ptr, "contains")
        return ArrC(
            prefix=prefix,
            items=rest,
            min_items=int(schema.get("minItems", 0)),
            max_items=int(schema["maxItems"]) if "maxItems" in schema else None,
            contains=contains,
            min_contains=least if contains is not None else 1,
            max_contains=int(most) if contains is not None and most is not None else None,
            unique=schema.get("uniqueItems") is True,
            pointer=ptr,
        )

    def _obj(self, schema: dict, ptr: str) -> ObjC:
        if schema.keys().isdisjoint(_OBJ_KEYS):
            return ObjC(pointer=ptr)
        props = schema.get("properties", {})
        named = tuple((name, self._sub(schema, ptr, "properties", name)) for name in props)
        additional = None
        if "additionalProperties" in schema:
            additional = self._sub(schema, ptr, "additionalProperties")
        pats = schema.get("patternProperties", {})
        patterns = tuple((p, self._sub(schema, ptr, "patternProperties", p)) for p in pats)
        names = None
        if "propertyNames" in schema:
            names = self._sub(schema, ptr, "propertyNames")
        return ObjC(
            props=named,
            required=tuple(dict.fromkeys(schema.get("required", []))),
            additional=additional,
            patterns=patterns,
            names=names,
            min_props=int(schema.get("minProperties", 0)),
            max_props=int(schema["maxProperties"]) if "maxProperties" in schema else None,
            deps=self._deps(schema, ptr),
            pointer=ptr,
        )

    def _deps(self, schema: dict, ptr: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Name dependencies: lists of names, or subschemas made of ``required`` alone."""
        deps: list[tuple[str, tuple[str, ...]]] = []
        for kw in DEPENDENCIES:
            val = schema.get(kw)
            if not isinstance(val, dict):
                continue
            for name, dep in val.items():
                names = _dep_names(dep)
                if names is None:
                    continue  # a subschema: see _dependent
                names = [n for n in dict.fromkeys(names) if n != name]
                if names:
                    deps.append((name, tuple(names)))
        return tuple(deps)

    def _dependent(self, name: str, ptr: str) -> Spec:
        """A dependent subschema: an object holding ``name`` must satisfy it, exactly as
        ``(name absent) or (name present and subschema)``, two disjoint branches."""
        absent = Typed(ptr, o=ObjC(props=((name, never_spec(ptr)),), pointer=ptr))
        sub = self.spec(ptr)
        try:
            inner = self.deref(sub)
        except _Recursive:
            inner = sub
        # property order: the subschema's, else `name` first
        declared = isinstance(inner, Typed) and name in dict(inner.o.props)
        first = () if declared else ((name, any_spec(ptr)),)
        present = ObjC(props=first, required=(name,), pointer=ptr)
        holds = Typed(ptr, kinds=frozenset({"object"}), o=present)
        return Union(ptr, (absent, self.merge(holds, sub, ptr)))

    # -- not, if/then/else, oneOf -----------------------------------------------------------
    def _kinds_only(self, spec: Spec) -> frozenset[str] | None:
        """The kinds of a spec constrained by type alone, else None."""
        try:
            spec = self.deref(spec)
        except _Recursive:
            return None
        if isinstance(spec, Typed):
            plain = replace(spec, kinds=KINDS, pointer=spec.pointer)
            if plain.is_any():
                return spec.kinds
        return None

    def complement(self, spec: Spec, ptr: str) -> Spec | None:
        """The complement of ``spec`` (see :meth:`_complement`), or None."""
        return self._complement(spec, ptr)

    def _negate(self, spec: Spec, ptr: str) -> Spec:
        out = self._complement(spec, ptr)
        if out is None:
            self.refuse(
                "not",
                ptr,
                "its complement cannot be written: `format` alone, `uniqueItems`, `multipleOf` "
                "with a factor prime to 10 over 1000, recursion, or one of these "
                "under `additionalProperties`, `patternProperties` or `propertyNames`",
            )
            return any_spec(ptr)
        return out

    def _complement(
        self, spec: Spec, ptr: str, depth: int = 0, keys: tuple[str, ...] | None = None
    ) -> Spec | None:
        """The complement of ``spec`` (exact, or a subset of it where regex dialects
        differ), or None when we cannot write it. ``keys``: the only names an object
        may have (where the result is intersected with a closed object), or None."""
        if depth > MAX_COMPLEMENT_DEPTH:
            return None  # e.g. `properties` through a recursive $ref
        kinds = self._kinds_only(spec)
        if kinds is not None:
            return Typed(ptr, kinds=KINDS - kinds)
        try:
            spec = self.deref(spec)
        except _Recursive:
            return None
        if isinstance(spec, Union):
            # not (A or B) = not A and not B
            out: Spec = any_spec(ptr)
            for b in spec.branches:
                c = self._complement(b, ptr, depth + 1, keys)
                if c is None:
                    return None
                out = self.merge(out, c, ptr)
            return out
        if not isinstance(spec, Typed):
            return None
        if spec.enum is not None:
            return self._enum_negation(spec, ptr)
        # an instance fails a conjunction when it has another kind, or when it breaks one
        # of the constraints on its own kind: the complement is the union of those ways
        branches: list[Spec] = []
        if spec.kinds != KINDS:
            branches.append(Typed(ptr, kinds=KINDS - spec.kinds))
        for violations in (self._num_fails, self._str_fails, self._arr_fails, self._obj_fails):
            got = violations(spec, ptr, depth, keys)
            if got is None:
                return None
            branches += got
        branches = [b for b in branches if not self._never(b)]
        if not branches:
            return never_spec(ptr)
        return branches[0] if len(branches) == 1 else Union(ptr, tuple(branches))

    def _enum_negation(self, spec: Typed, ptr: str) -> Spec | None:
        """Everything but the enum values that may meet the rest of ``spec``."""
        values = [v for v in spec.enum or () if self.matches(v, spec, loose=True)]
        out = _enum_complement([v for v in values if not isinstance(v, (list, dict))], ptr)
        for v in values:
            if isinstance(v, (list, dict)) and out is not None:
                if isinstance(v, list):
                    c = self._array_negation(v, ptr)
                else:
                    c = self._object_negation(v, ptr)
                out = None if c is None else self.merge(out, c, ptr)
        return out

    def _object_negation(self, value: dict, ptr: str) -> Spec | None:
        """Everything but the object ``value``: another kind, a name missing, a value
        different, or all of its names and one more."""
        obj = frozenset({"object"})
        out: list[Spec] = [Typed(ptr, kinds=KINDS - obj)]

        def add(c: ObjC) -> None:
            out.append(Typed(ptr, kinds=obj, o=replace(c, pointer=ptr)))

        for name, item in value.items():
            add(ObjC(props=((name, never_spec(ptr)),)))
            c = self._enum_negation(Typed(ptr, enum=(item,)), ptr)
            if c is None:
                return None
            if not self._never(c):
                add(ObjC(props=((name, c),), required=(name,)))
        add(ObjC(required=tuple(value), min_props=len(value) + 1))
        return _union(out, ptr)

    def _array_negation(self, value: list, ptr: str) -> Spec | None:
        """Everything but the array ``value``: another kind, another length, or the same
        length with some item different."""
        n = len(value)
        arr = frozenset({"array"})
        out: list[Spec] = [Typed(ptr, kinds=KINDS - arr)]
        if n:
            out.append(Typed(ptr, kinds=arr, a=ArrC(max_items=n - 1, pointer=ptr)))
        out.append(Typed(ptr, kinds=arr, a=ArrC(min_items=n + 1, pointer=ptr)))
        for i, item in enumerate(value):
            c = self._enum_negation(Typed(ptr, enum=(item,)), ptr)
            if c is None:
                return None
            prefix = (*(any_spec(ptr) for _ in range(i)), c)
            out.append(Typed(ptr, kinds=arr, a=ArrC(prefix, min_items=n, max_items=n, pointer=ptr)))
        return _union(out, ptr)

    def _num_fails(self, spec: Typed, ptr: str, depth: int, keys: Names) -> list[Spec] | None:
        """Numbers of ``spec``'s kinds outside its bounds, or (not) multiples of its steps."""
        nk, n = spec.kinds & {"int", "frac"}, spec.n
        if not nk or _num_free(n):
            return []
        out: list[Spec] = []
        if n.multiple_of:
            # a multiple of every step is a multiple of their least common multiple
            step = common_step(n.multiple_of)
            if not step_expressible(step):
                return None  # no regex of ours for its non-multiples
            out.append(Typed(ptr, kinds=nk, n=NumC(not_multiple_of=(step,), pointer=ptr)))
        for step in n.not_multiple_of:
            out.append(Typed(ptr, kinds=nk, n=NumC(multiple_of=(step,), pointer=ptr)))
        if n.lo is not None:
            below = NumC(hi=n.lo, hi_excl=not n.lo_excl, pointer=ptr)
            out.append(Typed(ptr, kinds=nk, n=below))
        if n.hi is not None:
            above = NumC(lo=n.hi, lo_excl=not n.hi_excl, pointer=ptr)
            out.append(Typed(ptr, kinds=nk, n=above))
        return out

    def _str_fails(self, spec: Typed, ptr: str, depth: int, keys: Names) -> list[Spec] | None:
        """Strings that break a length bound, a pattern or a format, or are excluded."""
        s = spec.s
        if "string" not in spec.kinds or s == StrC():
            return []
        if (s.formats or s.anti_formats) and not self.negate_formats:
            return None  # see grammar_from_json_schema: the fallback refuses them
        string = frozenset({"string"})
        out: list[Spec] = []
        # a format's failures are an `anti_formats` rule (it produces no string: a subset);
        # an anti-format's are the format's own strict regex (a subset too), so the
        # complement of a complement stays within the original
        for fmt in s.formats:
            self.format_negated = True
            out.append(Typed(ptr, kinds=string, s=StrC(anti_formats=(fmt,))))
        for fmt in s.anti_formats:
            out.append(Typed(ptr, kinds=string, s=StrC(formats=(fmt,))))
        # a pattern's failures are the strings it matches in neither dialect; an `anti`
        # pattern's are those it matches in both (each a subset of the exact complement)
        for pat in s.patterns:
            out.append(Typed(ptr, kinds=string, s=StrC(anti=(pat,))))
        for pat in s.anti:
            out.append(Typed(ptr, kinds=string, s=StrC(patterns=(pat,))))
        if s.exclude:
            out.append(Typed(ptr, kinds=string, enum=s.exclude))
        if s.min_len > 0:
            out.append(Typed(ptr, kinds=string, s=StrC(max_len=s.min_len - 1)))
        if s.max_len is not None:
            out.append(Typed(ptr, kinds=string, s=StrC(min_len=s.max_len + 1)))
        return out

    def _arr_fails(self, spec: Typed, ptr: str, depth: int, keys: Names) -> list[Spec] | None:
        """Arrays of the wrong length, with a bad item, or without a `contains` match."""
        a = spec.a
        if "array" not in spec.kinds or _arr_free(a):
            return []
        if a.unique and (a.max_items is None or a.max_items > 1):
            return None  # arrays with a repeated item: no grammar of ours
        arr = frozenset({"array"})
        out: list[Spec] = []

        def add(c: ArrC) -> None:
            out.append(Typed(ptr, kinds=arr, a=replace(c, pointer=ptr)))

        if a.min_items > 0:
            add(ArrC(max_items=a.min_items - 1))
        if a.max_items is not None:
            add(ArrC(min_items=a.max_items + 1))
        for i, sub in enumerate(a.prefix):
            c = self._complement(sub, ptr, depth + 1)
            if c is None:
                return None
            if not self._never(c):
                add(ArrC(prefix=(*(any_spec(ptr) for _ in range(i)), c), min_items=i + 1))
        if a.items is not None:
            c = self._complement(a.items, ptr, depth + 1)
            if c is None:
                return None
            k = len(a.prefix)
            if isinstance(c, Typed) and c.is_any():
                add(ArrC(min_items=k + 1))  # `items: false`: any item past the prefix
            elif not self._never(c):
                if k:
                    return None  # "some item past the prefix is bad": no `contains` of ours
                add(ArrC(contains=c))
        for need in (a.contains, a.also):
            if need is None:
                continue
            least, most = (a.min_contains, a.max_contains) if need is a.contains else (1, None)
            if least == 1:  # no item matches
                miss = self._complement(need, ptr, depth + 1)
                if miss is None:
                    return None
                add(ArrC(items=miss))
            elif least > 1:  # too few items match
                add(ArrC(contains=need, min_contains=0, max_contains=least - 1))
            if most is not None:  # too many items match
                add(ArrC(contains=need, min_contains=most + 1))
        return out

    def _obj_fails(self, spec: Typed, ptr: str, depth: int, keys: Names) -> list[Spec] | None:
        """Objects that lack a required name, hold a bad value, or break a count."""
        o = spec.o
        if "object" not in spec.kinds or _obj_free(o):
            return []
        obj = frozenset({"object"})
        string = frozenset({"string"})
        out: list[Spec] = []

        def add(c: ObjC) -> None:
            out.append(Typed(ptr, kinds=obj, o=replace(c, pointer=ptr)))

        for some_key_rule, some_value in o.some:
            # no pair meets the condition: every key of its kind has a value in the
            # complement (the key rules come from _obj_fails below, so they have its forms)
            none = self._no_witness(some_key_rule, some_value, ptr, depth)
            if none is None:
                return None
            add(none)

        def some_key(key: Spec, value: Spec) -> None:
            # "some key is bad": a pair whose key surely falls under the rule, bad value
            add(ObjC(some=((key, value),)))

        # a bad key matching a pattern, a bad extra key, a bad name; where the names are
        # known (a closed object), one of them, present
        declared = dict(o.props)
        for p, sub in o.patterns:
            c = self._complement(sub, ptr, depth + 1)
            if c is None:
                return None
            if self._never(c):
                continue
            if keys is None:
                # keys the pattern matches in both dialects (the lowering's reading)
                some_key(Typed(ptr, kinds=string, s=StrC(patterns=((p, ptr),))), c)
            for k in keys or ():
                if not plain(k):
                    return None
                if re.search(p, k):
                    add(ObjC(props=((k, c),), required=(k,)))
        if o.additional is not None:
            c = self._complement(o.additional, ptr, depth + 1)
            if c is None:
                return None
            if keys is None and not self._never(c):
                # keys no pattern may match in either dialect, and not declared
                anti = tuple((p, ptr) for p, _ in o.patterns)
                key = StrC(anti=anti, exclude=tuple(declared), exclude_at=ptr)
                some_key(Typed(ptr, kinds=string, s=key), c)
            for k in keys or ():
                hit = any(re.search(p, k) for p, _ in o.patterns)
                if o.patterns and not plain(k):
                    return None
                if k not in declared and not hit and not self._never(c):
                    add(ObjC(props=((k, c),), required=(k,)))
        if o.names is not None and keys is None:
            c = self._complement(o.names, ptr, depth + 1)
            if c is None:
                return None
            bad = self.merge(c, Typed(ptr, kinds=string), ptr)
            if not self._never(bad):
                some_key(bad, any_spec(ptr))
        if o.names is not None:
            # a name that surely breaks the rule (the rest are left out: a subset)
            for k in keys or ():
                if not self.matches(k, o.names, loose=True):
                    add(ObjC(required=(k,)))

        for name in o.required:
            add(ObjC(props=((name, never_spec(ptr)),)))
        for name, sub in o.props:
            c = self._complement(sub, ptr, depth + 1)
            if c is None:
                return None
            if not self._never(c):
                add(ObjC(props=((name, c),), required=(name,)))
        if o.min_props > 0:
            add(ObjC(max_props=o.min_props - 1))
        if o.max_props is not None:
            add(ObjC(min_props=o.max_props + 1))
        for name, needed in o.deps:
            for other in needed:
                add(ObjC(props=((other, never_spec(ptr)),), required=(name,)))
        return out

    def _no_witness(self, key: Spec, value: Spec, ptr: str, depth: int) -> ObjC | None:
        """Objects without a pair whose key meets ``key`` and whose value meets ``value``
        (a subset where the dialects differ), for the key rules :meth:`_obj_fails` writes:
        a pattern's keys, the keys no pattern matches and not declared, or any key rule
        with any value; None for others."""
        c = self._complement(value, ptr, depth + 1)
        if c is None:
            return None
        if isinstance(key, Typed) and key.enum is None:
            s = key.s
            if s == StrC(patterns=s.patterns) and len(s.patterns) == 1:
                return ObjC(patterns=((s.patterns[0][0], c),))
            if s == StrC(anti=s.anti, exclude=s.exclude, exclude_at=s.exclude_at):
                named: tuple[tuple[str, Spec], ...] = tuple((n, any_spec(ptr)) for n in s.exclude)
                others: tuple[tuple[str, Spec], ...] = tuple((p, any_spec(ptr)) for p, _ in s.anti)
                return ObjC(props=named, patterns=others, additional=c)
        if self._never(c):  # any value: no key may meet the key rule
            names = self._complement(key, ptr, depth + 1)
            return None if names is None else ObjC(names=names)
        return None

    def _if_then_else(self, schema: dict, ptr: str) -> Spec:
        cond = self._sub(schema, ptr, "if")
        then = self._sub(schema, ptr, "then") if "then" in schema else any_spec(ptr)
        other = self._sub(schema, ptr, "else") if "else" in schema else any_spec(ptr)
        neg = self._complement(cond, ptr)
        if neg is None:
            self.refuse(
                "if",
                _ptr_join(ptr, "if"),
                "only an `if` whose complement can be written (as for `not`) is enforced",
            )
            return any_spec(ptr)
        # (if and then) or (not if and else): exact, and the two branches are disjoint
        yes = self.merge(cond, then, ptr)
        no = self.merge(neg, other, ptr)
        return Union(ptr, (yes, no))

    def _exclusive(self, branches: list[Spec], ptr: str, ctx: Typed) -> list[Spec]:
        """``oneOf`` branches made pairwise disjoint, exactly.

        Branches proven disjoint (within the sibling keywords ``ctx``) stay as they are; a
        branch that may overlap others is intersected with their complements (branch i
        becomes ``B_i and not B_j`` for each overlapping j), which needs each such
        complement to be expressible (:meth:`_complement`); otherwise refused.
        """
        n = len(branches)
        within: list[Spec] | None = None
        overlap: list[list[int]] = [[] for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                if self.disjoint(branches[i], branches[j]):
                    continue
                if not ctx.is_any():
                    if within is None:
                        within = [self.merge(ctx, b, ptr) for b in branches]
                    if self.disjoint(within[i], within[j]):
                        continue
                overlap[i].append(j)
                overlap[j].append(i)
        if not any(overlap):
            return branches
        outer, self._work = self._work, MAX_ONEOF_WORK  # a nested oneOf has its own
        try:
            return self._subtract(branches, overlap, within, ptr)
        finally:
            self._work = outer

    def _subtract(
        self, branches: list[Spec], overlap: list[list[int]], within: list[Spec] | None, ptr: str
    ) -> list[Spec]:
        """Each branch minus the branches it may overlap (see :meth:`_exclusive`)."""
        out = list(branches)
        for i in range(len(branches)):
            # the names a closed object may have, sibling keywords included (the result
            # is intersected with them again)
            ctx_i = within[i] if within is not None else branches[i]
            keys = _closed_names(ctx_i.o) if isinstance(ctx_i, Typed) else None
            for j in overlap[i]:
                c = self._minus(out[i], branches[j], ptr, keys)
                if c is None:
                    a, b = sorted((i, j))
                    self.refuse(
                        "oneOf",
                        ptr,
                        f"branches {a} and {b} may overlap; use anyOf if overlap is harmless",
                    )
                    return branches
                out[i] = c
        return out

    def _minus(self, x: Spec, y: Spec, ptr: str, keys: Names = None) -> Spec | None:
        """``x and not y``, exactly, or None when we cannot write it.

        Only the kinds on which ``x`` and ``y`` may overlap need ``y``'s complement, and
        when ``x`` is a closed object its finitely many names bound "some key" clauses.
        """
        self._work -= 1
        if self._work < 0:
            return None  # the branches multiply: give up (the caller refuses)
        try:
            x, y = self.deref(x), self.deref(y)
        except _Recursive:
            return None
        if isinstance(x, Union):
            parts: list[Spec] = []
            for b in x.branches:
                r = self._minus(b, y, ptr, keys)
                if r is None:
                    return None
                if not self._never(r):
                    parts.append(r)
            return _union(parts, ptr)
        if isinstance(y, Union):
            out: Spec | None = x
            for b in y.branches:
                out = self._minus(out, b, ptr, keys) if out is not None else None
            return out
        assert isinstance(x, Typed) and isinstance(y, Typed)
        kinds = self._overlap_kinds(x, y)
        if not kinds:
            return x
        names = keys if keys is not None else _closed_names(x.o)
        c = self._complement(replace(y, kinds=y.kinds & kinds), ptr, keys=names)
        return None if c is None else self.merge(x, c, ptr)

    def disjoint(self, a: Spec, b: Spec, kinds: frozenset[str] = KINDS) -> bool:
        """True only when no instance of the ``kinds`` satisfies both (a conservative
        check)."""
        try:
            a, b = self.deref(a), self.deref(b)
        except _Recursive:  # a spec still being parsed: compare the kinds its JSON allows
            return not self._kinds_bound(a) & self._kinds_bound(b) & kinds
        if isinstance(a, Union):
            return all(self.disjoint(x, b, kinds) for x in a.branches)
        if isinstance(b, Union):
            return all(self.disjoint(a, x, kinds) for x in b.branches)
        assert isinstance(a, Typed) and isinstance(b, Typed)
        return not self._overlap_kinds(a, b) & kinds

    def _kinds_bound(self, spec: Spec) -> frozenset[str]:
        """A superset of the kinds of ``spec``'s instances, read from the schema's JSON
        where ``spec`` is a reference (no parse, so recursion cannot stop it)."""
        if isinstance(spec, Ref) and spec.target.startswith("&"):
            built = self._memo.get(spec.target)
            return KINDS if built is None else self._kinds_bound(built)
        if isinstance(spec, Ref):
            return self._raw_kinds(spec.target, frozenset())
        if isinstance(spec, Union):
            return frozenset().union(*(self._kinds_bound(b) for b in spec.branches))
        return spec.kinds

    def _raw_kinds(self, ptr: str, seen: frozenset[str]) -> frozenset[str]:
        """A superset of the kinds the schema at ``ptr`` admits: ``type``, ``enum``,
        ``const``, ``$ref``, ``allOf``, ``anyOf`` and ``oneOf`` narrow it; anything else
        (and a reference cycle) is read as "any kind"."""
        node = self._at(ptr)
        if node is False:
            return frozenset()
        if not isinstance(node, dict) or ptr in seen:
            return KINDS
        seen = seen | {ptr}
        kinds = KINDS
        if isinstance(node.get("$ref"), str):
            with contextlib.suppress(FormcastError, _Relaxed):  # the parse reports it
                kinds = self._raw_kinds(self.resolve(node["$ref"], ptr), seen)
            if self.legacy_ref:
                return kinds  # draft 4-7: the siblings of $ref are ignored
        typ = node.get("type")
        if isinstance(typ, (str, list)):
            names = [typ] if isinstance(typ, str) else typ
            kinds &= frozenset(k for t in names if t in _TYPE_KINDS for k in _TYPE_KINDS[t])
        if isinstance(node.get("enum"), list):
            kinds &= frozenset(kind_of(v) for v in node["enum"])
        if "const" in node and "const" not in self._unknown:
            kinds &= {kind_of(node["const"])}
        for kw in ("allOf", "anyOf", "oneOf"):
            subs = node.get(kw)
            if not isinstance(subs, list):
                continue
            parts = [self._raw_kinds(_ptr_join(ptr, kw, i), seen) for i in range(len(subs))]
            if kw == "allOf":
                for part in parts:
                    kinds &= part
            else:
                kinds &= frozenset().union(*parts)
        return kinds

    def _overlap_kinds(self, a: Typed, b: Typed) -> frozenset[str]:
        """The kinds of the instances ``a`` and ``b`` may share (a superset)."""
        common = a.kinds & b.kinds
        for x, y in ((a, b), (b, a)):
            if x.enum is not None:
                return frozenset(
                    kind_of(v)
                    for v in x.enum
                    if kind_of(v) in common
                    and self.matches(v, x, loose=True)
                    and self.matches(v, y, loose=True)
                )
        return frozenset(k for k in common if not self._kind_disjoint(a, b, k))

    def _kind_disjoint(self, a: Typed, b: Typed, kind: str) -> bool:
        """Whether the constraints on ``kind`` rule out every shared value of that kind."""
        if kind in ("int", "frac"):
            return _ranges_apart(a.n, b.n) or _steps_apart(a.n, b.n)
        if kind == "string":
            x, y = a.s, b.s
            if _apart(x.min_len, x.max_len, y.min_len, y.max_len):
                return True
            ps, qs = [p for p, _ in x.patterns], [q for q, _ in y.patterns]
            return bool(ps and qs) and patterns_disjoint(ps, qs)
        if kind == "array":
            return self._arrays_disjoint(a.a, b.a)
        if kind == "object":
            ox, oy = a.o, b.o
            # an object has at least its required names
            lo_x = max(ox.min_props, len(set(ox.required)))
            lo_y = max(oy.min_props, len(set(oy.required)))
            return _apart(lo_x, ox.max_props, lo_y, oy.max_props) or (
                self._objects_disjoint(ox, oy)
            )
        return False

    def _arrays_disjoint(self, x: ArrC, y: ArrC) -> bool:
        def hi(c: ArrC) -> int | None:
            if c.items is not None and self._never(c.items):
                return len(c.prefix) if c.max_items is None else min(c.max_items, len(c.prefix))
            return c.max_items

        if _apart(x.min_items, hi(x), y.min_items, hi(y)):
            return True
        # every shared instance has the items both sides require
        for i in range(max(x.min_items, y.min_items)):
            sx = x.prefix[i] if i < len(x.prefix) else x.items
            sy = y.prefix[i] if i < len(y.prefix) else y.items
            if sx is not None and sy is not None and self.disjoint(sx, sy):
                return True
        return False

    def _objects_disjoint(self, a: ObjC, b: ObjC) -> bool:
        pa, pb = dict(a.props), dict(b.props)
        for x, y, px, py in ((a, b, pa, pb), (b, a, pb, pa)):
            for name in x.required:
                # a property x requires that y forbids outright
                if (
                    name not in py
                    and y.additional is not None
                    and self._never(y.additional)
                    and not any(re.search(p, name) for p, _ in y.patterns)
                    and (not y.patterns or plain(name))
                ):
                    return True
                # the value at a name x requires meets each side's schema for that name
                mine, theirs = _value_spec(x, px, name), _value_spec(y, py, name)
                if mine is not None and theirs is not None and self.disjoint(mine, theirs):
                    return True
        return False

    def finite_values(self, spec: Spec) -> tuple[TAny, ...] | None:
        """The values ``spec`` allows when it lists them (enum, const, null and booleans
        by type), else None."""
        try:
            spec = self.deref(spec)
        except _Recursive:
            return None
        if isinstance(spec, Union):
            parts = [self.finite_values(b) for b in spec.branches]
            if any(p is None for p in parts):
                return None
            return _dedup(v for p in parts for v in p or ())
        if not isinstance(spec, Typed):
            return None
        if spec.enum is not None:
            return tuple(v for v in spec.enum if self.matches(v, spec))
        if spec.kinds <= {"null", "boolean"}:
            return tuple(v for v in (None, True, False) if kind_of(v) in spec.kinds)
        return None

    def _dead(self, spec: Spec) -> bool:
        """A branch no value satisfies: no kind, or no enum value that may meet the rest."""
        if not isinstance(spec, Typed):
            return False
        if spec.enum is None:
            return spec.is_never()
        return not any(self.matches(v, spec, loose=True) for v in spec.enum)

    def _never(self, spec: Spec) -> bool:
        try:
            s = self.deref(spec)
        except _Recursive:
            return False
        return isinstance(s, Typed) and s.is_never()

    # -- merging (allOf) --------------------------------------------------------------------
    def merge(self, a: Spec, b: Spec, ptr: str) -> Spec:
        if isinstance(a, Typed) and a.is_any():
            return b
        if isinstance(b, Typed) and b.is_any():
            return a
        if isinstance(a, Ref) and isinstance(b, Ref) and a.target == b.target:
            return a
        key = None
        if isinstance(a, Ref) or isinstance(b, Ref):
            key = (
                a.target if isinstance(a, Ref) else repr(a),
                b.target if isinstance(b, Ref) else repr(b),
            )
            if key in self._merged:
                return self._merged[key]
            if key in self._merging:
                # met again inside itself: refer to the intersection being built (a
                # product of the two recursive definitions, exact on finite values)
                name = self._products.setdefault(key, f"&{len(self._products)}")
                return Ref(ptr, name)
            self._merging.add(key)
        try:
            out = self._merge(a, b, ptr)
        finally:
            if key is not None:
                self._merging.discard(key)
        if key is not None:
            self._merged[key] = out
            if key in self._products:
                self._memo[self._products[key]] = out
        return out

    def _merge(self, a: Spec, b: Spec, ptr: str) -> Spec:
        try:
            a, b = self.deref(a), self.deref(b)
        except _Recursive as exc:
            self.refuse("allOf", exc.args[0], "cannot intersect a recursive $ref")
            return a if isinstance(a, (Typed, Union)) else b
        if isinstance(a, Union) or isinstance(b, Union):
            xs = a.branches if isinstance(a, Union) else (a,)
            ys = b.branches if isinstance(b, Union) else (b,)
            if len(xs) * len(ys) > MAX_UNION_WORK:
                self.refuse("anyOf", ptr, "intersection has too many branches")
            out = [self.merge(x, y, ptr) for x in xs for y in ys]
            out = [s for s in out if not self._dead(s)]
            if len(out) > MAX_UNION_BRANCHES:
                self.refuse("anyOf", ptr, "intersection has too many branches")
            if not out:
                return never_spec(ptr)
            return out[0] if len(out) == 1 else Union(ptr, tuple(out))
        assert isinstance(a, Typed) and isinstance(b, Typed)
        enum = a.enum
        if b.enum is not None:
            enum = b.enum if enum is None else _enum_meet(enum, b.enum)
        return Typed(
            pointer=a.pointer,
            kinds=a.kinds & b.kinds,
            enum=enum,
            s=_str_meet(a.s, b.s),
            n=_num_meet(a.n, b.n),
            a=self._arr_meet(a.a, b.a, ptr),
            o=self._obj_meet(a.o, b.o, ptr),
        )

    def _opt_meet(self, x: Spec | None, y: Spec | None, ptr: str) -> Spec | None:
        if x is None:
            return y
        if y is None:
            return x
        return self.merge(x, y, ptr)

    def _arr_meet(self, x: ArrC, y: ArrC, ptr: str) -> ArrC:
        if _arr_free(x):
            return y
        if _arr_free(y):
            return x
        n = max(len(x.prefix), len(y.prefix))

        def at(c: ArrC, i: int) -> Spec | None:
            return c.prefix[i] if i < len(c.prefix) else c.items

        prefix = []
        for i in range(n):
            m = self._opt_meet(at(x, i), at(y, i), ptr)
            prefix.append(m if m is not None else any_spec(ptr))
        found = [c for c in (x.contains, x.also, y.contains, y.also) if c is not None]
        if len(found) > 2:
            self.refuse("contains", ptr, "three `contains` in one intersection")
        counted = x if x.contains is not None else y  # the counts of found[0]
        if len(found) > 1 and any(_counted(c) for c in (x, y)):
            self.refuse("minContains", ptr, "counted `contains` and a second `contains`")
        mx = [v for v in (x.max_items, y.max_items) if v is not None]
        return ArrC(
            prefix=tuple(prefix),
            items=self._opt_meet(x.items, y.items, ptr),
            min_items=max(x.min_items, y.min_items),
            max_items=min(mx) if mx else None,
            contains=found[0] if found else None,
            min_contains=counted.min_contains,
            max_contains=counted.max_contains,
            also=found[1] if len(found) > 1 else None,
            unique=x.unique or y.unique,
            pointer=x.pointer or y.pointer,
        )

    def _obj_meet(self, x: ObjC, y: ObjC, ptr: str) -> ObjC:
        if _obj_free(x):
            return y
        if _obj_free(y):
            return x
        px, py = dict(x.props), dict(y.props)
        names = list(dict.fromkeys([*px, *py]))

        def of(c: ObjC, props: dict[str, Spec], name: str) -> Spec | None:
            if name in props:
                return props[name]
            hits = [s for p, s in c.patterns if re.search(p, name)]
            if hits:
                out: Spec = hits[0]
                for h in hits[1:]:
                    out = self.merge(out, h, ptr)
                return out
            return c.additional

        props = []
        for name in names:
            m = self._opt_meet(of(x, px, name), of(y, py, name), ptr)
            props.append((name, m if m is not None else any_spec(ptr)))
        patterns = self._patterns_meet(x, y, ptr)
        mx = [v for v in (x.max_props, y.max_props) if v is not None]
        return ObjC(
            props=tuple(props),
            required=tuple(dict.fromkeys([*x.required, *y.required])),
            additional=self._opt_meet(x.additional, y.additional, ptr),
            patterns=patterns,
            names=self._opt_meet(x.names, y.names, ptr),
            min_props=max(x.min_props, y.min_props),
            max_props=min(mx) if mx else None,
            deps=x.deps + y.deps,
            some=x.some + y.some,
            pointer=x.pointer or y.pointer,
        )

    def _patterns_meet(self, x: ObjC, y: ObjC, ptr: str) -> tuple[tuple[str, Spec], ...]:
        """``patternProperties`` of an intersection: a pattern on both sides gets both
        schemas; a key only one side's patterns match is "additional" for the other side.
        A pattern that shares no key with the other side's patterns meets its
        ``additionalProperties`` here. One that may share keys is kept as it is, which is
        exact when the other side allows any additional value: a key matching patterns of
        both sides meets all their schemas, as overlapping patterns of one object do.
        Otherwise refused (a key matching one side's pattern but not the other's would
        need that side's ``additionalProperties``: a pattern with an exclusion)."""
        mine, theirs = self._pattern_map(x, ptr), self._pattern_map(y, ptr)
        out = [(p, self.merge(mine[p], theirs[p], ptr)) for p in mine if p in theirs]
        for own, others, other in ((mine, theirs, y.additional), (theirs, mine, x.additional)):
            for p in own:
                if p in others:
                    continue
                if all(patterns_disjoint([p], [q]) for q in others):
                    out.append((p, own[p] if other is None else self.merge(own[p], other, ptr)))
                elif other is None or (isinstance(other, Typed) and other.is_any()):
                    out.append((p, own[p]))
                else:
                    self.refuse(
                        "patternProperties", ptr, "patterns on both sides of allOf may overlap"
                    )
        return tuple(out)

    def _pattern_map(self, c: ObjC, ptr: str) -> dict[str, Spec]:
        """Each pattern of ``c`` with its schema (a repeated pattern: both schemas)."""
        out: dict[str, Spec] = {}
        for p, sub in c.patterns:
            out[p] = self.merge(out[p], sub, ptr) if p in out else sub
        return out

    # -- a validator over specs (enum filtering, oneOf checks, tests) -------------------------
    def _canon_set(self, values: tuple[TAny, ...]) -> frozenset[str]:
        """The canonical keys of an enum, computed once per enum tuple (kept alive here, so
        its ``id`` is not reused)."""
        hit = self._canons.get(id(values))
        if hit is None or hit[0] is not values:
            hit = self._canons[id(values)] = (values, frozenset(canon(v) for v in values))
        return hit[1]

    def matches(self, value: TAny, spec: Spec, *, loose: bool = False) -> bool:
        """Whether ``value`` satisfies ``spec`` (patterns read by Python's ``re``).

        ``loose``: whether it *may* satisfy it under some validator, so a superset: a
        pattern on a string beyond printable ASCII (where the regex dialects differ) and a
        ``format`` count as matched.
        """
        if isinstance(spec, Ref):
            try:
                spec = self.spec(spec.target)
            except _Recursive:  # an intersection still being built
                self.refuse("allOf", spec.pointer, "cannot intersect a recursive $ref")
                return True  # lenient
        if isinstance(spec, Ref):
            return self.matches(value, spec, loose=loose)
        if isinstance(spec, Union):
            return any(self.matches(value, b, loose=loose) for b in spec.branches)
        k = kind_of(value)
        if k not in spec.kinds:
            return False
        if spec.enum is not None and canon(value) not in self._canon_set(spec.enum):
            return False
        if k == "string":
            return _str_ok(value, spec.s, loose)
        if k in ("int", "frac"):
            return _num_ok(value, spec.n)
        if k == "array":
            return self._arr_ok(value, spec.a, loose)
        if k == "object":
            return self._obj_ok(value, spec.o, loose)
        return True

    def _arr_ok(self, v: list, a: ArrC, loose: bool) -> bool:
        if len(v) < a.min_items or (a.max_items is not None and len(v) > a.max_items):
            return False
        for i, x in enumerate(v):
            s = a.prefix[i] if i < len(a.prefix) else a.items
            if s is not None and not self.matches(x, s, loose=loose):
                return False
        if a.contains is not None:
            hits = sum(self.matches(x, a.contains, loose=loose) for x in v)
            if hits < a.min_contains:
                return False
            # loose (a superset): the maximum is not checked, another dialect may count fewer
            if not loose and a.max_contains is not None and hits > a.max_contains:
                return False
        if a.also is not None and not any(self.matches(x, a.also, loose=loose) for x in v):
            return False
        return not (a.unique and len({canon(x) for x in v}) != len(v))

    def _obj_ok(self, v: dict, o: ObjC, loose: bool) -> bool:
        if len(v) < o.min_props or (o.max_props is not None and len(v) > o.max_props):
            return False
        if any(r not in v for r in o.required):
            return False
        if any(k in v and any(n not in v for n in ns) for k, ns in o.deps):
            return False
        for key_spec, value_spec in o.some:
            if not any(
                self.matches(k, key_spec, loose=loose) and self.matches(x, value_spec, loose=loose)
                for k, x in v.items()
            ):
                return False
        if loose and o.patterns and not all(plain(k) for k in v):
            return True  # which patterns apply to such a key depends on the dialect
        props = dict(o.props)
        for key, x in v.items():
            if o.names is not None and not self.matches(key, o.names, loose=loose):
                return False
            hit = False
            if key in props:
                hit = True
                if not self.matches(x, props[key], loose=loose):
                    return False
            for p, s in o.patterns:
                if re.search(p, key):
                    hit = True
                    if not self.matches(x, s, loose=loose):
                        return False
            if (
                not hit
                and o.additional is not None
                and not self.matches(x, o.additional, loose=loose)
            ):
                return False
        return True


def _str_ok(v: str, s: StrC, loose: bool = False) -> bool:
    if v in s.exclude:
        return False
    if len(v) < s.min_len or (s.max_len is not None and len(v) > s.max_len):
        return False
    if loose and not plain(v):
        return True  # patterns: the dialects differ on such strings; formats: see below
    if any(re.search(p, v) is None for p, _ in s.patterns):
        return False
    if any(re.search(p, v) is not None for p, _ in s.anti):
        return False
    if s.anti_formats:
        return loose  # no string is known to fail a format (see StrC.anti_formats)
    # our format regexes (over the JSON text of the string) are strict: a validator may
    # accept more
    body = json.dumps(v)[1:-1]
    return loose or all(re.fullmatch(FORMATS[f], body) for f, _ in s.formats)


#: keywords that evaluate members (items) of the instance in place
UNEVALUATED = ("unevaluatedProperties", "unevaluatedItems")
#: in-place applicators whose annotations depend on the instance
_CONDITIONAL = {
    "unevaluatedProperties": ("anyOf", "oneOf", "if", "dependentSchemas", "dependencies"),
    "unevaluatedItems": ("anyOf", "oneOf", "if", "dependentSchemas", "dependencies", "contains"),
}


#: the kinds of instances each keyword constrains
_EVALUATED_KINDS = {
    "unevaluatedProperties": frozenset({"object"}),
    "unevaluatedItems": frozenset({"array"}),
}


def _credited(schema: dict) -> str | None:
    """The one conditional applicator of ``schema`` whose passing branch may be credited
    with what it evaluates (see ``SchemaParser._credit``), or None (none, or several)."""
    found = [
        k
        for k in ("anyOf", "oneOf", "if", "dependentSchemas", "dependencies")
        if k in schema and (k not in DEPENDENCIES or _schema_deps(schema[k]))
    ]
    if len(found) != 1:
        return None
    key = found[0]
    if key in DEPENDENCIES and sum(_dep_names(d) is None for d in schema[key].values()) > 1:
        return None
    return key


def _schema_deps(deps: TAny) -> bool:
    """Whether ``dependentSchemas`` holds a subschema that may evaluate something."""
    return isinstance(deps, dict) and any(_dep_names(d) is None for d in deps.values())


def _evaluates_rest(node: dict, kw: str) -> bool:
    """Whether ``node`` evaluates every member (``unevaluatedProperties``) or every item
    after its prefix (``unevaluatedItems``) by itself."""
    if kw == "unevaluatedProperties":
        return "additionalProperties" in node
    items = node.get("items")
    return items is not None and (not isinstance(items, list) or "additionalItems" in node)


def _join(base: str, ref: str) -> str:
    """``urljoin``, also for bases it does not resolve against (``urn:``, ``tag:``): a
    reference that is only a fragment stays in the base's document."""
    if ref.startswith("#"):
        return urldefrag(base)[0] + ref
    return urljoin(base, ref)


def _dep_names(dep: TAny) -> list[str] | None:
    """The names a dependency requires (a list, or a subschema of ``required`` alone);
    None for any other subschema."""
    if isinstance(dep, list):
        return dep
    if dep is True or (isinstance(dep, dict) and not set(dep) - ANNOTATIONS):
        return []
    if (
        isinstance(dep, dict)
        and isinstance(dep.get("required"), list)
        and not set(dep) - ANNOTATIONS - {"required"}
    ):
        return list(dep["required"])
    return None


def _union(parts: list[Spec], ptr: str) -> Spec:
    if not parts:
        return never_spec(ptr)
    return parts[0] if len(parts) == 1 else Union(ptr, tuple(parts))


def _closed_names(o: ObjC) -> tuple[str, ...] | None:
    """The names an object under ``o`` may have, when it is closed (else None)."""
    if o.additional is None or o.patterns:
        return None
    add = o.additional
    if not (isinstance(add, Typed) and add.is_never()):
        return None
    return tuple(name for name, sub in o.props if not (isinstance(sub, Typed) and sub.is_never()))


def _value_spec(o: ObjC, props: dict[str, Spec], name: str) -> Spec | None:
    """A schema the value at ``name`` must meet in an object of ``o`` (``props``: its
    properties): the property's, or ``additionalProperties`` where no pattern may apply;
    None where we do not tell (patterns)."""
    if name in props:
        return props[name]
    return o.additional if not o.patterns else None


def _apart(lo: int, hi: int | None, lo2: int, hi2: int | None) -> bool:
    """Whether the count ranges ``[lo, hi]`` and ``[lo2, hi2]`` share no value."""
    return (hi is not None and hi < lo2) or (hi2 is not None and hi2 < lo)


def _ranges_apart(x: NumC, y: NumC) -> bool:
    """Whether the bounds of ``x`` and ``y`` leave no number in both."""
    for a, b in ((x, y), (y, x)):
        if (
            a.hi is not None
            and b.lo is not None
            and (a.hi < b.lo or (a.hi == b.lo and (a.hi_excl or b.lo_excl)))
        ):
            return True
    return False


def _steps_apart(x: NumC, y: NumC) -> bool:
    """Whether one side's multiples are all multiples of a step the other side forbids."""
    for a, b in ((x, y), (y, x)):
        if a.multiple_of:
            step = common_step(a.multiple_of)
            if any(_multiple(step, t) for t in b.not_multiple_of):
                return True
    return False


def _num_ok(v: float, n: NumC) -> bool:
    d = Decimal(str(v))
    if n.lo is not None and (d <= n.lo if n.lo_excl else d < n.lo):
        return False
    if n.hi is not None and (d >= n.hi if n.hi_excl else d > n.hi):
        return False
    return all(_multiple(d, m) for m in n.multiple_of) and not any(
        _multiple(d, m) for m in n.not_multiple_of
    )


def _multiple(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a multiple of ``step``, exactly (at any magnitude)."""
    return Fraction(value) % Fraction(step) == 0


def _enum_complement(values: list[TAny], ptr: str) -> Spec | None:
    """Every value outside ``values`` (scalars only), or None when we cannot write it."""
    kinds = {kind_of(v) for v in values}
    if kinds - {"null", "boolean", "string", "int", "frac"}:
        return None
    out: list[Spec] = [Typed(ptr, kinds=KINDS - kinds)]
    bools = [v for v in values if isinstance(v, bool)]
    if bools:
        rest = tuple(b for b in (True, False) if b not in bools)
        if rest:
            out.append(Typed(ptr, kinds=frozenset({"boolean"}), enum=rest))
    words = tuple(v for v in values if isinstance(v, str))
    if words:
        out.append(Typed(ptr, kinds=frozenset({"string"}), s=StrC(exclude=words, exclude_at=ptr)))
    ints = sorted({int(v) for v in values if kind_of(v) == "int"})
    if ints:
        edges = [None, *ints, None]
        for lo, hi in itertools.pairwise(edges):
            if lo is not None and hi is not None and hi - lo < 2:
                continue
            n = NumC(
                lo=None if lo is None else Decimal(lo + 1),
                hi=None if hi is None else Decimal(hi - 1),
                pointer=ptr,
            )
            out.append(Typed(ptr, kinds=frozenset({"int"}), n=n))
    fracs = sorted({Decimal(str(v)) for v in values if kind_of(v) == "frac"})
    for below, above in itertools.pairwise([None, *fracs, None]):
        gap = NumC(lo=below, lo_excl=True, hi=above, hi_excl=True, pointer=ptr)
        out.append(Typed(ptr, kinds=frozenset({"frac"}), n=gap))
    return out[0] if len(out) == 1 else Union(ptr, tuple(out))


def _dedup(values: Iterable[TAny]) -> tuple[TAny, ...]:
    seen: dict[str, TAny] = {}
    for v in values:
        seen.setdefault(canon(v), v)
    return tuple(seen.values())


def _enum_meet(a: tuple[TAny, ...], b: tuple[TAny, ...]) -> tuple[TAny, ...]:
    keys = {canon(v) for v in b}
    return tuple(v for v in a if canon(v) in keys)


def _str_meet(x: StrC, y: StrC) -> StrC:
    mx = [v for v in (x.max_len, y.max_len) if v is not None]
    return StrC(
        min_len=max(x.min_len, y.min_len),
        max_len=min(mx) if mx else None,
        patterns=tuple(dict.fromkeys(x.patterns + y.patterns)),
        formats=tuple(dict.fromkeys(x.formats + y.formats)),
        exclude=tuple(dict.fromkeys(x.exclude + y.exclude)),
        exclude_at=x.exclude_at or y.exclude_at,
        anti=tuple(dict.fromkeys(x.anti + y.anti)),
        anti_formats=tuple(dict.fromkeys(x.anti_formats + y.anti_formats)),
    )


def _num_meet(x: NumC, y: NumC) -> NumC:
    lo, lo_excl = x.lo, x.lo_excl
    if y.lo is not None and (lo is None or y.lo > lo or (y.lo == lo and y.lo_excl)):
        lo, lo_excl = y.lo, y.lo_excl
    hi, hi_excl = x.hi, x.hi_excl
    if y.hi is not None and (hi is None or y.hi < hi or (y.hi == hi and y.hi_excl)):
        hi, hi_excl = y.hi, y.hi_excl
    return NumC(
        lo=lo,
        lo_excl=lo_excl,
        hi=hi,
        hi_excl=hi_excl,
        multiple_of=tuple(dict.fromkeys(x.multiple_of + y.multiple_of)),
        not_multiple_of=tuple(dict.fromkeys(x.not_multiple_of + y.not_multiple_of)),
        pointer=x.pointer or y.pointer,
    )


_SCHEMA_KEYS: tuple[str, ...] = (
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "not",
)
_SCHEMA_KEYS += ("if", "then", "else", "unevaluatedItems", "unevaluatedProperties", "items")
_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_DICT_KEYS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUB_KEYS = frozenset({*_SCHEMA_KEYS, *_LIST_KEYS, *_DICT_KEYS, "dependencies"})


def _subschemas(node: dict) -> Iterable[tuple[tuple[object, ...], TAny]]:
    for k in _SCHEMA_KEYS:
        if k in node and isinstance(node[k], (dict, bool)):
            yield (k,), node[k]
    for k in _LIST_KEYS:
        if k in node and isinstance(node[k], list):
            for i, sub in enumerate(node[k]):
                yield (k, i), sub
    for k in _DICT_KEYS:
        if k in node and isinstance(node[k], dict):
            for name, sub in node[k].items():
                yield (k, name), sub
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if isinstance(sub, (dict, bool)):
                yield ("dependencies", name), sub


class _Relaxed(Exception):
    """A lenient refusal: the caller drops the keyword."""


class _Recursive(Exception):
    """Intersecting through a recursive $ref."""


_MISSING = object()

MergeFn = Callable[[Spec, Spec, str], Spec]
Names = tuple[str, ...] | None
