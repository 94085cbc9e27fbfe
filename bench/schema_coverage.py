"""Compile every MaskBench schema with formcast (no tokenizer) and count the outcomes.

Usage: ``python bench/schema_coverage.py [--reasons] [--notes] [--instances]
[--property-order=definition|any] [MASKBENCH_DIR]``. Prints how many schemas compile, how
many are refused (by keyword), how many are invalid, and other errors; ``--reasons`` adds
the most common refusal messages (keyword and hint, without pointer); ``--notes`` how many
compiled schemas are restricted (a bound lowered, listed in ``grammar.notes``) and the most
common restrictions. ``--instances`` also builds the automata (byte-level tokenizer) of
every compiled schema and checks its test instances (``json.dumps``): schemas passing (every
instance judged right), valid instances rejected, invalid instances accepted (files listed).
``--property-order`` is passed to :func:`grammar_from_json_schema` (default ``definition``).
"""

from __future__ import annotations

import collections
import json
import pathlib
import re
import sys
import time
import warnings

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.ir import Grammar
from formcast.grammar.json_schema import grammar_from_json_schema
from formcast.testing.oracle import accepts

DEFAULT_DIR = pathlib.Path(__file__).resolve().parents[1] / "../shared/data/maskbench"


def main(argv: list[str]) -> int:
    reasons_wanted = "--reasons" in argv
    notes_wanted = "--notes" in argv
    instances_wanted = "--instances" in argv
    order_flag = "--property-order="
    order = next((a[len(order_flag) :] for a in argv if a.startswith(order_flag)), "definition")
    args = [
        a
        for a in argv[1:]
        if a not in ("--reasons", "--notes", "--instances") and not a.startswith(order_flag)
    ]
    root = pathlib.Path(args[0]) if args else DEFAULT_DIR
    reasons: collections.Counter[str] = collections.Counter()
    restrictions: collections.Counter[str] = collections.Counter()
    files = sorted(root.glob("*.json"))
    outcome: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    judged: collections.Counter[str] = collections.Counter()
    invalid_accepted: list[str] = []
    t0 = time.perf_counter()
    for path in files:
        doc = json.loads(path.read_text())
        schema = doc["schema"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                grammar = grammar_from_json_schema(schema, property_order=order)
            outcome["compiled"] += 1
            restricted = {
                re.sub(r" at \S+", "", n) for n in grammar.notes if n.startswith("restricted")
            }
            outcome["restricted"] += bool(restricted)
            restrictions.update(restricted)
            if instances_wanted:
                judge(path.name, grammar, doc.get("tests", []), judged, invalid_accepted)
        except UnsupportedFeatureError as exc:
            outcome["refused"] += 1
            refused[exc.feature.split(" ")[0]] += 1
            hint = str(exc).partition("; ")[2]
            reasons[f"{exc.feature}: {hint[:70]}"] += 1
        except SchemaError:
            outcome["invalid schema"] += 1
        except RecursionError:
            outcome["error"] += 1
            errors["RecursionError"] += 1
        except Exception as exc:  # report, do not stop: this is a census
            outcome["error"] += 1
            errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
    dt = time.perf_counter() - t0
    n = len(files)
    print(f"{n} MaskBench schemas in {dt:.1f} s")
    for key in ("compiled", "refused", "invalid schema", "error"):
        print(f"  {key:15s} {outcome[key]:6d}  ({100 * outcome[key] / max(n, 1):.1f}%)")
    print("top refusal keywords:")
    for kw, c in refused.most_common(15):
        print(f"  {kw:25s} {c}")
    if notes_wanted:
        print(f"restricted (compiled, a bound lowered): {outcome['restricted']}")
        for note, c in restrictions.most_common(15):
            print(f"  {c:5d} {note[:110]}")
    if reasons_wanted:
        print("top refusal reasons:")
        for why, c in reasons.most_common(25):
            print(f"  {c:5d} {why}")
    if instances_wanted:
        print("instances (byte-level matcher, json.dumps text):")
        for key in ("schemas passing", "automata errors", "valid rejected", "invalid accepted"):
            print(f"  {key:18s} {judged[key]:6d}")
        print(f"  of {judged['valid']} valid and {judged['invalid']} invalid instances")
        for name in invalid_accepted:
            print(f"  INVALID ACCEPTED: {name}")
    if errors:
        print("errors:")
        for e, c in errors.most_common(10):
            print(f"  {c:5d} {e}")
    return 0


def judge(
    name: str,
    grammar: Grammar,
    tests: list[dict],
    judged: collections.Counter[str],
    invalid_accepted: list[str],
) -> None:
    """Check one compiled schema's instances; a schema passes when all are judged right."""
    wrong = 0
    for test in tests:
        kind = "valid" if test["valid"] else "invalid"
        judged[kind] += 1
        try:
            got = accepts(grammar, json.dumps(test["data"]))
        except Exception as exc:  # e.g. a lexeme over the size limits
            judged["automata errors"] += 1
            print(f"  {name}: {type(exc).__name__}: {str(exc)[:100]}", file=sys.stderr)
            return
        if got != test["valid"]:
            wrong += 1
            judged[f"{kind} {'rejected' if test['valid'] else 'accepted'}"] += 1
            if not test["valid"]:
                invalid_accepted.append(name)
            else:
                print(f"  {name}: valid instance rejected", file=sys.stderr)
    judged["schemas passing"] += not wrong


if __name__ == "__main__":
    sys.exit(main(sys.argv))
