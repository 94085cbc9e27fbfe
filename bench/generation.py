"""Generation speed: unconstrained greedy decoding vs formcast, xgrammar and llguidance.

Every engine runs through the same Hugging Face ``model.generate(..., do_sample=False)`` call
on the default model (SmolLM2-135M-Instruct, float32, CPU), with the same prompts, the same
JSON Schemas and the same ``max_new_tokens``; constrained engines plug in as logits
processors:

* formcast: ``formcast.integrations.transformers.LogitsProcessor``;
* xgrammar: ``xgrammar.contrib.hf.LogitsProcessor`` (an equivalent adapter when absent);
* llguidance: a small adapter over ``LLMatcher`` and ``llguidance.torch``'s bitmask helpers.

Method. The model gets 2 torch threads; grammar engines are pinned to one thread
(``RAYON_NUM_THREADS``, ``NUMBA_NUM_THREADS``, xgrammar ``max_threads=1``). Grammars are
compiled before timing (compile time is reported on its own). Each engine is warmed up once
(numba JIT, allocator) on a tiny schema. Then, ``--repeat`` times, every schema runs under
every engine in turn, so all engines see the same machine load; the best wall time of the
repeats is kept (greedy decoding gives the same tokens each time). ``tokens/s`` = generated
tokens (the final EOS included) / ``generate`` wall time, prefill included; the overhead is the
time per token relative to unconstrained decoding over all schemas. ``mask µs/token`` is the
mean wall time of one logits-processor call (accept the previous token, compute the mask,
apply it to the scores). Outputs are checked with ``jsonschema``.

    .venv/bin/python bench/generation.py --max-new-tokens 64 --repeat 2 --json gen.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

# Engines read these at import: set before anything imports them.
for _key in ("RAYON_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_key] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ENGINES = ("unconstrained", "formcast", "xgrammar", "llguidance")

SYSTEM = "You are a data extraction assistant. Reply with JSON only, matching this JSON Schema:"

# (name, user message, schema): small schemas of the kind users send.
TASKS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "person",
        "Maria Lopez is a 34-year-old architect from Madrid who enjoys climbing and chess.",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 40},
                "age": {"type": "integer", "minimum": 0, "maximum": 150},
                "city": {"type": "string", "maxLength": 40},
                "hobbies": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 30},
                    "maxItems": 5,
                },
            },
            "required": ["name", "age", "city", "hobbies"],
            "additionalProperties": False,
        },
    ),
    (
        "review",
        "Review: 'The headphones sound great and the battery lasts for days, but the ear "
        "cushions got uncomfortable after an hour.' Classify the sentiment and rate 1-5.",
        {
            "type": "object",
            "properties": {
                "sentiment": {"enum": ["positive", "negative", "mixed"]},
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "pros": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "cons": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            },
            "required": ["sentiment", "rating", "pros", "cons"],
            "additionalProperties": False,
        },
    ),
    (
        "event",
        "Team meeting about the Q3 roadmap on 2024-09-12 at 14:30 in room B2 with Ana, "
        "Tom and Lee.",
        {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "location": {"type": "string"},
                "attendees": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["title", "date", "time", "attendees"],
            "additionalProperties": False,
        },
    ),
    (
        "order",
        "I'd like two large pepperoni pizzas at $12.50 each and one garlic bread for $4, "
        "delivered to 12 Baker Street.",
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "product": {"type": "string"},
                            "quantity": {"type": "integer", "minimum": 1},
                            "unit_price": {"type": "number"},
                        },
                        "required": ["product", "quantity", "unit_price"],
                        "additionalProperties": False,
                    },
                    "minItems": 1,
                },
                "delivery": {"type": "boolean"},
                "address": {"type": ["string", "null"]},
            },
            "required": ["items", "delivery", "address"],
            "additionalProperties": False,
        },
    ),
]

WARMUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
}


# ---------------------------------------------------------------------------------------------
# Engines: compile(schema) -> factory of a fresh logits processor for one generate() call
# ---------------------------------------------------------------------------------------------


class EngineRefused(Exception):
    """The engine cannot compile this schema."""


def make_engines(names: list[str], hf_tok: Any, vocab_size: int, eos: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if name == "unconstrained":
            out[name] = None
        elif name == "formcast":
            out[name] = FormcastEngine(hf_tok)
        elif name == "xgrammar":
            out[name] = XGrammarEngine(hf_tok, vocab_size, eos)
        elif name == "llguidance":
            out[name] = LLGuidanceEngine(hf_tok, vocab_size, eos)
        else:
            raise SystemExit(f"unknown engine {name!r}; expected some of {', '.join(ENGINES)}")
    return out


class FormcastEngine:
    def __init__(self, hf_tok: Any) -> None:
        import formcast as fc
        from formcast.integrations.transformers import LogitsProcessor

        self.fc = fc
        self.processor = LogitsProcessor
        self.tok = fc.TokenizerInfo.from_huggingface(hf_tok)

    def compile(self, schema: dict[str, Any]) -> Callable[[], Any]:
        try:
            grammar = self.fc.Grammar.from_json_schema(schema)
        except self.fc.UnsupportedFeatureError as e:
            raise EngineRefused(str(e)) from e
        compiled = self.fc.compile(grammar, self.tok)
        return lambda: self.processor(compiled)


class XGrammarEngine:
    def __init__(self, hf_tok: Any, vocab_size: int, eos: int) -> None:
        import xgrammar as xgr

        self.xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(
            hf_tok, vocab_size=vocab_size, stop_token_ids=[eos]
        )
        self.compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.processor: Any = XGrammarProcessor
        try:
            from xgrammar.contrib.hf import LogitsProcessor

            self.processor = LogitsProcessor
        except ImportError:
            pass

    def compile(self, schema: dict[str, Any]) -> Callable[[], Any]:
        try:
            compiled = self.compiler.compile_json_schema(json.dumps(schema))
        except (RuntimeError, ValueError, TypeError) as e:
            raise EngineRefused(str(e)) from e
        return lambda: self.processor(compiled)


def _logits_processor_base() -> type:
    import transformers

    base: type = transformers.LogitsProcessor
    return base


class XGrammarProcessor(_logits_processor_base()):  # type: ignore[misc]
    """What ``xgrammar.contrib.hf.LogitsProcessor`` does, for versions that lack it."""

    def __init__(self, compiled: Any) -> None:
        import xgrammar as xgr

        self.xgr = xgr
        self.compiled = compiled
        self.matchers: list[Any] = []
        self.bitmask: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if not self.matchers:
            batch = input_ids.shape[0]
            self.matchers = [self.xgr.GrammarMatcher(self.compiled) for _ in range(batch)]
            self.bitmask = self.xgr.allocate_token_bitmask(
                batch, self.compiled.tokenizer_info.vocab_size
            )
        else:
            for i, m in enumerate(self.matchers):
                if not m.is_terminated() and not m.accept_token(int(input_ids[i, -1])):
                    raise RuntimeError(f"xgrammar rejected token {int(input_ids[i, -1])}")
        for i, m in enumerate(self.matchers):
            if not m.is_terminated():
                m.fill_next_token_bitmask(self.bitmask, i)
        self.xgr.apply_token_bitmask_inplace(scores, self.bitmask)
        return scores


class LLGuidanceEngine:
    def __init__(self, hf_tok: Any, vocab_size: int, eos: int) -> None:
        import llguidance
        import llguidance.hf

        self.ll = llguidance
        self.tok = llguidance.hf.from_tokenizer(hf_tok, n_vocab=vocab_size, eos_token=eos)

    def compile(self, schema: dict[str, Any]) -> Callable[[], Any]:
        M = self.ll.LLMatcher
        try:
            grammar = M.grammar_from_json_schema(json.dumps(schema))
            template = M(self.tok, grammar, log_level=0)
        except (ValueError, RuntimeError) as e:
            raise EngineRefused(str(e)) from e
        if template.is_error():
            raise EngineRefused(template.get_error())
        return lambda: LLGuidanceProcessor(template, self.tok.vocab_size)


class LLGuidanceProcessor(_logits_processor_base()):  # type: ignore[misc]
    """HF logits processor over llguidance matchers (one per row, copied from a template)."""

    def __init__(self, template: Any, vocab_size: int) -> None:
        import llguidance.torch

        self.llt = llguidance.torch
        self.template = template
        self.vocab_size = vocab_size
        self.matchers: list[Any] = []
        self.bitmask: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if not self.matchers:
            batch = input_ids.shape[0]
            self.matchers = [self.template.deep_copy() for _ in range(batch)]
            self.bitmask = self.llt.allocate_token_bitmask(batch, self.vocab_size)
        else:
            for i, m in enumerate(self.matchers):
                if m.is_stopped():
                    continue
                token = int(input_ids[i, -1])
                if not m.consume_token(token) or m.is_error():
                    raise RuntimeError(f"llguidance rejected token {token}: {m.get_error()}")
        for i, m in enumerate(self.matchers):
            self.llt.fill_next_token_bitmask(m, self.bitmask, i)
        self.llt.apply_token_bitmask_inplace(scores, self.bitmask)
        return scores


class Timed(_logits_processor_base()):  # type: ignore[misc]
    """Wraps a logits processor and adds up the wall time of its calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self.ns = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        t0 = time.perf_counter_ns()
        out = self.inner(input_ids, scores)
        self.ns += time.perf_counter_ns() - t0
        self.calls += 1
        return out


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    engine: str
    task: str
    tokens: int = 0
    seconds: list[float] = field(default_factory=list)
    processor_ns_per_call: list[float] = field(default_factory=list)
    compile_ms: float | None = None
    valid: bool | None = None
    finished: bool = False  # ended with EOS (else cut at max_new_tokens)
    text: str = ""
    error: str | None = None


def prompt_ids(hf_tok: Any, message: str, schema: dict[str, Any]) -> Any:
    messages = [
        {"role": "system", "content": f"{SYSTEM}\n{json.dumps(schema)}"},
        {"role": "user", "content": message},
    ]
    text = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return hf_tok(text, add_special_tokens=False, return_tensors="pt")


def generate_once(
    model: Any, inputs: Any, processor: Any, max_new_tokens: int, eos: int
) -> tuple[list[int], float]:
    import torch
    from transformers import LogitsProcessorList

    processors = LogitsProcessorList([processor] if processor is not None else [])
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            logits_processor=processors,
            eos_token_id=eos,
            pad_token_id=eos,
        )
    seconds = time.perf_counter() - t0
    return out[0, inputs["input_ids"].shape[1] :].tolist(), seconds


def validate(text: str, schema: dict[str, Any]) -> bool:
    import jsonschema

    try:
        value = json.loads(text)
    except ValueError:
        return False
    return bool(jsonschema.Draft202012Validator(schema).is_valid(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=2, help="runs per (engine, schema)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--tasks", default=",".join(t[0] for t in TASKS))
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--json", metavar="OUT", help="write every run's numbers here")
    parser.add_argument("--show", action="store_true", help="print each engine's outputs")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.torch_threads)
    from formcast.models import default_model

    t0 = time.perf_counter()
    model, hf_tok = default_model()
    print(f"model loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    eos = int(hf_tok.eos_token_id)
    vocab_size = int(model.config.vocab_size)
    names = [e for e in args.engines.split(",") if e]
    engines = make_engines(names, hf_tok, vocab_size, eos)
    tasks = [t for t in TASKS if t[0] in args.tasks.split(",")]

    # Compile everything up front; warm every engine on a tiny schema (JIT, allocators).
    warm_inputs = prompt_ids(hf_tok, "Is the sky blue?", WARMUP_SCHEMA)
    factories: dict[tuple[str, str], Callable[[], Any] | None] = {}
    runs: dict[tuple[str, str], Run] = {}
    for name, engine in engines.items():
        if engine is not None:
            warm = engine.compile(WARMUP_SCHEMA)
            generate_once(model, warm_inputs, warm(), 8, eos)
        else:
            generate_once(model, warm_inputs, None, 8, eos)
        for task, _, schema in tasks:
            run = runs[name, task] = Run(name, task)
            if engine is None:
                factories[name, task] = None
                continue
            t0 = time.perf_counter()
            try:
                factories[name, task] = engine.compile(schema)
            except EngineRefused as e:
                run.error = f"refused: {str(e)[:120]}"
                continue
            run.compile_ms = (time.perf_counter() - t0) * 1e3

    inputs = {task: prompt_ids(hf_tok, message, schema) for task, message, schema in tasks}
    for rep in range(args.repeat):
        for task, _, schema in tasks:
            for name in engines:
                run = runs[name, task]
                if (name, task) not in factories:
                    continue  # refused at compile time, or failed in an earlier repeat
                factory = factories[name, task]
                timed = Timed(factory()) if factory is not None else None
                try:
                    tokens, seconds = generate_once(
                        model, inputs[task], timed, args.max_new_tokens, eos
                    )
                except Exception as e:  # an engine failing mid-run is a result, not a crash
                    run.error = f"{type(e).__name__}: {str(e)[:160]}"
                    factories.pop((name, task))
                    continue
                run.seconds.append(seconds)
                run.tokens = len(tokens)
                if timed is not None and timed.calls:
                    run.processor_ns_per_call.append(timed.ns / timed.calls)
                run.finished = bool(tokens) and tokens[-1] == eos
                body = [t for t in tokens if t != eos]
                run.text = hf_tok.decode(body, skip_special_tokens=False)
                run.valid = validate(run.text, schema)
                print(
                    f"[{rep + 1}/{args.repeat}] {task:8s} {name:13s} {len(tokens):4d} tok "
                    f"{len(tokens) / seconds:6.1f} tok/s valid={run.valid} "
                    f"finished={run.finished}",
                    file=sys.stderr,
                )
                if args.show:
                    print(f"    {run.text!r}", file=sys.stderr)

    print(report(names, tasks, runs, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "args": vars(args),
                    "machine": common.machine_description(),
                    "runs": [asdict(r) for r in runs.values()],
                },
                f,
                indent=1,
            )
    return 0


def report(names: list[str], tasks: list[Any], runs: dict[tuple[str, str], Run], args: Any) -> str:
    def per_token(name: str) -> tuple[int, float, list[Run]]:
        done = [r for t in tasks if (r := runs.get((name, t[0]))) and r.seconds]
        tokens = sum(r.tokens for r in done)
        seconds = sum(min(r.seconds) for r in done)
        return tokens, seconds, done

    base_tokens, base_seconds, _ = per_token("unconstrained")
    base = base_seconds / base_tokens if base_tokens else None
    lines = [
        f"max_new_tokens={args.max_new_tokens}, repeat={args.repeat} (best wall time kept), "
        f"torch threads={args.torch_threads}, engines single-threaded; "
        f"{common.machine_description()}",
        "",
        "| engine | schemas run | tokens generated | tokens/s | overhead vs unconstrained "
        "| mask µs/token (processor call, best repeat) | compile ms (mean) | outputs valid |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        tokens, seconds, done = per_token(name)
        mask = [min(r.processor_ns_per_call) for r in done if r.processor_ns_per_call]
        compiles = [r.compile_ms for r in done if r.compile_ms is not None]
        valid = sum(1 for r in done if r.valid)
        cut = sum(1 for r in done if not r.finished)
        overhead = (
            f"{(seconds / tokens / base - 1) * 100:+.1f}%"
            if base and tokens and name != "unconstrained"
            else "-"
        )
        lines.append(
            f"| {name} | {len(done)}/{len(tasks)} | {tokens} | "
            f"{tokens / seconds if seconds else 0:.1f} | {overhead} | "
            f"{statistics.fmean(mask) / 1e3 if mask else 0:.0f} | "
            f"{statistics.fmean(compiles) if compiles else 0:.1f} | {valid}/{len(done)}"
            + (f" ({cut} cut at max_new_tokens)" if cut else "")
            + " |"
        )
    lines += ["", "| schema | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for task, _, _ in tasks:
        cells = []
        for name in names:
            r = runs[name, task]
            if not r.seconds:
                cells.append(r.error or "-")
            else:
                rate = r.tokens / min(r.seconds)
                state = "valid" if r.valid else "cut" if not r.finished else "INVALID"
                cells.append(f"{r.tokens} tok, {rate:.1f}/s, {state}")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
