"""Cold masks only: formcast's mask times when nothing is cached yet (an A/B aid).

MaskBench's TBM tail is made of the masks of a schema's first instance: every Earley row,
lexer start state and trie walk there is new. This script makes every mask such a mask:
each schema is an object whose keys, enum values and nesting are new (numbered), with an
integer, a string, a bounded string, an array of enums, a boolean and a nested object, and
one instance of it is walked token by token. It times each full mask (``perf_counter``, or
thread CPU time with ``--clock cpu``) after the same warm-up and heap freeze as
``maskbench.py``, and prints the distribution. It runs formcast alone: compare two
versions by running it from each checkout in turn, several times (peers are compared by
``maskbench.py``).

    .venv/bin/python bench/cold_masks.py --tokenizer tekken --schemas 200
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def schema(i: int) -> dict[str, Any]:
    """The ``i``-th schema: every key and enum value spelled with ``i``."""
    inner = {
        "type": "object",
        "properties": {f"x{i}": {"type": "number"}, "y": {"type": "string", "maxLength": 20}},
        "required": [f"x{i}"],
    }
    return {
        "type": "object",
        "properties": {
            f"name{i}": {"type": "string"},
            f"count{i}": {"type": "integer", "minimum": 0},
            f"tags{i}": {"type": "array", "items": {"enum": [f"a{i}", f"b{i}", "c"]}},
            f"flag{i}": {"type": "boolean"},
            f"inner{i}": inner,
        },
        "required": [f"name{i}", f"count{i}"],
    }


def instance(i: int) -> dict[str, Any]:
    """A valid instance of :func:`schema` ``(i)``."""
    return {
        f"name{i}": f"value {i}",
        f"count{i}": i,
        f"tags{i}": [f"a{i}", "c"],
        f"flag{i}": True,
        f"inner{i}": {f"x{i}": 1.5, "y": "hi there"},
    }


def main(argv: list[str] | None = None) -> int:
    common.single_thread_env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", default="tekken", choices=common.TOKENIZERS)
    ap.add_argument("--schemas", type=int, default=200)
    common.add_timing_options(ap)
    args = ap.parse_args(argv)
    clock = common.CLOCKS[args.clock]
    hf_tok = common.load_hf_tokenizer(args.tokenizer)
    engine = common.ENGINE_CLASSES["formcast"](args.tokenizer, hf_tok)
    enc = common.Encoder(hf_tok, engine.info.token_bytes)
    warm = list(hf_tok.encode(common.WARMUP_TEXT, add_special_tokens=False))
    for kind, src in common.WARMUP.items():
        common.run_instances(engine, engine.compile(kind, src), [warm, warm])
    if not args.no_gc_freeze:
        common.freeze_heap()
    times: list[int] = []
    for i in range(args.schemas):
        compiled = engine.compile("json_schema", json.dumps(schema(i)))
        ids = enc.encode(json.dumps(instance(i)))
        assert ids is not None
        m = engine.new_matcher(compiled)
        mask = engine.fill_mask(m)
        for tok in ids:
            if not engine.is_allowed(mask, tok) or not engine.accept(m, tok):
                raise SystemExit(f"schema {i}: token {tok} refused (an engine bug)")
            t0 = clock()
            mask = engine.fill_mask(m)
            times.append(clock() - t0)
    qs = [50, 75, 90, 99]
    ps = common.percentiles(times, qs)
    cells = ", ".join(f"p{q} {common.fmt_us(p)} us" for q, p in zip(qs, ps, strict=True))
    print(f"{len(times)} cold masks ({args.tokenizer}, {args.clock} clock): {cells}, ", end="")
    print(f"max {common.fmt_us(max(times))} us, all {sum(times) / 1e6:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
