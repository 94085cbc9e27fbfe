"""The wheel ships what the source tree has: ``kernels/`` and ``grammars/`` go in through the
symlinks ``src/formcast/kernels`` and ``src/formcast/grammars``, and they import from the wheel.

One wheel is built per session (hatchling without build isolation, so no network is needed).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build_command(out: Path) -> list[str]:
    if importlib.util.find_spec("build") is not None:
        return [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)]
    return [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(out),
        str(ROOT),
    ]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not installed (pip install hatchling build)")
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        _build_command(out), cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"wheel build failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = list(out.glob("formcast-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def test_wheel_has_kernels(wheel_names: set[str]) -> None:
    expected = {f"formcast/kernels/{p.name}" for p in (ROOT / "kernels").glob("*.py")}
    assert "formcast/kernels/trie_walk.py" in expected
    assert expected <= wheel_names, sorted(expected - wheel_names)


def test_wheel_has_grammars(wheel_names: set[str]) -> None:
    expected = {f"formcast/grammars/{p.name}" for p in (ROOT / "grammars").glob("*.lark")}
    assert "formcast/grammars/json.lark" in expected
    assert expected <= wheel_names, sorted(expected - wheel_names)


def test_wheel_has_no_junk(wheel_names: set[str]) -> None:
    junk = [n for n in wheel_names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]
    assert not junk


def test_wheel_declares_cli_entry_point(wheel_names: set[str], wheel: Path) -> None:
    (ep,) = [n for n in wheel_names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(ep).decode()
    assert "formcast = formcast.cli:main" in text


_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import formcast
import formcast.kernels.trie_walk as tw
from formcast.grammar.shipped import load_grammar, shipped_grammars
from importlib import resources
g = load_grammar("json")
print(json.dumps({
    "formcast": formcast.__file__,
    "trie_walk": tw.__file__,
    "json_lark": str(resources.files("formcast").joinpath("grammars", "json.lark")),
    "grammars": shipped_grammars(),
    "start": g.start,
}))
"""


def test_unpacked_wheel_imports_from_itself(unpacked: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(unpacked)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=unpacked,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("formcast", "trie_walk", "json_lark"):
        path = Path(info[key]).resolve()
        assert path.is_relative_to(unpacked.resolve()), (key, path)
    assert info["grammars"] == sorted(p.stem for p in (ROOT / "grammars").glob("*.lark"))
    assert info["start"] == "start"
