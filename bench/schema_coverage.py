"""Compile every MaskBench schema with formcast (no tokenizer) and count the outcomes.

Usage: ``python bench/schema_coverage.py [--reasons] [MASKBENCH_DIR]``. Prints how many
schemas compile, how many are refused (by keyword), how many are invalid, and other errors;
``--reasons`` adds the most common refusal messages (keyword and hint, without pointer).
"""

from __future__ import annotations

import collections
import json
import pathlib
import sys
import time
import warnings

from formcast.errors import SchemaError, UnsupportedFeatureError
from formcast.grammar.json_schema import grammar_from_json_schema

DEFAULT_DIR = pathlib.Path(__file__).resolve().parents[1] / "../shared/data/maskbench"


def main(argv: list[str]) -> int:
    reasons_wanted = "--reasons" in argv
    args = [a for a in argv[1:] if a != "--reasons"]
    root = pathlib.Path(args[0]) if args else DEFAULT_DIR
    reasons: collections.Counter[str] = collections.Counter()
    files = sorted(root.glob("*.json"))
    outcome: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    for path in files:
        schema = json.loads(path.read_text())["schema"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                grammar_from_json_schema(schema)
            outcome["compiled"] += 1
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
    if reasons_wanted:
        print("top refusal reasons:")
        for why, c in reasons.most_common(25):
            print(f"  {c:5d} {why}")
    if errors:
        print("errors:")
        for e, c in errors.most_common(10):
            print(f"  {c:5d} {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
