"""MaskBench instances under ``property_order="definition"`` and ``"any"``, side by side.

Usage: ``python bench/property_order.py [--sample N] [--seed S] [--data DIR]``. For every
schema both modes compile; each test instance (``json.dumps`` text) is checked with the
byte-level matcher (:func:`formcast.testing.oracle.accepts`). Prints the schemas and valid
instances that "any" turns from rejected to accepted, invalid instances accepted by either
mode (files listed: must be none), objects left in definition order, and the grammar build
and automata compile times of both modes (medians and p90, runs interleaved), and the
per-schema ratio any / definition of build + compile (robust to load changes over the run).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import statistics
import time
import warnings
from pathlib import Path

from formcast.automata.compiled import compile_grammar
from formcast.errors import FormcastError
from formcast.grammar.ir import Grammar
from formcast.testing.oracle import accepts, byte_tokenizer

DATA = Path(__file__).resolve().parents[1] / "../shared/data/maskbench"
MODES = ("definition", "any")


def build(schema: object, mode: str) -> tuple[Grammar, float, float]:
    """The grammar, its build time and its automata compile time (seconds)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Grammar.from_json_schema(schema, property_order=mode)
    t1 = time.perf_counter()
    compile_grammar(g, byte_tokenizer())
    return g, t1 - t0, time.perf_counter() - t1


def p90(xs: list[float]) -> float:
    return sorted(xs)[int(0.9 * (len(xs) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    files = sorted(args.data.glob("*.json"))
    if args.sample and args.sample < len(files):
        files = sorted(random.Random(args.seed).sample(files, args.sample))
    count: collections.Counter[str] = collections.Counter(
        {f"invalid accepted ({m})": 0 for m in MODES} | {"valid instances flipped to REJECTED": 0}
    )
    times: dict[str, list[float]] = {f"{m} {k}": [] for m in MODES for k in ("build", "compile")}
    ratios: list[float] = []
    invalid_accepted: list[str] = []
    for n, path in enumerate(files):
        doc = json.loads(path.read_text())
        order = MODES if n % 2 else MODES[::-1]  # interleave: neither mode always goes first
        try:
            built = {m: build(doc["schema"], m) for m in order}
        except (FormcastError, RecursionError):
            continue
        count["compiled"] += 1
        count["objects left in definition order"] += sum(
            note.startswith("definition order") for note in built["any"][0].notes
        )
        for m, (_, tb, tc) in built.items():
            times[f"{m} build"].append(tb)
            times[f"{m} compile"].append(tc)
        ratios.append(sum(built["any"][1:]) / sum(built["definition"][1:]))
        flipped = False
        for test in doc.get("tests", []):
            text = json.dumps(test["data"])
            try:
                got = {m: accepts(built[m][0], text) for m in MODES}
            except FormcastError:
                count["instance errors"] += 1
                continue
            kind = "valid" if test["valid"] else "invalid"
            count[kind] += 1
            for m in MODES:
                if got[m] != test["valid"]:
                    count[f"{kind} {'rejected' if test['valid'] else 'accepted'} ({m})"] += 1
            if not test["valid"] and any(got.values()):
                invalid_accepted.append(f"{path.name} {got}")
            if test["valid"] and got["any"] and not got["definition"]:
                count["valid instances flipped to accepted"] += 1
                flipped = True
            if test["valid"] and got["definition"] and not got["any"]:
                count["valid instances flipped to REJECTED"] += 1
        count["schemas with a flipped instance"] += flipped
    print(f"{len(files)} MaskBench files (seed {args.seed})")
    for key, value in sorted(count.items()):
        print(f"  {key:42s} {value:6d}")
    for key, xs in times.items():
        if xs:
            med, top = 1e3 * statistics.median(xs), 1e3 * p90(xs)
            print(f"  {key:18s} median {med:8.2f} ms  p90 {top:8.2f} ms")
    if ratios:
        med, top = statistics.median(ratios), p90(ratios)
        print(f"  any / definition (build + compile per schema): median {med:.2f}x p90 {top:.2f}x")
    for line in invalid_accepted:
        print(f"  INVALID ACCEPTED: {line}")


if __name__ == "__main__":
    main()
