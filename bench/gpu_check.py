"""GPU check: the CUDA apply-mask path against the numpy reference, then a constrained generation.

Usage::

    python bench/gpu_check.py              # CUDA; prints "skipped: no CUDA" and exits 0 without
    python bench/gpu_check.py --device cpu # the same checks on CPU (to test this script)

Checks, in order (exit status 1 on the first failure):

1. the apply-mask backends on device tensors (float32, float16, bfloat16; 1-D and 2-D;
   with and without ``indices``; logits wider and narrower than the mask) equal the one-line
   numpy reference, bit for bit. On CUDA: the Triton kernel (when triton is importable) and the
   torch ops, each called directly; on CPU: ``apply_token_bitmask_inplace``;
2. their speed on a (batch 16, 49,152) float32 batch, CUDA-synchronised, one line per backend;
3. the default model on the device generates a small JSON Schema record greedily, both with
   :func:`formcast.generate` and with HF ``generate`` + ``LogitsProcessor``; both
   outputs must validate. Tokens/s constrained and unconstrained are printed;
4. HF ``generate`` on a left-padded batch of three prompts, two sampled sequences each
   (``num_return_sequences=2``): every row must validate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
PROMPT = "Give a JSON record for Ada Lovelace with her name and age at death (36)."


def reference(logits: np.ndarray, bitmask: np.ndarray, rows: list[int] | None) -> np.ndarray:
    bits = np.unpackbits(np.ascontiguousarray(bitmask).view(np.uint8), -1, bitorder="little")
    vocab = logits.shape[-1]
    pad = [(0, 0)] * (bits.ndim - 1) + [(0, max(0, vocab - bits.shape[-1]))]
    allowed = np.pad(bits, pad)[..., :vocab].astype(bool)
    out = logits.copy()
    if rows is None:
        out[~allowed] = -np.inf
    else:
        for r in rows:
            out[r][~allowed[r]] = -np.inf
    return out


def kernel_backends(device: str) -> dict[str, Any]:
    """The apply-mask functions to check on ``device``, by name."""
    from formcast.kernels import apply

    if not device.startswith("cuda"):
        return {"default": apply.apply_token_bitmask_inplace}
    backends: dict[str, Any] = {}
    try:
        import triton  # noqa: F401
    except ImportError:
        print("skip Triton apply-mask backend: triton is not installed")
    else:
        backends["triton"] = apply.apply_token_bitmask_inplace_triton
    backends["torch"] = apply.apply_token_bitmask_inplace_torch
    print(f"     apply_token_bitmask_inplace on {device} uses: {apply._torch_backend()}")
    return backends


def check_kernel(device: str) -> None:
    for name, fn in kernel_backends(device).items():
        check_backend(device, name, fn)


def check_backend(device: str, name: str, apply_fn: Any) -> None:
    import torch

    rng = np.random.default_rng(0)
    n = 0
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for batch in (None, 1, 5):
            for vocab, words in ((49152, 1536), (1000, 30), (1000, 40), (33, 1)):
                for use_rows in (False, True):
                    if use_rows and batch is None:
                        continue
                    shape_l = (vocab,) if batch is None else (batch, vocab)
                    shape_m = (words,) if batch is None else (batch, words)
                    mask = rng.integers(-(2**31), 2**31, size=shape_m, dtype=np.int64)
                    mask = mask.astype(np.int32)
                    mask.reshape(-1)[::7] = -1
                    mask.reshape(-1)[::5] = 0
                    logits = torch.from_numpy(rng.normal(size=shape_l).astype(np.float32))
                    logits = logits.to(device=device, dtype=dtype)
                    rows = [0, batch - 1] if use_rows and batch else None
                    expected = reference(logits.float().cpu().numpy(), mask, rows)
                    for mask_arg in (mask, torch.from_numpy(mask).to(device)):
                        got = logits.clone()
                        apply_fn(got, mask_arg, rows)
                        if not np.array_equal(got.float().cpu().numpy(), expected):
                            raise AssertionError(
                                f"{name} mismatch: dtype={dtype} batch={batch} vocab={vocab} "
                                f"words={words} rows={rows}"
                            )
                        if got.device != logits.device:
                            raise AssertionError(f"logits moved to {got.device}")
                        n += 1
    print(f"ok   apply-mask ({name}) on {device}: {n} cases equal the numpy reference")

    logits = torch.randn(16, 49152, device=device)
    mask = torch.from_numpy(rng.integers(-(2**31), 2**31, (16, 1536)).astype(np.int32)).to(device)
    for _ in range(3):
        apply_fn(logits, mask)
    _sync(device)
    t0 = time.perf_counter()
    reps = 100
    for _ in range(reps):
        apply_fn(logits, mask)
    _sync(device)
    us = (time.perf_counter() - t0) / reps * 1e6
    print(f"ok   apply-mask ({name}, 16 x 49152 fp32): {us:.0f} µs")


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def check_generation(device: str, max_tokens: int) -> None:
    import jsonschema
    import torch

    import formcast as fc
    from formcast.decoding.autoregressive import generate
    from formcast.errors import IncompleteOutputError
    from formcast.integrations.transformers import LogitsProcessor
    from formcast.models import default_model

    model, tokenizer = default_model()
    model = model.to(device)
    tok = fc.TokenizerInfo.from_huggingface(tokenizer)
    compiled = fc.compile(fc.Grammar.from_json_schema(SCHEMA), tok)

    with contextlib.suppress(IncompleteOutputError):  # warm-up: kernels, caches, allocator
        generate(model, tokenizer, PROMPT, grammar=compiled, max_tokens=8, tokenizer_info=tok)
    t0 = time.perf_counter()
    result = generate(
        model, tokenizer, PROMPT, schema=SCHEMA, max_tokens=max_tokens, tokenizer_info=tok
    )
    dt = time.perf_counter() - t0
    jsonschema.validate(result.value, SCHEMA)
    print(f"ok   generate() on {device}: {result.text!r}")
    t0 = time.perf_counter()
    free = generate(model, tokenizer, PROMPT, max_tokens=len(result.tokens), tokenizer_info=tok)
    dt_free = time.perf_counter() - t0
    print(
        f"     {len(result.tokens) / dt:.1f} tokens/s constrained, "
        f"{len(free.tokens) / dt_free:.1f} tokens/s unconstrained"
    )

    messages = [{"role": "user", "content": PROMPT}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    enc = tokenizer([text], return_tensors="pt", add_special_tokens=False).to(device)
    out = model.generate(
        **enc,
        logits_processor=[LogitsProcessor(compiled)],
        max_new_tokens=max_tokens,
        do_sample=False,
        eos_token_id=list(tok.eos_ids),
        pad_token_id=tok.eos_ids[0],
    )
    ids = [t for t in out[0, enc["input_ids"].shape[1] :].tolist() if t not in tok.eos_ids]
    hf_text = b"".join(tok.token_bytes[t] for t in ids).decode("utf-8")
    jsonschema.validate(json.loads(hf_text), SCHEMA)
    print(f"ok   HF generate + LogitsProcessor on {device}: {hf_text!r}")

    prompts = [PROMPT, "A JSON record for a newborn named Li.", "Any person, as JSON."]
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:  # some transformers versions load SmolLM2 without one
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    torch.manual_seed(0)
    out = model.generate(
        **enc,
        logits_processor=[LogitsProcessor(compiled, batch_size=2 * len(prompts))],
        max_new_tokens=max_tokens,
        do_sample=True,
        temperature=1.0,
        num_return_sequences=2,
        eos_token_id=list(tok.eos_ids),
        pad_token_id=tok.eos_ids[0],
    )
    for row in out[:, enc["input_ids"].shape[1] :].tolist():
        ids = [t for t in row if t not in tok.eos_ids]
        row_text = b"".join(tok.token_bytes[t] for t in ids).decode("utf-8")
        jsonschema.validate(json.loads(row_text), SCHEMA)
    print(f"ok   HF generate, batch {out.shape[0]} (left padding, sampled) on {device}")
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--skip-model", action="store_true", help="only the kernel checks")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed (pip install 'formcast[hf]')")
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("skipped: no CUDA device (torch.cuda.is_available() is False)")
        return 0
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(args.device)}, torch {torch.__version__}")
    try:
        check_kernel(args.device)
        if not args.skip_model:
            check_generation(args.device, args.max_tokens)
    except Exception as e:  # any failure is a failed check: report it with its traceback
        traceback.print_exc()
        print(f"FAIL {type(e).__name__}: {e}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
