"""The public API: a light import, one complete sorted ``__all__``, one error hierarchy."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import formcast as fc
import formcast.errors as errors

HEAVY = ("torch", "transformers", "numba", "tokenizers")


def test_import_is_light() -> None:
    code = (
        "import json, sys; import formcast; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(proc.stdout) == []


def test_import_adds_no_log_handlers() -> None:
    code = (
        "import logging; import formcast; "
        "names = [n for n in logging.root.manager.loggerDict if n.startswith('formcast')]; "
        "print(sum(len(logging.getLogger(n).handlers) for n in names) + "
        "len(logging.root.handlers))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "0"


def test_all_is_sorted_and_unique() -> None:
    assert list(fc.__all__) == sorted(set(fc.__all__))


def test_all_resolves() -> None:
    for name in fc.__all__:
        assert getattr(fc, name, None) is not None, name


def _public_names_bound_in_init() -> set[str]:
    """Names the package ``__init__`` binds (imports, defs, assignments), minus private ones."""
    source = Path(inspect.getfile(fc)).read_text("utf-8")
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_") and n != "annotations"}


def test_all_is_complete() -> None:
    bound = _public_names_bound_in_init()
    missing = bound - set(fc.__all__)
    assert not missing, f"defined in formcast/__init__.py but not in __all__: {sorted(missing)}"


def test_no_stray_public_attributes() -> None:
    # Submodules imported as a side effect are fine; anything else public must be exported.
    stray = {
        n
        for n, v in vars(fc).items()
        if not n.startswith("_") and not inspect.ismodule(v) and n not in fc.__all__
    }
    assert not stray, sorted(stray)


ERRORS: list[type[Exception]] = [
    obj
    for _, obj in inspect.getmembers(errors, inspect.isclass)
    if issubclass(obj, Exception) and obj.__module__ == errors.__name__
]


def _name(cls: object) -> str:
    return str(getattr(cls, "__name__", cls))


INPUT_ERRORS: set[type[Exception]] = {
    errors.GrammarError,
    errors.SchemaError,
    errors.UnsupportedFeatureError,
    errors.TokenizerError,
}


@pytest.mark.parametrize("cls", ERRORS, ids=_name)
def test_errors_share_one_root(cls: type[Exception]) -> None:
    assert issubclass(cls, fc.FormcastError)


@pytest.mark.parametrize("cls", sorted(INPUT_ERRORS, key=_name), ids=_name)
def test_input_errors_are_value_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, ValueError)


@pytest.mark.parametrize("cls", ERRORS, ids=_name)
def test_errors_are_exported(cls: type[Exception]) -> None:
    assert cls.__name__ in fc.__all__
    assert getattr(fc, cls.__name__) is cls


def test_error_attributes() -> None:
    e = fc.CompileLimitError("max_lexer_states", 10, "simplify")
    assert (e.limit, e.value) == ("max_lexer_states", 10)
    assert "max_lexer_states=10" in str(e)
    s = fc.SchemaError("bad", "/properties/a")
    assert s.pointer == "/properties/a" and "/properties/a" in str(s)
    u = fc.UnsupportedFeatureError("format: ipv5", where="/x", hint="drop it")
    assert u.feature == "format: ipv5" and "/x" in str(u)
