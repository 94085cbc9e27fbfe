"""MaskBench: JSON Schema conformance and mask speed, formcast beside the peers.

For each schema file (or a seeded sample) and each engine: compile the schema (with a timeout),
then for each test instance (``json.dumps(data)``, tokenized without special tokens) compute
the full mask before every token, check the token is allowed, commit it, and at the end check
the grammar can terminate. A valid instance must pass everything; an invalid one must fail
somewhere (if an engine takes it whole, that is an "invalid accepted").

    .venv/bin/python bench/maskbench.py --sample 300 --seed 0 --tokenizer smollm2 --json mb.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

DATA = Path("/work/shared/data/maskbench")
DEFAULT_ENGINES = "formcast,formcast-any-order,llguidance,xgrammar,xgrammar-any-ws,outlines-core"
PCTS = [25, 50, 75, 90, 99, 100]


class Tally:
    """Per-engine counts and timing samples."""

    def __init__(self) -> None:
        self.files = 0
        self.passing = 0
        self.with_instances = 0
        self.passing_with_instances = 0
        self.status: dict[str, int] = {}
        self.valid_rejected = 0
        self.invalid_accepted = 0
        self.matcher_crashes = 0
        self.mismatches = 0
        self.ttfm: list[int] = []
        self.tbm = array("q")

    def summary(self) -> dict:
        return {
            "files": self.files,
            "passing": self.passing,
            "with_instances": self.with_instances,
            "passing_with_instances": self.passing_with_instances,
            "status": self.status,
            "valid_rejected": self.valid_rejected,
            "invalid_accepted": self.invalid_accepted,
            "matcher_crashes": self.matcher_crashes,
            "mask_accept_mismatches": self.mismatches,
            "ttfm_ns": dict(zip(map(str, PCTS), common.percentiles(self.ttfm, PCTS), strict=True)),
            "tbm_ns": dict(zip(map(str, PCTS), common.percentiles(self.tbm, PCTS), strict=True)),
            "masks": len(self.tbm),
        }


def select_files(args: argparse.Namespace) -> list[Path]:
    files = sorted(args.data.glob("*.json"))
    if not files:
        raise SystemExit(f"no MaskBench files in {args.data}")
    if args.filter:
        files = [f for f in files if args.filter in f.name]
    if args.sample and args.sample < len(files):
        files = sorted(random.Random(args.seed).sample(files, args.sample))
    return files


def judge(valid: list[bool], outcomes: list[list]) -> tuple[int, int, int, list[str]]:
    """(valid rejected, invalid accepted, matcher crashes, notes) for one file."""
    vr = ia = crashes = 0
    notes = []
    for i, (ok, (what, where)) in enumerate(zip(valid, outcomes, strict=True)):
        if what == common.CRASH:
            crashes += 1
            notes.append(f"test {i}: crash {where}")
            if not ok:
                continue  # a crash is a failure, so an invalid instance did fail
        passed = what == common.OK
        if ok and not passed:
            vr += 1
            if what != common.CRASH:
                notes.append(f"test {i} (valid): {what} at token {where}")
        elif not ok and passed:
            ia += 1
            notes.append(f"test {i} (invalid): accepted")
    return vr, ia, crashes, notes


def main(argv: list[str] | None = None) -> int:
    common.single_thread_env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", default="smollm2", choices=common.TOKENIZERS)
    ap.add_argument(
        "--engines", default=DEFAULT_ENGINES, help=f"comma-separated (default: {DEFAULT_ENGINES})"
    )
    ap.add_argument("--sample", type=int, default=0, help="random sample of N files (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--filter", default="", help="only files whose name contains this")
    ap.add_argument("--timeout", type=float, default=60.0, help="compile timeout per schema, s")
    ap.add_argument(
        "--mask-timeout",
        type=float,
        default=120.0,
        help="limit for walking all instances of one schema, s",
    )
    ap.add_argument("--data", type=Path, default=DATA, help=f"MaskBench folder (default {DATA})")
    ap.add_argument("--json", metavar="OUT", help="also write summary and per-file results")
    common.add_timing_options(ap)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    engines = common.parse_engines(args.engines)
    files = select_files(args)

    t0 = time.perf_counter()
    hf_tok = common.load_hf_tokenizer(args.tokenizer)
    info = common.load_tokenizer_info(args.tokenizer, hf_tok)
    enc = common.Encoder(hf_tok, info.token_bytes)
    workers = common.start_workers(
        engines, args.tokenizer, clock=args.clock, freeze=not args.no_gc_freeze
    )
    print(
        f"tokenizer and {len(engines)} workers ready in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )

    tallies = {e: Tally() for e in engines}
    per_file = []
    untokenizable = 0
    bar = None if args.no_progress else common.progress(len(files), "maskbench")
    try:
        for path in files:
            doc = json.loads(path.read_text())
            source = json.dumps(doc["schema"])
            valid, instances = [], []
            for test in doc.get("tests", []):
                ids = enc.encode(json.dumps(test["data"]))
                if ids is None:
                    untokenizable += 1
                    continue
                valid.append(bool(test["valid"]))
                instances.append(ids)
            record: dict = {"file": path.name, "tests": len(instances), "engines": {}}
            for engine in engines:
                r = workers[engine].run(
                    "json_schema", source, instances, args.timeout, args.mask_timeout
                )
                t = tallies[engine]
                t.files += 1
                t.with_instances += bool(instances)
                t.status[r.status] = t.status.get(r.status, 0) + 1
                rec: dict = {"status": r.status}
                if r.message:
                    rec["message"] = r.message[:300]
                if r.status == "ok":
                    vr, ia, crashes, notes = judge(valid, r.outcomes)
                    t.valid_rejected += vr
                    t.invalid_accepted += ia
                    t.matcher_crashes += crashes
                    t.mismatches += r.mismatches
                    t.ttfm.append(r.ttfm_ns or 0)
                    t.tbm.extend(r.masks)
                    if not (vr or ia or crashes):
                        t.passing += 1
                        t.passing_with_instances += bool(instances)
                    rec.update(
                        ttfm_ns=r.ttfm_ns,
                        masks=len(r.masks),
                        max_mask_ns=max(r.masks, default=None),
                    )
                    if notes:
                        rec["notes"] = notes[:5]
                    if r.mismatches:
                        rec["mask_accept_mismatches"] = r.mismatches
                record["engines"][engine] = rec
            per_file.append(record)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        for w in workers.values():
            w.close()

    print_report(args, files, engines, tallies, per_file, untokenizable)
    if args.json:
        common.write_json(
            args.json,
            {
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "machine": common.machine_description(),
                "versions": common.versions(),
                "args": {k: str(v) for k, v in vars(args).items()},
                "untokenizable_instances": untokenizable,
                "summary": {e: t.summary() for e, t in tallies.items()},
                "files": per_file,
            },
        )
    return 0


def print_report(args, files, engines, tallies, per_file, untokenizable) -> None:
    n = len(files)
    n_inst = tallies[engines[0]].with_instances
    print(
        f"\n## MaskBench, {n} schemas ({n_inst} with test instances), tokenizer "
        f"{args.tokenizer}, {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        f"{common.machine_description()}; single thread; compile timeout {args.timeout:g} s; "
        f"{common.versions()}"
    )
    if untokenizable:
        print(f"\n{untokenizable} test instances had no exact tokenization and were skipped.")
    rows = []
    for e in engines:
        t = tallies[e]
        s = t.status
        refused = s.get("refused", 0)
        errors = s.get("error", 0) + s.get("crash", 0)
        rows.append(
            [
                e,
                f"{t.passing} / {n}",
                f"{t.passing_with_instances} / {n_inst}",
                f"{refused} / {errors}",
                s.get("timeout", 0) + s.get("mask-timeout", 0),
                t.valid_rejected,
                t.invalid_accepted,
                t.matcher_crashes,
                t.mismatches,
            ]
        )
    print()
    print(
        common.markdown_table(
            [
                "engine",
                "schemas passing",
                "passing (with instances)",
                "compile refused / error",
                "timeouts",
                "valid rejected",
                "invalid accepted",
                "matcher crashes",
                "mask≠accept",
            ],
            rows,
        )
    )
    print(
        "\nvalid rejected / invalid accepted count test instances; mask≠accept: the mask left out"
        " a token that accept() then took (checked at an instance's first failing token)."
    )
    for title, attr, fmt in (
        ("TTFM (compile + first mask)", "ttfm", common.fmt_time),
        ("TBM (µs per mask)", "tbm", common.fmt_us),
    ):
        rows = []
        for e in engines:
            vals = getattr(tallies[e], attr)
            rows.append([e, f"{len(vals):,}"] + [fmt(v) for v in common.percentiles(vals, PCTS)])
        print(f"\n{title}\n")
        print(
            common.markdown_table(["engine", "n", "p25", "p50", "p75", "p90", "p99", "max"], rows)
        )
    for engine in ("formcast", "formcast-any-order", "formcast-lazy"):
        if engine not in engines:
            continue
        bad = [
            (r["file"], r["engines"][engine])
            for r in per_file
            if r["engines"][engine]["status"] not in ("ok", "refused")
            or r["engines"][engine].get("notes")
        ]
        if bad:
            print(f"\n{engine} problems ({len(bad)} files; refusals not listed):\n")
            for name, rec in bad[:40]:
                what = rec.get("message") or "; ".join(rec.get("notes", []))
                print(f"- {name}: {rec['status']}: {what[:200]}")


if __name__ == "__main__":
    sys.exit(main())
