"""Mask speed on the shipped Lark grammars: formcast beside llguidance and xgrammar.

For each tokenizer, grammar and engine: compile the grammar (TTFM: compile + matcher + first
mask), then for every sample input compute the full next-token mask before each token (TBM),
check the token is allowed, commit it, and at the end check the grammar can terminate.

    .venv/bin/python bench/masks.py --tokenizer smollm2,tekken --repeat 3 --json masks.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

DEFAULT_ENGINES = "formcast,llguidance,xgrammar"

JSON_INPUTS = [
    {
        "id": "chatcmpl-8x2Qf",
        "object": "chat.completion",
        "created": 1718035200,
        "model": "smollm2-135m-instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Paris is the capital of France."},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 23, "completion_tokens": 9, "total_tokens": 32},
    },
    {
        "name": "get_weather",
        "arguments": {"location": "Zürich, CH", "unit": "celsius", "days": 3},
        "strict": True,
    },
    [
        {"sku": "A-1001", "title": "Wireless mouse", "price": 24.99, "tags": ["usb", "2.4GHz"]},
        {"sku": "B-2002", "title": "Mechanical keyboard", "price": 89.5, "tags": []},
        {"sku": "C-3003", "title": '27" monitor', "price": 2.499e2, "stock": -1},
    ],
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [8.5417, 47.3769]},
                "properties": {"name": "Z\u00fcrich HB", "opened": 1847, "tracks": 26},
            }
        ],
    },
]
# Pretty-printed too, so whitespace handling is exercised.
JSON_TEXTS = [json.dumps(d) for d in JSON_INPUTS] + [
    json.dumps(JSON_INPUTS[0], indent=2),
    json.dumps(JSON_INPUTS[3], indent=4, ensure_ascii=False),
]

SQL_TEXTS = [
    "SELECT * FROM users;",
    "SELECT id, name, email FROM users WHERE age >= 18 AND country = 'CH' ORDER BY name ASC "
    "LIMIT 50;",
    "select count(*) as n from orders AS o where o.status != 'cancelled' or o.total > 100.5",
    "SELECT DISTINCT c.city FROM customers AS c WHERE NOT (c.city = 'Bern') GROUP BY c.city "
    "ORDER BY c.city DESC",
    "SELECT department, AVG(salary) AS avg_salary, MAX(salary) FROM employees\n"
    "WHERE (hired > 2015 AND level <> 3) OR manager_id = 7\nGROUP BY department\n"
    "ORDER BY avg_salary DESC, department\nLIMIT 10;",
]

INPUTS = {"json": JSON_TEXTS, "sql": SQL_TEXTS}

# Used only when the shipped grammars are not found (they live in grammars/).
FALLBACK = {
    "json": r"""
?start: value
?value: object | array | string | NUMBER | "true" -> true | "false" -> false | "null" -> null
array: "[" [value ("," value)*] "]"
object: "{" [pair ("," pair)*] "}"
pair: string ":" value
string: STRING
STRING: /"(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
NUMBER: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/
WS: /[ \t\n\r]+/
%ignore WS
""",
}


def load_grammar(name: str) -> tuple[str, str]:
    """The grammar text and where it came from."""
    for folder in (common.ROOT / "grammars", common.ROOT / "src" / "formcast" / "grammars"):
        path = folder / f"{name}.lark"
        if path.exists():
            return path.read_text(), str(path.relative_to(common.ROOT))
    if name in FALLBACK:
        return FALLBACK[name], "inline fallback"
    raise SystemExit(f"grammar {name!r} not found in grammars/ and no fallback")


def run_tokenizer(args: argparse.Namespace, tokenizer: str, engines: list[str]) -> list[dict]:
    t0 = time.perf_counter()
    hf_tok = common.load_hf_tokenizer(tokenizer)
    info = common.load_tokenizer_info(tokenizer, hf_tok)
    enc = common.Encoder(hf_tok, info.token_bytes)
    workers = common.start_workers(engines, tokenizer)
    print(
        f"[{tokenizer}] tokenizer and workers ready in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    rows = []
    try:
        for gname in args.grammars:
            source, origin = load_grammar(gname)
            texts = INPUTS.get(gname, [])
            instances = []
            for text in texts:
                ids = enc.encode(text)
                if ids is None:
                    print(
                        f"[{tokenizer}] no exact tokenization for a {gname} input, skipped",
                        file=sys.stderr,
                    )
                    continue
                instances.append(ids)
            for engine in engines:
                ttfm, masks, errors, notes = [], [], 0, []
                status = "ok"
                for _ in range(args.repeat):
                    r = workers[engine].run(
                        "lark", source, instances, args.timeout, args.mask_timeout
                    )
                    if r.status != "ok":
                        status = r.status
                        notes.append(r.message)
                        break
                    ttfm.append(r.ttfm_ns)
                    masks.extend(r.masks)
                    bad = [o for o in r.outcomes if o[0] != common.OK]
                    errors += len(bad)
                    notes += [
                        f"input {i}: {o[0]} at token {o[1]}"
                        for i, o in enumerate(r.outcomes)
                        if o[0] != common.OK
                    ]
                    if r.mismatches:
                        notes.append(f"{r.mismatches} mask/accept mismatches")
                p = common.percentiles(masks, [50, 90, 99, 100])
                rows.append(
                    {
                        "tokenizer": tokenizer,
                        "grammar": gname,
                        "source": origin,
                        "engine": engine,
                        "status": status,
                        "ttfm_ns": common.percentiles(ttfm, [50])[0],
                        "tbm_ns": dict(zip(["p50", "p90", "p99", "max"], p, strict=True)),
                        "masks": len(masks) + len(ttfm),
                        "errors": errors,
                        "tokens": sum(len(i) for i in instances) * args.repeat,
                        "notes": sorted(set(notes))[:10],
                    }
                )
    finally:
        for w in workers.values():
            w.close()
    return rows


def print_table(tokenizer: str, rows: list[dict]) -> None:
    header = ["grammar", "engine", "TTFM", "TBM p50 (µs)", "p90", "p99", "max", "masks", "errors"]
    body = []
    for r in rows:
        if r["status"] != "ok":
            body.append(
                [
                    r["grammar"],
                    r["engine"],
                    r["status"],
                    "–",
                    "–",
                    "–",
                    "–",
                    "–",
                    "; ".join(r["notes"])[:80],
                ]
            )
            continue
        t = r["tbm_ns"]
        err = str(r["errors"]) + (f" ({'; '.join(r['notes'])[:80]})" if r["notes"] else "")
        body.append(
            [
                r["grammar"],
                r["engine"],
                common.fmt_time(r["ttfm_ns"]),
                common.fmt_us(t["p50"]),
                common.fmt_us(t["p90"]),
                common.fmt_us(t["p99"]),
                common.fmt_us(t["max"]),
                f"{r['masks']:,}",
                err,
            ]
        )
    print(f"\n### Tokenizer: {tokenizer}\n")
    print(common.markdown_table(header, body))


def main(argv: list[str] | None = None) -> int:
    common.single_thread_env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--tokenizer",
        default="smollm2,tekken",
        help="comma-separated: smollm2, tekken, mistral-v3 (default: smollm2,tekken)",
    )
    ap.add_argument(
        "--grammars",
        default="json,sql",
        help="comma-separated names of grammars/NAME.lark (default: json,sql)",
    )
    ap.add_argument(
        "--engines", default=DEFAULT_ENGINES, help=f"comma-separated (default: {DEFAULT_ENGINES})"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="compile and walk every input this many times (default: 3)",
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="compile timeout, s")
    ap.add_argument(
        "--mask-timeout",
        type=float,
        default=300.0,
        help="limit for walking all inputs of one grammar, s",
    )
    ap.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    args = ap.parse_args(argv)
    args.grammars = [g.strip() for g in args.grammars.split(",") if g.strip()]
    engines = common.parse_engines(args.engines)
    tokenizers = [t.strip() for t in args.tokenizer.split(",") if t.strip()]
    for t in tokenizers:
        if t not in common.TOKENIZERS:
            raise SystemExit(f"unknown tokenizer {t!r}; expected some of {common.TOKENIZERS}")

    print(
        f"Mask benchmark, {time.strftime('%Y-%m-%d')}, {common.machine_description()}, "
        f"single thread; {common.versions()}"
    )
    print("TTFM = compile + matcher + first mask (median of --repeat); TBM = each later mask.")
    all_rows = []
    for tok in tokenizers:
        rows = run_tokenizer(args, tok, engines)
        print_table(tok, rows)
        all_rows += rows
    if args.json:
        common.write_json(
            args.json,
            {
                "machine": common.machine_description(),
                "versions": common.versions(),
                "rows": all_rows,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
