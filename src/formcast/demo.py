"""``python -m formcast.demo``: the default model fills a JSON Schema, and the result validates.

Loads SmolLM2-135M-Instruct offline (:func:`formcast.models.default_model`), compiles a small
person-record schema for its tokenizer, decodes greedily while streaming the text, then parses
and validates the output with ``jsonschema``. Exits 1 if the output does not validate (which
would be a formcast bug) or the token budget runs out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

__all__ = ["PERSON_SCHEMA", "main"]

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 40},
        "birth_year": {"type": "integer", "minimum": 1000, "maximum": 2100},
        "occupation": {"type": "string", "minLength": 1, "maxLength": 60},
        "known_for": {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 3},
    },
    "required": ["name", "birth_year", "occupation", "known_for"],
    "additionalProperties": False,
}

DEFAULT_PROMPT = (
    "Describe the mathematician Ada Lovelace as a JSON object with her name, birth year, "
    "occupation and what she is known for."
)


def _grammar(use_schema: bool) -> tuple[Any, str]:
    """The person-record schema's grammar, or (``--any-json``) the shipped JSON grammar."""
    import formcast as fc

    if use_schema:
        return fc.Grammar.from_json_schema(PERSON_SCHEMA), "JSON Schema (person record)"
    from formcast.grammar.shipped import load_grammar

    return load_grammar("json"), "shipped grammars/json.lark (any JSON)"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m formcast.demo", description=__doc__)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument(
        "--any-json", action="store_true", help="use the shipped JSON grammar, not the schema"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)

    import jsonschema

    import formcast as fc
    from formcast.decoding.autoregressive import generate_stream
    from formcast.errors import IncompleteOutputError
    from formcast.models import default_model

    t0 = time.perf_counter()
    model, tokenizer = default_model()
    t1 = time.perf_counter()
    tok = fc.TokenizerInfo.from_huggingface(tokenizer)
    t2 = time.perf_counter()
    grammar, kind = _grammar(use_schema=not args.any_json)
    compiled = fc.compile(grammar, tok)
    t3 = time.perf_counter()
    print(
        f"model loaded in {t1 - t0:.1f} s; tokenizer info {t2 - t1:.1f} s; {kind} compiled "
        f"in {t3 - t2:.2f} s"
    )
    print(f"prompt: {args.prompt}\n")
    print("raw output: ", end="", flush=True)

    stream = generate_stream(
        model,
        tokenizer,
        args.prompt,
        grammar=compiled,
        max_tokens=args.max_tokens,
        tokenizer_info=tok,
    )
    start = time.perf_counter()
    try:
        while True:
            try:
                print(next(stream), end="", flush=True)
            except StopIteration as stop:
                result = stop.value
                break
    except IncompleteOutputError as e:
        print(f"\n\nFAILED: {e}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    n = len(result.tokens)
    print(f"\n\n{n} tokens in {elapsed:.2f} s ({n / elapsed:.1f} tokens/s, greedy, constrained)")

    try:
        value = json.loads(result.text)
        if "Schema" in kind:
            jsonschema.validate(value, PERSON_SCHEMA)
    except (json.JSONDecodeError, jsonschema.ValidationError) as e:
        print(f"FAILED: the output does not validate: {e}", file=sys.stderr)
        return 1
    print("validated object:")
    print(json.dumps(value, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
