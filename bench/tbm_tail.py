"""Where formcast's slow masks spend their time (the TBM tail of MaskBench).

Runs formcast in this process over the same seeded MaskBench sample and mask loop as
``maskbench.py`` (same warm-up, caches cleared per compile), with the mask-time functions
wrapped by an exclusive-time profiler (garbage collections included). Each mask slower than
``--slow`` microseconds has its time charged to: lexeme compile, byte classes, lexer
closure, trie walk (numba kernels and packing), shared-walk look-ups, Earley scans, mask
ORs, garbage collection, and the rest; then how many slow masks come in a schema's first
instance, and what the p99 would be without each category's time (or with every category
halved). ``--engine formcast-lazy`` (or ``formcast-any-order``) profiles that configuration;
``--clock cpu`` times by thread CPU time, for A/B runs on a shared machine. Every wrapped
call reads the clock twice: with ``--clock cpu`` a read is a system call on some machines
(0.85 us on the 2-core benchmark box, against 0.12 us for the wall clock), which inflates
the categories with many calls; read shares off a wall-clock run. The profiler also keeps
a dict per mask, so its own allocations trigger collections that a plain ``maskbench.py``
worker does not have: the "gc" share here overstates what collections cost there.

    .venv/bin/python bench/tbm_tail.py --tokenizer smollm2 --sample 150 --seed 0
"""

from __future__ import annotations

import argparse
import functools
import gc
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import maskbench

_clock = common.CLOCKS["wall"]


class Profile:
    """Exclusive time per category, for the mask being timed."""

    def __init__(self) -> None:
        self.spent: dict[str, int] = {}
        self._stack: list[list[int]] = []  # [start, time in children] per open call

    def wrap(self, category: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [_clock(), 0]
            self._stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                self._stack.pop()
                total = _clock() - frame[0]
                self.spent[category] = self.spent.get(category, 0) + total - frame[1]
                if self._stack:
                    self._stack[-1][1] += total

        return timed

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """``gc.callbacks`` hook: a collection is a call of its own ("gc")."""
        if phase == "start":
            self._stack.append([_clock(), 0])
            return
        frame = self._stack.pop()
        total = _clock() - frame[0]
        self.spent["gc"] = self.spent.get("gc", 0) + total
        if self._stack:
            self._stack[-1][1] += total

    def take(self) -> dict[str, int]:
        spent, self.spent = self.spent, {}
        return spent


def instrument(prof: Profile) -> None:
    """Wrap the functions a mask may spend its time in."""
    from formcast import matcher
    from formcast.automata import compiled, earley, lexer

    targets = [
        (compiled, "_load_lexeme", "lexeme compile"),
        (lexer, "_classes", "byte classes"),
        (lexer.Lexer, "_lexeme_classes", "byte classes"),
        (lexer.Lexer, "_joint_classes", "byte classes"),
        (lexer.Lexer, "_close", "closure"),
        (lexer.Lexer, "_start_joint", "closure"),
        (lexer.Lexer, "_close_single", "closure"),
        (lexer.Lexer, "_close_singles", "closure"),
        (lexer.Lexer, "_close_near", "closure"),
        (matcher.Matcher, "_walk", "trie walk"),
        (compiled.SharedWalks, "key", "shared walks"),
        (compiled.SharedWalks, "get", "shared walks"),
        (compiled.SharedWalks, "put", "shared walks"),
        (earley.EarleyParser, "scan", "earley"),
        (compiled.WalkResult, "or_into", "mask or"),
    ]
    for owner, name, category in targets:
        if not hasattr(owner, name):  # names differ between versions of the lexer
            continue
        wrapped = prof.wrap(category, getattr(owner, name))
        if isinstance(inspect.getattr_static(owner, name), staticmethod):
            wrapped = staticmethod(wrapped)
        setattr(owner, name, wrapped)
    gc.callbacks.append(prof.on_gc)


def run_file(engine: Any, prof: Profile, source: str, instances: list[list[int]]) -> list[dict]:
    """Every timed mask of one schema (as in ``common.run_instances``) with its breakdown."""
    compiled = engine.compile("json_schema", source)
    out = []
    for n, ids in enumerate(instances):
        m = engine.new_matcher(compiled)
        prof.take()
        t0 = _clock()
        mask = engine.fill_mask(m)
        out.append({"ns": _clock() - t0, "spent": prof.take(), "ttfm": n == 0, "instance": n})
        for tok in ids:
            if not engine.is_allowed(mask, tok) or not engine.accept(m, tok):
                break
            prof.take()
            t0 = _clock()
            mask = engine.fill_mask(m)
            out.append({"ns": _clock() - t0, "spent": prof.take(), "ttfm": False, "instance": n})
    return out


def report(masks: list[dict], slow_ns: int) -> None:
    tbm = [m for m in masks if not m["ttfm"]]
    times = [m["ns"] for m in tbm]
    p50, p99 = common.percentiles(times, [50, 99])
    slow = [m for m in tbm if m["ns"] > slow_ns]
    total = sum(m["ns"] for m in slow)
    print(f"{len(tbm)} masks, p50 {common.fmt_us(p50)} us, p99 {common.fmt_us(p99)} us")
    print(f"{len(slow)} slower than {slow_ns // 1000} us, {total / 1e6:.1f} ms in all:")
    cats: dict[str, int] = {}
    count: dict[str, int] = {}
    for m in slow:
        rest = m["ns"]
        for c, ns in m["spent"].items():
            cats[c] = cats.get(c, 0) + ns
            count[c] = count.get(c, 0) + (ns > slow_ns // 4)
            rest -= ns
        cats["other"] = cats.get("other", 0) + rest
        count["other"] = count.get("other", 0) + (rest > slow_ns // 4)
    for c, ns in sorted(cats.items(), key=lambda kv: -kv[1]):
        share = 100 * ns / total if total else 0.0
        print(
            f"  {c:15s} {ns / 1e6:8.1f} ms {share:5.1f} %  (> {slow_ns // 4000} us in {count[c]})"
        )
    first = sum(m["instance"] == 0 for m in slow)
    print(f"{first} of them in a schema's first instance (cold: nothing cached yet)")
    print("p99 without each category's time, and with all but the rest halved:")
    what_if = {c: [c] for c in cats if c != "other"}
    without = {c: _p99_without(tbm, cs) for c, cs in what_if.items()}
    for c, p99 in sorted(without.items(), key=lambda kv: kv[1]):
        print(f"  {c:15s} {common.fmt_us(p99)} us")
    halved = _p99_without(tbm, list(what_if), 0.5)
    print(f"  {'halved':15s} {common.fmt_us(halved)} us")


def _p99_without(masks: list[dict], categories: list[str], share: float = 1.0) -> float:
    """The p99 of ``masks`` with ``share`` of their time in ``categories`` taken off."""
    times = [m["ns"] - share * sum(m["spent"].get(c, 0) for c in categories) for m in masks]
    return common.percentiles(times, [99])[0]


def main(argv: list[str] | None = None) -> int:
    common.single_thread_env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", default="smollm2", choices=common.TOKENIZERS)
    ap.add_argument(
        "--engine",
        default="formcast",
        choices=[e for e in common.ENGINES if e.startswith("formcast")],
    )
    ap.add_argument("--sample", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--filter", default="")
    ap.add_argument("--data", type=Path, default=maskbench.DATA)
    ap.add_argument("--slow", type=int, default=200, help="slow-mask threshold, us")
    ap.add_argument("--json", metavar="OUT", help="also write every slow mask")
    common.add_timing_options(ap)
    args = ap.parse_args(argv)
    global _clock
    _clock = common.CLOCKS[args.clock]
    hf_tok = common.load_hf_tokenizer(args.tokenizer)
    engine = common.ENGINE_CLASSES[args.engine](args.tokenizer, hf_tok)
    assert isinstance(engine, common.FormcastEngine)
    enc = common.Encoder(hf_tok, engine.info.token_bytes)
    warm = list(hf_tok.encode(common.WARMUP_TEXT, add_special_tokens=False))
    for kind, src in common.WARMUP.items():
        common.run_instances(engine, engine.compile(kind, src), [warm, warm])
    if not args.no_gc_freeze:
        common.freeze_heap()  # as maskbench's workers do
    prof = Profile()
    instrument(prof)
    masks: list[dict] = []
    for path in maskbench.select_files(args):
        doc = json.loads(path.read_text())
        instances = [enc.encode(json.dumps(t["data"])) for t in doc.get("tests", [])]
        try:
            found = run_file(engine, prof, json.dumps(doc["schema"]), [i for i in instances if i])
        except common.CompileRefused:
            continue
        except Exception as e:  # a crash is maskbench's business; keep profiling
            print(f"{path.name}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        for m in found:
            m["file"] = path.name
        masks += found
    report(masks, args.slow * 1000)
    if args.json:
        slow = [m for m in masks if not m["ttfm"] and m["ns"] > args.slow * 1000]
        common.write_json(args.json, slow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
