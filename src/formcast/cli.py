"""The ``formcast`` command: ``grammar``, ``check``, ``generate`` and ``bench``.

    formcast grammar --grammar sql.lark            # summary of the compiled grammar
    formcast check --schema person.json person.json_instance
    formcast check --bytes --regex '[0-9]{3}' -    # byte by byte, instance on stdin
    formcast generate --schema person.json "Describe a person"
    formcast bench masks --tokenizer smollm2

Input errors print ``error: <message>`` on stderr and exit with status 2; ``check`` exits with
1 when the instance does not fit. Heavy modules (numba, torch, transformers) are imported only
by the subcommands that need them, so ``formcast --help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from formcast.grammar.ir import Grammar
    from formcast.matcher import Matcher
    from formcast.tokens.vocab import TokenizerInfo

__all__ = ["main"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2

BENCH_SCRIPTS = ("masks", "maskbench")
_SHOWN_TEXT = 60  # characters of context shown before a break


class CliError(Exception):
    """A usage problem outside formcast's own errors (unreadable file, bad JSON, ...)."""


# ---- constraints -------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """What the user asked to enforce: exactly one of a schema, a Lark grammar or a regex."""

    kind: str  # "schema" | "grammar" | "regex"
    source: str  # a path, a shipped grammar name, or the regex itself
    value: Any  # the schema object, the Lark text, or the regex

    def describe(self) -> str:
        return f"regex {self.source!r}" if self.kind == "regex" else f"{self.kind} {self.source}"


def _add_constraint_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--schema", metavar="FILE", help="a JSON Schema file ('-': stdin)")
    group.add_argument(
        "--grammar",
        metavar="FILE.lark",
        help="a Lark grammar file, or the name of a shipped grammar (json, sql, ...)",
    )
    group.add_argument("--regex", metavar="PATTERN", help="a regex the whole text must match")
    parser.add_argument(
        "--compact",
        action="store_true",
        help="JSON Schema only: no whitespace between JSON tokens (default: flexible)",
    )


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc


def _read_bytes(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc


def _constraint(args: argparse.Namespace) -> Constraint:
    if args.regex is not None:
        return Constraint("regex", args.regex, args.regex)
    if args.schema is not None:
        text = _read_text(args.schema)
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(
                f"{args.schema} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        return Constraint("schema", args.schema, schema)
    path = args.grammar
    if path != "-" and not Path(path).exists():
        from formcast.grammar.shipped import shipped_grammar_text, shipped_grammars

        if path in shipped_grammars():
            return Constraint("grammar", f"{path} (shipped)", shipped_grammar_text(path))
        raise CliError(
            f"cannot read {path}: no such file, and no shipped grammar of that name "
            f"(shipped: {', '.join(shipped_grammars())})"
        )
    return Constraint("grammar", path, _read_text(path))


def _schema_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"whitespace": "compact"} if getattr(args, "compact", False) else {}


def _build_grammar(c: Constraint, args: argparse.Namespace) -> Grammar:
    from formcast.grammar.ir import Grammar

    if c.kind == "regex":
        return Grammar.from_regex(c.value)
    if c.kind == "grammar":
        return Grammar.from_lark(c.value)
    try:
        return Grammar.from_json_schema(c.value, **_schema_options(args))
    except (AttributeError, ImportError) as exc:
        if isinstance(exc, ImportError) and not (exc.name or "").startswith("formcast"):
            raise
        raise CliError(
            f"JSON Schema support is not available in this formcast build ({exc})"
        ) from exc


# ---- grammar -----------------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _cmd_grammar(args: argparse.Namespace) -> int:
    from formcast.automata.compiled import GrammarAutomata

    c = _constraint(args)
    g = _build_grammar(c, args)
    automata = GrammarAutomata(g)  # surfaces compile-time errors and limits
    out = sys.stdout
    print(f"{c.describe()}: compiled", file=out)
    print(
        f"start {g.start!r}, {len(g.rules)} rules, {len(g.lexemes)} lexemes, "
        f"{len(automata.tables.next_sym)} dotted positions",
        file=out,
    )
    if g.ignore:
        repeats = "" if g.ignore_repeats else " (at most one per gap)"
        print(f"ignored between lexemes: {', '.join(g.ignore)}{repeats}", file=out)
    if g.distinct:
        print(f"distinct lexemes (values differ per array): {', '.join(g.distinct)}", file=out)
    if g.once:
        shown = ", ".join(g.once[: args.max_rules]) + (
            " ..." if len(g.once) > args.max_rules else ""
        )
        print(f"once rules (each lexeme once per object or array): {shown}", file=out)
    print("rules:", file=out)
    names = sorted(g.rules, key=lambda n: n != g.start)  # start first, then definition order
    for name in names[: args.max_rules]:
        alts = " | ".join(" ".join(alt) if alt else "ε" for alt in g.rules[name])
        print(f"  {name}: {alts}", file=out)
    if len(names) > args.max_rules:
        print(f"  ... and {len(names) - args.max_rules} more (--max-rules)", file=out)
    print("lexemes:", file=out)
    width = max((len(n) for n in g.lexemes), default=0)
    dfa_of = dict(zip(automata.lexeme_names, automata.dfas, strict=True))
    for name in sorted(g.lexemes)[: args.max_rules]:
        dfa = dfa_of[name]
        print(
            f"  {name:<{width}}  /{_printable(g.lexemes[name].pattern)}/  ({dfa.n_states} states)",
            file=out,
        )
    if len(g.lexemes) > args.max_rules:
        print(f"  ... and {len(g.lexemes) - args.max_rules} more (--max-rules)", file=out)
    if g.notes:
        print("notes:", file=out)
        for note in g.notes:
            print(f"  - {note}", file=out)
    return EXIT_OK


# ---- check -------------------------------------------------------------------------------


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    before = data[:offset]
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    return line, len(before[start:].decode("utf-8", errors="replace")) + 1


def _shown(data: bytes) -> str:
    text = data.decode("utf-8", errors="backslashreplace")
    if len(text) > _SHOWN_TEXT:
        text = "…" + text[-_SHOWN_TEXT:]
    return repr(text)


def _expected_bytes(grammar: Grammar, prefix: bytes) -> str:
    """Which bytes may come after ``prefix`` (byte-level matcher), as compact ranges."""
    import numpy as np

    from formcast.automata.compiled import compile_grammar
    from formcast.matcher import Matcher, allocate_token_bitmask
    from formcast.testing.oracle import byte_tokenizer, mask_to_bool

    tok = byte_tokenizer()
    m = Matcher(compile_grammar(grammar, tok))
    if not m.accept_string(prefix):
        return "?"
    mask = allocate_token_bitmask(1, tok.vocab_size)
    m.fill_next_token_bitmask(mask, 0)
    allowed = mask_to_bool(mask[0], tok.vocab_size)
    parts: list[str] = []
    ids = [int(i) for i in np.flatnonzero(allowed[:256])]
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        lo, hi = bytes([ids[i]]), bytes([ids[j]])
        parts.append(repr(lo)[1:] if i == j else f"{repr(lo)[1:]}-{repr(hi)[1:]}")
        i = j + 1
    if allowed[256:].any():
        parts.append("end of text")
    return ", ".join(parts) if parts else "nothing"


def _tokenize(data: bytes, args: argparse.Namespace) -> tuple[TokenizerInfo, list[int]]:
    if args.bytes:
        from formcast.testing.oracle import byte_tokenizer

        return byte_tokenizer(), list(data)
    from formcast import models

    info = models.load_tokenizer_info(args.tokenizer)
    hf = models.load_hf_tokenizer(args.tokenizer)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"the instance is not UTF-8 ({exc}); use --bytes") from exc
    ids = [int(i) for i in hf.encode(text, add_special_tokens=False)]
    if info.decode(ids, skip_special=False) != data:
        raise CliError(
            f"the {args.tokenizer} tokenizer does not round-trip this instance's bytes; use --bytes"
        )
    return info, ids


def _broken_at(m: Matcher, token: bytes) -> int:
    """How many leading bytes of ``token`` the matcher accepts (state left unchanged)."""
    k = 0
    while k < len(token) and m.accept_string(token[k : k + 1]):
        k += 1
    m.rollback(k)
    return k


def _cmd_check(args: argparse.Namespace) -> int:
    from formcast.automata.compiled import compile_grammar
    from formcast.matcher import Matcher

    c = _constraint(args)
    data = _read_bytes(args.instance)
    if args.strip:
        data = data.strip()
    grammar = _build_grammar(c, args)
    tok, ids = _tokenize(data, args)
    m = Matcher(compile_grammar(grammar, tok))
    offset = 0
    for n, tid in enumerate(ids):
        piece = tok.token_bytes[tid]
        if m.accept_token(tid):
            offset += len(piece)
            continue
        k = _broken_at(m, piece)
        at = offset + k
        line, col = _line_col(data, at)
        unit = "byte" if args.bytes else f"token {n} (id {tid})"
        print(f"rejected at byte {at} (line {line}, column {col}): {unit} {_shown(piece)}")
        if k == len(piece):
            print("  a special token is never allowed inside text")
        print(f"  text so far: {_shown(data[:at])}")
        print(f"  expected: {_expected_bytes(grammar, data[:at])}")
        if at == len(data) - 1 and data.endswith(b"\n") and not args.strip:
            print("  the instance ends with a newline; --strip drops surrounding whitespace")
        return EXIT_REJECTED
    if not m.can_terminate():
        line, col = _line_col(data, len(data))
        print(
            f"incomplete: the grammar expects more at byte {len(data)} (line {line}, column {col})"
        )
        print(f"  text so far: {_shown(data)}")
        print(f"  expected: {_expected_bytes(grammar, data)}")
        return EXIT_REJECTED
    unit = "bytes" if args.bytes else f"bytes in {len(ids)} {args.tokenizer} tokens"
    print(f"ok: accepted ({len(data)} {unit}) by {c.describe()}")
    return EXIT_OK


# ---- generate ----------------------------------------------------------------------------


def _load_model(path: str | None) -> tuple[Any, Any]:
    if path is None:
        from formcast.models import default_model

        return default_model()
    if not Path(path).is_dir():
        raise CliError(f"--model {path}: not a directory (a local Hugging Face model folder)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise CliError(
            f"--model needs transformers and torch: pip install 'formcast[hf]' ({exc})"
        ) from exc
    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot load a model from {path}: {exc}") from exc
    model.eval()
    return model, tokenizer


def _cmd_generate(args: argparse.Namespace) -> int:
    c = _constraint(args)
    kwargs: dict[str, Any] = {}
    if c.kind == "schema":
        if args.compact:
            # generate() takes the schema itself; a compact grammar is built here instead.
            kwargs["grammar"] = _build_grammar(c, args)
        else:
            kwargs["schema"] = c.value
    else:
        kwargs["grammar" if c.kind == "grammar" else "regex"] = (
            _build_grammar(c, args) if c.kind == "grammar" else c.value
        )
    if args.max_tokens < 1:
        raise CliError(f"--max-tokens must be at least 1, got {args.max_tokens}")
    if args.temperature < 0:
        raise CliError(f"--temperature must be >= 0, got {args.temperature}")
    from formcast.decoding.autoregressive import generate

    model, tokenizer = _load_model(args.model)
    result = generate(
        model,
        tokenizer,
        args.prompt,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        seed=args.seed,
        chat=not args.no_chat,
        **kwargs,
    )
    if args.json:
        try:
            value = json.loads(result.text)
        except json.JSONDecodeError as exc:
            raise CliError(f"--json: the output is not JSON ({exc.msg}): {result.text!r}") from exc
        print(json.dumps(value, ensure_ascii=False, indent=2))
    else:
        print(result.text)
    return EXIT_OK


# ---- bench -------------------------------------------------------------------------------


def bench_dir() -> Path:
    """``bench/`` of the source checkout this module runs from (absent in a wheel)."""
    return Path(__file__).resolve().parents[2] / "bench"


def _cmd_bench(args: argparse.Namespace) -> int:
    script = bench_dir() / f"{args.which}.py"
    if not script.is_file():
        raise CliError(
            f"the benchmarks are not installed ({script} does not exist); they run from a "
            "source checkout of formcast: git clone the repository and pip install -e '.[bench]'"
        )
    return subprocess.call([sys.executable, str(script), *args.args])


# ---- entry point -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``formcast`` command."""
    parser = argparse.ArgumentParser(
        prog="formcast",
        description="Language-model output that fits a grammar, regex or JSON Schema.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("grammar", help="compile a grammar and print a summary")
    _add_constraint_args(p)
    p.add_argument("--max-rules", type=int, default=60, help="most rules and lexemes listed")
    p.set_defaults(func=_cmd_grammar)

    p = sub.add_parser(
        "check",
        help="check a text against a grammar, token by token",
        description="Feed INSTANCE token by token and say where it breaks the grammar. "
        "Exit status: 0 accepted and complete, 1 rejected or incomplete, 2 error.",
    )
    _add_constraint_args(p)
    p.add_argument("instance", metavar="INSTANCE", help="the text to check ('-': stdin)")
    p.add_argument("--bytes", action="store_true", help="byte by byte, without a tokenizer")
    p.add_argument(
        "--tokenizer",
        default="smollm2",
        help="a real tokenizer shipped with formcast's dependencies (default: smollm2)",
    )
    p.add_argument("--strip", action="store_true", help="drop surrounding whitespace first")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("generate", help="generate constrained text with a local model")
    _add_constraint_args(p)
    p.add_argument("prompt", help="the user message")
    p.add_argument(
        "--model",
        metavar="PATH",
        help="a local Hugging Face model folder (default: SmolLM2-135M-Instruct, offline)",
    )
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--no-chat", action="store_true", help="do not apply the chat template")
    p.add_argument("--json", action="store_true", help="pretty-print the output as JSON")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser(
        "bench",
        help="run a benchmark script from the source checkout",
        description="Run bench/masks.py or bench/maskbench.py; arguments are passed through.",
    )
    p.add_argument("which", choices=BENCH_SCRIPTS)
    p.add_argument("args", nargs=argparse.REMAINDER, help="passed to the script")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``formcast`` command; returns the exit status."""
    from formcast.errors import FormcastError

    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except (FormcastError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
